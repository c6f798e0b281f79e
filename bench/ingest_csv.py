"""End-to-end ingest of a LIMS CSV: the whole path against the store's raw upsert.

    .venv/bin/python -m bench.ingest_csv --rows 100000 --stores sqlite neo4j

A FLEX2-style LIMS export of ``--rows`` rows (each row a sample with up to 14 analyte
results, written by ``bench.lims_csv``) goes through ``IngestPipeline`` as a pushed
payload would: into the SQLite ledger, a survey pass through ``lims.csv`` with the
shipped ``novabio_flex2`` profile, then the streamed apply pass. The baseline is the
same store's raw ``graph.loading.load`` of the same records, parsed into memory
before its clock starts. Both run on an empty store, in the same run, and the ratio
says what connector, ledger, the survey pass and the apply pass (which replays the
survey's spool, ``hub.ingest.spool``) cost on top of the store's own writes.

``--repeat`` runs each ``--repeat`` times, alternating which goes first, and the ratio
is taken between medians: one run of each on a shared machine cannot tell 0.7 from 0.9
(see docs/benchmarks.md, "Read this first").

The baseline's parsed records are held in memory for the whole run, the pipeline's
timings included. They are frozen out of the garbage collector (``gc.freeze``), as in
``bench.ingest``: otherwise every full collection during the pipeline (which makes
records of its own, and so collects more often) walks all of them, a cost that
streamed ingest, which holds one chunk, never pays. ``--no-freeze`` leaves them in.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import statistics
import time
from pathlib import Path
from tempfile import TemporaryDirectory

from bench.lims_csv import run_parse, write_lims_csv
from bench.neo4j_server import bench_neo4j
from connectors.csv.profile import example_profile
from graph.loading import load
from graph.model import Edge, NodeRecord, Record
from graph.neo4j.store import Neo4jGraphStore
from graph.sql.store import SqlGraphStore
from graph.store import GraphStore
from hub.ingest.pipeline import IngestPipeline
from hub.ingest.profiles import with_profile
from hub.records.audit import Actor
from hub.records.ledger import Delivery, Ledger


async def fresh(store: GraphStore) -> GraphStore:
    await store.setup()
    await store.wipe()
    return store


async def time_pipeline(store: GraphStore, ledger: Ledger, payload: bytes) -> tuple[float, int]:
    """Seconds from the push (committed to the ledger) to the ingestion applied."""
    pipeline = IngestPipeline(await fresh(store))
    delivery = Delivery(
        payload,
        "lims.csv",
        "elm",
        Actor("elm", "bench"),
        filename="flex2.csv",
        options=with_profile({}, example_profile("novabio_flex2")),
    )
    started = time.perf_counter()
    received = await ledger.receive(delivery)
    report = await pipeline.apply(received, payload)
    elapsed = time.perf_counter() - started
    assert report.status.value == "APPLIED", report.error
    return elapsed, report.applied


async def time_raw(store: GraphStore, records: list[Record]) -> float:
    await fresh(store)
    started = time.perf_counter()
    await load(store, records)
    return time.perf_counter() - started


async def measure(
    name: str,
    store: GraphStore,
    ledger: Ledger,
    csv: Path,
    payload: bytes,
    rows: int,
    repeat: int,
    freeze: bool,
) -> str:
    records = [outcome for outcome in run_parse(csv) if isinstance(outcome, NodeRecord | Edge)]
    if freeze:
        gc.collect()
        gc.freeze()
    raw_runs: list[float] = []
    runs: list[float] = []
    for round_ in range(repeat):
        # Alternating order: load from other work falls on both alike as far as it can.
        if round_ % 2 == 0:
            raw_runs.append(await time_raw(store, records))
        seconds, applied = await time_pipeline(store, ledger, payload)
        assert applied == len(records)
        runs.append(seconds)
        if round_ % 2 == 1:
            raw_runs.append(await time_raw(store, records))
    await store.close()
    count = len(records)
    del records
    gc.unfreeze()
    raw_seconds, seconds = statistics.median(raw_runs), statistics.median(runs)
    each = ", ".join(f"{raw:.1f}/{run:.1f}" for raw, run in zip(raw_runs, runs, strict=True))
    return (
        f"| {name} | {rows:,} | {count:,} | {seconds:.1f} | {rows / seconds:,.0f} "
        f"| {count / seconds:,.0f} | {count / raw_seconds:,.0f} "
        f"| {raw_seconds / seconds:.2f} | {each} |"
    )


async def main(rows: int, stores: list[str], repeat: int, freeze: bool) -> None:
    lines = []
    with TemporaryDirectory() as folder:
        csv = Path(folder) / "flex2.csv"
        write_lims_csv(csv, rows)
        payload = csv.read_bytes()
        ledger = Ledger(f"sqlite+aiosqlite:///{folder}/ledger.sqlite")
        await ledger.setup()
        if "sqlite" in stores:
            store = SqlGraphStore(f"sqlite+aiosqlite:///{folder}/graph.sqlite")
            lines.append(await measure("SQLite", store, ledger, csv, payload, rows, repeat, freeze))
        if "neo4j" in stores:
            with bench_neo4j() as uri:
                neo4j = Neo4jGraphStore(uri)
                lines.append(
                    await measure("Neo4j", neo4j, ledger, csv, payload, rows, repeat, freeze)
                )
        await ledger.close()
    print(f"LIMS CSV of {rows:,} rows ({len(payload) / 2**20:.1f} MiB) end to end vs raw upsert:\n")
    held = "frozen out of" if freeze else "left in"
    print(f"medians of {repeat} runs each, alternating; baseline records {held} the GC\n")
    print(
        "| store | rows | records | seconds | rows/s | records/s | raw upsert records/s "
        "| ratio to raw | raw/pipeline s, each round |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---|")
    print("\n".join(lines))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--stores", nargs="+", default=["sqlite", "neo4j"])
    parser.add_argument("--repeat", type=int, default=1, help="runs of each (median)")
    parser.add_argument(
        "--no-freeze",
        action="store_true",
        help="leave the baseline's records to the garbage collector (to see what that costs)",
    )
    args = parser.parse_args()
    asyncio.run(main(args.rows, args.stores, args.repeat, not args.no_freeze))
