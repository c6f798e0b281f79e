"""bench.backup: how fast ``partnerhub backup`` / ``restore`` go, and that their memory
does not grow with the database (rows are streamed a page at a time).

A ledger of N ingestions with CSV-like payloads of S MB each is filled, then backed up
and restored into a new database, each in a child process of its own so that its peak
resident memory (ru_maxrss) is its own; a child that only imports and opens the
database gives the baseline. SQLite by default; ``--database postgresql`` starts a
PostgreSQL from Debian's binaries (deploy/postgres.py).

    .venv/bin/python -m bench.backup --payloads 200 --payload-mb 5
    .venv/bin/python -m bench.backup --payloads 200 --payload-mb 5 --database postgresql
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from deploy.neo4j.launcher import free_port
from deploy.postgres import PostgresDevServer, create_database
from hub.backup.archive import write_backup
from hub.backup.restore import restore_backup
from hub.records.audit import Actor
from hub.records.database import open_engine
from hub.records.ledger import Delivery, Ledger

OPERATOR = Actor("operator", "bench.backup")


def payload(megabytes: float, seed: int) -> bytes:
    """A partner's CSV export: lot numbers, dates and results (compresses as real ones do)."""
    rng = random.Random(seed)
    lines, size, target = [b"lot,tested_on,test,value,unit\n"], 0, int(megabytes * 1024 * 1024)
    while size < target:
        line = (
            f"L-{rng.randrange(10**6):06d},2026-{rng.randrange(1, 13):02d}-"
            f"{rng.randrange(1, 29):02d},assay,{rng.uniform(95, 105):.3f},%\n"
        ).encode()
        lines.append(line)
        size += len(line)
    return b"".join(lines)


async def fill(url: str, payloads: int, megabytes: float) -> int:
    ledger = Ledger(url)
    await ledger.setup()
    total = 0
    try:
        for n in range(payloads):
            body = payload(megabytes, n)
            total += len(body)
            delivery = Delivery(body, "lims.csv", "elm", OPERATOR, filename=f"results-{n}.csv")
            await ledger.receive(delivery)
    finally:
        await ledger.close()
    return total


async def child(step: str, url: str, file: Path) -> None:
    engine = open_engine(url)
    started = time.perf_counter()
    try:
        if step == "backup":
            await write_backup(engine, file)
        elif step == "restore":
            await restore_backup(engine, file, OPERATOR)
        else:  # baseline: imported, connected
            async with engine.connect():
                pass
    finally:
        await engine.dispose()
    seconds = time.perf_counter() - started
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"step": step, "seconds": seconds, "peak_rss_mb": peak_mb}))


def run_child(step: str, url: str, file: Path) -> dict[str, float]:
    done = subprocess.run(
        [sys.executable, "-m", "bench.backup", "--child", step, "--url", url, "--file", str(file)],
        check=True,
        capture_output=True,
        text=True,
    )
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


async def databases(kind: str, folder: Path) -> tuple[str, str, PostgresDevServer | None]:
    if kind == "sqlite":
        return (
            f"sqlite+aiosqlite:///{folder / 'source.sqlite'}",
            f"sqlite+aiosqlite:///{folder / 'restored.sqlite'}",
            None,
        )
    server = PostgresDevServer(port=free_port(), durable=False)
    server.start()
    source = await create_database(server.url, "bench_backup_source")
    restored = await create_database(server.url, "bench_backup_restored")
    return source, restored, server


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--payloads", type=int, default=200)
    parser.add_argument("--payload-mb", type=float, default=5.0)
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--child", choices=("backup", "restore", "baseline"))
    parser.add_argument("--url")
    parser.add_argument("--file", type=Path)
    args = parser.parse_args()
    if args.child:
        asyncio.run(child(args.child, args.url, args.file))
        return
    print(f"{time.strftime('%Y-%m-%d %H:%M:%S UTC', time.gmtime())} load {os.getloadavg()}")
    with tempfile.TemporaryDirectory(prefix="bench-backup-") as tmp:
        folder = Path(tmp)
        source, restored, server = asyncio.run(databases(args.database, folder))
        try:
            total = asyncio.run(fill(source, args.payloads, args.payload_mb))
            file = folder / "hub.zip"
            baseline = run_child("baseline", source, file)
            made = run_child("backup", source, file)
            back = run_child("restore", restored, file)
        finally:
            if server is not None:
                server.stop()
        payload_mb = total / 1024 / 1024
        print(
            f"{args.database}: {args.payloads} payloads, {payload_mb:.0f} MB of payloads,"
            f" backup file {file.stat().st_size / 1024 / 1024:.0f} MB"
        )
        for name, measured in (("backup", made), ("restore", back)):
            print(
                f"{name}: {measured['seconds']:.1f} s, {payload_mb / measured['seconds']:.1f} MB/s"
                f" of payloads, peak RSS {measured['peak_rss_mb']:.0f} MB"
                f" (baseline child {baseline['peak_rss_mb']:.0f} MB)"
            )
    print(f"{time.strftime('%Y-%m-%d %H:%M:%S UTC', time.gmtime())} load {os.getloadavg()}")


if __name__ == "__main__":
    main()
