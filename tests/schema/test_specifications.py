"""Results against the sponsor's specification in force, over GraphQL on both stores.

Sponsor s1's product P1 is made and tested by m1. The assay specification was 95-105
until 2025-05-31 (v1) and is 98-102 from 2025-06-01 (v2); the agreement names both, so
m1 reads them too. m1's lab kept testing against 95-105 after the revision.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from graph.ids import NodeKind, make_id
from graph.lifecycle import Specification
from graph.model import (
    Activity,
    AgreementStatus,
    Batch,
    Product,
    QualityAgreement,
    Record,
    TestResult,
    Verdict,
)
from graph.store import GraphStore
from tests.graph.builders import PROVENANCE
from tests.schema.test_lifecycle import reader
from tests.schema.test_protection import CountingStore
from tests.tokens import TokenSource

P1 = make_id(NodeKind.PRODUCT, "s1", "P1")
V1 = make_id(NodeKind.SPECIFICATION, "s1", "P1", "assay", "1")
V2 = make_id(NodeKind.SPECIFICATION, "s1", "P1", "assay", "2")


def result(result_id: str, lot: str, tested_on: date, value: float, **more: Any) -> TestResult:
    fields: dict[str, Any] = {
        "lab": "m1", "result_id": result_id, "batch_id": make_id(NodeKind.BATCH, "m1", lot),
        "test": "assay", "value": value, "unit": "%", "spec_low": 95.0, "spec_high": 105.0,
        "verdict": Verdict.PASS, "tested_on": tested_on, "provenance": PROVENANCE,
    }  # fmt: skip
    return TestResult(**{**fields, **more})


def network() -> list[Record]:
    def spec(version: str, low: float, high: float, start: date, end: date | None) -> Specification:
        return Specification(
            sponsor="s1", product_code="P1", test="assay", version=version, spec_low=low,
            spec_high=high, unit="%", effective_from=start, effective_to=end,
            provenance=PROVENANCE,
        )  # fmt: skip

    def made(number: str, on: date) -> Batch:
        return Batch(maker="m1", number=number, site_code="A", product_id=P1,
                     manufactured_on=on, provenance=PROVENANCE)  # fmt: skip

    return [
        Product(sponsor="s1", code="P1", provenance=PROVENANCE),
        spec("1", 95.0, 105.0, date(2025, 1, 1), date(2025, 5, 31)),
        spec("2", 98.0, 102.0, date(2025, 6, 1), None),
        QualityAgreement(
            agreement_id="QA1",
            version="1",
            sponsor="s1",
            vendor="m1",
            product_ids=(P1,),
            specification_ids=(V1, V2),
            activities=(Activity.MANUFACTURE,),
            effective_from=date(2025, 1, 1),
            status=AgreementStatus.EFFECTIVE,
            provenance=PROVENANCE,
        ),
        made("L1", date(2025, 2, 20)),
        made("L2", date(2025, 6, 20)),
        made("L3", date(2025, 6, 25)),
        # Before the revision: judged by v1, whose limits the lab reported.
        result("R-OLD", "L1", date(2025, 3, 1), 97.0),
        # After it: within the lab's old limits, out of v2 (test typed differently).
        result("R-STALE", "L2", date(2025, 7, 1), 97.0, test=" Assay"),
        # After it, against v2's limits: all is well.
        result("R-NEW", "L3", date(2025, 7, 2), 100.0, spec_low=98.0, spec_high=102.0),
        # A test the sponsor has no specification of.
        result(
            "R-DISS",
            "L2",
            date(2025, 7, 1),
            85.0,
            test="dissolution",
            spec_low=80.0,
            spec_high=None,
        ),
        result(
            "R-DISS2",
            "L3",
            date(2025, 7, 2),
            88.0,
            test="dissolution",
            spec_low=80.0,
            spec_high=None,
        ),
    ]


RESULTS = """{ batches(filter: {product: "product:s1/P1"}) { nodes { results {
  resultId verdict specVerdict limitsMatchSpecification specification { id version } } } } }"""


@pytest.mark.parametrize("org", ["s1", "m1"])
async def test_a_result_is_judged_by_the_specification_in_force_on_its_test_day(
    store: GraphStore, tokens: TokenSource, org: str
) -> None:
    await store.upsert(network())
    async for api in reader(store, tokens, org):
        data = await api.data(RESULTS)
    found = {r["resultId"]: r for lot in data["batches"]["nodes"] for r in lot["results"]}

    assert found["R-OLD"] == {
        "resultId": "R-OLD", "verdict": "PASS", "specVerdict": "PASS",
        "limitsMatchSpecification": True, "specification": {"id": V1, "version": "1"},
    }  # fmt: skip
    assert found["R-STALE"] == {
        "resultId": "R-STALE", "verdict": "PASS", "specVerdict": "OOS",
        "limitsMatchSpecification": False, "specification": {"id": V2, "version": "2"},
    }  # fmt: skip
    assert (found["R-NEW"]["specVerdict"], found["R-NEW"]["limitsMatchSpecification"]) == (
        "PASS",
        True,
    )
    assert found["R-DISS"] == {
        "resultId": "R-DISS", "verdict": "PASS", "specVerdict": None,
        "limitsMatchSpecification": None, "specification": None,
    }  # fmt: skip


FINDINGS = """query ($vendor: ID) {
  specificationFindings(productId: "product:s1/P1", vendorId: $vendor, first: 1) {
    nodes { kinds resultId result { tested: testedOn } specification { version } }
    pageInfo { hasNextPage } } }"""


async def test_findings_list_the_results_that_disagree_with_the_specification(
    store: GraphStore, tokens: TokenSource
) -> None:
    await store.upsert(network())
    async for api in reader(store, tokens, "s1"):
        found = (await api.data(FINDINGS, vendor="org:m1"))["specificationFindings"]
        elsewhere = (await api.data(FINDINGS, vendor="org:m2"))["specificationFindings"]

    assert found == {
        "nodes": [
            {
                "kinds": ["LIMITS_DIFFER", "PASSES_REPORTED_FAILS_SPECIFICATION"],
                "resultId": make_id(NodeKind.TEST_RESULT, "m1", "R-STALE"),
                "result": {"tested": "2025-07-01"},
                "specification": {"version": "2"},
            }
        ],
        "pageInfo": {"hasNextPage": False},
    }
    assert elsewhere["nodes"] == []


CHARTS = """query ($test: String!) { controlCharts(productId: "product:s1/P1", test: $test) {
  specificationSource analysis { capability { specLow specHigh } }
  points { specLow specHigh specificationSource } } }"""


async def test_control_charts_use_the_sponsors_specification_in_force(
    store: GraphStore, tokens: TokenSource
) -> None:
    await store.upsert(network())
    async for api in reader(store, tokens, "s1"):
        (assay,) = (await api.data(CHARTS, test="assay"))["controlCharts"]
        (dissolution,) = (await api.data(CHARTS, test="dissolution"))["controlCharts"]

    assert assay["specificationSource"] == "SPONSOR"
    assert assay["analysis"]["capability"] == {"specLow": 98.0, "specHigh": 102.0}
    # Each point by the version in force on its day: L1 made under v1, L3 under v2.
    assert assay["points"] == [
        {"specLow": 95.0, "specHigh": 105.0, "specificationSource": "SPONSOR"},
        {"specLow": 98.0, "specHigh": 102.0, "specificationSource": "SPONSOR"},
    ]
    assert dissolution["specificationSource"] == "REPORTED"
    assert dissolution["analysis"]["capability"] == {"specLow": 80.0, "specHigh": None}


async def test_a_page_of_results_costs_the_same_reads_whatever_its_size(
    store: GraphStore, tokens: TokenSource
) -> None:
    lots = [
        Batch(
            maker="m1",
            number=f"N{n:02}",
            product_id=P1,
            manufactured_on=date(2025, 6, 2),
            provenance=PROVENANCE,
        )
        for n in range(30)
    ]
    tested = [
        result(f"RN{n:02}", lot.number, date(2025, 7, 1), 97.0 + n / 10)
        for n, lot in enumerate(lots)
    ]
    await store.upsert([*network(), *lots, *tested])
    counting = CountingStore(store)
    query = """query ($first: Int!) { batches(filter: {vendor: "org:m1"}, first: $first) {
      nodes { results { specVerdict limitsMatchSpecification specification { version } } } } }"""
    calls = {}
    async for api in reader(counting, tokens, "s1"):  # type: ignore[arg-type]
        for first in (3, 30):
            counting.calls = 0
            data = await api.data(query, first=first)
            assert len(data["batches"]["nodes"]) == first
            calls[first] = counting.calls

    # the listing; results (edges, nodes); their lots are the page's; products (direct,
    # then through materials: none here); SPECIFIES edges; the specifications
    assert calls[3] == calls[30], calls
