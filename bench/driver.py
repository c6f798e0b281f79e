"""What the benchmark drivers share: percentiles, a generated network loaded into a
fresh store, and running one measurement on each store chosen on the command line."""

from __future__ import annotations

import asyncio
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from contextlib import ExitStack
from pathlib import Path
from tempfile import TemporaryDirectory

from bench.neo4j_server import bench_neo4j
from graph.loading import load
from graph.neo4j.store import Neo4jGraphStore
from graph.sql.store import SqlGraphStore
from graph.store import GraphStore
from hub.demo.generator import generate_network

STORE_CHOICES = ("neo4j", "sqlite", "both")

Measure = Callable[[GraphStore, str, int], Awaitable[list[str]]]


def percentile(values: list[float], fraction: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[round(fraction * 100) - 1]


async def load_network(store: GraphStore, kind: str, batches: int, seed: int) -> None:
    """Empty ``store`` and load the generated network into it, saying how long it took."""
    await store.setup()
    await store.wipe()
    started = time.perf_counter()
    await load(store, generate_network(batches, seed))
    print(
        f"{kind}: loaded {batches:,} batches in {time.perf_counter() - started:.0f} s",
        file=sys.stderr,
    )


async def _on(store: GraphStore, kind: str, batches: int, measure: Measure) -> list[str]:
    try:
        return await measure(store, kind, batches)
    finally:
        await store.close()


def on_each_store(
    choice: str, name: str, batches: int, measure: Measure, *, heap: str, pagecache: str
) -> list[str]:
    """The rows ``measure`` gives on the embedded store (a SQLite file named after the
    benchmark, in a temporary folder) and on Neo4j, as ``choice`` says."""
    rows: list[str] = []
    with ExitStack() as stack:
        if choice in ("sqlite", "both"):
            folder = Path(stack.enter_context(TemporaryDirectory()))
            store = SqlGraphStore(f"sqlite+aiosqlite:///{folder / name}.sqlite")
            rows += asyncio.run(_on(store, "sqlite", batches, measure))
        if choice in ("neo4j", "both"):
            uri = stack.enter_context(bench_neo4j(heap=heap, pagecache=pagecache))
            rows += asyncio.run(_on(Neo4jGraphStore(uri), "neo4j", batches, measure))
    return rows
