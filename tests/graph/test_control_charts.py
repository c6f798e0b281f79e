"""Continued process verification from the store: a product's results of one test as
control charts per vendor site, on both stores, scoped; and the demo's assay drift."""

from __future__ import annotations

from datetime import date

import pytest

from graph.ids import NodeKind, make_id
from graph.model import QualityAgreement, Record, TestResult, Verdict
from graph.oversight import Measurement, MeasurementScope, Period
from graph.quality.control_charts import process_charts
from graph.quality.cpv import NelsonRule
from graph.store import GraphStore
from graph.visibility import EVERYTHING, Visibility
from hub.demo.story import TABLET_PRODUCT_ID
from tests.graph.builders import PROVENANCE, batch, lot, same_lot, shipped, with_samples_shipped

P1 = make_id(NodeKind.PRODUCT, "acme", "P1")
Z1 = make_id(NodeKind.PRODUCT, "zeta", "Z1")


def assay(
    number: str,
    lot_id: str,
    value: float | None,
    tested: date | None = None,
    *,
    test: str = "assay",
    unit: str = "%",
    spec: tuple[float | None, float | None] = (95.0, 105.0),
) -> TestResult:
    return TestResult(
        lab="lab1",
        result_id=number,
        batch_id=lot_id,
        test=test,
        value=value,
        text_value=None if value is not None else "conforms",
        unit=unit,
        spec_low=spec[0],
        spec_high=spec[1],
        verdict=Verdict.PASS,
        tested_on=tested,
        provenance=PROVENANCE,
    )


def network() -> list[Record]:
    """Vendor A makes P1 at sites S1 and S2, vendor B at S1; A also makes Z1 for Zeta
    and receives a lot of B's (tested on receipt). Result ids do not follow time. Every
    lot lab 1 tests was sent to it by its maker."""
    return with_samples_shipped([
        shipped(lot("vend-b", "B1"), "vend-a"),
        # Lab 1 tests P1 for Acme under an agreement: it may read the product and the lots.
        QualityAgreement(
            agreement_id="QA-LAB",
            version="1",
            sponsor="acme",
            vendor="lab1",
            product_ids=(P1,),
            provenance=PROVENANCE,
        ),
        batch("vend-a", "A1", product_id=P1, site_code="S1", manufactured_on=date(2025, 1, 5)),
        batch("vend-a", "A2", product_id=P1, site_code="S1", manufactured_on=date(2025, 2, 5)),
        batch("vend-a", "A3", product_id=P1, site_code="S1", manufactured_on=date(2025, 3, 5)),
        batch("vend-a", "A4", product_id=P1, site_code="S1"),  # no manufacture date
        batch("vend-a", "A9", product_id=P1, site_code="S2", manufactured_on=date(2025, 1, 9)),
        batch("vend-a", "Z1-1", product_id=Z1, site_code="S1", manufactured_on=date(2025, 1, 7)),
        batch("vend-a", "RCV", product_id=P1, site_code="S1", manufactured_on=date(2025, 1, 8)),
        same_lot(lot("vend-a", "RCV"), lot("vend-b", "B1")),
        batch("vend-b", "B1", product_id=P1, site_code="S1", manufactured_on=date(2025, 1, 8)),
        assay("R-30", lot("vend-a", "A1"), 100.2, date(2025, 1, 9)),
        assay("R-10", lot("vend-a", "A2"), 99.8, date(2025, 2, 9)),
        assay("R-20", lot("vend-a", "A3"), 99.1, date(2025, 3, 9), spec=(96.0, 104.0)),
        assay("R-05", lot("vend-a", "A4"), 98.7, date(2025, 4, 9)),
        assay("R-40", lot("vend-a", "A9"), 101.0, date(2025, 1, 12)),
        assay("R-41", lot("vend-a", "A9"), 10.1, date(2025, 1, 12), unit="mg"),
        assay("R-50", lot("vend-a", "A1"), 91.0, date(2025, 1, 9), test="dissolution"),
        assay("R-51", lot("vend-a", "A2"), None, date(2025, 2, 9)),  # a text result
        assay("R-60", lot("vend-a", "Z1-1"), 100.0, date(2025, 1, 10)),
        assay("R-70", lot("vend-a", "RCV"), 100.4, date(2025, 1, 20)),
        assay("R-80", lot("vend-b", "B1"), 100.5, date(2025, 1, 12)),
    ])  # fmt: skip


def short(measurement: Measurement) -> str:
    """The lab's result id: the last part of the result's node id."""
    return measurement.result.rsplit("/", 1)[1]


@pytest.fixture
async def loaded(store: GraphStore) -> GraphStore:
    await store.upsert(network())
    return store


async def read(
    store: GraphStore, period: Period | None = None, visibility: Visibility = EVERYTHING
) -> list[Measurement]:
    scope = MeasurementScope(P1, "assay", period or Period())
    return await store.measurements(scope, visibility=visibility)


async def test_the_read_gives_the_products_numeric_results_of_the_test(
    loaded: GraphStore,
) -> None:
    found = await read(loaded)

    assert [short(m) for m in found] == ["R-05", "R-10", "R-20", "R-30", "R-40", "R-41", "R-80"]
    r20 = found[2]
    assert (r20.vendor, r20.site, r20.value, r20.unit) == (
        "org:vend-a",
        "site:vend-a/S1",
        99.1,
        "%",
    )
    assert (r20.spec_low, r20.spec_high, r20.verdict) == (96.0, 104.0, Verdict.PASS)
    assert (r20.manufactured_on, r20.tested_on) == (date(2025, 3, 5), date(2025, 3, 9))


async def test_the_period_is_by_manufacture_date_or_else_test_date(loaded: GraphStore) -> None:
    spring = await read(loaded, Period(date(2025, 3, 1), date(2025, 4, 30)))

    # A3 was made in March; A4 has no manufacture date and was tested in April.
    assert [short(m) for m in spring] == ["R-05", "R-20"]


async def test_each_reads_its_own_results_and_the_sponsor_all(loaded: GraphStore) -> None:
    everything = [short(m) for m in await read(loaded)]

    async def seen(org: str) -> list[str]:
        return [short(m) for m in await read(loaded, visibility=Visibility.for_org(org))]

    assert await seen("acme") == everything
    assert await seen("vend-a") == ["R-05", "R-10", "R-20", "R-30", "R-40", "R-41"]
    assert await seen("vend-b") == ["R-80"]
    assert await seen("lab1") == [], "a lab's own results on a vendor's lots are no chart of its"
    assert await seen("zeta") == []


async def test_one_chart_per_vendor_site_and_unit_in_time_order(loaded: GraphStore) -> None:
    charts = process_charts(await read(loaded))

    keys = [(chart.vendor, chart.site, chart.unit) for chart in charts]
    assert keys == [
        ("org:vend-a", "site:vend-a/S1", "%"),
        ("org:vend-a", "site:vend-a/S2", "%"),
        ("org:vend-a", "site:vend-a/S2", "mg"),
        ("org:vend-b", "site:vend-b/S1", "%"),
    ]
    site_one = charts[0]
    # By manufacture date; A4's result, undated, last.
    assert [short(m) for m in site_one.measurements] == ["R-30", "R-10", "R-20", "R-05"]
    assert site_one.chart is not None
    assert site_one.chart.values == (100.2, 99.8, 99.1, 98.7)
    # The specification of the latest baseline result (R-05 states 95-105).
    assert site_one.chart.capability is not None
    assert site_one.chart.capability.specification.low == 95.0
    assert [chart.chart is None for chart in charts[1:]] == [True, True, True]
    assert "at least 2 are needed" in (charts[1].problem or "")


async def test_a_baseline_period_picks_its_points_and_specification(loaded: GraphStore) -> None:
    charts = process_charts(await read(loaded), Period(date(2025, 2, 1), date(2025, 3, 31)))

    site_one = charts[0]
    assert site_one.baseline == range(1, 3)
    assert site_one.chart is not None
    assert site_one.chart.limits.centre == pytest.approx((99.8 + 99.1) / 2)
    assert site_one.chart.capability is not None
    assert site_one.chart.capability.specification.low == 96.0  # R-20's, the latest
    assert charts[1].problem is not None and "holds 0 result(s)" in charts[1].problem


async def test_the_demo_assay_drift_at_birch_fires_run_rules(demo_store: GraphStore) -> None:
    found = await demo_store.measurements(
        MeasurementScope(TABLET_PRODUCT_ID, "assay"), visibility=Visibility.for_org("northwind")
    )

    [whole] = process_charts(found)
    [early] = process_charts(found, Period(date(2025, 1, 1), date(2025, 4, 30)))

    assert (whole.vendor, whole.site) == ("org:birch", "site:birch/CRK-1")
    assert whole.chart is not None and early.chart is not None
    fired = {violation.rule for violation in whole.chart.violations}
    assert {NelsonRule.BEYOND_LIMITS, NelsonRule.SIX_TRENDING} <= fired
    # Limits from January to April: every batch from June on is below the lower limit.
    beyond = next(v for v in early.chart.violations if v.rule is NelsonRule.BEYOND_LIMITS)
    assert [early.measurements[index].batch_id for index in beyond.points] == [
        make_id(NodeKind.BATCH, "birch", number)
        for number in ("BT-25-033", "BT-25-041", "BT-25-048", "BT-25-055")
    ]
