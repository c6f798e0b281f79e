"""Vendor scorecards on a tiny hand-built network, on both stores: the store reads the
lots (scoped like every read) and the figures are those worked out by hand."""

from __future__ import annotations

from datetime import date

import pytest

from graph.ids import NodeKind, make_id
from graph.model import (
    BatchStatus,
    Deviation,
    Material,
    Organization,
    OrgKind,
    Product,
    QualityAgreement,
    Record,
    TestResult,
    Verdict,
)
from graph.oversight import BatchScope, Period
from graph.quality.scorecard import Scorecard, scorecard, scorecards_by_vendor
from graph.store import GraphStore
from graph.visibility import EVERYTHING, Visibility
from tests.graph.builders import PROVENANCE, batch, lot, same_lot, shipped, with_samples_shipped

P1 = make_id(NodeKind.PRODUCT, "acme", "P1")
Z1 = make_id(NodeKind.PRODUCT, "zeta", "Z1")
VEND_A, VEND_B = "org:vend-a", "org:vend-b"
YEAR_2025 = Period(date(2025, 1, 1), date(2025, 12, 31))
R, Q, X = BatchStatus.RELEASED, BatchStatus.QUARANTINE, BatchStatus.REJECTED


def result(number: int, lot_id: str, verdict: Verdict) -> TestResult:
    return TestResult(
        lab="lab1",
        result_id=f"T-{number}",
        batch_id=lot_id,
        test="assay",
        value=100.0,
        verdict=verdict,
        provenance=PROVENANCE,
    )


def made(
    maker: str,
    number: str,
    status: BatchStatus,
    on: date,
    released: date | None = None,
    **more: object,
) -> Record:
    return batch(maker, number, status=status, manufactured_on=on, released_on=released, **more)


def network() -> list[Record]:
    """Vendor A makes P1 (Acme's) directly, vendor B through its material; A also makes
    Z1 for Zeta and receives a lot of B's. Lab 1 tests what the makers send it."""
    return with_samples_shipped([
        shipped(lot("vend-b", "B1"), "vend-a"),
        *(
            Organization(org_id=org, kind=kind, provenance=PROVENANCE)
            for org, kind in (
                ("acme", OrgKind.SPONSOR),
                ("zeta", OrgKind.SPONSOR),
                ("vend-a", OrgKind.CMO),
                ("vend-b", OrgKind.CMO),
                ("lab1", OrgKind.TESTING_LAB),
            )
        ),
        Product(sponsor="acme", code="P1", provenance=PROVENANCE),
        Product(sponsor="zeta", code="Z1", provenance=PROVENANCE),
        # Lab 1 tests P1 for Acme under an agreement, so it may read the product and the
        # lots it tested: still, they are not its figures.
        QualityAgreement(
            agreement_id="QA-LAB",
            version="1",
            sponsor="acme",
            vendor="lab1",
            product_ids=(P1,),
            provenance=PROVENANCE,
        ),
        Material(org="vend-b", code="M1", product_id=P1, provenance=PROVENANCE),
        # A1 and A5 right first time; A2 deviated; A3 rejected with an OOS; A4 undecided,
        # with the same deviation as A2 and a FAIL; A6 made the year before.
        made("vend-a", "A1", R, date(2025, 1, 10), date(2025, 1, 20), product_id=P1),
        made("vend-a", "A2", R, date(2025, 2, 10), date(2025, 2, 24), product_id=P1),
        made("vend-a", "A3", X, date(2025, 3, 10), product_id=P1),
        made("vend-a", "A4", Q, date(2025, 4, 10), product_id=P1),
        made("vend-a", "A5", R, date(2025, 5, 10), date(2025, 6, 9), product_id=P1),
        made("vend-a", "A6", R, date(2024, 12, 20), date(2025, 1, 5), product_id=P1),
        made("vend-a", "ZA1", R, date(2025, 3, 1), date(2025, 3, 5), product_id=Z1),
        # A lot of B's as received at A, named for P1: B's work, not A's.
        made("vend-a", "RCV-1", R, date(2025, 1, 15), date(2025, 1, 16), product_id=P1),
        same_lot(lot("vend-a", "RCV-1"), lot("vend-b", "B1")),
        made("vend-b", "B1", R, date(2025, 1, 15), date(2025, 1, 22), material_code="M1"),
        made("vend-b", "B2", R, date(2025, 2, 15), material_code="M1"),
        result(1, lot("vend-a", "A1"), Verdict.PASS),
        result(2, lot("vend-a", "A1"), Verdict.PASS),
        result(3, lot("vend-a", "A3"), Verdict.OOS),
        result(4, lot("vend-a", "A4"), Verdict.FAIL),
        result(5, lot("vend-a", "A5"), Verdict.PASS),
        result(6, lot("vend-b", "B1"), Verdict.PASS),
        Deviation(
            org="vend-a",
            deviation_id="D1",
            batch_ids=(lot("vend-a", "A2"), lot("vend-a", "A4")),
            provenance=PROVENANCE,
        ),
    ])  # fmt: skip


@pytest.fixture
async def loaded(store: GraphStore) -> GraphStore:
    await store.upsert(network())
    return store


def figures(card: Scorecard) -> dict[str, object]:
    return {
        "batches": card.batches,
        "dispositioned": card.dispositioned,
        "right_first_time": card.right_first_time,
        "rft_rate": card.right_first_time_rate,
        "deviations": card.deviations,
        "per_100": card.deviations_per_100_batches,
        "tested": card.tested_batches,
        "oos_batches": card.failed_batches,
        "oos_rate": card.oos_rate,
        "results": (card.results, card.failed_results),
        "release_days": card.release_days,
        "median": card.median_days_to_release,
        "p90": card.p90_days_to_release,
    }


# Vendor A in 2025: A1..A5. Dispositioned A1, A2, A3, A5; right first time A1, A5.
# Deviation D1 once, on 5 lots: 20 per 100. Tested A1, A3, A4, A5; failed A3, A4.
# Release days 10, 14, 30: median 14; p90 at rank 0.9 x 2 = 1.8: 14 + 0.8 x 16 = 26.8.
VENDOR_A_2025 = {
    "batches": 5,
    "dispositioned": 4,
    "right_first_time": 2,
    "rft_rate": 0.5,
    "deviations": 1,
    "per_100": 20.0,
    "tested": 4,
    "oos_batches": 2,
    "oos_rate": 0.5,
    "results": (5, 2),
    "release_days": (10, 14, 30),
    "median": 14.0,
    "p90": pytest.approx(26.8),
}
# Vendor B: B1 and B2 through material M1, both right first time; one tested lot.
VENDOR_B_2025 = {
    "batches": 2,
    "dispositioned": 2,
    "right_first_time": 2,
    "rft_rate": 1.0,
    "deviations": 0,
    "per_100": 0.0,
    "tested": 1,
    "oos_batches": 0,
    "oos_rate": 0.0,
    "results": (1, 0),
    "release_days": (7,),
    "median": 7.0,
    "p90": 7.0,
}


async def cards(
    store: GraphStore, product: str, period: Period, visibility: Visibility = EVERYTHING
) -> dict[str, dict[str, object]]:
    lots = await store.batch_quality(
        BatchScope(product=product, made=period), visibility=visibility
    )
    return {card.vendor: figures(card) for card in scorecards_by_vendor(product, period, lots)}


async def test_a_products_scorecards_per_vendor_by_hand(loaded: GraphStore) -> None:
    assert await cards(loaded, P1, YEAR_2025) == {VEND_A: VENDOR_A_2025, VEND_B: VENDOR_B_2025}


async def test_an_open_period_counts_every_lot_and_a_received_lot_never(
    loaded: GraphStore,
) -> None:
    lots = await loaded.batch_quality(BatchScope(vendor=VEND_A, product=P1))
    card = scorecard(VEND_A, P1, Period(), lots)

    assert [found.batch_id for found in lots] == [lot("vend-a", f"A{n}") for n in range(1, 7)]
    # A6 adds a right-first-time lot and 16 days: 3 of 5; days 10, 14, 16, 30.
    assert (card.right_first_time, card.dispositioned) == (3, 5)
    assert card.release_days == (10, 14, 16, 30)
    assert card.median_days_to_release == 15.0
    assert card.p90_days_to_release == pytest.approx(25.8)  # rank 2.7: 16 + 0.7 x 14


async def test_a_vendors_card_over_all_products_names_each_lots_product(
    loaded: GraphStore,
) -> None:
    lots = await loaded.batch_quality(BatchScope(vendor=VEND_A, made=YEAR_2025))
    through_material = await loaded.batch_quality(BatchScope(vendor=VEND_B))

    assert {found.batch_id.split("/")[1]: found.product for found in lots} == {
        "A1": P1, "A2": P1, "A3": P1, "A4": P1, "A5": P1, "ZA1": Z1,
    }  # fmt: skip
    assert {found.product for found in through_material} == {P1}


async def test_the_sponsor_sees_every_vendor_and_a_vendor_only_itself(loaded: GraphStore) -> None:
    as_acme = await cards(loaded, P1, YEAR_2025, Visibility.for_org("acme"))
    as_vendor_a = await cards(loaded, P1, YEAR_2025, Visibility.for_org("vend-a"))
    as_vendor_b = await cards(loaded, P1, YEAR_2025, Visibility.for_org("vend-b"))

    assert as_acme == {VEND_A: VENDOR_A_2025, VEND_B: VENDOR_B_2025}
    assert as_vendor_a == {VEND_A: VENDOR_A_2025}
    assert as_vendor_b == {VEND_B: VENDOR_B_2025}


async def test_a_lab_and_another_sponsor_count_nothing_of_it(loaded: GraphStore) -> None:
    # Lab 1 may read the lots it tested, but they are not its figures.
    assert await cards(loaded, P1, YEAR_2025, Visibility.for_org("lab1")) == {}
    assert await cards(loaded, P1, YEAR_2025, Visibility.for_org("zeta")) == {}


async def test_a_report_on_a_lot_never_sent_counts_only_once_it_is(loaded: GraphStore) -> None:
    # Lab 2 was never sent A1: its FAIL and its deviation are only its claims (graph.trust).
    a1 = lot("vend-a", "A1")
    await loaded.upsert([
        TestResult(lab="lab2", result_id="T-X", batch_id=a1, test="assay", value=1.0,
                   verdict=Verdict.FAIL, provenance=PROVENANCE),
        Deviation(org="lab2", deviation_id="D-X", batch_ids=(a1,), provenance=PROVENANCE),
    ])  # fmt: skip

    for org in ("acme", "vend-a"):
        seen = await cards(loaded, P1, YEAR_2025, Visibility.for_org(org))
        assert seen[VEND_A] == VENDOR_A_2025, org

    # Once vendor A names lab 2 as a receiver of A1, both count: A1 failed and deviated,
    # so it is no longer right first time.
    await loaded.upsert([shipped(a1, "lab2")])
    as_acme = await cards(loaded, P1, YEAR_2025, Visibility.for_org("acme"))
    assert as_acme[VEND_A] == {
        **VENDOR_A_2025,
        "right_first_time": 1,
        "rft_rate": 0.25,
        "deviations": 2,
        "per_100": 40.0,
        "oos_batches": 3,
        "oos_rate": 0.75,
        "results": (6, 3),
    }


async def test_a_vendor_that_makes_for_two_sponsors_shows_each_only_its_own(
    loaded: GraphStore,
) -> None:
    async def made_by_a(org: str) -> list[str]:
        lots = await loaded.batch_quality(
            BatchScope(vendor=VEND_A), visibility=Visibility.for_org(org)
        )
        return [found.batch_id.split("/")[1] for found in lots]

    assert await made_by_a("zeta") == ["ZA1"]
    assert await made_by_a("acme") == ["A1", "A2", "A3", "A4", "A5", "A6"]
    assert await made_by_a("vend-a") == ["A1", "A2", "A3", "A4", "A5", "A6", "ZA1"]


def test_scope_arguments_are_checked_by_name() -> None:
    with pytest.raises(ValueError, match=r"^scope: name a vendor, a product or both"):
        BatchScope()
    with pytest.raises(ValueError, match=r"^vendor: 'product:acme/P1' is not an Organization id"):
        BatchScope(vendor=P1)
    with pytest.raises(ValueError, match=r"^period: starts on 2025-02-01, after it ends"):
        Period(date(2025, 2, 1), date(2025, 1, 1))


def test_no_lots_make_a_card_of_zeros_without_rates() -> None:
    card = scorecard(VEND_A, P1, YEAR_2025, [])

    assert (card.batches, card.right_first_time_rate, card.oos_rate) == (0, None, None)
    assert (card.deviations_per_100_batches, card.median_days_to_release) == (None, None)
