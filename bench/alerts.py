"""Alert latency: from a push's acknowledgement (202) to the alert reaching a subscriber.

    .venv/bin/python -m bench.alerts --pushes 200
    .venv/bin/python -m bench.alerts --pushes 200 --store neo4j

One ``partnerhub serve`` on loopback (a child process; ledger on SQLite, graph on SQLite
or Neo4j, the demo story loaded first). Northwind subscribes over a websocket
(graphql-transport-ws, token in ``connection_init``) to every alert kind, as a sponsor's
dashboard would; then Elm pushes, one at a time, an export holding one out-of-
specification assay result on a Northwind lot at Birch (``canonical.jsonl``, its own
OAuth client). Each push waits for its alert before the next, so each latency is that of
an otherwise idle hub, and every push also makes the hub draw the lot's assay control
chart (the subscriber listens to run rules too).

With ``--busy N``, another partner (Birch) meanwhile pushes exports of N lots back to
back, so the alerts travel while a worker is busy writing: the graph store, the cores and
(on SQLite) the single writer are shared.

Per push: sent → 202 received (``ack``), 202 received → alert received (``alert``, the
figure the target is about: p95 ≤ 1 s), sent → alert (``total``). p50 / p95 / p99 / max
in milliseconds, with the load average before and after: the machine is shared.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import tempfile
import time
from collections import Counter
from contextlib import ExitStack
from datetime import UTC, date, datetime
from pathlib import Path

import httpx

from bench.neo4j_server import bench_graph_store
from deploy.neo4j.launcher import free_port
from graph.model import Batch, TestResult, Verdict
from graph.store import GraphStore
from hub.demo.story import demo_records
from hub.settings import Settings
from hub.stores import open_graph_store
from tests.hub.sockets import GraphQLSocket, canonical
from tests.served import fetch_token, register_client, start_hub

RESULTS = Path(__file__).parent / "results"
LOT = "batch:birch/BT-25-048"  # a Northwind lot: the sponsor may read its results
WARM_UP = 5


def summary(values: list[float]) -> dict[str, float]:
    cuts = statistics.quantiles(values, n=100, method="inclusive")
    return {
        "p50_ms": round(statistics.median(values), 1),
        "p95_ms": round(cuts[94], 1),
        "p99_ms": round(cuts[98], 1),
        "max_ms": round(max(values), 1),
    }


def export(serial: int) -> tuple[bytes, str]:
    result = TestResult(
        lab="elm",
        result_id=f"ELM-BENCH-{serial:05d}",
        batch_id=LOT,
        test="assay",
        method="HPLC-UV, in-house method EL-231",
        value=93.0 + (serial % 10) / 10,
        unit="%",
        spec_low=95.0,
        spec_high=105.0,
        verdict=Verdict.OOS,
        tested_on=date(2025, 12, 1),
    )
    return canonical([result]), result.id


def busy_export(serial: int, lots: int) -> bytes:
    return canonical(
        Batch(maker="birch", number=f"BUSY-{serial:04d}-{lot:05d}", material_code="B-EX-1102")
        for lot in range(lots)
    )


async def keep_busy(
    http: httpx.AsyncClient, lots: int, pushed: list[int], stop: asyncio.Event
) -> None:
    """Birch's exports of ``lots`` lots, back to back, until ``stop`` (the one being
    applied then is waited for: cancelling a request in flight can stall the client)."""
    serial = 0
    while not stop.is_set():
        answer = await http.post(
            "/ingest/canonical.jsonl?wait=120", content=busy_export(serial, lots), timeout=180
        )
        assert answer.status_code == 200, answer.text
        pushed.append(lots)
        serial += 1


async def load_demo(store_url: str) -> None:
    store: GraphStore = open_graph_store(Settings(store=store_url))
    try:
        await store.setup()
        await store.wipe()
        await store.upsert(demo_records())
    finally:
        await store.close()


async def run(args: argparse.Namespace, store_url: str, ledger_folder: Path) -> dict[str, object]:
    await load_demo(store_url)
    env = {
        **os.environ,
        "HUB_STORE": store_url,
        "HUB_DATABASE": f"sqlite:///{ledger_folder / 'ledger.sqlite'}",
        "HUB_PORT": str(free_port()),
        "HUB_LOG_LEVEL": "WARNING",
    }
    base = f"http://127.0.0.1:{env['HUB_PORT']}"
    pusher = register_client(env, "elm", "ingest:write")
    busy_pusher = register_client(env, "birch", "ingest:write")
    sponsor = register_client(env, "northwind", "graph:read")
    hub = start_hub(env, timeout=120)
    received: dict[tuple[str, str], float] = {}  # (kind, subject id): when it arrived
    arrived = asyncio.Event()
    load_before = os.getloadavg()
    started_at = datetime.now(UTC)
    try:
        push_headers = {"authorization": f"Bearer {fetch_token(base + '/', *pusher)}"}
        async with (
            httpx.AsyncClient(base_url=base, headers=push_headers, trust_env=False) as http,
            httpx.AsyncClient(
                base_url=base,
                headers={"authorization": f"Bearer {fetch_token(base + '/', *busy_pusher)}"},
                trust_env=False,
            ) as busy_http,
            GraphQLSocket.open(base) as socket,
        ):
            reply = await socket.init(fetch_token(base + "/", *sponsor))
            assert reply["type"] == "connection_ack", reply
            await socket.subscribe(None if args.kinds == "all" else args.kinds.split(","))

            async def listen() -> None:
                while True:
                    message = json.loads(await socket.connection.recv())
                    assert message["type"] == "next", message
                    alert = message["payload"]["data"]["alerts"]
                    key = (alert["kind"], alert["subjectId"])
                    received.setdefault(key, time.perf_counter())
                    arrived.set()

            listener = asyncio.create_task(listen())
            busy_pushed: list[int] = []
            stop = asyncio.Event()
            busy = (
                asyncio.create_task(keep_busy(busy_http, args.busy, busy_pushed, stop))
                if args.busy
                else None
            )
            ack, alert, total = [], [], []
            for serial in range(WARM_UP + args.pushes):
                body, result_id = export(serial)
                subject = ("OUT_OF_SPECIFICATION", result_id)
                sent = time.perf_counter()
                answer = await http.post("/ingest/canonical.jsonl", content=body, timeout=60)
                acked = time.perf_counter()
                assert answer.status_code == 202, answer.text
                async with asyncio.timeout(60):
                    while subject not in received:
                        arrived.clear()
                        await arrived.wait()
                if serial >= WARM_UP:  # the first pushes also subscribe and warm caches
                    ack.append((acked - sent) * 1000)
                    alert.append((received[subject] - acked) * 1000)
                    total.append((received[subject] - sent) * 1000)
            stop.set()
            listener.cancel()
            await asyncio.gather(listener, return_exceptions=True)
            if busy is not None:
                await busy
    finally:
        hub.terminate()
        hub.wait(timeout=60)
    return {
        "store": "neo4j" if store_url.startswith("bolt") else "sqlite",
        "pushes": args.pushes,
        "kinds": args.kinds,
        "busy_lots_per_export": args.busy,
        "busy_exports_applied": len(busy_pushed),
        "started": started_at.isoformat(timespec="seconds"),
        "load_average_before": [round(load, 2) for load in load_before],
        "load_average_after": [round(load, 2) for load in os.getloadavg()],
        "sent_to_202": summary(ack),
        "202_to_alert": summary(alert),
        "sent_to_alert": summary(total),
        "alerts_before_their_202": sum(1 for value in alert if value < 0),
        "alerts_received": dict(Counter(kind for kind, _ in received)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", choices=("sqlite", "neo4j"), default="sqlite")
    parser.add_argument("--pushes", type=int, default=200)
    parser.add_argument(
        "--busy", type=int, default=0, help="lots per export another partner pushes meanwhile"
    )
    parser.add_argument(
        "--kinds", default="all", help="alert kinds subscribed to, comma-separated, or all"
    )
    args = parser.parse_args()
    with ExitStack() as stack:
        folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-alerts-")))
        store_url = stack.enter_context(bench_graph_store(args.store, folder))
        result = asyncio.run(run(args, store_url, folder))
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / f"alerts-{args.store}-{time.strftime('%Y%m%dT%H%M%S')}.json"
    out.write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))
    print(f"written to {out}")


if __name__ == "__main__":
    main()
