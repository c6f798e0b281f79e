"""DSCSA-style EPCIS end to end: what resolving serials across pushes costs.

    .venv/bin/python -m bench.ingest_epcis --lots 500 --serials 20 --rounds 3

Two pushes of a packer's events, as ``partnerhub`` receives them: the first
commissions ``--lots`` lots of ``--serials`` serials each (ilmd lot number) and packs
each lot's serials onto a pallet (SSCC); the second ships every pallet to a customer's
GLN, naming only the pallets, so each shipment's lot comes from what the first push
said (the trace index in the hub's database, ``hub.records.traces``).

Per round, on an empty SQLite graph store and a fresh ledger, interleaved:

- **pipeline**: both pushes through ``IngestPipeline.with_registry`` (pre-scan, trace
  index read, two passes, records written, notes kept);
- **raw**: the store's own ``graph.loading.load`` of the same records (parsed into
  memory before its clock starts) -- the floor;
- **one pass**: the connector alone over both documents (the pipeline makes three:
  the pre-scan and its two passes).

Reported: the medians of each, and pipeline / raw as a ratio of throughputs.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import statistics
import time
from pathlib import Path
from tempfile import TemporaryDirectory
from types import MappingProxyType
from typing import Any

from connectors.base import ParseContext
from connectors.epcis.connector import EpcisConnector
from connectors.traces import Commissioned, Heard, Note, Packed
from graph.loading import load
from graph.model import Edge, EdgeKind, NodeRecord, Record
from graph.sql.store import SqlGraphStore
from hub.ingest.pipeline import IngestPipeline
from hub.records.audit import Actor
from hub.records.ledger import Delivery, Ledger

PREFIX = "0614141"
OPTIONS = {"company_prefixes": {PREFIX: "cedar"}}
CUSTOMER = {"type": "owning_party", "destination": "urn:epc:id:pgln:4012345.00000"}


def _document(events: list[dict[str, Any]]) -> bytes:
    return json.dumps(
        {
            "@context": ["https://ref.gs1.org/standards/epcis/epcis-context.jsonld"],
            "type": "EPCISDocument",
            "schemaVersion": "2.0",
            "epcisBody": {"eventList": events},
        }
    ).encode()


def _pallet(lot: int) -> str:
    return f"urn:epc:id:sscc:{PREFIX}.{lot:010d}"


def pushes(lots: int, serials: int) -> tuple[bytes, bytes]:
    """The packer's two documents: commissioning and packing, then shipping."""
    made: list[dict[str, Any]] = []
    shipped: list[dict[str, Any]] = []
    for lot in range(lots):
        items = [f"urn:epc:id:sgtin:{PREFIX}.012345.{lot}-{n}" for n in range(serials)]
        made.append(
            {
                "type": "ObjectEvent",
                "eventID": f"urn:uuid:commission-{lot}",
                "eventTime": "2025-05-02T08:00:00Z",
                "action": "ADD",
                "bizStep": "commissioning",
                "epcList": items,
                "ilmd": {"cbvmda:lotNumber": f"L-{lot}"},
            }
        )
        made.append(
            {
                "type": "AggregationEvent",
                "eventID": f"urn:uuid:pack-{lot}",
                "eventTime": "2025-05-03T08:00:00Z",
                "action": "ADD",
                "bizStep": "packing",
                "parentID": _pallet(lot),
                "childEPCs": items,
            }
        )
        shipped.append(
            {
                "type": "ObjectEvent",
                "eventID": f"urn:uuid:ship-{lot}",
                "eventTime": "2025-05-04T08:00:00Z",
                "action": "OBSERVE",
                "bizStep": "shipping",
                "epcList": [_pallet(lot)],
                "destinationList": [CUSTOMER],
            }
        )
    return _document(made), _document(shipped)


def parsed(payload: bytes, heard: Heard) -> tuple[list[Record], list[Note]]:
    """The records and the notes the connector makes of ``payload``, out of the hub."""
    connector = EpcisConnector.with_options(OPTIONS)
    context = ParseContext("raw", connector.name, "cedar", heard=heard)
    records: list[Record] = []
    notes: list[Note] = []
    for outcome in connector.parse(io.BytesIO(payload), context):
        if isinstance(outcome, NodeRecord | Edge):
            records.append(outcome)
        elif isinstance(outcome, Commissioned | Packed):
            notes.append(outcome)
    return records, notes


def heard_from(notes: list[Note]) -> Heard:
    """What the first push tells the second, without a database (for the raw floor)."""
    serials = {s: n.lot for n in notes if isinstance(n, Commissioned) for s in n.serials}
    containers = {n.container: n.lots for n in notes if isinstance(n, Packed)}
    return Heard(MappingProxyType(serials), MappingProxyType(containers))


async def time_pipeline(folder: Path, round_: int, documents: tuple[bytes, bytes]) -> float:
    store = SqlGraphStore(f"sqlite+aiosqlite:///{folder}/pipeline-{round_}.sqlite")
    ledger = Ledger(f"sqlite+aiosqlite:///{folder}/ledger-{round_}.sqlite")
    await store.setup()
    await ledger.setup()
    pipeline = IngestPipeline.with_registry(store, ledger.engine)
    started = time.perf_counter()
    for number, payload in enumerate(documents):
        delivery = Delivery(
            payload,
            "supply.epcis",
            "cedar",
            Actor("cedar", "bench"),
            f"{number}.json",
            options=OPTIONS,
        )
        report = await pipeline.apply(await ledger.receive(delivery), payload)
        assert report.status.value == "APPLIED", (report.error, report.rejections[:3])
    elapsed = time.perf_counter() - started
    shipments = await store.edges_from(["batch:cedar/L-0"], [EdgeKind.SHIPPED_TO])
    await store.close()
    await ledger.close()
    assert shipments, "the second push's pallets named their lots"
    return elapsed


async def time_raw(folder: Path, round_: int, records: list[Record]) -> float:
    store = SqlGraphStore(f"sqlite+aiosqlite:///{folder}/raw-{round_}.sqlite")
    await store.setup()
    started = time.perf_counter()
    await load(store, records)
    elapsed = time.perf_counter() - started
    await store.close()
    return elapsed


async def main(lots: int, serials: int, rounds: int) -> None:
    documents = pushes(lots, serials)
    # The raw floor: the same records, the second document read having heard the first.
    first, notes = parsed(documents[0], Heard())
    records = first + parsed(documents[1], heard_from(notes))[0]
    pipeline_runs, raw_runs, parse_runs = [], [], []
    with TemporaryDirectory() as folder:
        for round_ in range(rounds):
            raw_runs.append(await time_raw(Path(folder), round_, records))
            pipeline_runs.append(await time_pipeline(Path(folder), round_, documents))
            started = time.perf_counter()
            parsed(documents[1], heard_from(parsed(documents[0], Heard())[1]))
            parse_runs.append(time.perf_counter() - started)
    pipe, raw = statistics.median(pipeline_runs), statistics.median(raw_runs)
    one_pass = statistics.median(parse_runs)
    size = sum(len(d) for d in documents) / 2**20
    print(
        f"EPCIS, {lots:,} lots of {serials} serials, two pushes ({size:.1f} MiB), "
        f"{len(records):,} records, SQLite, medians of {rounds} interleaved rounds:\n"
    )
    print("| path | seconds | records/s | ratio to raw |")
    print("|---|---:|---:|---:|")
    print(f"| raw `load` of the parsed records | {raw:.2f} | {len(records) / raw:,.0f} | 1.00 |")
    print(
        f"| one connector pass over both documents (no store) | {one_pass:.2f} "
        f"| {len(records) / one_pass:,.0f} | {raw / one_pass:.2f} |"
    )
    print(
        f"| pipeline (pre-scan, trace index, two passes, notes kept) | {pipe:.2f} "
        f"| {len(records) / pipe:,.0f} | {raw / pipe:.2f} |"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lots", type=int, default=500)
    parser.add_argument("--serials", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    asyncio.run(main(args.lots, args.serials, args.rounds))
