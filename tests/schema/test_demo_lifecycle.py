"""The demo story's partnership lifecycle, as its partners ask the API about it: the
sponsor follows its transfer and its vendors' changes, the vendor reads what concerns
it, and a sponsor outside the partnership reads only the agencies' public outcomes."""

from __future__ import annotations

from typing import Any

import httpx

from graph.store import GraphStore
from hub.app import create_app
from hub.demo.story import PPQ_LOTS, TABLET_TRANSFER_ID, UNAPPROVED_CHANGE_ID
from tests.schema.conftest import GraphQLClient
from tests.tokens import TokenSource

TRANSFERS = """{ techTransfers { nodes { id vendor { id } ppqBatches { number }
  milestones { milestoneId overdue(asOf: "2025-12-01") }
  progress(asOf: "2025-12-01") { milestonesOverdue ppqLotsPlanned } } } }"""
CHANGES = """{ changeControls(filter: {vendor: "org:birch"}) { nodes {
  id changeId classification implementedOn sponsorApprovedOn approvedInTime } } }"""
INSPECTIONS = """{ inspections { nodes {
  agency outcome observations organization { id } site { id } } } }"""
AUDITS = "{ audits { nodes { auditId vendor { id } findings { capaId } } } }"
LIFECYCLE = """{ techTransfers { nodes { id } } specifications { nodes { id } }
  changeControls { nodes { id } } audits { nodes { id } } }"""


async def _as(store: GraphStore, tokens: TokenSource, org: str) -> GraphQLClient:
    app = create_app(store=store, auth=tokens.service)
    headers = await tokens.bearer(org, ["graph:read"])
    transport = httpx.ASGITransport(app=app)
    return GraphQLClient(
        httpx.AsyncClient(transport=transport, base_url="http://t", headers=headers)
    )


def _nodes(data: dict[str, Any], field: str) -> list[dict[str, Any]]:
    nodes: list[dict[str, Any]] = data[field]["nodes"]
    return nodes


async def test_northwind_follows_its_transfer_to_birch(
    demo_store: GraphStore, tokens: TokenSource
) -> None:
    northwind = await _as(demo_store, tokens, "northwind")

    (transfer,) = _nodes(await northwind.data(TRANSFERS), "techTransfers")

    assert transfer["id"] == TABLET_TRANSFER_ID
    assert transfer["vendor"] == {"id": "org:birch"}
    assert sorted(lot["number"] for lot in transfer["ppqBatches"]) == sorted(PPQ_LOTS)
    overdue = [m["milestoneId"] for m in transfer["milestones"] if m["overdue"]]
    assert overdue == ["M6"], "the PPQ report, planned for June, is not approved"
    assert transfer["progress"] == {"milestonesOverdue": 1, "ppqLotsPlanned": 3}


async def test_northwind_sees_birchs_major_change_implemented_without_approval(
    demo_store: GraphStore, tokens: TokenSource
) -> None:
    northwind = await _as(demo_store, tokens, "northwind")

    (change,) = _nodes(await northwind.data(CHANGES), "changeControls")

    assert change["id"] == UNAPPROVED_CHANGE_ID
    assert change["changeId"] == "CC-BIR-25-014"
    assert change["classification"] == "MAJOR"
    assert change["implementedOn"] == "2025-08-18"
    assert change["sponsorApprovedOn"] is None
    assert change["approvedInTime"] is False


async def test_the_agencies_inspections_of_alder_and_birch(
    demo_store: GraphStore, tokens: TokenSource
) -> None:
    northwind = await _as(demo_store, tokens, "northwind")

    inspections = _nodes(await northwind.data(INSPECTIONS), "inspections")

    assert {
        (i["agency"], i["outcome"], i["organization"]["id"], i["observations"]) for i in inspections
    } == {("FDA", "VAI", "org:alder", 3), ("MHRA", "GMP_COMPLIANT", "org:birch", 4)}
    assert all(i["site"] for i in inspections), "each names the site inspected"


async def test_birch_reads_its_transfer_and_its_audit(
    demo_store: GraphStore, tokens: TokenSource
) -> None:
    birch = await _as(demo_store, tokens, "birch")

    (transfer,) = _nodes(await birch.data(TRANSFERS), "techTransfers")
    (audit,) = _nodes(await birch.data(AUDITS), "audits")

    assert transfer["id"] == TABLET_TRANSFER_ID
    assert len(transfer["milestones"]) == 6
    assert sorted(lot["number"] for lot in transfer["ppqBatches"]) == sorted(PPQ_LOTS)
    assert audit["auditId"] == "AUD-NW-25-007"
    assert audit["vendor"] == {"id": "org:birch"}
    assert {f["capaId"] for f in audit["findings"]} == {"CAPA-BIR-25-031", "CAPA-BIR-25-032"}


async def test_oakridge_reads_none_of_northwinds_lifecycle_but_the_inspections(
    demo_store: GraphStore, tokens: TokenSource
) -> None:
    oakridge = await _as(demo_store, tokens, "oakridge")

    lifecycle = await oakridge.data(LIFECYCLE)
    inspections = _nodes(await oakridge.data(INSPECTIONS), "inspections")

    assert lifecycle == {
        field: {"nodes": []}
        for field in ("techTransfers", "specifications", "changeControls", "audits")
    }
    assert {(i["agency"], i["organization"]["id"]) for i in inspections} == {
        ("FDA", "org:alder"),
        ("MHRA", "org:birch"),
    }
