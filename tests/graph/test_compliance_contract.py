"""Compliance gaps on both stores: the boundary days, every reason, and who sees what.

The rules are in ``graph/quality/compliance.py``'s docstring; each test states one of them on a
small network: sponsor s1's product P1, made by m1 at its site A (and B), under
agreement QA1 v1 (MANUFACTURE, site A, 2025-01-01 to 2025-06-30, EFFECTIVE), with m1's
site A qualified (APPROVED, valid until 2026-12-31).
"""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from graph.ids import NodeKind, make_id
from graph.model import (
    Activity,
    AgreementStatus,
    Batch,
    Edge,
    EdgeKind,
    Material,
    Product,
    Qualification,
    QualificationStatus,
    QualityAgreement,
    Record,
    TestResult,
)
from graph.quality.compliance import ComplianceScope, GapReason
from graph.store import GraphStore
from graph.visibility import EVERYTHING, Visibility
from tests.graph.builders import PROVENANCE, lot, shipped

P1 = make_id(NodeKind.PRODUCT, "s1", "P1")
P2 = make_id(NodeKind.PRODUCT, "s2", "P2")
SITE_A = make_id(NodeKind.SITE, "m1", "A")
QA1 = make_id(NodeKind.QUALITY_AGREEMENT, "s1", "QA1", "1")
START, END = date(2025, 1, 1), date(2025, 6, 30)


def made(number: str, on: date | None, *, maker: str = "m1", site: str | None = "A",
         product: str | None = P1, **more: Any) -> Batch:  # fmt: skip
    return Batch(maker=maker, number=number, site_code=site, product_id=product,
                 manufactured_on=on, provenance=PROVENANCE, **more)  # fmt: skip


def agreement(**changes: Any) -> QualityAgreement:
    fields: dict[str, Any] = {
        "agreement_id": "QA1",
        "version": "1",
        "sponsor": "s1",
        "vendor": "m1",
        "product_ids": (P1,),
        "site_ids": (SITE_A,),
        "activities": (Activity.MANUFACTURE, Activity.TESTING),
        "effective_from": START,
        "effective_to": END,
        "status": AgreementStatus.EFFECTIVE,
        "provenance": PROVENANCE,
    }
    return QualityAgreement(**{**fields, **changes})


def qualified(**changes: Any) -> Qualification:
    fields: dict[str, Any] = {
        "qualifier": "s1",
        "vendor": "m1",
        "site_code": "A",
        "status": QualificationStatus.APPROVED,
        "valid_until": date(2026, 12, 31),
        "last_audit_on": date(2024, 5, 2),
        "provenance": PROVENANCE,
    }
    return Qualification(**{**fields, **changes})


PRODUCTS: list[Record] = [
    Product(sponsor="s1", code="P1", provenance=PROVENANCE),
    Product(sponsor="s2", code="P2", provenance=PROVENANCE),
]


async def gaps_of(
    store: GraphStore, records: list[Record], *, visibility: Visibility = EVERYTHING,
    **scope: Any,
) -> dict[str, list[GapReason]]:  # fmt: skip
    """Every non-compliant lot in scope (product P1 unless told) with its reasons."""
    await store.upsert([*PRODUCTS, *records])
    scope = scope or {"product": P1}
    page = await store.compliance_gaps(ComplianceScope(**scope), 500, visibility=visibility)
    assert not page.has_next
    return {found.batch_id: [gap.reason for gap in found.gaps] for found in page.lots}


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        (date(2024, 12, 31), [GapReason.AGREEMENT_NOT_YET_EFFECTIVE]),
        (START, []),
        (date(2025, 3, 15), []),
        (END, []),
        (date(2025, 7, 1), [GapReason.AGREEMENT_EXPIRED]),
    ],
    ids=["day-before-effective-from", "effective-from", "inside", "effective-to", "day-after"],
)
async def test_an_agreement_covers_its_first_and_last_day(
    store: GraphStore, day: date, expected: list[GapReason]
) -> None:
    found = await gaps_of(store, [agreement(), qualified(), made("L1", day)])

    assert found == ({lot("m1", "L1"): expected} if expected else {})


async def test_reasons_name_the_agreement_and_the_dates(store: GraphStore) -> None:
    await store.upsert([*PRODUCTS, agreement(), qualified(), made("L1", date(2025, 7, 1))])

    page = await store.compliance_gaps(ComplianceScope(product=P1), 50)

    (found,) = page.lots
    (gap,) = found.gaps
    assert (found.batch_id, found.manufactured_on) == (lot("m1", "L1"), date(2025, 7, 1))
    assert (gap.agreement_id, gap.product_id, gap.qualification_id) == (QA1, P1, None)
    assert gap.message == (
        "agreement QA1 v1 ended on 2025-06-30, before lot L1 was made on 2025-07-01"
    )


@pytest.mark.parametrize(
    ("status", "covers"),
    [
        (AgreementStatus.EFFECTIVE, True),
        (AgreementStatus.EXPIRED, True),  # it was in force over its dates
        (AgreementStatus.DRAFT, False),
        (AgreementStatus.TERMINATED, False),
        (None, False),
    ],
)
async def test_only_an_agreement_put_in_force_covers_its_dates(
    store: GraphStore, status: AgreementStatus | None, covers: bool
) -> None:
    found = await gaps_of(
        store, [agreement(status=status), qualified(), made("L1", date(2025, 3, 1))]
    )

    assert found == ({} if covers else {lot("m1", "L1"): [GapReason.AGREEMENT_NOT_IN_FORCE]})


async def test_agreement_dates_missing(store: GraphStore) -> None:
    found = await gaps_of(
        store,
        [
            agreement(effective_to=None),  # open-ended: covers every later day
            qualified(),
            made("L-LATE", date(2026, 12, 31)),  # the qualification's last valid day
            agreement(agreement_id="QA2", effective_from=None, site_ids=()),
            made("L-SITE-B", date(2025, 3, 1), site="B"),  # only QA2 covers site B
        ],
    )

    assert found == {
        lot("m1", "L-SITE-B"): [
            GapReason.AGREEMENT_SITE_NOT_COVERED,  # QA1 is for site A
            GapReason.AGREEMENT_NOT_IN_FORCE,  # QA2 has no effective-from date
            GapReason.NOT_QUALIFIED,  # only site A is qualified
        ]
    }


async def test_what_an_agreement_must_cover(store: GraphStore) -> None:
    found = await gaps_of(
        store,
        [
            agreement(),
            agreement(agreement_id="QA-LAB", activities=(Activity.TESTING,), site_ids=()),
            qualified(),
            qualified(site_code="B"),
            made("L-OK", date(2025, 2, 1)),
            made("L-SITE-B", date(2025, 2, 1), site="B"),
            made("L-NO-SITE", date(2025, 2, 1), site=None),
            made("L-OTHER-MAKER", date(2025, 2, 1), maker="m2"),
        ],
    )

    assert found == {
        lot("m1", "L-SITE-B"): [GapReason.AGREEMENT_SITE_NOT_COVERED],
        # Without a site, neither a site agreement nor a site qualification applies.
        lot("m1", "L-NO-SITE"): [GapReason.AGREEMENT_SITE_NOT_COVERED, GapReason.NOT_QUALIFIED],
        # A testing agreement is no agreement to make the product.
        lot("m2", "L-OTHER-MAKER"): [GapReason.NO_AGREEMENT, GapReason.NOT_QUALIFIED],
    }


async def test_a_packaging_agreement_covers_a_packer_and_no_site_means_every_site(
    store: GraphStore,
) -> None:
    found = await gaps_of(
        store,
        [
            agreement(vendor="m2", activities=(Activity.PACKAGING,), site_ids=()),
            qualified(vendor="m2", site_code=None),
            made("PK-1", date(2025, 2, 1), maker="m2", site="ANY"),
            made("PK-2", date(2025, 2, 1), maker="m2", site=None),
        ],
    )

    assert found == {}


async def test_any_version_in_force_covers_and_a_gap_between_versions_names_both(
    store: GraphStore,
) -> None:
    v2 = agreement(version="2", effective_from=date(2025, 8, 1), effective_to=None)
    found = await gaps_of(
        store,
        [
            agreement(),
            v2,
            qualified(),
            made("L-V1", date(2025, 6, 30)),
            made("L-BETWEEN", date(2025, 7, 15)),
            made("L-V2", date(2025, 8, 1)),
        ],
    )

    assert found == {
        lot("m1", "L-BETWEEN"): [GapReason.AGREEMENT_EXPIRED, GapReason.AGREEMENT_NOT_YET_EFFECTIVE]
    }


@pytest.mark.parametrize(
    ("status", "valid_until", "expected"),
    [
        (QualificationStatus.APPROVED, date(2025, 3, 1), []),  # valid through its last day
        (QualificationStatus.APPROVED, date(2025, 2, 28), [GapReason.QUALIFICATION_EXPIRED]),
        (QualificationStatus.APPROVED, None, []),
        (QualificationStatus.CONDITIONAL, None, [GapReason.QUALIFICATION_CONDITIONAL]),
        (QualificationStatus.DISQUALIFIED, None, [GapReason.DISQUALIFIED]),
        (None, None, [GapReason.NOT_QUALIFIED]),
    ],
)
async def test_qualification_statuses_and_validity(
    store: GraphStore,
    status: QualificationStatus | None,
    valid_until: date | None,
    expected: list[GapReason],
) -> None:
    found = await gaps_of(
        store,
        [
            agreement(),
            qualified(status=status, valid_until=valid_until),
            made("L1", date(2025, 3, 1)),
        ],
    )

    assert found == ({lot("m1", "L1"): expected} if expected else {})


async def test_a_vendor_and_its_site_must_both_be_qualified(store: GraphStore) -> None:
    disqualified_vendor = Qualification(
        qualifier="s1", vendor="m1", status=QualificationStatus.DISQUALIFIED, provenance=PROVENANCE
    )
    await store.upsert([*PRODUCTS, agreement(), qualified(), disqualified_vendor])
    await store.upsert([made("L1", date(2025, 3, 1))])

    page = await store.compliance_gaps(ComplianceScope(vendor="org:m1"), 50)

    (found,) = page.lots
    (gap,) = found.gaps
    assert gap.reason is GapReason.DISQUALIFIED
    assert gap.qualification_id == make_id(NodeKind.QUALIFICATION, "s1", "m1")
    assert gap.message == "the qualification of m1 is DISQUALIFIED"


async def test_an_undated_lot_is_always_reported_with_what_holds_whatever_the_date(
    store: GraphStore,
) -> None:
    found = await gaps_of(
        store,
        [
            agreement(),
            qualified(),
            made("L-UNDATED", None),
            made("L-UNDATED-B", None, site="B"),
            made("L-IN-RANGE", date(2025, 7, 2)),
            made("L-BEFORE-RANGE", date(2024, 1, 1)),
        ],
        product=P1,
        made_from=date(2025, 7, 1),
        made_to=date(2025, 7, 31),
    )

    assert found == {
        lot("m1", "L-UNDATED"): [GapReason.UNKNOWN_DATE],
        lot("m1", "L-UNDATED-B"): [
            GapReason.UNKNOWN_DATE,
            GapReason.AGREEMENT_SITE_NOT_COVERED,
            GapReason.NOT_QUALIFIED,
        ],
        lot("m1", "L-IN-RANGE"): [GapReason.AGREEMENT_EXPIRED],
    }


async def test_which_lots_are_judged(store: GraphStore) -> None:
    """Lots of the product through their material are judged; received lots are judged
    at their maker; lots of no product are not judged."""
    late = date(2025, 9, 1)
    records: list[Record] = [
        agreement(),
        qualified(),
        Material(org="m1", code="X-P1", product_id=P1, provenance=PROVENANCE),
        made("L-MAT", late, product=None, material_code="X-P1"),
        made("L-NONE", late, product=None),
        # m3 received m1's lot L-MAT as R-1 (same physical lot) and it is for P1 there too.
        made("R-1", late, maker="m3", site=None),
        Edge(kind=EdgeKind.SAME_LOT, source=lot("m3", "R-1"), target=lot("m1", "L-MAT"),
             provenance=PROVENANCE),
    ]  # fmt: skip
    found = await gaps_of(store, records)
    judged = await store.compliance_of(
        [lot("m1", "L-MAT"), lot("m1", "L-NONE"), lot("m3", "R-1"), lot("m1", "NO-SUCH")]
    )

    assert found == {lot("m1", "L-MAT"): [GapReason.AGREEMENT_EXPIRED]}
    assert set(judged) == {lot("m1", "L-MAT")}
    assert [gap.reason for gap in judged[lot("m1", "L-MAT")]] == [GapReason.AGREEMENT_EXPIRED]


async def test_a_sub_lot_is_judged_as_the_lot_it_was_split_from(store: GraphStore) -> None:
    """A sub-lot (PART_OF its lot) is a part of a lot made once: the whole lot is judged,
    not each drum of it (an undated drum would otherwise always be a gap)."""
    records: list[Record] = [
        agreement(),
        qualified(),
        made("L-1", date(2025, 9, 1)),  # outside the agreement
        made("L-1-D1", None),  # a drum of it, no date of its own
        Edge(kind=EdgeKind.PART_OF, source=lot("m1", "L-1-D1"), target=lot("m1", "L-1"),
             provenance=PROVENANCE),
    ]  # fmt: skip
    found = await gaps_of(store, records)
    judged = await store.compliance_of([lot("m1", "L-1"), lot("m1", "L-1-D1")])

    assert found == {lot("m1", "L-1"): [GapReason.AGREEMENT_EXPIRED]}
    assert set(judged) == {lot("m1", "L-1")}


async def test_scopes_vendor_site_and_product_together(store: GraphStore) -> None:
    late = date(2025, 9, 1)
    await store.upsert(
        [
            *PRODUCTS,
            agreement(),
            qualified(),
            made("A-1", late),
            made("B-1", late, site="B"),
            made("P2-1", late, product=P2),
            made("OTHER-1", late, maker="m2"),
        ]
    )

    async def ids(**scope: Any) -> list[str]:
        page = await store.compliance_gaps(ComplianceScope(**scope), 50)
        return [found.batch_id for found in page.lots]

    m1 = [lot("m1", "A-1"), lot("m1", "B-1"), lot("m1", "P2-1")]
    assert await ids(vendor="org:m1") == m1
    assert await ids(site=SITE_A) == [lot("m1", "A-1"), lot("m1", "P2-1")]
    assert await ids(vendor="org:m1", product=P2) == [lot("m1", "P2-1")]
    assert await ids(site=make_id(NodeKind.SITE, "m1", "B"), product=P1) == [lot("m1", "B-1")]
    assert await ids(product=P1) == [lot("m1", "A-1"), lot("m1", "B-1"), lot("m2", "OTHER-1")]
    assert await ids(vendor="org:nobody") == []


async def test_pages_follow_each_other_in_batch_id_order(store: GraphStore) -> None:
    lots = [made(f"L{n:02d}", date(2026, 1, n + 1)) for n in range(7)]
    await store.upsert([*PRODUCTS, agreement(), qualified(), *lots])
    scope = ComplianceScope(product=P1)

    seen: list[str] = []
    after = None
    while True:
        page = await store.compliance_gaps(scope, 3, after)
        seen += [found.batch_id for found in page.lots]
        if not page.has_next:
            break
        after = page.lots[-1].batch_id

    assert seen == sorted(batch.id for batch in lots)


def test_a_scope_says_what_is_wrong() -> None:
    with pytest.raises(ValueError, match="give a product, a vendor or a site"):
        ComplianceScope()
    with pytest.raises(ValueError, match=r"product: 'org:s1' is not a Product id"):
        ComplianceScope(product="org:s1")
    with pytest.raises(ValueError, match=r"from: 2025-02-01 is after to: 2025-01-31"):
        ComplianceScope(vendor="org:m1", made_from=date(2025, 2, 1), made_to=date(2025, 1, 31))
    with pytest.raises(ValueError, match=r"site: 'site:m2/A' is a site of 'm2', not of"):
        ComplianceScope(vendor="org:m1", site="site:m2/A")


async def test_each_party_sees_its_verdicts_and_no_one_else_does(store: GraphStore) -> None:
    late = date(2025, 9, 1)
    records: list[Record] = [
        agreement(),
        qualified(),
        made("L1", late),
        made("S2-LOT", late, product=P2),  # m1 makes for s2 too, with no agreement
        shipped(lot("m1", "L1"), "lab"),  # m1 sent the lab its sample (graph.trust)
        TestResult(lab="lab", result_id="R1", batch_id=lot("m1", "L1"), provenance=PROVENANCE),
    ]
    everything = await gaps_of(store, records, vendor="org:m1")

    async def seen_by(org: str, **scope: Any) -> dict[str, list[GapReason]]:
        return await gaps_of(store, [], visibility=Visibility.for_org(org), **scope)

    # s2 has qualified m1 neither (s1's qualification counts for s1's products only).
    assert everything == {
        lot("m1", "L1"): [GapReason.AGREEMENT_EXPIRED],
        lot("m1", "S2-LOT"): [GapReason.NO_AGREEMENT, GapReason.NOT_QUALIFIED],
    }
    assert await seen_by("m1", vendor="org:m1") == everything
    # The sponsor reads its own product's lot, its agreement and its own qualification
    # of m1, so it judges exactly as the operator does.
    assert await seen_by("s1", vendor="org:m1") == {lot("m1", "L1"): [GapReason.AGREEMENT_EXPIRED]}
    assert await seen_by("s1", product=P1) == {lot("m1", "L1"): [GapReason.AGREEMENT_EXPIRED]}
    assert await seen_by("s2", vendor="org:m1") == {
        lot("m1", "S2-LOT"): [GapReason.NO_AGREEMENT, GapReason.NOT_QUALIFIED]
    }
    # The lab reads the lot it tested, but it is no party to its agreement.
    lab = Visibility.for_org("lab")
    assert set(await store.get_nodes([lot("m1", "L1")], visibility=lab)) == {lot("m1", "L1")}
    assert await seen_by("lab", product=P1) == {}
    assert await store.compliance_of([lot("m1", "L1")], visibility=Visibility.for_org("lab")) == {}
    assert await seen_by("m2", vendor="org:m1") == {}


async def test_a_qualification_is_read_by_who_qualified_and_whom_only(
    store: GraphStore,
) -> None:
    # Sponsors no longer read each other's assessments of a shared vendor (graph.trust).
    await store.upsert([qualified(), qualified(site_code=None)])
    await store.upsert([agreement(), agreement(sponsor="s2", product_ids=(P2,))])
    await store.upsert([qualified(qualifier="s2", site_code="B")])
    ones = {
        make_id(NodeKind.QUALIFICATION, "s1", "m1", "A"),
        make_id(NodeKind.QUALIFICATION, "s1", "m1"),
    }
    twos = {make_id(NodeKind.QUALIFICATION, "s2", "m1", "B")}

    expected = {"s1": ones, "s2": twos, "m1": ones | twos, "m2": set()}
    for org, readable in expected.items():
        seen = await store.get_nodes(sorted(ones | twos), visibility=Visibility.for_org(org))
        assert set(seen) == readable, org


async def test_only_the_sponsors_own_agreement_and_qualification_count(store: GraphStore) -> None:
    """The vendor's own agreement for the sponsor's product, and its own qualification of
    itself, clear nothing: the lot stays uncovered and unqualified for s1."""
    await store.upsert([
        *PRODUCTS,
        agreement(sponsor="m1", vendor="m1"),
        qualified(qualifier="m1"),
        qualified(qualifier="s2"),
    ])  # fmt: skip
    await store.upsert([made("L1", date(2025, 3, 1))])

    page = await store.compliance_gaps(ComplianceScope(product=P1), 50)

    (found,) = page.lots
    assert [gap.reason for gap in found.gaps] == [GapReason.NO_AGREEMENT, GapReason.NOT_QUALIFIED]
    assert found.gaps[1].message == "no qualification of m1 or of its site A by s1 is on record"
