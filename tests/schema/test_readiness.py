"""Inspection readiness and process validation over GraphQL, on both stores, as each
partner reads them; the audit trail check comes from the hub's own ledger."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from graph.store import GraphStore
from hub.app import create_app
from hub.records.audit import Actor
from hub.records.ledger import Delivery, Ledger
from tests.graph.test_readiness_contract import AGREEMENT, AUDIT, INSPECTION, SPEC, world
from tests.schema.conftest import GraphQLClient
from tests.tokens import TokenSource

READINESS = """query ($vendor: ID, $product: ID) {
  inspectionReadiness(vendorId: $vendor, siteId: null, productId: $product, asOf: "2025-09-01") {
    vendor { id } site { id } product { id } asOf status
    checks { name status message evidence { id kind sources { ingestionId location } } } } }"""

VALIDATION = """{ processValidation(productId: "product:northwind/NW-TAB",
    siteId: "site:birch/IE1", asOf: "2025-09-01") {
  stage status checks { name status evidence { id } } } }"""


@pytest.fixture
async def ledger(tmp_path: Path) -> AsyncIterator[Ledger]:
    opened = Ledger(f"sqlite+aiosqlite:///{tmp_path / 'ledger.sqlite'}")
    await opened.setup()
    await opened.receive(Delivery(b"{}\n", "canonical.jsonl", "birch", Actor("birch", "b-1")))
    yield opened
    await opened.close()


async def reader(
    store: GraphStore, ledger: Ledger, tokens: TokenSource, org: str
) -> AsyncIterator[GraphQLClient]:
    await store.upsert(world().values())
    app = create_app(store=store, ledger=ledger, auth=tokens.service)
    headers = await tokens.bearer(org, ["graph:read"])
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://t", headers=headers
    ) as http:
        yield GraphQLClient(http)


def by_name(readiness: dict) -> dict[str, tuple[str, list[str]]]:
    return {c["name"]: (c["status"], [e["id"] for e in c["evidence"]]) for c in readiness["checks"]}


async def test_the_sponsor_reads_its_vendors_readiness(
    store: GraphStore, ledger: Ledger, tokens: TokenSource
) -> None:
    async for api in reader(store, ledger, tokens, "northwind"):
        data = await api.data(READINESS, vendor="org:birch", product="product:northwind/NW-TAB")
    readiness = data["inspectionReadiness"]
    assert readiness["vendor"] == {"id": "org:birch"}
    assert readiness["product"] == {"id": "product:northwind/NW-TAB"}
    assert readiness["status"] == "PASS"
    checks = by_name(readiness)
    assert checks["agreement"] == ("PASS", [AGREEMENT])
    assert checks["last_audit"] == ("PASS", [AUDIT])
    assert checks["cpv"] == ("PASS", [SPEC])
    assert checks["audit_trail"][0] == "PASS"
    agreement = next(c for c in readiness["checks"] if c["name"] == "agreement")
    assert agreement["evidence"][0]["kind"] == "QualityAgreement"
    assert agreement["evidence"][0]["sources"] == [
        {"ingestionId": "ing-test", "location": "/fixture"}
    ]


async def test_a_cmo_reads_its_own_readiness_and_another_sponsor_no_evidence(
    store: GraphStore, ledger: Ledger, tokens: TokenSource
) -> None:
    async for api in reader(store, ledger, tokens, "birch"):
        own = (await api.data(READINESS, vendor="org:birch"))["inspectionReadiness"]
    assert own["vendor"] == {"id": "org:birch"} and own["product"] is None
    assert by_name(own)["last_audit"] == ("PASS", [AUDIT])
    async for api in reader(store, ledger, tokens, "oakridge"):
        other = (await api.data(READINESS, vendor="org:birch", product="product:northwind/NW-TAB"))[
            "inspectionReadiness"
        ]
    readiness = other
    assert readiness["product"] is None  # the product is hidden from it
    evidence = {e for _, ids in by_name(readiness).values() for e in ids}
    assert evidence <= {INSPECTION}
    assert readiness["status"] == "FAIL"


async def test_process_validation_by_stage(
    store: GraphStore, ledger: Ledger, tokens: TokenSource
) -> None:
    async for api in reader(store, ledger, tokens, "northwind"):
        stages = (await api.data(VALIDATION))["processValidation"]
    assert [(s["stage"], s["status"]) for s in stages] == [
        ("STAGE_1_PROCESS_DESIGN", "PASS"),
        ("STAGE_2_PROCESS_QUALIFICATION", "WARN"),  # no result on the PPQ lots
        ("STAGE_3_CONTINUED_VERIFICATION", "PASS"),
    ]


async def test_no_subject_is_a_clear_error(
    store: GraphStore, ledger: Ledger, tokens: TokenSource
) -> None:
    async for api in reader(store, ledger, tokens, "northwind"):
        body = await api.answer("{ inspectionReadiness { status } }")
        wrong = await api.answer('{ inspectionReadiness(vendorId: "site:birch/IE1") { status } }')
    assert "name a vendor, a site or a product" in body["errors"][0]["message"]
    assert "vendorId" in wrong["errors"][0]["message"]
