"""The demo story answers the questions it is there to show, on both stores."""

from __future__ import annotations

from graph.lineage import Direction
from graph.model import Batch, Edge, EdgeKind, Qualification
from graph.store import GraphStore
from hub.demo.story import (
    CONTAMINATED_EXCIPIENT_LOT_ID,
    FINISHED_LOT_ID,
    OAKRIDGE_BATCH_ID,
    TABLET_PRODUCT_ID,
    demo_records,
)
from tests.graph.builders import unaccepted_claims


async def test_a_finished_lot_traces_back_across_three_vendors(store: GraphStore) -> None:
    await store.upsert(demo_records())

    lineage = await store.lineage(FINISHED_LOT_ID, Direction.UPSTREAM, 10)

    assert lineage is not None
    makers = {node_id.split(":")[1].split("/")[0] for node_id in lineage.ids}
    assert {"cedar", "birch", "alder", "dogwood"} <= makers
    assert not lineage.truncated
    nodes = await store.get_nodes(sorted(lineage.ids))
    assert all(isinstance(node.record, Batch) for node in nodes.values())
    assert all(node.sources for node in nodes.values()), "every lot traces to its record"


async def test_the_contaminated_excipient_reaches_northwind_but_not_oakridge(
    store: GraphStore,
) -> None:
    await store.upsert(demo_records())

    impact = await store.impact(CONTAMINATED_EXCIPIENT_LOT_ID)

    assert impact is not None
    affected = {node.id for node in impact.batches}
    assert FINISHED_LOT_ID in affected
    assert OAKRIDGE_BATCH_ID not in affected
    assert TABLET_PRODUCT_ID in impact.products
    assert {"org:birch", "org:cedar"} <= set(impact.vendors)
    assert impact.agreements, "the affected vendors' Northwind agreements are named"


def test_every_partner_names_who_received_its_lots_and_each_sponsor_qualifies() -> None:
    """The story's makers ship what their partners received and their labs tested, so
    every claim across organizations is accepted (``graph.trust``); qualifications are
    each sponsor's own."""
    records = demo_records()
    unshipped = [r for r in records if not (isinstance(r, Edge) and r.kind is EdgeKind.SHIPPED_TO)]

    assert unaccepted_claims(records) == []
    # Not vacuous: without the shipments, the receipts and the lab's tests are claims.
    assert {kind for _, kind, _ in unaccepted_claims(unshipped)} == {
        EdgeKind.SAME_LOT,
        EdgeKind.TESTED,
    }
    qualified = {(q.qualifier, q.vendor) for q in records if isinstance(q, Qualification)}
    assert qualified == {
        *(("northwind", vendor) for vendor in ("alder", "birch", "cedar", "dogwood", "elm")),
        ("oakridge", "birch"),
    }
