"""What sponsors and BI tools ask the API, answered on both stores from the demo story."""

from __future__ import annotations

from datetime import date

from graph.model import Batch, BatchStatus
from hub.demo.story import (
    CONTAMINATED_EXCIPIENT_LOT_ID,
    FINISHED_LOT_ID,
    OAKRIDGE_BATCH_ID,
    TABLET_PRODUCT_ID,
    demo_records,
)
from tests.schema.conftest import GraphQLClient

DEMO_BATCHES = [record for record in demo_records() if isinstance(record, Batch)]


def maker_of(batch_id: str) -> str:
    return batch_id.split(":", 1)[1].split("/", 1)[0]


async def test_a_finished_lot_traces_back_across_vendors(api: GraphQLClient) -> None:
    data = await api.data(
        """query ($id: ID!) { lineage(batchId: $id, direction: UPSTREAM, maxDepth: 10) {
             root truncated nodes { id depth redacted batch { number vendor { orgId } } }
             edges { from to kind quantity unit } } }""",
        id=FINISHED_LOT_ID,
    )
    lineage = data["lineage"]
    vendors = {node["batch"]["vendor"]["orgId"] for node in lineage["nodes"]}
    kinds = {edge["kind"] for edge in lineage["edges"]}
    node_ids = {node["id"] for node in lineage["nodes"]}

    assert lineage["root"] == FINISHED_LOT_ID
    assert {"cedar", "birch", "alder", "dogwood"} <= vendors
    assert kinds == {"CONSUMED", "SAME_LOT"}, "received lots join their makers' lots"
    assert not lineage["truncated"]
    assert all(edge["from"] in node_ids and edge["to"] in node_ids for edge in lineage["edges"])
    assert {node["depth"] for node in lineage["nodes"] if node["id"] == FINISHED_LOT_ID} == {0}


async def test_a_batch_shows_its_vendor_product_and_sources(api: GraphQLClient) -> None:
    data = await api.data(
        """query ($id: ID!) { batch(id: $id) { id number status vendor { orgId name }
             product { id } material { code } sources { ingestionId location } } }""",
        id=FINISHED_LOT_ID,
    )
    batch = data["batch"]
    assert batch["number"] == "P25-1214"
    assert batch["vendor"]["orgId"] == "cedar"
    assert batch["product"]["id"] == TABLET_PRODUCT_ID, "the product comes through the material"
    assert batch["sources"], "every batch traces to the record it came from"
    assert all(source["ingestionId"] == "demo-story" for source in batch["sources"])


async def test_impact_names_downstream_lots_products_vendors_and_agreements(
    api: GraphQLClient,
) -> None:
    data = await api.data(
        """query ($id: ID!) { impact(batchId: $id) { root truncated batches { id depth }
             products { id } vendors { orgId } agreements { agreementId vendor { orgId } } } }""",
        id=CONTAMINATED_EXCIPIENT_LOT_ID,
    )
    impact = data["impact"]
    affected = {batch["id"] for batch in impact["batches"]}
    assert FINISHED_LOT_ID in affected
    assert OAKRIDGE_BATCH_ID not in affected
    assert [product["id"] for product in impact["products"]] == [TABLET_PRODUCT_ID]
    assert {"birch", "cedar"} <= {vendor["orgId"] for vendor in impact["vendors"]}
    assert {agreement["vendor"]["orgId"] for agreement in impact["agreements"]} <= {
        vendor["orgId"] for vendor in impact["vendors"]
    }


async def test_pages_of_a_filtered_listing_cover_it_exactly_once(api: GraphQLClient) -> None:
    query = """query ($after: String) {
        batches(filter: {vendor: "org:birch", status: RELEASED}, first: 4, after: $after) {
          edges { cursor node { id status vendor { orgId } } }
          pageInfo { hasNextPage hasPreviousPage endCursor } } }"""
    seen: list[str] = []
    after = None
    while True:
        page = (await api.data(query, after=after))["batches"]
        assert page["pageInfo"]["hasPreviousPage"] is (after is not None)
        seen += [edge["node"]["id"] for edge in page["edges"]]
        assert all(edge["node"]["vendor"]["orgId"] == "birch" for edge in page["edges"])
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]

    expected = sorted(
        record.id
        for record in DEMO_BATCHES
        if record.maker == "birch" and record.status is BatchStatus.RELEASED
    )
    assert seen == expected
    assert len(expected) > 4, "the walk spans several pages"


async def test_batches_filter_by_product_and_manufacture_dates(api: GraphQLClient) -> None:
    data = await api.data(
        """{ batches(first: 500, filter: {vendor: "org:birch", manufacturedFrom: "2025-07-01",
                                           manufacturedTo: "2025-12-31"}) {
               nodes { id manufacturedOn } } }"""
    )
    dated = data["batches"]["nodes"]
    expected = sorted(
        record.id
        for record in DEMO_BATCHES
        if record.maker == "birch"
        and record.manufactured_on is not None
        and date(2025, 7, 1) <= record.manufactured_on <= date(2025, 12, 31)
    )
    assert [node["id"] for node in dated] == expected
    assert expected, "the demo has Birch lots in the second half of 2025"

    for_tablets = await api.data(
        """query ($p: ID!) { batches(first: 500, filter: {product: $p}) {
             nodes { id product { id } } } }""",
        p=TABLET_PRODUCT_ID,
    )
    nodes = for_tablets["batches"]["nodes"]
    assert nodes and all(node["product"]["id"] == TABLET_PRODUCT_ID for node in nodes)
    assert {maker_of(node["id"]) for node in nodes} >= {"birch", "cedar"}


async def test_agreements_and_organizations_list_with_their_links(api: GraphQLClient) -> None:
    data = await api.data(
        """{ agreements(filter: {sponsor: "org:northwind", vendor: "org:birch"}) {
               nodes { agreementId status effectiveTo products { id } } }
             organizations(filter: {kind: SPONSOR}) { nodes { orgId agreements { id } } } }"""
    )
    agreements = data["agreements"]["nodes"]
    assert agreements and all(
        TABLET_PRODUCT_ID in [p["id"] for p in a["products"]] for a in agreements
    )
    assert "EXPIRED" in {agreement["status"] for agreement in agreements}, "the story's gap"
    sponsors = {org["orgId"] for org in data["organizations"]["nodes"]}
    assert sponsors == {"northwind", "oakridge"}


async def test_federation_resolves_entities_by_key(api: GraphQLClient) -> None:
    data = await api.data(
        """query ($reps: [_Any!]!) { _entities(representations: $reps) {
             ... on Batch { number } ... on Organization { orgId } ... on Product { id } } }""",
        reps=[
            {"__typename": "Batch", "id": FINISHED_LOT_ID},
            {"__typename": "Organization", "id": "org:birch"},
            {"__typename": "Batch", "id": "batch:nobody/NOTHING"},
            {"__typename": "Product", "id": TABLET_PRODUCT_ID},
        ],
    )
    assert data["_entities"] == [
        {"number": "P25-1214"},
        {"orgId": "birch"},
        None,
        {"id": TABLET_PRODUCT_ID},
    ]
    sdl = (await api.data("{ _service { sdl } }"))["_service"]["sdl"]
    assert '@key(fields: "id")' in sdl
