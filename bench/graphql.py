"""GraphQL API benchmarks on a generated network in Neo4j.

    .venv/bin/python -m bench.graphql --batches 1000000
    HUB_BENCH_NEO4J_URI=bolt://127.0.0.1:7687 .venv/bin/python -m bench.graphql --batches 1000000 --skip-load

1. Overhead of the API on lineage: upstream lineage at depth 10 from finished lots,
   through GraphQL (the ASGI app in process, handed the request as a server would:
   ``bench.asgi``; the token verified, the answer made and encoded) and through
   ``store.lineage`` for the same answer, interleaved root by root so all see the same
   noise. Reported as p50/p95 of each and the ratio of the p95s. The same request
   through httpx's ASGI transport is reported too: that adds the client library's own
   work (about 0.13 ms a request), which earlier figures included.
2. Throughput of a read mix under concurrent clients: ``partnerhub serve`` (one
   uvicorn worker process) against wrk (C, from the Debian package ``wrk``; one
   thread) on loopback, rotating three requests: a batch by id with vendor and product,
   a page of 50 batches filtered by vendor and status, and lineage at depth 5. Then
   the filtered page alone (every maker of 200 sampled lots in turn), at 1 and at
   ``--connections`` clients, for its own latency percentiles.
   Requests/s and latency percentiles as wrk reports them; every answer is checked
   for GraphQL errors by the Lua script. Every request carries a bearer token that the
   hub verifies (RS256), as in production.
3. With ``--tracing-cost`` (only this): the cost of OpenTelemetry tracing on a simple
   read, a batch by id with its vendor and product, through two apps in process over
   the same Neo4j, one untraced (the default) and one traced (``HUB_TRACING``: the SDK
   set up with a batching processor and an exporter that drops what it is handed, so
   the figure is the hub's and the SDK's work, not a collector's network), requests
   alternating between them lot by lot. Reported as p50/p95 of each and the ratio.

    .venv/bin/python -m bench.graphql --batches 10000 --tracing-cost
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import shutil
import subprocess
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import httpx
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

from auth.service import AuthService
from bench import asgi
from bench.driver import percentile
from bench.neo4j_server import bench_neo4j
from bench.scale import SEED, load_with_cli
from bench.wrk import wrk_script
from graph.lineage import Direction
from graph.neo4j.store import Neo4jGraphStore
from hub.app import create_app
from hub.demo.generator import Tier, sample_batch_ids
from hub.records.database import migrate
from hub.settings import Settings
from hub.telemetry.tracing import start_tracing
from tests.served import served_hub
from tests.tokens import TEST_AUTH, TokenSource

ROOTS = 200
# Untimed walks over every root before the lineage overhead is timed: a Neo4j started
# for the run walked depth-10 lineages 2 to 3 times slower over its first few hundred
# (query plans and the JVM's compiled code still cold), which made the ratio to the
# store call look better than a server that has been up for a while gives.
STORE_WARM_UP_PASSES = 5
TRACED_LOTS = 1000
WARM_UP = 20
LINEAGE_QUERY = """query ($id: ID!, $depth: Int!) {
  lineage(batchId: $id, direction: UPSTREAM, maxDepth: $depth) {
    root truncated nodes { id depth } edges { from to kind quantity unit } } }"""
BATCH_QUERY = """query ($id: ID!) {
  batch(id: $id) { number status manufacturedOn vendor { name country } product { name } } }"""
PAGE_QUERY = """query ($vendor: ID!) {
  batches(first: 50, filter: {vendor: $vendor, status: RELEASED}) {
    nodes { id number manufacturedOn } pageInfo { hasNextPage endCursor } } }"""


async def lineage_overhead(uri: str, roots: list[str], depth: int) -> list[str]:
    """Each root asked of the store, of the app, and of the app through httpx, in an
    order rotated root by root (the first to ask may find the page cache colder)."""
    store = Neo4jGraphStore(uri)
    folder = tempfile.TemporaryDirectory(prefix="bench-auth-")
    auth = AuthService.from_url(
        f"sqlite+aiosqlite:///{folder.name}/auth.sqlite", TEST_AUTH, migrate=migrate
    )
    await auth.setup()
    headers = await TokenSource(auth).bearer()  # the token is verified on every request
    headers["content-type"] = "application/json"
    app = create_app(store=store, auth=auth)
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bench")
    timings: dict[str, list[float]] = {"store": [], "app": [], "httpx": []}

    async def ask_store(root: str, body: bytes) -> Any:
        return await store.lineage(root, Direction.UPSTREAM, depth)

    async def ask_app(root: str, body: bytes) -> Any:
        return json.loads((await asgi.post(app, "/graphql", headers, body)).body)

    async def ask_httpx(root: str, body: bytes) -> Any:
        return (await client.post("/graphql", content=body, headers=headers)).json()

    asks = [("store", ask_store), ("app", ask_app), ("httpx", ask_httpx)]
    try:
        for _ in range(STORE_WARM_UP_PASSES):
            for root in roots:
                await store.lineage(root, Direction.UPSTREAM, depth)
        for index, root in enumerate(roots):
            body = json.dumps(
                {"query": LINEAGE_QUERY, "variables": {"id": root, "depth": depth}}
            ).encode()
            answers: dict[str, Any] = {}
            shift = index % len(asks)
            for name, ask in asks[shift:] + asks[:shift]:
                started = time.perf_counter()
                answers[name] = await ask(root, body)
                if index >= WARM_UP:
                    timings[name].append((time.perf_counter() - started) * 1000)
            expected = answers["store"]
            for answer in (answers["app"], answers["httpx"]):
                assert "errors" not in answer and expected is not None, answer
                assert len(answer["data"]["lineage"]["nodes"]) == len(expected.nodes)
    finally:
        await client.aclose()
        await store.close()
        await auth.close()
        folder.cleanup()
    direct = timings["store"]
    rows = [
        f"| store.lineage | {percentile(direct, 0.5):.2f} | {percentile(direct, 0.95):.2f} | 1.00 |"
    ]
    for name, key in (("GraphQL lineage", "app"), ("the same through httpx", "httpx")):
        ratio = percentile(timings[key], 0.95) / percentile(direct, 0.95)
        rows.append(
            f"| {name} | {percentile(timings[key], 0.5):.2f} "
            f"| {percentile(timings[key], 0.95):.2f} | {ratio:.2f} |"
        )
    return rows


class _Dropped(SpanExporter):
    """Takes every span and keeps none: the SDK does all its work but the sending."""

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        return SpanExportResult.SUCCESS


async def tracing_cost(uri: str, lots: list[str]) -> list[str]:
    start_tracing(_Dropped())
    folder = tempfile.TemporaryDirectory(prefix="bench-auth-")
    auth = AuthService.from_url(
        f"sqlite+aiosqlite:///{folder.name}/auth.sqlite", TEST_AUTH, migrate=migrate
    )
    await auth.setup()
    headers = await TokenSource(auth).bearer()
    stores = {False: Neo4jGraphStore(uri), True: Neo4jGraphStore(uri)}  # traced in place
    timings: dict[bool, list[float]] = {False: [], True: []}
    try:
        clients = {
            traced: httpx.AsyncClient(
                transport=httpx.ASGITransport(
                    app=create_app(Settings(tracing=traced), store=store, auth=auth)
                ),
                base_url="http://bench",
                headers=headers,
            )
            for traced, store in stores.items()
        }
        for index, lot in enumerate(lots):
            # Alternate which goes first, so neither always meets a warmer cache.
            for traced in (False, True) if index % 2 else (True, False):
                started = time.perf_counter()
                response = await clients[traced].post(
                    "/graphql", json={"query": BATCH_QUERY, "variables": {"id": lot}}
                )
                took = (time.perf_counter() - started) * 1000
                answer = response.json()
                assert "errors" not in answer and answer["data"]["batch"], answer
                if index >= WARM_UP:
                    timings[traced].append(took)
        for client in clients.values():
            await client.aclose()
    finally:
        for store in stores.values():
            await store.close()
        await auth.close()
        folder.cleanup()
    off, on = timings[False], timings[True]
    ratio = percentile(on, 0.95) / percentile(off, 0.95)
    return [
        f"| tracing off (default) | {percentile(off, 0.5):.2f} | {percentile(off, 0.95):.2f} | 1.00 |",
        f"| tracing on | {percentile(on, 0.5):.2f} | {percentile(on, 0.95):.2f} | {ratio:.2f} |",
    ]


def _makers(batch_ids: list[str]) -> list[str]:
    return sorted({"org:" + batch_id.split(":")[1].split("/")[0] for batch_id in batch_ids})


def mix_script(folder: Path, batches: int, authorization: str) -> Path:
    tablets = sample_batch_ids(batches, SEED, Tier.DRUG_PRODUCT, 50)
    finished = sample_batch_ids(batches, SEED, Tier.FINISHED, 50)
    vendors = _makers(tablets)
    bodies = []
    for index in range(50):
        bodies.append({"query": BATCH_QUERY, "variables": {"id": tablets[index]}})
        bodies.append({"query": PAGE_QUERY, "variables": {"vendor": vendors[index % len(vendors)]}})
        bodies.append({"query": LINEAGE_QUERY, "variables": {"id": finished[index], "depth": 5}})
    headers = {"authorization": authorization}
    return wrk_script(folder, "mix", bodies, headers, percentiles=(50, 90, 99))


def page_script(folder: Path, batches: int, authorization: str) -> Path:
    """The mix's filtered page alone: every maker of the sampled lots in turn."""
    vendors = _makers(sample_batch_ids(batches, SEED, Tier.DRUG_PRODUCT, 200))
    bodies = [{"query": PAGE_QUERY, "variables": {"vendor": vendor}} for vendor in vendors]
    headers = {"authorization": authorization}
    return wrk_script(folder, "page", bodies, headers, percentiles=(50, 95, 99))


def _wrk(script: Path, url: str, clients: int, seconds: int) -> tuple[float, int, dict[int, float]]:
    """Requests/s, failed answers and the latency percentiles (ms) of one wrk run."""
    wrk = shutil.which("wrk")
    if wrk is None:
        raise SystemExit("wrk is not installed: apt-get install wrk")
    out = subprocess.run(
        [wrk, "-t1", f"-c{clients}", f"-d{seconds}s", "-s", str(script), url],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    failures = int(re.search(r"failures (\d+)", out).group(1))  # type: ignore[union-attr]
    return rate, failures, {int(k): float(v) for k, v in re.findall(r"p(\d+) ([\d.]+)", out)}


def throughput(
    uri: str, batches: int, connections: int, seconds: int
) -> tuple[list[str], list[str]]:
    """The read mix at each number of connections, then the filtered page alone."""
    rows, page_rows = [], []
    with tempfile.TemporaryDirectory() as folder, served_hub(uri) as hub:
        url, authorization = hub.url + "graphql", hub.headers["authorization"]
        script = mix_script(Path(folder), batches, authorization)
        for clients in connections_steps(connections):
            rate, failures, p = _wrk(script, url, clients, seconds)
            rows.append(
                f"| {clients} | {rate:,.0f} | {p[50]:.1f} | {p[90]:.1f} | {p[99]:.1f} | {failures} |"
            )
        script = page_script(Path(folder), batches, authorization)
        for clients in sorted({1, connections}):
            rate, failures, p = _wrk(script, url, clients, seconds)
            page_rows.append(
                f"| {clients} | {rate:,.0f} | {p[50]:.1f} | {p[95]:.1f} | {p[99]:.1f} | {failures} |"
            )
    return rows, page_rows


def connections_steps(top: int) -> list[int]:
    return sorted({1, max(1, top // 4), top})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, default=100_000)
    parser.add_argument("--skip-load", action="store_true", help="the server already holds it")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--seconds", type=int, default=30)
    parser.add_argument("--tracing-cost", action="store_true", help="only tracing off vs on")
    parser.add_argument("--lineage-only", action="store_true", help="only the lineage overhead")
    args = parser.parse_args()
    with bench_neo4j(heap="2g", pagecache="4g") as uri:
        if not args.skip_load:
            load_with_cli(uri, args.batches)  # the same network as bench.scale (seed 7)
        if args.tracing_cost:
            lots = sample_batch_ids(args.batches, SEED, Tier.DRUG_PRODUCT, TRACED_LOTS + WARM_UP)
            rows = asyncio.run(tracing_cost(uri, lots))
            print(f"A batch by id with vendor and product, {args.batches:,} batches, ", end="")
            print(f"{TRACED_LOTS} lots, each asked of both apps in turn (ms):\n")
            print("| hub | p50 | p95 | p95 ratio to off |")
            print("|---|---:|---:|---:|")
            print("\n".join(rows))
            return
        roots = sample_batch_ids(args.batches, SEED, Tier.FINISHED, ROOTS + WARM_UP)
        overhead = asyncio.run(lineage_overhead(uri, roots, 10))
        print(f"Upstream lineage, depth 10, {args.batches:,} batches, {ROOTS} roots (ms):\n")
        print("| path | p50 | p95 | p95 ratio to store |")
        print("|---|---:|---:|---:|")
        print("\n".join(overhead), flush=True)
        if args.lineage_only:
            return
        load_rows, page_rows = throughput(uri, args.batches, args.connections, args.seconds)
    print(
        f"\nRead mix through `partnerhub serve` (1 uvicorn worker) and wrk -t1, "
        f"{args.seconds} s per step, {args.batches:,} batches:\n"
    )
    print("| connections | requests/s | p50 ms | p90 ms | p99 ms | failed answers |")
    print("|---:|---:|---:|---:|---:|---:|")
    print("\n".join(load_rows))
    print("\nThe mix's page of 50 lots filtered by vendor and status, alone:\n")
    print("| connections | requests/s | p50 ms | p95 ms | p99 ms | failed answers |")
    print("|---:|---:|---:|---:|---:|---:|")
    print("\n".join(page_rows))


if __name__ == "__main__":
    main()
