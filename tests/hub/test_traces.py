"""The trace index on SQLite and PostgreSQL: an ingestion hears what ingestions
received before it said and had not yet retracted, so a replay hears what the first
run heard; keeping the same notes again changes nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from connectors.traces import Commissioned, Mentions, Packed, Stated, StatedEvent, TracedLot
from graph.model import Provenance
from graph.retraction import Retraction
from hub.records.ledger import IngestionStatus, Ledger, Received
from hub.records.traces import TraceIndex

START = datetime(2025, 5, 1, 8, 0, tzinfo=UTC)
SERIAL = "urn:epc:id:sgtin:0614141.012345.1001"
PALLET = "urn:epc:id:sscc:0614141.1234567890"
L77 = TracedLot("alder", "00614141123452", "L-77")
L78 = TracedLot("alder", "00614141123452", "L-78")


def received(ingestion_id: str, hours: int, org: str = "alder") -> Received:
    return Received(
        id=ingestion_id, connector="supply.epcis", org=org, submitted_by=org, filename="",
        media_type="", options={}, received_at=START + timedelta(hours=hours), size=0,
        sha256="", status=IngestionStatus.RECEIVED, report=None, finished_at=None,
        all_or_nothing=False, owner_only=True, supersedes=None, attempts=0,
        next_attempt_at=None,
    )  # fmt: skip


def at(hours: float) -> datetime:
    return START + timedelta(hours=hours)


async def test_an_ingestion_hears_what_came_before_it_and_was_not_yet_taken_back(
    ledger: Ledger,
) -> None:
    index = TraceIndex(ledger.engine)
    made, packed, unpacked, declared = (
        received("ing-1", 1), received("ing-2", 2), received("ing-3", 3), received("ing-4", 4)
    )  # fmt: skip
    await index.keep(made, [Commissioned((SERIAL,), L77, "/e/0"), Stated("ev-made", "/e/0")])
    notes = [Packed(PALLET, (L77, L78), False, "/e/0"), Stated("ev-pack", "/e/0")]
    await index.keep(packed, notes)
    await index.keep(packed, notes)  # applied again (a retry, a replay): nothing changes
    await index.keep(unpacked, [Packed(PALLET, (L78,), True, "/e/1")])
    retraction = Retraction(
        "ing-2",
        "/e/0",
        "alder",
        Provenance(ingestion_id="ing-4", connector="c", location="/e/0 (x)"),
    )
    await index.keep(declared, [retraction])
    asked = Mentions(frozenset({SERIAL, PALLET, "urn:epc:id:sscc:0614141.0000000000"}),
                     frozenset({"ev-pack", "ev-unknown"}))  # fmt: skip

    before_all = await index.heard(asked, at(1))
    after_packing = await index.heard(asked, at(2.5))
    after_unpacking = await index.heard(asked, at(3.5))
    after_retraction = await index.heard(asked, at(5))

    assert (before_all.serials, before_all.containers, before_all.events) == ({}, {}, {})
    assert after_packing.serials == {SERIAL: L77}
    assert after_packing.containers == {PALLET: (L77, L78)}
    assert after_packing.events == {"ev-pack": (StatedEvent("ing-2", "/e/0", "alder"),)}
    assert after_unpacking.containers == {PALLET: (L77,)}
    # The packing was retracted: the pallet holds nothing it said, the event is gone.
    assert after_retraction.containers == {}
    assert after_retraction.events == {}
    assert after_retraction.serials == {SERIAL: L77}
    # The retracting ingestion itself still heard the event it retracts (as it did live).
    assert (await index.heard(asked, at(4))).events == {
        "ev-pack": (StatedEvent("ing-2", "/e/0", "alder"),)
    }
