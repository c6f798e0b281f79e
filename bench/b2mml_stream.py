"""B2MML streaming: rows/s and peak memory of ``mes.b2mml`` on a generated 10 MB export,
against a 1 MB one in the same run (flat memory: a peak ratio near 1, not near 10).

    .venv/bin/python -m bench.b2mml_stream
    .venv/bin/python -m bench.b2mml_stream --sizes-mb 1 10 50

Each export (MaterialLots with status, quantity and an expiry property, plus a
segment response consuming two lots into a third every 100 lots) is written to a
temporary file and parsed from the open file in a fresh spawned process, so one
parse's peak cannot hide another's. Per size it reports records per second, the rise
of the process's peak resident memory over its baseline after imports (``ru_maxrss``:
what libxml2 and Python hold together), and the Python allocator's peak during a
second, traced parse (``tracemalloc``: Python objects only, libxml2 is invisible to
it). Timing comes from the untraced parse, since tracing slows Python down.

What still grows is small and bounded: up to about 16 000 lot-number strings (~1 MB)
that pydantic's validation keeps, nearly full some 20 MB into this export; with
``--sizes-mb 20 40`` the two peaks differ by about a tenth (1.1 against 1.2 MB).
"""

from __future__ import annotations

import argparse
import resource
import time
import tracemalloc
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from multiprocessing import get_context
from pathlib import Path
from tempfile import TemporaryDirectory

from connectors.b2mml.connector import B2mmlConnector
from connectors.base import ParseContext

LOT = (
    "<MaterialLot><ID>L-{n:07d}</ID><MaterialDefinitionID>API-{m}</MaterialDefinitionID>"
    "<Status>Released</Status><MaterialLotProperty><ID>ExpiryDate</ID><Value>"
    "<ValueString>2027-01-31T00:00:00Z</ValueString><DataType>DateTime</DataType></Value>"
    "</MaterialLotProperty><Quantity><QuantityString>{n}.5</QuantityString>"
    "<UnitOfMeasure>kg</UnitOfMeasure></Quantity></MaterialLot>\n"
)
SEGMENT = (
    "<SegmentResponse><ID>S-{n}</ID>"
    "<MaterialActual><MaterialLotID>L-{a:07d}</MaterialLotID><MaterialUse>Consumed</MaterialUse>"
    "<Quantity><QuantityString>2.5</QuantityString><UnitOfMeasure>kg</UnitOfMeasure></Quantity>"
    "</MaterialActual>"
    "<MaterialActual><MaterialLotID>L-{b:07d}</MaterialLotID><MaterialUse>Consumed</MaterialUse>"
    "</MaterialActual>"
    "<MaterialActual><MaterialLotID>L-{n:07d}</MaterialLotID><MaterialUse>Produced</MaterialUse>"
    "</MaterialActual></SegmentResponse>\n"
)


def write_export(path: Path, size_bytes: int) -> None:
    """A B2MML V0600 export of about ``size_bytes``, written without holding it whole."""
    with path.open("w", encoding="utf-8") as out:
        out.write(
            '<SyncMaterialInformation xmlns="http://www.mesa.org/xml/B2MML-V0600">'
            "<DataArea><MaterialInformation>\n"
        )
        n = 0
        while out.tell() < size_bytes:
            out.write(LOT.format(n=n, m=n % 7))
            if n % 100 == 99:
                out.write(SEGMENT.format(n=n, a=n - 1, b=n - 2))
            n += 1
        out.write("</MaterialInformation></DataArea></SyncMaterialInformation>\n")


@dataclass(frozen=True)
class Measurement:
    size_mb: float
    records: int
    seconds: float
    peak_rss_rise_mb: float
    python_peak_mb: float


def measure(path: str) -> Measurement:
    """Runs in a fresh process: parse once for time and resident peak, once traced."""
    connector = B2mmlConnector()
    context = ParseContext("bench", connector.name, "birch", Path(path).name)
    baseline_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    with open(path, "rb") as payload:
        records = sum(1 for _ in connector.parse(payload, context))
    seconds = time.perf_counter() - started
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    tracemalloc.start()
    with open(path, "rb") as payload:
        for _ in connector.parse(payload, context):
            pass
    python_peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return Measurement(
        size_mb=Path(path).stat().st_size / 1e6,
        records=records,
        seconds=seconds,
        peak_rss_rise_mb=(peak_kb - baseline_kb) / 1024,
        python_peak_mb=python_peak / 1e6,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes-mb", type=float, nargs="+", default=[1.0, 10.0])
    arguments = parser.parse_args()
    results = []
    with TemporaryDirectory() as scratch:
        for size in arguments.sizes_mb:
            path = Path(scratch) / f"export-{size:g}mb.xml"
            write_export(path, int(size * 1e6))
            with ProcessPoolExecutor(1, mp_context=get_context("spawn")) as fresh:
                results.append(fresh.submit(measure, str(path)).result())
    smallest = results[0]
    print(f"{'size MB':>8} {'records':>9} {'rows/s':>9} {'RSS rise MB':>12} {'Python peak MB':>15}")
    for result in results:
        print(
            f"{result.size_mb:8.1f} {result.records:9d} {result.records / result.seconds:9.0f}"
            f" {result.peak_rss_rise_mb:12.1f} {result.python_peak_mb:15.2f}"
        )
    largest = results[-1]
    print(
        f"peak ratio {largest.size_mb:.0f} MB / {smallest.size_mb:.0f} MB: "
        f"RSS rise {largest.peak_rss_rise_mb / max(smallest.peak_rss_rise_mb, 0.1):.2f}, "
        f"Python {largest.python_peak_mb / max(smallest.python_peak_mb, 0.01):.2f}"
    )


if __name__ == "__main__":
    main()
