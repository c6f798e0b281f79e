"""One contract, two stores: every test here runs on SQLite and on a real Neo4j."""

from __future__ import annotations

from datetime import date

import pytest

from graph.intake import parse_record, validate_records
from graph.lineage import Direction, LineageEdge, LineageNode
from graph.model import (
    Batch,
    Edge,
    EdgeKind,
    Material,
    Organization,
    Product,
    Provenance,
    QualityAgreement,
)
from graph.store import GraphStore, StoredEdge
from graph.visibility import Visibility
from tests.graph.builders import PROVENANCE, batch, consumed, lot, same_lot

UP, DOWN, BOTH = Direction.UPSTREAM, Direction.DOWNSTREAM, Direction.BOTH


def depths(lineage: object) -> dict[str, int]:
    return {node.id: node.depth for node in lineage.nodes}  # type: ignore[attr-defined]


def edge_pairs(lineage: object) -> set[tuple[str, str]]:
    return {(edge.source, edge.target) for edge in lineage.edges}  # type: ignore[attr-defined]


async def test_the_same_records_twice_change_nothing(store: GraphStore) -> None:
    records = [
        batch("birch", "T-1", status="RELEASED", quantity=120.0, unit="kg"),
        consumed(lot("birch", "T-1"), lot("birch", "R-1"), 40.0, "kg"),
        same_lot(lot("birch", "R-1"), lot("alder", "A-1")),
    ]
    await store.upsert(records)
    counts_once = await store.counts()
    nodes_once = await store.get_nodes([lot("birch", "T-1"), lot("alder", "A-1")])
    lineage_once = await store.lineage(lot("birch", "T-1"), UP, 5)

    await store.upsert(records)

    assert await store.counts() == counts_once
    assert await store.get_nodes([lot("birch", "T-1"), lot("alder", "A-1")]) == nodes_once
    assert await store.lineage(lot("birch", "T-1"), UP, 5) == lineage_once
    assert counts_once.total_nodes == 5  # three lots, two makers
    assert nodes_once[lot("birch", "T-1")].sources == ("ing-test#/fixture",)


async def test_a_second_ingestion_adds_its_source_and_keeps_unnamed_attributes(
    store: GraphStore,
) -> None:
    first = batch("birch", "T-1", status="QUARANTINE", quantity=120.0, unit="kg")
    later = Provenance(ingestion_id="ing-2", connector="test", location="/row/7")
    await store.upsert([first])
    await store.upsert([batch("birch", "T-1", provenance=later, status="RELEASED")])

    stored = (await store.get_nodes([lot("birch", "T-1")]))[lot("birch", "T-1")]

    assert isinstance(stored.record, Batch)
    assert stored.record.status == "RELEASED"
    assert stored.record.quantity == 120.0
    assert stored.sources == ("ing-test#/fixture", "ing-2#/row/7")


async def test_a_diamond_reaches_the_shared_input_once_at_its_shortest_depth(
    store: GraphStore,
) -> None:
    top, left, right, bottom = (lot("birch", n) for n in ("TOP", "L", "R", "BOTTOM"))
    await store.upsert(
        [consumed(top, left), consumed(top, right), consumed(left, bottom), consumed(right, bottom)]
    )

    upstream = await store.lineage(top, UP, 10)
    downstream = await store.lineage(bottom, DOWN, 10)

    assert upstream is not None and downstream is not None
    assert depths(upstream) == {top: 0, left: 1, right: 1, bottom: 2}
    assert len(upstream.edges) == 4
    assert depths(downstream) == {bottom: 0, left: 1, right: 1, top: 2}
    assert edge_pairs(downstream) == edge_pairs(upstream)
    assert not upstream.truncated and not downstream.truncated


async def test_fan_in_and_fan_out(store: GraphStore) -> None:
    tablet = lot("birch", "T-1")
    inputs = [lot("dogwood", f"EX-{i}") for i in range(12)]
    users = [lot("birch", f"T-{i}") for i in range(2, 40)]
    excipient = inputs[0]
    await store.upsert(
        [consumed(tablet, source) for source in inputs]
        + [consumed(user, excipient) for user in users]
    )

    upstream = await store.lineage(tablet, UP, 1)
    downstream = await store.lineage(excipient, DOWN, 1)

    assert upstream is not None and downstream is not None
    assert set(depths(upstream)) == {tablet, *inputs}
    assert set(depths(downstream)) == {excipient, tablet, *users}
    assert len(downstream.edges) == len(users) + 1


async def test_depth_limit_cuts_the_walk_and_says_so(store: GraphStore) -> None:
    chain = [lot("alder", f"C-{i}") for i in range(6)]
    await store.upsert([consumed(chain[i], chain[i + 1]) for i in range(5)])

    cut = await store.lineage(chain[0], UP, 3)
    whole = await store.lineage(chain[0], UP, 5)
    only_root = await store.lineage(chain[0], UP, 0)

    assert cut is not None and whole is not None and only_root is not None
    assert depths(cut) == {chain[i]: i for i in range(4)}
    assert cut.truncated
    assert edge_pairs(cut) == {(chain[i], chain[i + 1]) for i in range(3)}
    assert not whole.truncated and len(whole.nodes) == 6
    assert [node.id for node in only_root.nodes] == [chain[0]] and only_root.truncated


async def test_lineage_crosses_vendors_through_same_lot(store: GraphStore) -> None:
    finished = lot("cedar", "F-1")
    received_tablets = lot("cedar", "RT-1")
    tablets = lot("birch", "T-1")
    received_api = lot("birch", "RA-1")
    api = lot("alder", "A-1")
    await store.upsert(
        [
            consumed(finished, received_tablets, 10.0, "kg"),
            same_lot(received_tablets, tablets),
            consumed(tablets, received_api, 2.5, "kg"),
            same_lot(received_api, api),
        ]
    )

    upstream = await store.lineage(finished, UP, 10)
    downstream = await store.lineage(api, DOWN, 10)

    assert upstream is not None and downstream is not None
    assert depths(upstream) == {
        finished: 0,
        received_tablets: 1,
        tablets: 2,
        received_api: 3,
        api: 4,
    }
    assert depths(downstream)[finished] == 4
    assert LineageEdge(tablets, received_api, EdgeKind.CONSUMED, 2.5, "kg") in upstream.edges
    assert LineageEdge(received_api, api, EdgeKind.SAME_LOT) in upstream.edges


async def test_cycles_in_bad_data_terminate(store: GraphStore) -> None:
    a, b, c = lot("birch", "A"), lot("birch", "B"), lot("birch", "C")
    await store.upsert([consumed(a, b), consumed(b, c), consumed(c, a), consumed(a, a)])

    for direction in Direction:
        lineage = await store.lineage(a, direction, 50)
        assert lineage is not None
        assert depths(lineage) == {
            a: 0,
            b: 1 if direction is not DOWN else 2,
            c: 2 if direction is UP else 1,
        }
        assert not lineage.truncated
        assert len(lineage.edges) == 4


async def test_both_directions_join_upstream_and_downstream(store: GraphStore) -> None:
    up1, middle, down1, sibling = lot("a", "UP"), lot("b", "MID"), lot("c", "DOWN"), lot("b", "SIB")
    await store.upsert([consumed(middle, up1), consumed(down1, middle), consumed(sibling, up1)])

    both = await store.lineage(middle, BOTH, 5)

    assert both is not None
    # The sibling shares an input but is neither upstream nor downstream of MID.
    assert depths(both) == {middle: 0, up1: 1, down1: 1}
    assert edge_pairs(both) == {(middle, up1), (down1, middle)}


async def test_unknown_or_non_batch_roots_have_no_lineage(store: GraphStore) -> None:
    await store.upsert([Organization(org_id="birch", provenance=PROVENANCE)])

    assert await store.lineage(lot("birch", "NOPE"), UP, 3) is None
    assert await store.lineage("org:birch", UP, 3) is None
    assert await store.impact(lot("birch", "NOPE")) is None
    with pytest.raises(ValueError, match="max_depth"):
        await store.lineage(lot("birch", "NOPE"), UP, 51)


async def test_impact_finds_batches_products_vendors_and_agreements(store: GraphStore) -> None:
    excipient = lot("dogwood", "EX-9")
    received = lot("birch", "REX-9")
    tablets = [lot("birch", f"T-{i}") for i in range(3)]
    other_sponsor_tablet = lot("birch", "OAK-1")
    await store.upsert(
        [
            Product(sponsor="northwind", code="NW-TAB", provenance=PROVENANCE),
            Material(
                org="birch",
                code="TAB-10",
                product_id="product:northwind/NW-TAB",
                provenance=PROVENANCE,
            ),
            *[batch("birch", f"T-{i}", material_code="TAB-10") for i in range(3)],
            batch("birch", "OAK-1", product_id="product:oakridge/OAK-CAP"),
            same_lot(received, excipient),
            *[consumed(tablet, received) for tablet in tablets],
            consumed(other_sponsor_tablet, received),
            QualityAgreement(
                agreement_id="QA-NW-BIRCH",
                version="3",
                sponsor="northwind",
                vendor="birch",
                product_ids=("product:northwind/NW-TAB",),
                provenance=PROVENANCE,
            ),
            QualityAgreement(
                agreement_id="QA-NW-ALDER",
                version="1",
                sponsor="northwind",
                vendor="alder",
                product_ids=("product:northwind/NW-TAB",),
                provenance=PROVENANCE,
            ),
        ]
    )

    impact = await store.impact(excipient)

    assert impact is not None
    assert {node.id for node in impact.batches} == {received, other_sponsor_tablet, *tablets}
    assert LineageNode(1, received) in impact.batches
    assert set(impact.products) == {"product:northwind/NW-TAB", "product:oakridge/OAK-CAP"}
    assert set(impact.vendors) == {"org:dogwood", "org:birch"}
    assert impact.agreements == (
        "agreement:northwind/QA-NW-BIRCH/3",
    )  # Alder made nothing affected
    assert not impact.truncated


async def test_bad_records_are_refused_by_name_and_good_ones_still_land(store: GraphStore) -> None:
    rows = [
        ({"node": "Batch", "maker": "birch", "number": "T-1"}, "/rows/0"),
        ({"node": "Batch", "maker": "birch"}, "/rows/1"),
        ({"node": "Batch", "maker": "birch", "number": "T-2", "status": "SHIPPED"}, "/rows/2"),
        (
            {
                "edge": "CONSUMED",
                "source": lot("birch", "T-1"),
                "target": lot("birch", "R"),
                "quantity": -3,
            },
            "/rows/3",
        ),
        ({"edge": "CONSUMED", "source": lot("birch", "T-1"), "target": "org:alder"}, "/rows/4"),
        ({"edge": "CONSUMED", "source": lot("birch", "T-1"), "target": "gizmo:x"}, "/rows/5"),
        ({"node": "Gizmo", "id": "x"}, "/rows/6"),
        (
            {"edge": "CONSUMED", "source": lot("birch", "T-1"), "target": lot("alder", "A-1")},
            "/rows/7",
        ),
    ]
    validated = validate_records(
        (raw, Provenance(ingestion_id="ing-bad", connector="test", location=where))
        for raw, where in rows
    )
    await store.upsert(validated.records)

    refused = {rejection.location: rejection for rejection in validated.rejections}
    assert set(refused) == {"/rows/1", "/rows/2", "/rows/3", "/rows/4", "/rows/5", "/rows/6"}
    assert refused["/rows/1"].field == "number" and "required" in refused["/rows/1"].message.lower()
    assert refused["/rows/2"].field == "status" and "RELEASED" in refused["/rows/2"].message
    assert refused["/rows/3"].field == "quantity"
    assert refused["/rows/4"].field == "target" and "Organization" in refused["/rows/4"].message
    assert "unknown kind prefix 'gizmo'" in refused["/rows/5"].message
    assert refused["/rows/6"].field == "node" and "Gizmo" in refused["/rows/6"].message
    lineage = await store.lineage(lot("birch", "T-1"), UP, 1)
    assert lineage is not None and set(depths(lineage)) == {
        lot("birch", "T-1"),
        lot("alder", "A-1"),
    }


class _Unstorable(Organization):
    """A record whose attributes no store can write, to make a batch fail mid-way."""

    def properties(self) -> dict[str, object]:
        return {**super().properties(), "broken": {1, 2}}


async def test_a_failed_batch_write_leaves_the_store_as_it_was(store: GraphStore) -> None:
    await store.upsert([batch("birch", "KEEP")])
    before = await store.counts()

    with pytest.raises(Exception):  # noqa: B017 - the store's own error; the point is what remains
        await store.upsert(
            [
                batch("birch", "T-1"),
                consumed(lot("birch", "T-1"), lot("alder", "A-1")),
                _Unstorable(org_id="zed", provenance=PROVENANCE),
            ]
        )

    assert await store.counts() == before
    assert await store.lineage(lot("birch", "T-1"), UP, 1) is None


async def test_records_without_provenance_are_refused(store: GraphStore) -> None:
    with pytest.raises(ValueError, match="no provenance"):
        await store.upsert([Batch(maker="birch", number="T-1")])
    assert (await store.counts()).total_nodes == 0


def test_parse_record_names_unknown_fields() -> None:
    outcome = parse_record(
        {"node": "Batch", "maker": "birch", "number": "1", "colour": "red"}, PROVENANCE
    )
    assert not isinstance(outcome, Batch)
    assert outcome.field == "colour"  # type: ignore[union-attr]


async def test_edges_from_give_each_shipment_with_its_day_amount_and_sources(
    store: GraphStore,
) -> None:
    later = Provenance(ingestion_id="ing-2", connector="test", location="/event/3")
    to_cedar = Edge(
        kind=EdgeKind.SHIPPED_TO, source=lot("birch", "T-1"), target="org:cedar",
        quantity=1200.0, unit="bottles", occurred_on=date(2025, 8, 1), provenance=PROVENANCE,
    )  # fmt: skip
    to_site = Edge(
        kind=EdgeKind.SHIPPED_TO, source=lot("birch", "T-1"), target="site:elm/QC-1",
        provenance=later,
    )  # fmt: skip
    await store.upsert([batch("birch", "T-1"), to_cedar, to_site])
    await store.upsert([to_cedar.model_copy(update={"provenance": later})])

    found = await store.edges_from(
        [lot("birch", "T-1"), lot("birch", "T-9")], [EdgeKind.SHIPPED_TO]
    )

    assert found == [
        StoredEdge(
            lot("birch", "T-1"), EdgeKind.SHIPPED_TO, "org:cedar", 1200.0, "bottles",
            date(2025, 8, 1), ("ing-test#/fixture", "ing-2#/event/3"),
        ),
        StoredEdge(
            lot("birch", "T-1"), EdgeKind.SHIPPED_TO, "site:elm/QC-1", None, None, None,
            ("ing-2#/event/3",),
        ),
    ]  # fmt: skip
    assert await store.edges_from([lot("birch", "T-1")], [EdgeKind.CONSUMED]) == []
    assert await store.edges_from(
        [lot("birch", "T-1")], [EdgeKind.SHIPPED_TO], visibility=Visibility.for_org("cedar")
    ) == [], "the receiver does not read the maker's lot by being shipped it"  # fmt: skip


async def test_lineage_runs_through_a_sub_lot_to_the_lot_it_was_split_from(
    store: GraphStore,
) -> None:
    drum = lot("birch", "R-1-D1")
    part_of = Edge(
        kind=EdgeKind.PART_OF, source=drum, target=lot("birch", "R-1"), provenance=PROVENANCE
    )
    await store.upsert([consumed(lot("birch", "T-1"), drum, 25.0, "kg"), part_of])

    upstream = await store.lineage(lot("birch", "T-1"), UP, 5)
    downstream = await store.lineage(lot("birch", "R-1"), DOWN, 5)

    assert depths(upstream) == {lot("birch", "T-1"): 0, drum: 1, lot("birch", "R-1"): 2}
    assert LineageEdge(drum, lot("birch", "R-1"), EdgeKind.PART_OF) in upstream.edges
    assert lot("birch", "T-1") in depths(downstream), "a recall of the lot reaches the tablets"
