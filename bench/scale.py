"""Lineage latency and ingest memory at scale, on generated networks.

    .venv/bin/python -m bench.scale --store neo4j --batches 100000 1000000
    .venv/bin/python -m bench.scale --store sqlite --batches 100000

For each size, on an empty store: the network is loaded by the real CLI in a child
process (``partnerhub generate``), whose peak resident memory the kernel reports when
it exits; then upstream lineage from packed finished lots and downstream lineage from
raw-material lots is timed at depth 3 and 10 (p50 / p95 over many roots, after a
warm-up). Peak memory is reported as a ratio to the smallest size measured in the same
run: flat streaming keeps it near 1 whatever the size.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import time
from contextlib import ExitStack
from pathlib import Path
from tempfile import TemporaryDirectory

from bench.driver import percentile
from bench.neo4j_server import bench_neo4j
from graph.lineage import Direction
from graph.neo4j.store import Neo4jGraphStore
from graph.sql.store import SqlGraphStore
from graph.store import GraphStore
from hub.demo.generator import Tier, sample_batch_ids

SEED = 7
ROOTS = 200
WARM_UP = 20


def load_with_cli(store_url: str, batches: int, seed: int = SEED) -> tuple[float, int]:
    """Run ``partnerhub generate`` in a child; return (seconds, peak RSS in bytes)."""
    started = time.perf_counter()
    child = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "hub.cli",
            "generate",
            "--batches",
            str(batches),
            "--seed",
            str(seed),
        ],
        env={**os.environ, "HUB_STORE": store_url},
        stdout=subprocess.DEVNULL,
    )
    _, status, usage = os.wait4(child.pid, 0)
    if status != 0:
        raise SystemExit(f"partnerhub generate failed with status {status}")
    return time.perf_counter() - started, usage.ru_maxrss * 1024


async def latencies(
    store: GraphStore, roots: list[str], direction: Direction, depth: int
) -> list[float]:
    for root in roots[:WARM_UP]:
        await store.lineage(root, direction, depth)
    timings = []
    for root in roots:
        started = time.perf_counter()
        lineage = await store.lineage(root, direction, depth)
        timings.append((time.perf_counter() - started) * 1000)
        assert lineage is not None and len(lineage.nodes) > 1, root
    return timings


async def measure(store: GraphStore, batches: int) -> list[str]:
    rows = []
    for tier, direction in ((Tier.FINISHED, Direction.UPSTREAM), (Tier.RAW, Direction.DOWNSTREAM)):
        roots = sample_batch_ids(batches, SEED, tier, ROOTS)
        for depth in (3, 10):
            timings = await latencies(store, roots, direction, depth)
            sizes = [len((await store.lineage(r, direction, depth)).nodes) for r in roots[:20]]  # type: ignore[union-attr]
            rows.append(
                f"| {batches:,} | {direction.value.lower()} | {depth} | {percentile(timings, 0.5):.1f} "
                f"| {percentile(timings, 0.95):.1f} | {statistics.mean(sizes):.0f} |"
            )
    return rows


async def run_size(kind: str, url: str, batches: int) -> tuple[list[str], float, int]:
    store: GraphStore = (
        Neo4jGraphStore(url)
        if kind == "neo4j"
        else SqlGraphStore(url.replace("sqlite:", "sqlite+aiosqlite:"))
    )
    await store.setup()
    await store.wipe()
    await store.close()
    seconds, peak = load_with_cli(url, batches)
    store = (
        Neo4jGraphStore(url)
        if kind == "neo4j"
        else SqlGraphStore(url.replace("sqlite:", "sqlite+aiosqlite:"))
    )
    try:
        return await measure(store, batches), seconds, peak
    finally:
        await store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", choices=("neo4j", "sqlite"), default="neo4j")
    parser.add_argument("--batches", type=int, nargs="+", default=[100_000])
    args = parser.parse_args()
    latency_rows, memory_rows = [], []
    baseline_peak = None
    with ExitStack() as stack:
        if args.store == "neo4j":
            url = stack.enter_context(bench_neo4j())
        else:
            folder = stack.enter_context(TemporaryDirectory())
            url = f"sqlite:///{Path(folder) / 'scale.sqlite'}"
        for batches in sorted(args.batches):
            rows, seconds, peak = asyncio.run(run_size(args.store, url, batches))
            latency_rows += rows
            baseline_peak = baseline_peak or peak
            memory_rows.append(
                f"| {args.store} | {batches:,} | {seconds:.0f} | {peak / 2**20:.0f} | {peak / baseline_peak:.2f} |"
            )
            print(f"done {batches:,}", file=sys.stderr)
    print(f"Lineage latency ({args.store}, {ROOTS} roots each, ms):\n")
    print("| batches | direction | depth | p50 | p95 | mean lots in answer |")
    print("|---:|---|---:|---:|---:|---:|")
    print("\n".join(latency_rows))
    print("\nIngest by `partnerhub generate` in a child process:\n")
    print("| store | batches | seconds | peak RSS MiB | ratio to smallest |")
    print("|---|---:|---:|---:|---:|")
    print("\n".join(memory_rows))


if __name__ == "__main__":
    main()
