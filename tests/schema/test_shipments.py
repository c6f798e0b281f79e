"""Who received a lot, and who received what a recall must reach: ``Batch.shipments``
and ``impact(batchId).shipments``, on the demo story, on both stores, scoped."""

from __future__ import annotations

from typing import Any

from graph.model import Edge, EdgeKind
from graph.store import GraphStore
from hub.demo.story import CONTAMINATED_EXCIPIENT_LOT_ID, FINISHED_LOT_ID, demo_records
from tests.schema.conftest import GraphQLClient
from tests.schema.test_scoping import client
from tests.tokens import TokenSource

SHIPMENTS = """query ($id: ID!) { batch(id: $id) { shipments {
  batchId to { id name } site { id } shippedOn quantity unit sources { location } } } }"""

IMPACT = """query ($id: ID!) { impact(batchId: $id) {
  batches { id redacted } shipments { batchId to { id } shippedOn quantity unit } } }"""


def shipped_in_the_story() -> dict[str, set[str]]:
    """Lot id -> organizations the story ships it to."""
    found: dict[str, set[str]] = {}
    for record in demo_records():
        if isinstance(record, Edge) and record.kind is EdgeKind.SHIPPED_TO:
            found.setdefault(record.source, set()).add(record.target)
    return found


async def test_a_packed_lot_names_its_distributor_day_and_amount(api: GraphQLClient) -> None:
    data = await api.data(SHIPMENTS, id=FINISHED_LOT_ID)

    assert data["batch"]["shipments"] == [
        {
            "batchId": FINISHED_LOT_ID,
            "to": {"id": "org:maple", "name": "Maple Health Distribution"},
            "site": None,
            "shippedOn": "2025-08-15",
            "quantity": 5000.0,
            "unit": "bottles",
            "sources": [{"location": "/batches/cedar/P25-1214/shipments/maple"}],
        }
    ]


async def test_impact_lists_every_shipment_of_the_lot_and_of_what_it_went_into(
    api: GraphQLClient,
) -> None:
    data = (await api.data(IMPACT, id=CONTAMINATED_EXCIPIENT_LOT_ID))["impact"]

    affected = {CONTAMINATED_EXCIPIENT_LOT_ID} | {lot["id"] for lot in data["batches"]}
    shipped = shipped_in_the_story()
    expected = {(lot, to) for lot in affected for to in shipped.get(lot, set())}
    found = {(shipment["batchId"], shipment["to"]["id"]) for shipment in data["shipments"]}
    assert found == expected
    assert (FINISHED_LOT_ID, "org:maple") in found  # the bottles a recall must reach
    assert {to for _, to in found} >= {"org:maple", "org:spruce", "org:birch"}
    assert data["shipments"][0]["batchId"] == CONTAMINATED_EXCIPIENT_LOT_ID  # root first


async def test_shipments_are_shown_to_those_who_read_the_lot(
    demo_store: GraphStore, tokens: TokenSource
) -> None:
    northwind = await client(demo_store, tokens, "northwind")  # the product's sponsor
    oakridge = await client(demo_store, tokens, "oakridge")  # another sponsor
    maple = await client(demo_store, tokens, "maple")  # the receiver

    sponsor_sees = (await northwind.data(SHIPMENTS, id=FINISHED_LOT_ID))["batch"]["shipments"]
    assert [shipment["to"]["id"] for shipment in sponsor_sees] == ["org:maple"]
    assert (await oakridge.data(SHIPMENTS, id=FINISHED_LOT_ID))["batch"] is None
    # Being shipped a lot does not make the receiver a reader of the maker's records.
    assert (await maple.data(SHIPMENTS, id=FINISHED_LOT_ID))["batch"] is None
    impact = (await oakridge.data(IMPACT, id=CONTAMINATED_EXCIPIENT_LOT_ID))["impact"]
    assert FINISHED_LOT_ID not in {s["batchId"] for s in (impact or {}).get("shipments", [])}


async def test_whom_a_maker_ships_to_is_shown_to_it_its_sponsors_and_each_receiver_only(
    demo_store: GraphStore, tokens: TokenSource
) -> None:
    """A lab that tested a lot, or a sponsor reading a supplier's lot upstream of its own
    product, may read the lot but not the maker's customer list."""
    tablets = "batch:birch/BT-25-004"  # Birch's lot for Northwind: to Cedar, samples to Elm
    shipped = shipped_in_the_story()
    assert shipped[tablets] == {"org:cedar", "org:elm"}
    assert len(shipped[CONTAMINATED_EXCIPIENT_LOT_ID]) >= 1

    def receivers(data: dict[str, Any]) -> set[str]:
        return {s["to"]["id"] for s in (data["batch"] or {"shipments": []})["shipments"]}

    seen = {}
    for org in ("birch", "northwind", "elm", "cedar"):
        reader = await client(demo_store, tokens, org)
        seen[org] = receivers(await reader.data(SHIPMENTS, id=tablets))
    northwind = await client(demo_store, tokens, "northwind")
    upstream = receivers(await northwind.data(SHIPMENTS, id=CONTAMINATED_EXCIPIENT_LOT_ID))

    assert seen["birch"] == seen["northwind"] == {"org:cedar", "org:elm"}  # maker, sponsor
    assert seen["elm"] == {"org:elm"}  # the lab: only what was sent to it
    assert seen["cedar"] == set()  # the receiver reads its own received lot, not Birch's
    assert upstream == set()  # Dogwood's customers are not Northwind's business
