"""Retractions, on both stores: an assertion taken back stays, marked with who took it
back, and reads no longer follow an edge once none of its assertions stands."""

from __future__ import annotations

from datetime import date

from graph.lineage import Direction
from graph.model import Batch, Edge, EdgeKind, Provenance
from graph.retraction import RetractedEdge, Retraction
from graph.store import GraphStore, StoredEdge
from graph.visibility import Visibility
from tests.graph.builders import lot

EVENT = "/epcisBody/eventList/1"
FIRST = Provenance(
    ingestion_id="ing-1", connector="supply.epcis", location="/epcisBody/eventList/0 (eventID c)"
)
SHIPPED = Provenance(
    ingestion_id="ing-1", connector="supply.epcis", location=f"{EVENT}/quantityList/0 (eventID s)"
)
# The same path in another ingestion, and a sibling whose path starts alike.
OTHER_PUSH = Provenance(
    ingestion_id="ing-9", connector="supply.epcis", location=f"{EVENT}/quantityList/0 (eventID s)"
)
SIBLING = Provenance(
    ingestion_id="ing-1", connector="supply.epcis", location="/epcisBody/eventList/10 (eventID t)"
)
DECLARED = Provenance(
    ingestion_id="ing-2", connector="supply.epcis", location="/epcisBody/eventList/0 (eventID s)"
)


def shipment(target: str, provenance: Provenance, quantity: float | None = None) -> Edge:
    return Edge(
        kind=EdgeKind.SHIPPED_TO, source=lot("alder", "A-1"), target=target,
        quantity=quantity, occurred_on=date(2025, 3, 1), provenance=provenance,
    )  # fmt: skip


def received(provenance: Provenance) -> Edge:
    return Edge(
        kind=EdgeKind.SAME_LOT, source=lot("birch", "A-1"), target=lot("alder", "A-1"),
        provenance=provenance,
    )  # fmt: skip


async def test_a_retracted_event_keeps_its_edges_marked_and_lineage_stops_following_them(
    store: GraphStore,
) -> None:
    await store.upsert(
        [
            Batch(maker="alder", number="A-1", provenance=FIRST),
            shipment("org:birch", SHIPPED, 200.0),
            received(SHIPPED),
            shipment("org:cedar", SIBLING),  # another event: not retracted
        ]
    )
    retraction = Retraction("ing-1", EVENT, "alder", DECLARED)

    touched = await store.retract([retraction])

    assert touched == [
        RetractedEdge(lot("alder", "A-1"), EdgeKind.SHIPPED_TO, "org:birch", (SHIPPED.ref,), True),
        RetractedEdge(lot("birch", "A-1"), EdgeKind.SAME_LOT, lot("alder", "A-1"), (SHIPPED.ref,), True),
    ]  # fmt: skip
    assert await store.retract([retraction]) == [], "retracting again changes nothing"
    shipped = await store.edges_from([lot("alder", "A-1")], [EdgeKind.SHIPPED_TO])
    assert shipped == [
        StoredEdge(
            lot("alder", "A-1"), EdgeKind.SHIPPED_TO, "org:birch", 200.0, None,
            date(2025, 3, 1), (SHIPPED.ref,), (DECLARED.ref,), True,
        ),
        StoredEdge(
            lot("alder", "A-1"), EdgeKind.SHIPPED_TO, "org:cedar", None, None,
            date(2025, 3, 1), (SIBLING.ref,),
        ),
    ]  # fmt: skip
    downstream = await store.lineage(lot("alder", "A-1"), Direction.DOWNSTREAM, 5)
    assert downstream is not None
    assert downstream.ids == {lot("alder", "A-1")}
    assert downstream.edges == ()
    assert await store.in_edges([lot("alder", "A-1")], [EdgeKind.SAME_LOT]) == []
    assert await store.out_edges([lot("alder", "A-1")], [EdgeKind.SHIPPED_TO]) == [
        (lot("alder", "A-1"), EdgeKind.SHIPPED_TO, "org:cedar")
    ]
    # nothing is deleted: the received lot is still there for its owner
    assert await store.get_nodes([lot("birch", "A-1")], visibility=Visibility.for_org("birch"))


async def test_an_edge_another_assertion_still_states_stands_and_a_new_one_restores_it(
    store: GraphStore,
) -> None:
    await store.upsert([shipment("org:birch", SHIPPED), shipment("org:birch", OTHER_PUSH)])

    [touched] = await store.retract([Retraction("ing-1", EVENT, "alder", DECLARED)])

    assert (touched.sources, touched.retracted) == ((SHIPPED.ref,), False)
    [edge] = await store.edges_from([lot("alder", "A-1")], [EdgeKind.SHIPPED_TO])
    assert (edge.sources, edge.retracted_by, edge.retracted) == (
        (SHIPPED.ref, OTHER_PUSH.ref), (DECLARED.ref,), False,
    )  # fmt: skip

    await store.upsert([received(SHIPPED)])
    await store.retract([Retraction("ing-1", EVENT, "alder", DECLARED)])
    downstream = await store.lineage(lot("alder", "A-1"), Direction.DOWNSTREAM, 5)
    assert downstream is not None and downstream.ids == {lot("alder", "A-1")}
    again = Provenance(ingestion_id="ing-3", connector="supply.epcis", location="/e/0")
    await store.upsert([received(again)])  # stated anew by a later push: it stands again
    downstream = await store.lineage(lot("alder", "A-1"), Direction.DOWNSTREAM, 5)
    assert downstream is not None and downstream.ids == {lot("alder", "A-1"), lot("birch", "A-1")}
