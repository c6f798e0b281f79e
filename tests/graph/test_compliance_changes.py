"""UNAPPROVED_CHANGE on both stores: a lot made on or after a change its vendor
implemented without the sponsor's approval in time is not compliant.

The network of ``test_compliance_contract``: sponsor s1's product P1 made by m1 at site
A under agreement QA1 (2025-01-01 to 2025-06-30, changes from MAJOR need approval by
default), m1's site A qualified. m1's change C1 was implemented on 2025-03-01.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from graph.ids import NodeKind, make_id
from graph.lifecycle import ChangeControl
from graph.model import ChangeClass, Product
from graph.quality.compliance import ComplianceScope, GapReason
from graph.store import GraphStore
from graph.visibility import Visibility
from tests.graph.builders import PROVENANCE, lot
from tests.graph.test_compliance_contract import P1, agreement, gaps_of, made, qualified

IMPLEMENTED = date(2025, 3, 1)
C1 = make_id(NodeKind.CHANGE_CONTROL, "m1", "s1", "C1")


def change(**changes: Any) -> ChangeControl:
    fields: dict[str, Any] = {
        "vendor": "m1",
        "sponsor": "s1",
        "change_id": "C1",
        "classification": ChangeClass.MAJOR,
        "opened_on": date(2025, 1, 10),
        "implemented_on": IMPLEMENTED,
        "provenance": PROVENANCE,
    }
    return ChangeControl(**{**fields, **changes})


def compliant_network(*more: Any) -> list[Any]:
    return [agreement(), qualified(), *more]


async def test_a_lot_made_after_an_unapproved_major_change_has_a_gap(store: GraphStore) -> None:
    found = await gaps_of(
        store,
        compliant_network(
            change(),
            made("BEFORE", date(2025, 2, 28)),
            made("ON", IMPLEMENTED),
            made("AFTER", date(2025, 4, 1)),
        ),
    )

    assert found == {
        lot("m1", "ON"): [GapReason.UNAPPROVED_CHANGE],
        lot("m1", "AFTER"): [GapReason.UNAPPROVED_CHANGE],
    }


async def test_the_gap_names_the_change(store: GraphStore) -> None:
    await store.upsert([*compliant_network(change(), made("L1", date(2025, 4, 1)))])

    verdicts = await store.compliance_of([lot("m1", "L1")])

    (gap,) = verdicts[lot("m1", "L1")]
    assert (gap.reason, gap.change_id, gap.product_id) == (GapReason.UNAPPROVED_CHANGE, C1, P1)
    assert gap.message == (
        "MAJOR change C1 of m1 was implemented on 2025-03-01, not approved by s1, and lot "
        "L1 was made on 2025-04-01"
    )


@pytest.mark.parametrize(
    ("the_change", "the_agreement"),
    [
        ({"classification": ChangeClass.MINOR}, {}),  # the default clause: from MAJOR
        ({"sponsor_approved_on": date(2025, 2, 20)}, {}),  # approved before implementation
        ({"sponsor_approved_on": IMPLEMENTED}, {}),  # approved on the day: in time
        ({"implemented_on": None}, {}),  # not implemented yet
        ({"classification": ChangeClass.MAJOR}, {"change_approval_from": ChangeClass.CRITICAL}),
        ({"site_code": "B"}, {}),  # a change at another site
        ({"product_id": make_id(NodeKind.PRODUCT, "s1", "P9")}, {}),  # of another product
        ({"sponsor": "s2", "change_id": "C1"}, {}),  # notified to another sponsor
    ],
    ids=[
        "minor",
        "approved-before",
        "approved-on-the-day",
        "not-implemented",
        "clause-from-critical",
        "other-site",
        "other-product",
        "other-sponsor",
    ],
)
async def test_a_change_that_needed_no_approval_or_got_it_in_time_is_no_gap(
    store: GraphStore, the_change: dict[str, Any], the_agreement: dict[str, Any]
) -> None:
    extra = [Product(sponsor="s1", code="P9", provenance=PROVENANCE)]
    found = await gaps_of(
        store,
        [
            *extra,
            agreement(**the_agreement),
            qualified(),
            change(**the_change),
            made("L1", date(2025, 4, 1)),
        ],
    )

    assert found == {}


async def test_a_late_approval_or_a_stricter_clause_makes_a_gap(store: GraphStore) -> None:
    found = await gaps_of(
        store,
        [
            agreement(change_approval_from=ChangeClass.MINOR),
            qualified(),
            change(change_id="MINOR", classification=ChangeClass.MINOR),
            change(change_id="LATE", sponsor_approved_on=date(2025, 3, 2)),
            made("L1", date(2025, 4, 1)),
        ],
    )

    assert found == {lot("m1", "L1"): [GapReason.UNAPPROVED_CHANGE, GapReason.UNAPPROVED_CHANGE]}


async def test_a_change_at_the_lots_site_counts_and_an_unclassified_one_needs_approval(
    store: GraphStore,
) -> None:
    found = await gaps_of(
        store,
        [
            agreement(),
            qualified(),
            change(site_code="A", classification=None),
            made("L1", date(2025, 4, 1)),
        ],
    )

    assert found == {lot("m1", "L1"): [GapReason.UNAPPROVED_CHANGE]}


async def test_the_vendor_and_the_sponsor_see_the_gap_another_sponsor_does_not(
    store: GraphStore,
) -> None:
    records = compliant_network(change(), made("L1", date(2025, 4, 1)))
    for org in ("s1", "m1"):
        found = await gaps_of(store, records, visibility=Visibility.for_org(org))
        assert found == {lot("m1", "L1"): [GapReason.UNAPPROVED_CHANGE]}, org

    page = await store.compliance_gaps(
        ComplianceScope(product=P1), 50, visibility=Visibility.for_org("s2")
    )
    assert page.lots == ()
