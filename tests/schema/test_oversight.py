"""Vendor scorecards and control charts over the API, on both stores, as each partner of
the demo story: a sponsor compares its vendors, a vendor sees only itself, a lab and
another sponsor see nothing of it."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from graph.store import GraphStore
from hub.app import create_app
from hub.demo.story import TABLET_PRODUCT_ID
from tests.schema.conftest import GraphQLClient, error_codes
from tests.tokens import TokenSource

CARD = """vendor { id } product { id } from to batches dispositioned rightFirstTime
  rightFirstTimeRate deviations deviationsPer100Batches testedBatches oosBatches results
  oosResults oosRate releasedWithDates medianDaysToRelease p90DaysToRelease"""
SCORECARDS = f"""query ($product: ID!, $from: Date, $to: Date) {{
  vendorScorecards(productId: $product, from: $from, to: $to) {{ {CARD} }} }}"""
SCORECARD = f"""query ($vendor: ID!, $product: ID, $from: Date, $to: Date) {{
  vendorScorecard(vendorId: $vendor, productId: $product, from: $from, to: $to) {{ {CARD} }} }}"""
CHARTS = """query ($product: ID!, $test: String!, $baselineFrom: Date, $baselineTo: Date) {
  controlCharts(productId: $product, test: $test, baselineFrom: $baselineFrom,
                baselineTo: $baselineTo) {
    vendor { id } site { id } test unit
    points { index value movingRange on inBaseline rules batch { number } result { verdict } }
    analysis { baselineSize centreLine meanMovingRange sigma upperControlLimit lowerControlLimit
      capability { specLow specHigh cpk ppk cpl cpu }
      violations { rule number description points } } } }"""

# Birch's Northwind tablets: 8 lots, BT-25-055 in quarantine (no disposition); BT-25-026
# and BT-25-055 each with a deviation, BT-25-055 with the OOS assay. Release days 12, 13,
# 13, 14, 15, 17, 21: median 14; p90 at rank 5.4: 17 + 0.4 x 4 = 18.6.
BIRCH = {
    "vendor": {"id": "org:birch"},
    "product": {"id": TABLET_PRODUCT_ID},
    "from": None,
    "to": None,
    "batches": 8,
    "dispositioned": 7,
    "rightFirstTime": 6,
    "rightFirstTimeRate": pytest.approx(6 / 7),
    "deviations": 2,
    "deviationsPer100Batches": 25.0,
    "testedBatches": 8,
    "oosBatches": 1,
    "results": 16,
    "oosResults": 1,
    "oosRate": 0.125,
    "releasedWithDates": 7,
    "medianDaysToRelease": 14.0,
    "p90DaysToRelease": pytest.approx(18.6),
}
# Cedar's packed lots: 10, all released three days after packing, none tested.
CEDAR = {
    **BIRCH,
    "vendor": {"id": "org:cedar"},
    "batches": 10,
    "dispositioned": 10,
    "rightFirstTime": 10,
    "rightFirstTimeRate": 1.0,
    "deviations": 0,
    "deviationsPer100Batches": 0.0,
    "testedBatches": 0,
    "oosBatches": 0,
    "results": 0,
    "oosResults": 0,
    "oosRate": None,
    "releasedWithDates": 10,
    "medianDaysToRelease": 3.0,
    "p90DaysToRelease": 3.0,
}


async def reader(store: GraphStore, tokens: TokenSource, org: str) -> GraphQLClient:
    """A client reading as ``org``; ``operator`` is the hub's admin, who sees everything."""
    app = create_app(store=store, auth=tokens.service)
    headers = await (tokens.bearer() if org == "operator" else tokens.bearer(org, ["graph:read"]))
    transport = httpx.ASGITransport(app=app)
    return GraphQLClient(
        httpx.AsyncClient(transport=transport, base_url="http://t", headers=headers)
    )


async def scorecards(client: GraphQLClient, **variables: Any) -> list[dict[str, Any]]:
    data = await client.data(SCORECARDS, **{"product": TABLET_PRODUCT_ID, **variables})
    cards: list[dict[str, Any]] = data["vendorScorecards"]
    return cards


async def test_the_sponsor_compares_its_vendors_of_a_product(
    demo_store: GraphStore, tokens: TokenSource
) -> None:
    northwind = await reader(demo_store, tokens, "northwind")
    operator = await reader(demo_store, tokens, "operator")

    assert await scorecards(northwind) == [BIRCH, CEDAR]
    assert await scorecards(operator) == [BIRCH, CEDAR]


async def test_a_vendor_sees_only_its_own_card_and_others_none(
    demo_store: GraphStore, tokens: TokenSource
) -> None:
    seen = {
        org: await scorecards(await reader(demo_store, tokens, org))
        for org in ("birch", "cedar", "elm", "oakridge", "alder")
    }

    assert seen["birch"] == [BIRCH]
    assert seen["cedar"] == [CEDAR]
    assert seen["elm"] == [], "the lab that tested Birch's lots sees no figures of Birch's"
    assert seen["oakridge"] == [] == seen["alder"]


async def test_a_vendors_card_over_everything_counts_what_the_asker_may(
    demo_store: GraphStore, tokens: TokenSource
) -> None:
    async def batches(org: str) -> int:
        client = await reader(demo_store, tokens, org)
        card = (await client.data(SCORECARD, vendor="org:birch"))["vendorScorecard"]
        assert card["product"] is None
        count: int = card["batches"]
        return count

    assert await batches("birch") == 10  # its Northwind and its Oakridge tablets
    assert await batches("northwind") == 8
    assert await batches("oakridge") == 2
    assert await batches("elm") == 0


async def test_a_period_counts_the_lots_made_in_it(
    demo_store: GraphStore, tokens: TokenSource
) -> None:
    northwind = await reader(demo_store, tokens, "northwind")

    card = (
        await northwind.data(
            SCORECARD, vendor="org:birch", product=TABLET_PRODUCT_ID, **{"from": "2025-07-01"}
        )
    )["vendorScorecard"]

    # BT-25-041, -048 and -055: two released right first time, -055 undecided with the
    # OOS and its deviation.
    assert card["from"] == "2025-07-01"
    assert (card["batches"], card["dispositioned"], card["rightFirstTime"]) == (3, 2, 2)
    assert card["deviationsPer100Batches"] == pytest.approx(100 / 3)
    assert card["oosRate"] == pytest.approx(1 / 3)


async def test_unknown_vendor_is_null_and_a_hidden_product_is_like_a_missing_one(
    demo_store: GraphStore, tokens: TokenSource
) -> None:
    oakridge = await reader(demo_store, tokens, "oakridge")

    unknown = await oakridge.data(SCORECARD, vendor="org:nobody")
    hidden = await scorecards(oakridge)
    missing = await scorecards(oakridge, product="product:northwind/NO-SUCH")

    assert unknown == {"vendorScorecard": None}
    assert hidden == missing == []


async def test_the_birch_assay_drift_shows_on_the_sponsors_control_chart(
    demo_store: GraphStore, tokens: TokenSource
) -> None:
    northwind = await reader(demo_store, tokens, "northwind")

    [chart] = (await northwind.data(CHARTS, product=TABLET_PRODUCT_ID, test="assay"))[
        "controlCharts"
    ]

    assert (chart["vendor"], chart["site"], chart["unit"]) == (
        {"id": "org:birch"},
        {"id": "site:birch/CRK-1"},
        "%",
    )
    values = [point["value"] for point in chart["points"]]
    assert values == [100.6, 100.2, 99.7, 99.1, 98.4, 97.3, 95.9, 94.6]
    analysis = chart["analysis"]
    # Baseline: all 8. Mean 98.225; moving ranges sum to 6.0 over 7: MR-bar 0.857143.
    assert analysis["centreLine"] == pytest.approx(98.225)
    assert analysis["meanMovingRange"] == pytest.approx(6.0 / 7)
    assert analysis["upperControlLimit"] == pytest.approx(98.225 + 3 * 6.0 / 7 / 1.128)
    rules = {violation["rule"]: violation["points"] for violation in analysis["violations"]}
    assert rules["BEYOND_LIMITS"] == [0, 6, 7]
    assert rules["SIX_TRENDING"] == list(range(8))
    last = chart["points"][7]
    assert "BEYOND_LIMITS" in last["rules"]
    assert last["batch"] == {"number": "BT-25-055"} and last["result"] == {"verdict": "OOS"}
    # Cpk 3.225 / (3 x 0.759878) = 1.4147 on within sigma; the drift shows in Ppk.
    capability = analysis["capability"]
    assert (capability["specLow"], capability["specHigh"]) == (95.0, 105.0)
    assert capability["cpk"] == pytest.approx(1.4147, abs=1e-4)
    assert capability["ppk"] == pytest.approx(0.5035, abs=1e-4)


async def test_a_baseline_period_sets_the_limits_the_later_lots_fall_below(
    demo_store: GraphStore, tokens: TokenSource
) -> None:
    birch = await reader(demo_store, tokens, "birch")

    [chart] = (
        await birch.data(
            CHARTS,
            product=TABLET_PRODUCT_ID,
            test="assay",
            baselineFrom="2025-01-01",
            baselineTo="2025-04-30",
        )
    )["controlCharts"]

    analysis = chart["analysis"]
    assert [point["inBaseline"] for point in chart["points"]] == [True] * 4 + [False] * 4
    assert (analysis["baselineSize"], analysis["centreLine"]) == (4, pytest.approx(99.9))
    assert analysis["lowerControlLimit"] == pytest.approx(98.570213, abs=1e-6)
    rules = {violation["rule"]: violation["points"] for violation in analysis["violations"]}
    assert rules["BEYOND_LIMITS"] == [4, 5, 6, 7]


async def test_a_baseline_too_small_is_an_error_on_that_chart_only(
    demo_store: GraphStore, tokens: TokenSource
) -> None:
    northwind = await reader(demo_store, tokens, "northwind")

    body = await northwind.answer(
        CHARTS,
        product=TABLET_PRODUCT_ID,
        test="assay",
        baselineFrom="2025-01-01",
        baselineTo="2025-01-31",
    )

    [chart] = body["data"]["controlCharts"]
    assert chart["analysis"] is None and len(chart["points"]) == 8
    [error] = body["errors"]
    assert error["path"] == ["controlCharts", 0, "analysis"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert error["message"].startswith("baselineFrom, baselineTo: the baseline period holds 1")


async def test_no_one_else_sees_the_chart(demo_store: GraphStore, tokens: TokenSource) -> None:
    for org in ("oakridge", "elm", "cedar"):
        client = await reader(demo_store, tokens, org)
        data = await client.data(CHARTS, product=TABLET_PRODUCT_ID, test="assay")
        assert data == {"controlCharts": []}, org


@pytest.mark.parametrize(
    ("query", "variables", "message"),
    [
        (SCORECARDS, {"product": "batch:birch/BT-25-004"}, "productId: 'batch:birch/BT-25-004'"),
        (SCORECARDS, {"product": "nonsense"}, "productId: 'nonsense' has no kind prefix"),
        (
            SCORECARDS,
            {"product": TABLET_PRODUCT_ID, "from": "2025-12-01", "to": "2025-01-01"},
            "from: 2025-12-01 is after to: 2025-01-01",
        ),
        (SCORECARD, {"vendor": TABLET_PRODUCT_ID}, "vendorId: 'product:northwind/NW-TAB-101'"),
        (CHARTS, {"product": TABLET_PRODUCT_ID, "test": " "}, "test: expected a test name"),
        (
            CHARTS,
            {
                "product": TABLET_PRODUCT_ID,
                "test": "assay",
                "baselineFrom": "2025-05-01",
                "baselineTo": "2025-04-01",
            },
            "baselineFrom: 2025-05-01 is after baselineTo: 2025-04-01",
        ),
    ],
)
async def test_bad_arguments_are_named(
    api: GraphQLClient, query: str, variables: dict[str, Any], message: str
) -> None:
    body = await api.answer(query, **variables)

    assert error_codes(body) == ["BAD_USER_INPUT"]
    assert body["errors"][0]["message"].startswith(message)
