"""PartnerHub against @neo4j/graphql: the same reads, over the same graph, in one run.

    .venv/bin/python -m bench.peer --batches 20000 --seed 7 --rounds 5

1. One Neo4j 5.26 (``bench/neo4j_server.py``, or HUB_BENCH_NEO4J_URI) is loaded with
   the generated network by ``partnerhub generate`` (PartnerHub's own store), unless
   ``--skip-load``.
2. Two servers on loopback, both on that Neo4j:
   - PartnerHub: ``partnerhub serve`` (one uvicorn worker process), real OAuth: two
     clients are registered with ``partnerhub clients add`` (the operator, scope admin;
     one sponsor, scope graph:read) and their bearer tokens fetched from
     ``/oauth/token``; the hub verifies the token on every request.
   - the peer: ``bench/peer/server.mjs``, @neo4j/graphql 7 on Apollo Server 5 (one
     Node.js process), typeDefs written for the graph PartnerHub stores. Its Batch
     type carries an @authorization filter: an admin token reads every lot, another
     organization's token the lots whose ``readers`` name it, as PartnerHub scopes them.
     Its tokens are HS256 JWTs signed here with a key made for the run.
   Its npm packages come from ``bench/peer/package-lock.json`` by ``npm ci`` (done here
   when ``node_modules`` is missing or older than the lock; ``make bench-peer-npm``).
3. For every workload, every request of its rotation is sent to both servers and the
   answers compared (the same ids, the same vendor names, the same sets), before any
   timing. A difference stops the run.
4. Timing: wrk (C, Debian package ``wrk``, one thread) on each server in turn for
   ``--seconds`` per step, round by round: in each round every workload at each
   concurrency runs on PartnerHub, then on the peer. The servers are warmed first
   (one short step each, not counted).
5. Per workload and concurrency: requests/s of each (median over rounds), the median
   of the per-round ratios PartnerHub/peer, p50/p95 latency (medians over rounds of
   wrk's percentiles) and CPU seconds per request of each server process (its utime +
   stime from /proc over the step, divided by the requests answered in the step), and
   beside it Neo4j's over the same step (its process found by the Bolt port), which is
   where a server that compiles a request into one Cypher query spends its work.

wrk and both servers share the machine's cores: absolute figures are lower bounds,
the ratios are what the run says.
"""

from __future__ import annotations

import argparse
import os
import re
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from joserfc import jwt
from joserfc.jwk import OctKey
from neo4j import GraphDatabase

from bench.neo4j_server import bench_neo4j
from bench.scale import load_with_cli
from bench.wrk import wrk_script
from deploy.neo4j.launcher import free_port
from hub.demo.generator import Tier, sample_batch_ids
from tests.served import fetch_token, register_client, start_hub

PEER_DIR = Path(__file__).parent / "peer"
NPM_STAMP = PEER_DIR / "node_modules" / ".installed"
ROTATION = 50  # requests in each workload's rotation
SPONSOR = "sponsor-01"
ADMIN, SCOPED = "admin", "sponsor"

Answer = Callable[[dict[str, Any]], Any]


@dataclass(frozen=True)
class Workload:
    key: str
    title: str
    scope: str  # ADMIN or SCOPED: whose token the requests carry
    hub: list[dict[str, Any]]  # request bodies, PartnerHub's schema
    peer: list[dict[str, Any]]  # the same requests in the peer's schema
    hub_answer: Answer  # what an answer says, comparable between the two
    peer_answer: Answer


@dataclass
class Server:
    name: str
    endpoint: str  # the GraphQL URL
    pid: int
    headers: dict[str, dict[str, str]]  # by scope: the bearer token


@dataclass
class Step:
    requests: int
    seconds: float
    failures: int
    p50: float
    p95: float
    cpu: float  # server CPU seconds over the step
    db_cpu: float  # Neo4j's CPU seconds over the step (0 when its process is not known)

    @property
    def rate(self) -> float:
        return self.requests / self.seconds


@dataclass
class Cell:
    hub: list[Step] = field(default_factory=list)
    peer: list[Step] = field(default_factory=list)


# --- the workloads -------------------------------------------------------------------

HUB_BATCH = "query ($id: ID!) { batch(id: $id) { id vendor { name } } }"
PEER_BATCH = "query ($id: ID!) { batches(where: {id: {eq: $id}}) { id vendor { name } } }"
HUB_PAGE = "{ batches(first: 100) { nodes { id vendor { name } } } }"
PEER_PAGE = "{ batches(limit: 100, sort: [{id: ASC}]) { id vendor { name } } }"
HUB_INPUTS = "query ($id: ID!) { batch(id: $id) { id inputs { id vendor { name } } } }"
PEER_INPUTS = (
    "query ($id: ID!) { batches(where: {id: {eq: $id}}) { id inputs { id vendor { name } } } }"
)
HUB_LINEAGE = """query ($id: ID!) {
  lineage(batchId: $id, direction: UPSTREAM, maxDepth: 10) { root nodes { id } } }"""
PEER_LINEAGE = "query ($id: ID!) { batches(where: {id: {eq: $id}}) { id upstream { id } } }"


def _vendor(batch: dict[str, Any]) -> str | None:
    vendor = batch["vendor"]
    if isinstance(vendor, list):  # the peer: a relationship is a list
        assert len(vendor) <= 1, batch
        vendor = vendor[0] if vendor else None
    return vendor["name"] if vendor else None


def _one_batch(data: dict[str, Any]) -> dict[str, Any] | None:
    if "batch" in data:
        found: dict[str, Any] | None = data["batch"]
        return found
    assert len(data["batches"]) <= 1, data
    return data["batches"][0] if data["batches"] else None


def _batch_answer(data: dict[str, Any]) -> Any:
    batch = _one_batch(data)
    return batch and (batch["id"], _vendor(batch))


def _inputs_answer(data: dict[str, Any]) -> Any:
    batch = _one_batch(data)
    return batch and (batch["id"], sorted((i["id"], _vendor(i)) for i in batch["inputs"]))


def _hub_page_answer(data: dict[str, Any]) -> Any:
    return [(node["id"], _vendor(node)) for node in data["batches"]["nodes"]]


def _peer_page_answer(data: dict[str, Any]) -> Any:
    return [(node["id"], _vendor(node)) for node in data["batches"]]


def _hub_lineage_answer(data: dict[str, Any]) -> Any:
    lineage = data["lineage"]
    return lineage and sorted(n["id"] for n in lineage["nodes"] if n["id"] != lineage["root"])


def _peer_lineage_answer(data: dict[str, Any]) -> Any:
    batch = _one_batch(data)
    return batch and sorted(n["id"] for n in batch["upstream"])


def readable_by(uri: str, org: str, ids: list[str]) -> list[str]:
    """Those of ``ids`` whose readers name ``org``, in order (straight from Neo4j)."""
    with GraphDatabase.driver(uri) as driver:
        records, _, _ = driver.execute_query(
            "UNWIND $ids AS id MATCH (b:Batch {id: id}) WHERE $org IN b.readers RETURN b.id AS id",
            ids=ids,
            org=org,
        )
    readable = {record["id"] for record in records}
    return [batch_id for batch_id in ids if batch_id in readable]


def workloads(uri: str, batches: int, seed: int) -> list[Workload]:
    tablets = sample_batch_ids(batches, seed, Tier.DRUG_PRODUCT, 4 * ROTATION)
    finished = sample_batch_ids(batches, seed, Tier.FINISHED, ROTATION)
    # The sponsor asks for its own lots: a look-up of a lot it may not read is no work.
    rotations = {
        ADMIN: tablets[:ROTATION],
        SCOPED: readable_by(uri, SPONSOR, tablets)[:ROTATION],
    }
    if not rotations[SCOPED] or not finished:
        raise SystemExit(f"the network is too small: no lots for {SPONSOR} or none finished")

    def by_id(query: str, ids: list[str]) -> list[dict[str, Any]]:
        return [{"query": query, "variables": {"id": batch_id}} for batch_id in ids]

    made = []
    for scope, tablets in rotations.items():
        made += [
            Workload(
                "a",
                "one batch by id, vendor name",
                scope,
                by_id(HUB_BATCH, tablets),
                by_id(PEER_BATCH, tablets),
                _batch_answer,
                _batch_answer,
            ),
            Workload(
                "b",
                "first 100 batches, vendor names",
                scope,
                [{"query": HUB_PAGE}],
                [{"query": PEER_PAGE}],
                _hub_page_answer,
                _peer_page_answer,
            ),
            Workload(
                "c",
                "a batch, its inputs and their vendors",
                scope,
                by_id(HUB_INPUTS, tablets),
                by_id(PEER_INPUTS, tablets),
                _inputs_answer,
                _inputs_answer,
            ),
        ]
    # Lineage as the operator only: under a scope PartnerHub answers hidden lots as
    # redacted stubs, which the peer's @cypher field has no way to say.
    made.append(
        Workload(
            "d",
            "upstream lineage, depth 10, from finished lots",
            ADMIN,
            by_id(HUB_LINEAGE, finished),
            by_id(PEER_LINEAGE, finished),
            _hub_lineage_answer,
            _peer_lineage_answer,
        )
    )
    return made


# --- the servers ---------------------------------------------------------------------


def _wait_for(url: str, process: subprocess.Popen[bytes], log: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"{url} exited early:\n{log.read_text()[-5000:]}")
        try:
            request = urllib.request.Request(
                url,
                data=b'{"query": "{ __typename }"}',
                headers={"content-type": "application/json"},
            )
            with urllib.request.urlopen(request, timeout=2):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise RuntimeError(f"nothing answered at {url}") from None
            time.sleep(0.3)


def _stop(process: subprocess.Popen[Any]) -> None:
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@contextmanager
def partnerhub(uri: str, folder: Path) -> Iterator[Server]:
    """``partnerhub serve`` with its own ledger, an operator and a sponsor client."""
    port = free_port()
    env = {
        **os.environ,
        "HUB_STORE": uri,
        "HUB_DATABASE": f"sqlite:///{folder}/ledger.sqlite",
        "HUB_PORT": str(port),
        "HUB_LOG_LEVEL": "WARNING",
    }
    clients = {
        ADMIN: register_client(env, "operator", "admin,graph:read"),
        SCOPED: register_client(env, SPONSOR, "graph:read"),
    }
    child = start_hub(env, timeout=120)
    base = f"http://127.0.0.1:{port}/"
    try:
        headers = {
            scope: {"authorization": f"Bearer {fetch_token(base, *client)}"}
            for scope, client in clients.items()
        }
        yield Server("PartnerHub", base + "graphql", child.pid, headers)
    finally:
        _stop(child)


def ensure_npm() -> None:
    """``npm ci`` in bench/peer unless node_modules is newer than the lock."""
    lock = PEER_DIR / "package-lock.json"
    if NPM_STAMP.exists() and NPM_STAMP.stat().st_mtime >= lock.stat().st_mtime:
        return
    npm = shutil.which("npm")
    if npm is None:
        raise SystemExit("npm is not on PATH: the peer needs Node.js 20 or later")
    subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=PEER_DIR, check=True)
    NPM_STAMP.touch()


def peer_token(key: str, org: str, roles: list[str]) -> str:
    return jwt.encode({"alg": "HS256"}, {"org": org, "roles": roles}, OctKey.import_key(key))


@contextmanager
def peer(uri: str, folder: Path) -> Iterator[Server]:
    """@neo4j/graphql on Apollo Server: ``node bench/peer/server.mjs``."""
    ensure_npm()
    node = shutil.which("node")
    if node is None:
        raise SystemExit("node is not on PATH: the peer needs Node.js 20 or later")
    port = free_port()
    key = secrets.token_hex(32)
    env = {
        **os.environ,
        "PEER_PORT": str(port),
        "PEER_NEO4J_URI": uri,
        "PEER_JWT_KEY": key,
        "NODE_ENV": "production",
    }
    log = folder / "peer.log"
    with log.open("wb") as out:
        child = subprocess.Popen(
            [node, "server.mjs"], cwd=PEER_DIR, env=env, stdout=out, stderr=subprocess.STDOUT
        )
    endpoint = f"http://127.0.0.1:{port}/"
    try:
        _wait_for(endpoint, child, log, timeout=60)
        headers = {
            ADMIN: {"authorization": f"Bearer {peer_token(key, 'operator', ['admin'])}"},
            SCOPED: {"authorization": f"Bearer {peer_token(key, SPONSOR, [])}"},
        }
        yield Server("@neo4j/graphql", endpoint, child.pid, headers)
    finally:
        _stop(child)


# --- checking and timing -------------------------------------------------------------


def _data(client: httpx.Client, server: Server, scope: str, body: dict[str, Any]) -> Any:
    response = client.post(server.endpoint, json=body, headers=server.headers[scope])
    try:
        answer = response.json()
    except ValueError:
        raise SystemExit(
            f"{server.name} answered {response.status_code} with no JSON on {body}: "
            f"{response.text[:500]!r}"
        ) from None
    if response.status_code != 200 or answer.get("errors"):
        raise SystemExit(f"{server.name} failed on {body}: {response.status_code} {answer}")
    return answer["data"]


def check_answers(hub: Server, other: Server, work: list[Workload]) -> list[str]:
    """Every request of every rotation on both servers: the same answer, or stop."""
    notes = []
    with httpx.Client(timeout=60) as client:
        for load in work:
            empty = 0
            for hub_body, peer_body in zip(load.hub, load.peer, strict=True):
                ours = load.hub_answer(_data(client, hub, load.scope, hub_body))
                theirs = load.peer_answer(_data(client, other, load.scope, peer_body))
                if ours != theirs:
                    raise SystemExit(
                        f"workload {load.key} ({load.scope}) differs on {hub_body}:\n"
                        f"PartnerHub: {ours}\n@neo4j/graphql: {theirs}"
                    )
                empty += not ours
            notes.append(
                f"{load.key} ({load.scope}): {len(load.hub)} requests, same answers"
                + (f", {empty} of them empty or null" if empty else "")
            )
    return notes


def listening_pid(port: int) -> int | None:
    """The process listening on loopback ``port`` (TCP), if it is visible here."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if fields[3] == "0A" and int(fields[1].rsplit(":", 1)[1], 16) == port:  # LISTEN
                inodes.add(fields[9])
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            for fd in (proc / "fd").iterdir():
                link = os.readlink(fd)
                if link.startswith("socket:[") and link[8:-1] in inodes:
                    return int(proc.name)
        except OSError:
            continue
    return None


def _cpu_seconds(pid: int | None) -> float:
    if pid is None:
        return 0.0
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


def run_step(server: Server, script: Path, clients: int, seconds: float, neo4j: int | None) -> Step:
    wrk = shutil.which("wrk")
    if wrk is None:
        raise SystemExit("wrk is not installed: apt-get install wrk")
    before, db_before = _cpu_seconds(server.pid), _cpu_seconds(neo4j)
    out = subprocess.run(
        [
            wrk,
            "-t1",
            f"-c{clients}",
            f"-d{seconds:g}s",
            "--timeout",
            "30s",
            "-s",
            str(script),
            server.endpoint,
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    cpu = _cpu_seconds(server.pid) - before
    db_cpu = _cpu_seconds(neo4j) - db_before
    found = dict(re.findall(r"^(requests|seconds|failures|p50|p95) ([\d.]+)$", out, re.MULTILINE))
    return Step(
        requests=int(found["requests"]),
        seconds=float(found["seconds"]),
        failures=int(found["failures"]),
        p50=float(found["p50"]),
        p95=float(found["p95"]),
        cpu=cpu,
        db_cpu=db_cpu,
    )


def measure(
    hub: Server,
    other: Server,
    work: list[Workload],
    concurrency: list[int],
    rounds: int,
    seconds: float,
    folder: Path,
    neo4j: int | None,
) -> dict[tuple[str, str, int], Cell]:
    scripts = {}
    for load in work:
        for server, bodies in ((hub, load.hub), (other, load.peer)):
            name = f"{load.key}-{load.scope}-{'hub' if server is hub else 'peer'}"
            scripts[(load.key, load.scope, server.name)] = wrk_script(
                folder, name, bodies, server.headers[load.scope]
            )
    for load in work:  # warm both: JIT, plan caches, page cache
        for server in (hub, other):
            run_step(
                server, scripts[(load.key, load.scope, server.name)], 2, min(seconds, 2), neo4j
            )
    cells: dict[tuple[str, str, int], Cell] = {}
    for round_number in range(rounds):
        for load in work:
            for clients in concurrency:
                cell = cells.setdefault((load.key, load.scope, clients), Cell())
                for server, steps in ((hub, cell.hub), (other, cell.peer)):
                    script = scripts[(load.key, load.scope, server.name)]
                    steps.append(run_step(server, script, clients, seconds, neo4j))
        print(f"round {round_number + 1} of {rounds} done", file=sys.stderr)
    return cells


def table(work: list[Workload], cells: dict[tuple[str, str, int], Cell]) -> list[str]:
    rows = [
        "| workload | as | clients | PartnerHub req/s | peer req/s | ratio | PartnerHub p50 / p95 ms "
        "| peer p50 / p95 ms | CPU ms/req PartnerHub (+ Neo4j) | CPU ms/req peer (+ Neo4j) "
        "| failed |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for (key, scope, clients), cell in cells.items():
        title = next(load.title for load in work if load.key == key)

        def med(steps: list[Step], what: Callable[[Step], float]) -> float:
            return statistics.median(what(step) for step in steps)

        ratio = statistics.median(h.rate / p.rate for h, p in zip(cell.hub, cell.peer, strict=True))
        failed = sum(step.failures for step in cell.hub + cell.peer)
        rows.append(
            f"| ({key}) {title} | {scope} | {clients} "
            f"| {med(cell.hub, lambda s: s.rate):,.0f} | {med(cell.peer, lambda s: s.rate):,.0f} "
            f"| {ratio:.2f} "
            f"| {med(cell.hub, lambda s: s.p50):.1f} / {med(cell.hub, lambda s: s.p95):.1f} "
            f"| {med(cell.peer, lambda s: s.p50):.1f} / {med(cell.peer, lambda s: s.p95):.1f} "
            f"| {med(cell.hub, lambda s: s.cpu / s.requests * 1000):.2f} "
            f"(+ {med(cell.hub, lambda s: s.db_cpu / s.requests * 1000):.2f}) "
            f"| {med(cell.peer, lambda s: s.cpu / s.requests * 1000):.2f} "
            f"(+ {med(cell.peer, lambda s: s.db_cpu / s.requests * 1000):.2f}) | {failed} |"
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=5, help="per step")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 8])
    parser.add_argument("--skip-load", action="store_true", help="the server already holds it")
    parser.add_argument(
        "--only", nargs="+", help="workload keys to run, e.g. a d (default: all)", default=None
    )
    args = parser.parse_args()
    started = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())
    load_before = os.getloadavg()
    with ExitStack() as stack:
        folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-peer-")))
        uri = stack.enter_context(bench_neo4j(heap="2g", pagecache="2g"))
        if not args.skip_load:
            seconds, _ = load_with_cli(uri, args.batches, args.seed)
            print(f"loaded {args.batches:,} batches in {seconds:.0f} s", file=sys.stderr)
        work = [
            load
            for load in workloads(uri, args.batches, args.seed)
            if not args.only or load.key in args.only
        ]
        hub = stack.enter_context(partnerhub(uri, folder))
        other = stack.enter_context(peer(uri, folder))
        notes = check_answers(hub, other, work)
        print("\n".join(notes), file=sys.stderr)
        neo4j = listening_pid(int(uri.rsplit(":", 1)[1]))
        if neo4j is None:
            print("Neo4j's process is not visible here: its CPU is not measured", file=sys.stderr)
        cells = measure(
            hub, other, work, args.concurrency, args.rounds, args.seconds, folder, neo4j
        )
    print(
        f"{args.batches:,} batches (seed {args.seed}), {args.rounds} rounds of "
        f"{args.seconds:g} s per step, wrk -t1; started {started}, load average "
        f"{load_before[0]:.1f} before, {os.getloadavg()[0]:.1f} after\n"
    )
    print("\n".join(table(work, cells)))


if __name__ == "__main__":
    main()
