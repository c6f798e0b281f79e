"""A hostile partner, with only its own ``ingest:write`` and ``graph:read`` client,
against the demo network: what each attack of the trust review gets now.

Every push goes through ``POST /ingest`` as the partner (ownership applies), every
read through GraphQL with the reader's own token: what a partner or a sponsor sees.
The rules are ``graph.trust``'s.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from graph.model import (
    Batch,
    Deviation,
    Edge,
    EdgeKind,
    Product,
    Provenance,
    Qualification,
    QualityAgreement,
    Record,
    TestResult,
)
from graph.sql.store import SqlGraphStore
from hub.app import create_app
from hub.demo.generator import canonical_lines
from hub.demo.story import EXPIRED_AGREEMENT_ID, GAP_BATCH_ID, TABLET_PRODUCT_ID, demo_records
from hub.records.ledger import Ledger
from hub.settings import Settings
from tests.hub.support import hub_client
from tests.tokens import TokenSource

PARTNER_SCOPES = ("graph:read", "ingest:write")
ALDER_LOT = "batch:alder/A-2207"  # Northwind's API lot, received at Birch
BIRCH_LOT = "batch:birch/BT-25-048"  # a Northwind tablet lot, tested by Elm
HERE = Provenance(ingestion_id="attack", connector="test", location="/")


@dataclass
class Hub:
    http: httpx.AsyncClient
    tokens: TokenSource

    async def push(self, org: str, *records: Record) -> dict[str, Any]:
        body = "".join(canonical_lines(records)).encode()
        response = await self.http.post(
            f"/ingest/canonical.jsonl?wait=30&org={org}",
            content=body,
            headers=await self.tokens.bearer(org, PARTNER_SCOPES),
        )
        assert response.status_code in (200, 202), response.text
        report: dict[str, Any] = response.json()
        assert report["status"] in ("APPLIED", "PARTIAL", "REJECTED"), report
        return report

    async def ask(self, org: str, query: str) -> dict[str, Any]:
        response = await self.http.post(
            "/graphql", json={"query": query}, headers=await self.tokens.bearer(org, PARTNER_SCOPES)
        )
        assert response.status_code == 200, response.text
        answer: dict[str, Any] = response.json()
        assert "errors" not in answer, answer
        return answer["data"]


@pytest.fixture
async def hub(tmp_path: Path, tokens: TokenSource) -> AsyncIterator[Hub]:
    store = SqlGraphStore(f"sqlite+aiosqlite:///{tmp_path / 'graph.sqlite'}")
    ledger = Ledger(f"sqlite+aiosqlite:///{tmp_path / 'ledger.sqlite'}")
    await store.setup()
    await ledger.setup()
    await store.upsert(demo_records())
    app = create_app(
        Settings(ingest_poll_seconds=0.05), store=store, ledger=ledger, auth=tokens.service
    )
    async with hub_client(app) as http:
        yield Hub(http, tokens)
    await ledger.close()
    await store.close()


def _batch(batch_id: str) -> str:
    return f'{{ batch(id: "{batch_id}") {{ id number }} }}'


def _rejections(report: dict[str, Any]) -> list[str]:
    return [rejection["message"] for rejection in report["rejections"]]


# --- read any lot --------------------------------------------------------------------


@pytest.mark.parametrize("attacker", ["maple", "cedar"])
async def test_a_result_on_someone_elses_lot_does_not_make_its_lab_a_reader(
    hub: Hub, attacker: str
) -> None:
    assert (await hub.ask(attacker, _batch(ALDER_LOT)))["batch"] is None

    report = await hub.push(
        attacker,
        TestResult(lab=attacker, result_id="R-1", batch_id=ALDER_LOT, test="assay", value=99.0,
                   provenance=HERE),
    )  # fmt: skip

    assert report["status"] == "APPLIED"  # kept, with its provenance, as the lab's claim
    assert (await hub.ask(attacker, _batch(ALDER_LOT)))["batch"] is None
    mine = await hub.ask(attacker, f'{{ node(id: "result:{attacker}/R-1") {{ id }} }}')
    assert mine["node"] == {"id": f"result:{attacker}/R-1"}  # its own record it still reads


async def test_a_lab_reads_the_lot_its_maker_sent_it(hub: Hub) -> None:
    """The same claim, once the maker names the lab as a receiver, in either order."""
    await hub.push("maple", TestResult(lab="maple", result_id="R-2", batch_id=ALDER_LOT,
                                       provenance=HERE))  # fmt: skip
    assert (await hub.ask("maple", _batch(ALDER_LOT)))["batch"] is None

    await hub.push(
        "alder",
        Edge(kind=EdgeKind.SHIPPED_TO, source=ALDER_LOT, target="org:maple", provenance=HERE),
    )

    assert (await hub.ask("maple", _batch(ALDER_LOT)))["batch"] == {
        "id": ALDER_LOT,
        "number": "A-2207",
    }


# --- become sponsor of another sponsor's supply chain ----------------------------------


@pytest.mark.parametrize("kind", [EdgeKind.CONSUMED, EdgeKind.SAME_LOT])
async def test_genealogy_to_a_lot_never_received_grants_no_sponsorship(
    hub: Hub, kind: EdgeKind
) -> None:
    own_product = "product:maple/MP-1"
    await hub.push(
        "maple",
        Product(sponsor="maple", code="MP-1", name="Counterfeit", provenance=HERE),
        Batch(maker="maple", number="X-1", product_id=own_product, provenance=HERE),
        Edge(kind=kind, source="batch:maple/X-1", target=ALDER_LOT, quantity=1.0, unit="kg",
             provenance=HERE),
    )  # fmt: skip

    assert (await hub.ask("maple", _batch(ALDER_LOT)))["batch"] is None
    lineage = await hub.ask(
        "maple",
        '{ lineage(batchId: "batch:maple/X-1", direction: UPSTREAM, maxDepth: 10) '
        "{ nodes { id redacted } edges { from to quantity unit } } }",
    )
    assert lineage["lineage"]["nodes"] == [
        {"id": "batch:maple/X-1", "redacted": False},
        {"id": ALDER_LOT, "redacted": True},  # the claim is shown, the lot is not
    ]
    # Even its own quantity is not shown against a lot it may not read.
    assert lineage["lineage"]["edges"] == [
        {"from": "batch:maple/X-1", "to": ALDER_LOT, "quantity": None, "unit": None}
    ]
    # Nothing upstream of the victim's lot became readable either.
    northwind_upstream = await hub.ask(
        "northwind", f'{{ lineage(batchId: "{ALDER_LOT}", direction: DOWNSTREAM, maxDepth: 2) '
        "{ nodes { id redacted } } }",
    )  # fmt: skip
    assert {"id": "batch:maple/X-1", "redacted": True} in northwind_upstream["lineage"]["nodes"]


# --- overwrite or forge quality agreements and qualifications --------------------------


async def test_a_vendor_cannot_change_or_forge_its_sponsors_agreement(hub: Hub) -> None:
    terminated = QualityAgreement(
        sponsor="northwind", vendor="birch", agreement_id="QA-NW-BIR", version="2",
        status="TERMINATED", provenance=HERE,
    )  # fmt: skip
    forged = QualityAgreement(
        sponsor="northwind", vendor="birch", agreement_id="QA-NW-BIR", version="9",
        product_ids=(TABLET_PRODUCT_ID,), activities=("MANUFACTURE",), status="EFFECTIVE",
        effective_from="2020-01-01", provenance=HERE,
    )  # fmt: skip
    report = await hub.push("birch", terminated, forged)

    assert (report["applied"], report["rejected"]) == (0, 2)
    assert _rejections(report) == [
        f"'birch' may not assert {EXPIRED_AGREEMENT_ID}: it belongs to northwind",
        "'birch' may not assert agreement:northwind/QA-NW-BIR/9: it belongs to northwind",
    ]
    status = await hub.ask(
        "northwind", f'{{ agreement(id: "{EXPIRED_AGREEMENT_ID}") {{ status }} }}'
    )
    assert status["agreement"] == {"status": "EXPIRED"}


async def test_another_sponsors_agreement_of_the_same_name_is_another_agreement(hub: Hub) -> None:
    await hub.push(
        "oakridge",
        QualityAgreement(sponsor="oakridge", vendor="birch", agreement_id="QA-NW-BIR", version="2",
                         status="TERMINATED", provenance=HERE),
    )  # fmt: skip

    status = await hub.ask(
        "northwind", f'{{ agreement(id: "{EXPIRED_AGREEMENT_ID}") {{ status }} }}'
    )
    assert status["agreement"] == {"status": "EXPIRED"}


async def test_a_vendor_clears_none_of_its_own_compliance_gaps(hub: Hub) -> None:
    query = f'{{ batch(id: "{GAP_BATCH_ID}") {{ complianceGaps {{ reason }} }} }}'
    before = await hub.ask("northwind", query)
    assert {"reason": "AGREEMENT_EXPIRED"} in before["batch"]["complianceGaps"]

    # Its own "agreement" covering the sponsor's product, and its own qualification of
    # itself: both its own records, so they land, and neither counts for Northwind.
    report = await hub.push(
        "birch",
        QualityAgreement(sponsor="birch", vendor="birch", agreement_id="SELF", version="1",
                         product_ids=(TABLET_PRODUCT_ID,), activities=("MANUFACTURE",),
                         status="EFFECTIVE", effective_from="2020-01-01", provenance=HERE),
        Qualification(qualifier="birch", vendor="birch", site_code="CRK-1", status="APPROVED",
                      provenance=HERE),
        Qualification(qualifier="northwind", vendor="birch", status="APPROVED", provenance=HERE),
        QualityAgreement(sponsor="birch", vendor="maple", agreement_id="SUB", version="1",
                         product_ids=(TABLET_PRODUCT_ID,), provenance=HERE),
    )  # fmt: skip

    assert _rejections(report) == [
        "'birch' may not assert qualification:northwind/birch: it belongs to northwind"
    ]
    assert await hub.ask("northwind", query) == before
    # Nor did an agreement of Birch's covering Northwind's product give its other party,
    # Maple, a read of the product: only the product's sponsor's agreements do.
    product = await hub.ask("maple", f'{{ product(id: "{TABLET_PRODUCT_ID}") {{ id }} }}')
    assert product["product"] is None


async def test_a_partner_cannot_make_itself_party_to_an_agreement(hub: Hub) -> None:
    report = await hub.push(
        "maple", Edge(kind=EdgeKind.PARTY_TO, source="org:maple", target=EXPIRED_AGREEMENT_ID,
                      provenance=HERE),
    )  # fmt: skip

    assert (report["applied"], report["rejected"]) == (0, 1)
    assert "PARTY_TO edges come only from the records that own them" in _rejections(report)[0]
    answer = await hub.ask("maple", f'{{ agreement(id: "{EXPIRED_AGREEMENT_ID}") {{ id }} }}')
    assert answer["agreement"] is None


# --- inject into others' views -------------------------------------------------------


async def test_fabricated_results_and_deviations_stay_out_of_the_sponsors_views(hub: Hub) -> None:
    views = (
        f'{{ batch(id: "{BIRCH_LOT}") {{ results {{ id }} deviations {{ id }} }} '
        f'vendorScorecards(productId: "{TABLET_PRODUCT_ID}") {{ vendor {{ id }} batches results '
        "deviations oosResults oosRate } "
        f'controlCharts(productId: "{TABLET_PRODUCT_ID}", test: "assay") '
        "{ points { resultId value } } }"
    )
    sponsor_before = await hub.ask("northwind", views)
    maker_before = await hub.ask("birch", f'{{ batch(id: "{BIRCH_LOT}") {{ results {{ id }} }} }}')

    await hub.push(
        "maple",
        TestResult(lab="maple", result_id="FAKE-1", batch_id=BIRCH_LOT, test="assay", value=12.0,
                   spec_low=95.0, spec_high=105.0, verdict="OOS", tested_on="2025-09-09",
                   provenance=HERE),
        Deviation(org="maple", deviation_id="FAKE-D", title="Fabricated", classification="CRITICAL",
                  batch_ids=(BIRCH_LOT,), provenance=HERE),
    )  # fmt: skip

    assert await hub.ask("northwind", views) == sponsor_before
    after = await hub.ask("birch", f'{{ batch(id: "{BIRCH_LOT}") {{ results {{ id }} }} }}')
    assert after == maker_before


async def test_elms_results_on_the_lots_birch_sent_it_are_in_northwinds_views(hub: Hub) -> None:
    """The other side of the rule: an accepted report is shown to the sponsor."""
    answer = await hub.ask("northwind", f'{{ batch(id: "{BIRCH_LOT}") {{ results {{ id }} }} }}')
    assert {result["id"] for result in answer["batch"]["results"]} == {
        "result:elm/ELM-25-1070",
        "result:elm/ELM-25-1071",
    }


# --- numbers that break reads --------------------------------------------------------


async def test_an_infinite_quantity_is_a_located_rejection_and_reads_keep_working(
    hub: Hub,
) -> None:
    line = (
        '{"record": "edge", "kind": "CONSUMED", "source": "batch:birch/BT-9", '
        '"target": "batch:birch/RM-25-0031", "quantity": Infinity, "unit": "kg"}\n'
    )
    response = await hub.http.post(
        "/ingest/canonical.jsonl?wait=30&org=birch",
        content=line.encode(),
        headers=await hub.tokens.bearer("birch", PARTNER_SCOPES),
    )

    assert response.status_code in (200, 202), response.text
    report = response.json()
    assert (report["applied"], report["rejected"]) == (0, 1)
    assert report["rejections"][0]["location"] == "line 1"
    gaps = await hub.ask(
        "northwind",
        f'{{ complianceGaps(productId: "{TABLET_PRODUCT_ID}") {{ edges {{ node {{ batch {{ id }} }} }} }} '
        f'vendorScorecards(productId: "{TABLET_PRODUCT_ID}") {{ batches }} }}',
    )
    assert gaps["complianceGaps"]["edges"], "the sponsor's compliance view still answers"
