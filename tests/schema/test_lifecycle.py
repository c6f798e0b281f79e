"""The partnership lifecycle over GraphQL, on both stores, as each partner reads it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from graph.model import Organization, Site
from graph.store import GraphStore
from hub.app import create_app
from tests.graph.builders import PROVENANCE
from tests.graph.test_lifecycle_contract import (
    AUDIT,
    CHANGE,
    INSPECTION,
    TRANSFER,
    lifecycle_records,
)
from tests.schema.conftest import GraphQLClient
from tests.tokens import TokenSource

TRANSFERS = """{ techTransfers(filter: {vendor: "org:birch"}) { nodes {
  id phase sponsor { id } vendor { id } product { id } site { id }
  milestones { milestoneId plannedOn overdue(asOf: "2025-05-01") sources { location } }
  documents { documentId version checksum } risks { riskId severity status }
  ppqBatches { id validationStage }
  progress(asOf: "2025-05-01") { milestonesTotal milestonesDone milestonesOverdue
    ppqLotsPlanned ppqLotsReleased complete } } } }"""


EVERY_LISTING = """query ($transfer: ID!) {
  techTransfers { nodes { id } } specifications { nodes { id } }
  changeControls { nodes { id } } audits { nodes { id } }
  inspections { nodes { id agency outcome observations site { id } } }
  transfer: node(id: $transfer) { id } }"""


@pytest.fixture
async def lifecycle_store(store: GraphStore) -> GraphStore:
    await store.upsert(
        [
            *lifecycle_records(),
            Organization(org_id="alder", name="Alder", provenance=PROVENANCE),
            Site(org="alder", code="HYD", name="Hyderabad", provenance=PROVENANCE),
            Site(org="birch", code="IE1", name="Cork", provenance=PROVENANCE),
        ]
    )
    return store


async def reader(store: GraphStore, tokens: TokenSource, org: str) -> AsyncIterator[GraphQLClient]:
    app = create_app(store=store, auth=tokens.service)
    headers = await tokens.bearer(org, ["graph:read"])
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://t", headers=headers
    ) as http:
        yield GraphQLClient(http)


@pytest.mark.parametrize("org", ["northwind", "birch"])
async def test_sponsor_and_receiving_vendor_read_the_transfer_whole(
    lifecycle_store: GraphStore, tokens: TokenSource, org: str
) -> None:
    async for api in reader(lifecycle_store, tokens, org):
        (transfer,) = (await api.data(TRANSFERS))["techTransfers"]["nodes"]
    assert transfer["id"] == TRANSFER
    assert transfer["phase"] == "VERIFICATION"
    assert transfer["sponsor"] == {"id": "org:northwind"}
    assert transfer["vendor"] == {"id": "org:birch"}
    assert transfer["product"] == {"id": "product:northwind/NW-TAB"}
    assert transfer["site"] == {"id": "site:birch/IE1"}
    assert transfer["milestones"] == [
        {
            "milestoneId": "M1",
            "plannedOn": "2025-04-01",
            "overdue": True,
            "sources": [{"location": "/fixture"}],
        }
    ]
    assert transfer["documents"] == [{"documentId": "D1", "version": "3", "checksum": "sha256:ab"}]
    assert transfer["risks"] == [{"riskId": "R1", "severity": "HIGH", "status": "OPEN"}]
    assert transfer["ppqBatches"] == [{"id": "batch:birch/PPQ-1", "validationStage": "PPQ"}]
    assert transfer["progress"] == {
        "milestonesTotal": 1,
        "milestonesDone": 0,
        "milestonesOverdue": 1,
        "ppqLotsPlanned": 3,
        "ppqLotsReleased": 0,
        "complete": False,
    }


async def test_another_sponsor_reads_none_of_it_but_the_public_inspection(
    lifecycle_store: GraphStore, tokens: TokenSource
) -> None:
    async for api in reader(lifecycle_store, tokens, "oakridge"):
        data = await api.data(EVERY_LISTING, transfer=TRANSFER)
    assert data["techTransfers"]["nodes"] == []
    assert data["specifications"]["nodes"] == []
    assert data["changeControls"]["nodes"] == []
    assert data["audits"]["nodes"] == []
    assert data["transfer"] is None
    assert data["inspections"]["nodes"] == [
        {
            "id": INSPECTION,
            "agency": "FDA",
            "outcome": "VAI",
            "observations": 3,
            "site": {"id": "site:alder/HYD"},
        }
    ]


async def test_inspections_audits_changes_and_specifications_hang_where_people_look(
    lifecycle_store: GraphStore, tokens: TokenSource
) -> None:
    # Alder's inspections hang off Alder and its site (for whoever lists Alder: the
    # directory, graph.directory; Northwind has no relation to Alder here).
    async for api in reader(lifecycle_store, tokens, "alder"):
        inspected = await api.data(
            """{ alder: organization(id: "org:alder") { inspections { id } }
            site: node(id: "site:alder/HYD") { ... on Site { inspections { id started: startedOn } } }
            }"""
        )
    async for api in reader(lifecycle_store, tokens, "northwind"):
        data = await api.data(
            """{ alder: organization(id: "org:alder") { id }
            birch: organization(id: "org:birch") { audits { id site { id }
              findings { findingId criticality capaOverdue(asOf: "2025-09-01") } } }
            changeControls(filter: {sponsor: "org:northwind", site: "site:birch/IE1"}) {
              nodes { id kind classification approvedInTime implementedOn } }
            product(id: "product:northwind/NW-TAB") { specifications {
              test version specLow specHigh effectiveFrom } } }"""
        )
    assert inspected["alder"]["inspections"] == [{"id": INSPECTION}]
    assert inspected["site"]["inspections"] == [{"id": INSPECTION, "started": "2025-03-03"}]
    assert data["alder"] is None  # unrelated to Northwind: not in its directory
    assert data["birch"]["audits"] == [
        {
            "id": AUDIT,
            "site": {"id": "site:birch/IE1"},
            "findings": [{"findingId": "F1", "criticality": "CRITICAL", "capaOverdue": True}],
        }
    ]
    assert data["changeControls"]["nodes"] == [
        {
            "id": CHANGE,
            "kind": "EQUIPMENT",
            "classification": "MAJOR",
            "approvedInTime": False,
            "implementedOn": "2025-06-01",
        }
    ]
    assert data["product"]["specifications"] == [
        {
            "test": "assay",
            "version": "2",
            "specLow": 95.0,
            "specHigh": 105.0,
            "effectiveFrom": "2025-01-01",
        }
    ]


async def test_a_filter_naming_the_wrong_kind_says_so(
    lifecycle_store: GraphStore, tokens: TokenSource
) -> None:
    async for api in reader(lifecycle_store, tokens, "northwind"):
        body = await api.answer(
            '{ techTransfers(filter: {product: "org:birch"}) { nodes { id } } }'
        )
    assert body["data"] is None
    assert "is not a Product id" in body["errors"][0]["message"]
