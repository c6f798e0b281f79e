"""The demo story's compliance gap, on both stores: the Northwind-Birch agreement ended on
30 June 2025, so the three Birch tablet batches made after it are listed, and only
the parties to that agreement see them."""

from __future__ import annotations

from datetime import date

from graph.ids import NodeKind, make_id
from graph.lineage import Direction
from graph.quality.compliance import ComplianceScope, GapReason
from graph.store import GraphStore
from graph.visibility import EVERYTHING, Visibility
from hub.demo.story import (
    API_PRODUCT_ID,
    EXPIRED_AGREEMENT_ID,
    FINISHED_LOT_ID,
    GAP_BATCH_ID,
    OAKRIDGE_PRODUCT_ID,
    TABLET_PRODUCT_ID,
)

AFTER_THE_END = [
    make_id(NodeKind.BATCH, "birch", number) for number in ("BT-25-041", "BT-25-048", "BT-25-055")
]
BIRCH = ComplianceScope(vendor="org:birch")
TABLETS = ComplianceScope(product=TABLET_PRODUCT_ID)


async def listed(store: GraphStore, scope: ComplianceScope, org: str | None = None) -> list[str]:
    seen = EVERYTHING if org is None else Visibility.for_org(org)
    page = await store.compliance_gaps(scope, 500, visibility=seen)
    return [found.batch_id for found in page.lots]


async def test_birch_batches_made_after_the_agreement_ended_have_a_gap(
    demo_store: GraphStore,
) -> None:
    page = await demo_store.compliance_gaps(TABLETS, 500)

    assert [found.batch_id for found in page.lots] == AFTER_THE_END
    first = page.lots[0]
    assert first.batch_id == GAP_BATCH_ID
    assert first.manufactured_on == date(2025, 7, 14)
    (gap,) = first.gaps
    assert (gap.reason, gap.agreement_id, gap.product_id) == (
        GapReason.AGREEMENT_EXPIRED,
        EXPIRED_AGREEMENT_ID,
        TABLET_PRODUCT_ID,
    )
    assert gap.message == (
        "agreement QA-NW-BIR v2 ended on 2025-06-30, before lot BT-25-041 was made on 2025-07-14"
    )
    assert await listed(demo_store, BIRCH) == AFTER_THE_END, "Oakridge's lots at Birch are covered"
    assert await listed(demo_store, ComplianceScope(product=API_PRODUCT_ID)) == []
    assert await listed(demo_store, ComplianceScope(product=OAKRIDGE_PRODUCT_ID)) == []
    until_the_end = ComplianceScope(product=TABLET_PRODUCT_ID, made_to=date(2025, 6, 30))
    assert await listed(demo_store, until_the_end) == []


async def test_the_parties_see_the_gap_and_no_one_else_does(demo_store: GraphStore) -> None:
    assert await listed(demo_store, TABLETS, "northwind") == AFTER_THE_END
    assert await listed(demo_store, BIRCH, "northwind") == AFTER_THE_END
    assert await listed(demo_store, BIRCH, "birch") == AFTER_THE_END
    assert await listed(demo_store, TABLETS, "birch") == AFTER_THE_END
    # Oakridge's own lots at Birch are covered; Northwind's are not Oakridge's business.
    assert await listed(demo_store, BIRCH, "oakridge") == []
    for org in ("cedar", "alder", "dogwood", "elm"):
        assert await listed(demo_store, TABLETS, org) == [], org
        assert await listed(demo_store, BIRCH, org) == [], org


async def test_the_finished_lots_genealogy_shows_the_non_compliant_input(
    demo_store: GraphStore,
) -> None:
    for org in (None, "northwind"):
        seen = EVERYTHING if org is None else Visibility.for_org(org)
        lineage = await demo_store.lineage(FINISHED_LOT_ID, Direction.UPSTREAM, 10, visibility=seen)
        assert lineage is not None
        verdicts = await demo_store.compliance_of(sorted(lineage.ids), visibility=seen)

        assert verdicts[FINISHED_LOT_ID] == (), "packed under Cedar's agreement"
        flagged = sorted(batch_id for batch_id, gaps in verdicts.items() if gaps)
        assert flagged == [GAP_BATCH_ID], org

    # Cedar reads its own lots of that genealogy: all of them are covered.
    cedar = Visibility.for_org("cedar")
    lineage = await demo_store.lineage(FINISHED_LOT_ID, Direction.UPSTREAM, 10, visibility=cedar)
    assert lineage is not None
    verdicts = await demo_store.compliance_of(sorted(lineage.ids), visibility=cedar)
    assert verdicts == {FINISHED_LOT_ID: ()}, "the received bulk is judged at Birch, not Cedar"
