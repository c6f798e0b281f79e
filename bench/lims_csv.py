"""LIMS CSV parsing throughput: a generated Nova FLEX2 export through ``lims.csv``.

    .venv/bin/python -m bench.lims_csv --rows 100000

Writes a CSV of ``--rows`` sample rows in the layout of the real FLEX2 export (the
shared sample's 33 columns, month-first timestamps, a trailing comma), then parses it
end to end through the connector with the shipped ``novabio_flex2`` profile, streamed
from the file as an ingestion would: bytes -> rows -> validated TestResult records.
Each row gives up to 14 results (about 5% of rows skip glutamine, as an analyzer
does when the analyte is not run). Reports rows/s, records/s and MB/s; the best of
``--repeat`` runs, so that a cold page cache or a GC pause does not decide the figure.

The parse loop is ``run_parse``: a store benchmark can feed its records on instead of
counting them.
"""

from __future__ import annotations

import argparse
import random
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from tempfile import TemporaryDirectory

from connectors.base import Outcome, ParseContext
from connectors.csv.connector import LimsCsvConnector
from connectors.csv.profile import example_profile
from graph.intake import RecordRejection

SEED = 7
HEADER = (
    '"Date & Time","Sample ID","Sample Type","Gln","Glu","Gluc","Lac","NH4+","Na+","K+",'
    '"Ca++","pH","PO2","PCO2","Vessel ID","Batch ID","Cell Type","Vessel Temperature (°C)",'
    '"Vessel Pressure (psi)","Sparging O2%","Chemistry Dilution Ratio","pH @ Temp",'
    '"PCO2 @ Temp","PO2 @ Temp","O2 Saturation","CO2 Saturation","HCO3","Chemistry Flow Time",'
    '"pH / Gas Flow Time","Tray Location","Time In Tray","Sample Time","Operator",'
)
SAMPLES_PER_BATCH = 40  # a bioreactor run sampled twice a day for three weeks


def lims_rows(count: int, seed: int = SEED) -> Iterator[str]:
    rng = random.Random(seed)
    moment = datetime(2022, 6, 24, 14, 34, 52)
    for index in range(count):
        moment += timedelta(minutes=rng.randint(5, 180))
        stamp = f"{moment.month}-{moment.day}-{moment.year}  {moment:%H:%M:%S}"
        day_first = f"{moment.day}-{moment.month}-{moment.year}  {moment:%H:%M:%S}"
        glutamine = "" if rng.random() < 0.05 else f"{rng.uniform(0.2, 4.0):.2f}"
        ph = rng.uniform(6.8, 7.5)
        po2, pco2 = rng.uniform(40, 200), rng.uniform(20, 80)
        cells = [
            stamp, f"SMPL_{index:07d}", "Spent Media", glutamine,
            f"{rng.uniform(0.1, 1.5):.2f}", f"{rng.uniform(0.5, 6.0):.2f}",
            f"{rng.uniform(0.1, 3.0):.2f}", f"{rng.uniform(0.1, 8.0):.2f}",
            f"{rng.uniform(120, 160):.1f}", f"{rng.uniform(3, 8):.2f}", f"{rng.uniform(0.5, 1.5):.2f}",
            f"{ph:.3f}", f"{po2:.1f}", f"{pco2:.1f}", "3L Bioreactor",
            f"BATCH_{index // SAMPLES_PER_BATCH:05d}", "Workhog", "37.0", "0.0", "20.9", "1:1",
            f"{ph:.3f}", f"{pco2:.1f}", f"{po2:.1f}", f"{rng.uniform(60, 100):.1f}",
            f"{rng.uniform(2, 12):.1f}", f"{rng.uniform(15, 35):.1f}", "6.67", "3.65", "", "",
            day_first, "ANALYST1", "",
        ]  # fmt: skip
        yield ",".join(cells)


def write_lims_csv(path: Path, rows: int, seed: int = SEED) -> int:
    """The export at ``path`` (CRLF, as the instrument PC writes it); its size in bytes."""
    with path.open("w", encoding="utf-8", newline="\r\n") as out:
        out.write(HEADER + "\n")
        for line in lims_rows(rows, seed):
            out.write(line + "\n")
    return path.stat().st_size


@dataclass(frozen=True, slots=True)
class ParseTiming:
    seconds: float
    records: int
    rejections: int


def run_parse(path: Path, org: str = "elm") -> Iterator[Outcome]:
    """Every outcome of the file through lims.csv, streamed from disk."""
    connector = LimsCsvConnector.for_profile(example_profile("novabio_flex2"))
    context = ParseContext("bench-lims-csv", connector.name, org, path.name)
    with path.open("rb") as payload:
        yield from connector.parse(payload, context)


def time_parse(path: Path) -> ParseTiming:
    records = rejections = 0
    started = time.perf_counter()
    for outcome in run_parse(path):
        if isinstance(outcome, RecordRejection):
            rejections += 1
        else:
            records += 1
    return ParseTiming(time.perf_counter() - started, records, rejections)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=SEED)
    args = parser.parse_args()
    with TemporaryDirectory() as folder:
        path = Path(folder) / "SampleResults2022-06-28_142558.csv"
        started = time.perf_counter()
        size = write_lims_csv(path, args.rows, args.seed)
        print(
            f"wrote {args.rows:,} rows, {size / 1e6:.1f} MB in {time.perf_counter() - started:.1f} s"
        )
        best = min(
            (time_parse(path) for _ in range(args.repeat)), key=lambda timing: timing.seconds
        )
    if best.rejections:
        raise SystemExit(f"{best.rejections} rejections: the generator and the profile disagree")
    print(
        f"parsed in {best.seconds:.2f} s (best of {args.repeat}): "
        f"{args.rows / best.seconds:,.0f} rows/s, {best.records / best.seconds:,.0f} records/s "
        f"({best.records:,} TestResults), {size / 1e6 / best.seconds:.1f} MB/s"
    )


if __name__ == "__main__":
    main()
