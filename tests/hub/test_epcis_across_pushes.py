"""EPCIS across pushes: serials commissioned in one push, packed onto a pallet in
another and shipped in a third, maybe by another organization, name their lot; an
errorDeclaration takes back what its event asserted, keeping both provenances."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from graph.lineage import Direction
from graph.model import EdgeKind
from graph.store import GraphStore
from hub.app import create_app
from hub.ingest.replay import replay
from hub.records.audit import Actor
from hub.records.ledger import Ledger
from hub.settings import Settings
from tests.connectors.test_epcis import document
from tests.hub.support import hub_client
from tests.tokens import TokenSource

PARTNER = ["ingest:write", "graph:read"]
SERIALS = ["urn:epc:id:sgtin:0614141.012345.1001", "urn:epc:id:sgtin:0614141.012345.1002"]
PALLET = "urn:epc:id:sscc:0614141.1234567890"
REGISTERED = {"alder": "0614141", "birch": "4012345", "cedar": "0812345"}


def commissioned() -> dict[str, Any]:
    return {
        "type": "ObjectEvent",
        "eventID": "urn:uuid:commission-L-77",
        "eventTime": "2025-05-02T08:00:00Z",
        "action": "ADD",
        "bizStep": "commissioning",
        "epcList": SERIALS,
        "bizLocation": {"id": "urn:epc:id:sgln:0614141.00001.0"},
        "ilmd": {"cbvmda:lotNumber": "L-77", "cbvmda:itemExpirationDate": "2027-05-31"},
    }


def packed(action: str = "ADD") -> dict[str, Any]:
    return {
        "type": "AggregationEvent",
        "eventID": f"urn:uuid:pack-{action}",
        "eventTime": "2025-05-03T08:00:00Z",
        "action": action,
        "bizStep": "packing",
        "parentID": PALLET,
        "childEPCs": SERIALS,
    }


def shipped(**extra: Any) -> dict[str, Any]:
    return {
        "type": "ObjectEvent",
        "eventID": "urn:uuid:ship-pallet",
        "eventTime": "2025-05-04T08:00:00Z",
        "action": "OBSERVE",
        "bizStep": "shipping",
        "epcList": [PALLET],
        "destinationList": [
            {"type": "owning_party", "destination": "urn:epc:id:pgln:4012345.00000"},
            {"type": "location", "destination": "urn:epc:id:sgln:4012345.00001.0"},
        ],
        **extra,
    }


ERROR = {"declarationTime": "2025-05-05T00:00:00Z", "reason": "incorrect_data"}
SHIPMENTS = """{ batch(id: "%s") { shipments {
    to { id } site { id } shippedOn retracted
    sources { ingestionId } retractedBy { ingestionId location } } } }"""


@dataclass
class Hub:
    app: Any
    tokens: TokenSource
    ledger: Ledger
    store: GraphStore

    async def push(self, org: str, *events: dict[str, Any]) -> dict[str, Any]:
        async with hub_client(self.app, await self.tokens.bearer(org, PARTNER)) as client:
            response = await client.post(
                "/ingest/supply.epcis", params={"wait": "60"}, content=document(*events)
            )
        assert response.status_code == 200, response.text
        report: dict[str, Any] = response.json()
        return report

    async def ask(self, query: str) -> dict[str, Any]:
        async with hub_client(self.app, await self.tokens.bearer()) as operator:
            response = await operator.post("/graphql", json={"query": query})
        body: dict[str, Any] = response.json()
        assert "errors" not in body, body
        data: dict[str, Any] = body["data"]
        return data


@pytest.fixture
async def hub(store: GraphStore, tmp_path: Path, tokens: TokenSource) -> AsyncIterator[Hub]:
    ledger = Ledger(f"sqlite+aiosqlite:///{tmp_path / 'ledger.sqlite'}")
    await ledger.setup()
    app = create_app(
        Settings(ingest_poll_seconds=0.05), store=store, ledger=ledger, auth=tokens.service
    )
    async with hub_client(app, await tokens.bearer()) as operator:
        for org, prefix in REGISTERED.items():
            added = await operator.post(
                f"/admin/organizations/{org}/identifiers",
                json={"scheme": "gs1-prefix", "value": prefix},
            )
            assert added.status_code == 201, added.text
    yield Hub(app, tokens, ledger, store)
    await ledger.close()


def clean(report: dict[str, Any]) -> tuple[str, list[Any]]:
    return report["status"], report["rejections"]


async def test_a_pallet_shipped_in_a_third_push_ships_the_lot_its_serials_were_made_in(
    hub: Hub,
) -> None:
    first = await hub.push("alder", commissioned())
    second = await hub.push("alder", packed())
    third = await hub.push("alder", shipped())

    assert [clean(r) for r in (first, second, third)] == [("APPLIED", [])] * 3
    data = await hub.ask(SHIPMENTS % "batch:alder/L-77")
    assert data["batch"]["shipments"] == [
        {
            "to": {"id": "org:birch"}, "site": None, "shippedOn": "2025-05-04",
            "retracted": False, "sources": [{"ingestionId": third["ingestion_id"]}],
            "retractedBy": [],
        },
        {
            "to": {"id": "org:birch"}, "site": {"id": "site:birch/4012345000016"},
            "shippedOn": "2025-05-04", "retracted": False,
            "sources": [{"ingestionId": third["ingestion_id"]}], "retractedBy": [],
        },
    ]  # fmt: skip


async def test_a_distributor_ships_the_lot_as_it_holds_it_and_the_recall_reaches_its_customer(
    hub: Hub,
) -> None:
    made = await hub.push("alder", commissioned())
    # Cedar packs Alder's serials and ships the pallet: it may assert only its own lot.
    packing = await hub.push("cedar", packed())
    shipping = await hub.push("cedar", shipped())

    assert [clean(r) for r in (made, packing, shipping)] == [("APPLIED", [])] * 3
    data = await hub.ask(
        '{ impact(batchId: "batch:alder/L-77") { batches { id } '
        "shipments { batchId to { id } site { id } } } }"
    )
    assert data["impact"] == {
        "batches": [{"id": "batch:cedar/L-77"}],
        "shipments": [
            {"batchId": "batch:cedar/L-77", "to": {"id": "org:birch"}, "site": None},
            {
                "batchId": "batch:cedar/L-77",
                "to": {"id": "org:birch"},
                "site": {"id": "site:birch/4012345000016"},
            },
        ],
    }


async def test_a_receiver_books_in_the_makers_lot_as_its_own_without_describing_the_makers(
    hub: Hub,
) -> None:
    made = await hub.push("alder", commissioned())
    received = await hub.push(
        "birch",
        {
            "type": "ObjectEvent",
            "eventID": "urn:uuid:receive-L-77",
            "eventTime": "2025-05-06T08:00:00Z",
            "action": "OBSERVE",
            "bizStep": "receiving",
            "epcList": SERIALS,  # commissioned in Alder's push: lot L-77
        },
    )

    assert [clean(r) for r in (made, received)] == [("APPLIED", [])] * 2
    data = await hub.ask(
        '{ lineage(batchId: "batch:birch/L-77", direction: UPSTREAM, maxDepth: 1) '
        "{ edges { from to kind } } }"
    )
    assert data["lineage"]["edges"] == [
        {"from": "batch:birch/L-77", "to": "batch:alder/L-77", "kind": "SAME_LOT"}
    ]


async def test_an_error_declaration_retracts_its_shipment_keeping_both_provenances(
    hub: Hub,
) -> None:
    await hub.push("alder", commissioned(), packed())
    sent = await hub.push("alder", shipped())
    # Cedar cannot take back Alder's word; Alder can.
    forged = await hub.push("cedar", shipped(errorDeclaration=ERROR))
    declared = await hub.push("alder", shipped(errorDeclaration=ERROR))

    assert forged["status"] == "PARTIAL"
    assert [(r["field"], "may not retract what 'alder' pushed" in r["message"])
            for r in forged["rejections"]] == [("owner", True)]  # fmt: skip
    assert (clean(declared), declared["retracted"]) == (("APPLIED", []), 2)
    data = await hub.ask(SHIPMENTS % "batch:alder/L-77")
    retracted_by = [
        {
            "ingestionId": declared["ingestion_id"],
            "location": "/epcisBody/eventList/0 (eventID urn:uuid:ship-pallet)",
        }
    ]
    assert [
        (s["site"], s["retracted"], s["sources"], s["retractedBy"])
        for s in data["batch"]["shipments"]
    ] == [
        (None, True, [{"ingestionId": sent["ingestion_id"]}], retracted_by),
        ({"id": "site:birch/4012345000016"}, True, [{"ingestionId": sent["ingestion_id"]}],
         retracted_by),
    ]  # fmt: skip
    impact = await hub.ask('{ impact(batchId: "batch:alder/L-77") { shipments { batchId } } }')
    assert impact["impact"]["shipments"] == []


async def test_a_retracted_packing_no_longer_puts_the_lot_on_the_pallet(hub: Hub) -> None:
    await hub.push("alder", commissioned(), packed())
    await hub.push("alder", packed() | {"errorDeclaration": ERROR})
    later = await hub.push("alder", shipped())

    assert clean(later) == ("APPLIED", [])
    data = await hub.ask(SHIPMENTS % "batch:alder/L-77")
    assert data["batch"]["shipments"] == []
    assert json.dumps(later["warnings"]) == "[]"


async def test_a_replay_hears_what_the_first_run_heard_and_retracts_again(hub: Hub) -> None:
    await hub.push("alder", commissioned())
    await hub.push("cedar", packed())
    await hub.push("cedar", shipped())
    await hub.push("cedar", shipped(errorDeclaration=ERROR))
    await hub.push("cedar", packed("DELETE"))
    again = await hub.push("cedar", shipped(eventID="urn:uuid:ship-again"))  # an empty pallet

    lots = ["batch:alder/L-77", "batch:cedar/L-77"]

    async def graph() -> tuple[Any, ...]:
        shipments = await hub.store.edges_from(lots, [EdgeKind.SHIPPED_TO, EdgeKind.SAME_LOT])
        downstream = await hub.store.lineage(lots[0], Direction.DOWNSTREAM, 5)
        return shipments, downstream

    before = await graph()
    await hub.store.wipe()
    summary = await replay(hub.ledger, hub.store, Actor("operator", "ops"))
    after = await graph()

    assert summary.differing == []
    assert after == before
    shipments, downstream = before
    assert [(e.kind, e.target, e.retracted) for e in shipments] == [
        (EdgeKind.SAME_LOT, "batch:alder/L-77", False),
        (EdgeKind.SHIPPED_TO, "org:birch", True),
        (EdgeKind.SHIPPED_TO, "site:birch/4012345000016", True),
    ]
    assert downstream is not None and downstream.ids == set(lots)
    assert clean(again) == ("APPLIED", [])  # the pallet was emptied before: no lot named


async def test_only_the_maker_says_which_lot_its_serials_were_commissioned_in(hub: Hub) -> None:
    forged = commissioned() | {"ilmd": {"cbvmda:lotNumber": "L-FAKE"}}
    claimed = await hub.push("cedar", forged)
    await hub.push("alder", packed())
    shipping = await hub.push("alder", shipped())

    assert claimed["status"] == "PARTIAL"
    ilmd = [r["message"] for r in claimed["rejections"] if r["field"] == "ilmd"]
    assert ilmd == [
        "'cedar' may not say which lot of 'alder' its serials (2) were commissioned in: "
        "only the maker does"
    ]
    assert (shipping["records"], clean(shipping)) == (0, ("APPLIED", []))
    assert (await hub.ask(SHIPMENTS % "batch:alder/L-FAKE"))["batch"] is None


async def test_the_operator_may_retract_a_partners_event(hub: Hub) -> None:
    await hub.push("alder", commissioned(), packed())
    await hub.push("alder", shipped())
    async with hub_client(hub.app, await hub.tokens.bearer()) as operator:
        response = await operator.post(
            "/ingest/supply.epcis",
            params={"wait": "60", "org": "cedar"},
            content=document(shipped(errorDeclaration=ERROR)),
        )
    declared = response.json()

    assert (clean(declared), declared["retracted"]) == (("APPLIED", []), 2)
    data = await hub.ask(SHIPMENTS % "batch:alder/L-77")
    assert [s["retracted"] for s in data["batch"]["shipments"]] == [True, True]
