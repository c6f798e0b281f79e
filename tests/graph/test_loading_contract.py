"""Writing a plan, and loading a stream in chunks, the same on both stores."""

from __future__ import annotations

import pytest

from graph.lineage import Direction
from graph.loading import load
from graph.model import Batch, Organization, Provenance, Record
from graph.store import GraphStore
from graph.write_plan import WriteSummary, plan_write
from tests.graph.builders import PROVENANCE, batch, consumed, lot, same_lot

UP = Direction.UPSTREAM


def at(ingestion: str, location: str) -> Provenance:
    return Provenance(ingestion_id=ingestion, connector="test", location=location)


async def test_upsert_plan_writes_what_upsert_writes_and_again_changes_nothing(
    store: GraphStore,
) -> None:
    records: list[Record] = [
        batch("birch", "T-1", status="RELEASED", quantity=120.0, unit="kg"),
        consumed(lot("birch", "T-1"), lot("birch", "R-1"), 40.0, "kg"),
        same_lot(lot("birch", "R-1"), lot("alder", "A-1")),
    ]
    plan = plan_write(records)

    summary = await store.upsert_plan(plan)
    counts = await store.counts()
    lineage = await store.lineage(lot("birch", "T-1"), UP, 5)
    again = await store.upsert_plan(plan)

    # One described node; edges stated, implied by it, and implied by placeholder lots
    # (each is made by the maker in its id). Placeholders are not counted as nodes.
    assert summary == again == WriteSummary(records=3, nodes=1, edges=5)
    assert await store.counts() == counts
    assert counts.total_nodes == 5  # three lots and two makers, four of them placeholders
    assert await store.lineage(lot("birch", "T-1"), UP, 5) == lineage
    assert lineage is not None and len(lineage.nodes) == 3
    stored = await store.get_nodes([lot("birch", "T-1"), lot("alder", "A-1")])
    assert stored[lot("birch", "T-1")].sources == ("ing-test#/fixture",)
    assert stored[lot("alder", "A-1")].sources == ()  # a placeholder: nobody described it


async def test_load_in_chunks_ends_as_one_upsert_would(store: GraphStore) -> None:
    records: list[Record] = [
        batch("birch", "T-1", provenance=at("ing-1", "/0"), status="QUARANTINE", unit="kg"),
        consumed(lot("birch", "T-1"), lot("alder", "A-1")),
        batch("alder", "A-1", provenance=at("ing-1", "/2"), status="RELEASED"),
        batch("birch", "T-1", provenance=at("ing-2", "/0"), status="RELEASED"),
        batch("birch", "T-1", provenance=at("ing-3", "/9"), quantity=5.0),
    ]
    heard: list[int] = []

    summary = await load(store, records, chunk_size=2, on_chunk=heard.append)

    assert (summary.records, summary.chunks) == (5, 3)
    assert heard == [2, 2, 1]
    nodes = await store.get_nodes([lot("birch", "T-1"), lot("alder", "A-1")])
    tablet = nodes[lot("birch", "T-1")]
    assert isinstance(tablet.record, Batch)
    # Later chunks win per attribute, keep the ones they omit, and add their sources.
    assert (tablet.record.status, tablet.record.unit, tablet.record.quantity) == (
        "RELEASED",
        "kg",
        5.0,
    )
    assert tablet.sources == ("ing-1#/0", "ing-2#/0", "ing-3#/9")
    assert nodes[lot("alder", "A-1")].sources == ("ing-1#/2",)  # described after a placeholder
    lineage = await store.lineage(lot("birch", "T-1"), UP, 1)
    assert lineage is not None and lineage.ids == {lot("birch", "T-1"), lot("alder", "A-1")}


class _Unstorable(Organization):
    """A record whose attributes no store can write, to make a chunk fail mid-load."""

    def properties(self) -> dict[str, object]:
        return {**super().properties(), "broken": {1, 2}}


@pytest.mark.parametrize("failure", ["store", "plan"])
async def test_a_failed_chunk_stops_the_load_with_the_chunks_before_it_written(
    store: GraphStore, failure: str
) -> None:
    bad: Record = (
        _Unstorable(org_id="zed", provenance=PROVENANCE)
        if failure == "store"
        else Batch(maker="birch", number="NO-PROVENANCE")
    )
    records: list[Record] = [
        batch("birch", "C1-A"),
        batch("birch", "C1-B"),
        batch("birch", "C2-A"),
        bad,
        batch("birch", "C3-A"),
    ]

    with pytest.raises(Exception):  # noqa: B017 - the store's or planner's own error
        await load(store, records, chunk_size=2)

    found = await store.get_nodes([lot("birch", n) for n in ("C1-A", "C1-B", "C2-A", "C3-A")])
    assert set(found) == {lot("birch", "C1-A"), lot("birch", "C1-B")}
