"""Each partner sees, through the API, only what is its own: the demo story's scenarios,
on both stores. The stores apply the principal's visibility inside their queries."""

from __future__ import annotations

import httpx

from graph.store import GraphStore
from hub.app import create_app
from hub.demo.story import FINISHED_LOT_ID, GAP_BATCH_ID, OAKRIDGE_BATCH_ID
from tests.schema.conftest import GraphQLClient
from tests.tokens import TokenSource

UPSTREAM = """query ($id: ID!) { lineage(batchId: $id, direction: UPSTREAM, maxDepth: 10) {
  nodes { id redacted batch { number } } edges { from to kind } } }"""
DOWNSTREAM = UPSTREAM.replace("UPSTREAM", "DOWNSTREAM")


def maker(batch_id: str) -> str:
    return batch_id.split(":", 1)[1].split("/", 1)[0]


async def client(store: GraphStore, tokens: TokenSource, org: str) -> GraphQLClient:
    """A reader for ``org``; ``operator`` is the hub's admin, who sees everything."""
    app = create_app(store=store, auth=tokens.service)
    headers = await (tokens.bearer() if org == "operator" else tokens.bearer(org, ["graph:read"]))
    transport = httpx.ASGITransport(app=app)
    return GraphQLClient(
        httpx.AsyncClient(transport=transport, base_url="http://t", headers=headers)
    )


async def test_oakridge_cannot_see_northwinds_batches_at_birch(
    demo_store: GraphStore, tokens: TokenSource
) -> None:
    oakridge = await client(demo_store, tokens, "oakridge")
    page = await oakridge.data(
        '{ batches(first: 500, filter: {vendor: "org:birch"}) { nodes { id } } }'
    )
    hidden = await oakridge.answer(f'{{ batch(id: "{GAP_BATCH_ID}") {{ id }} }}')
    missing = await oakridge.answer('{ batch(id: "batch:birch/NO-SUCH-LOT") { id } }')

    seen = {node["id"] for node in page["batches"]["nodes"]}
    assert OAKRIDGE_BATCH_ID in seen
    assert GAP_BATCH_ID not in seen
    assert hidden == missing == {"data": {"batch": None}}, "hidden answers like missing"


async def test_birch_sees_its_lots_and_at_most_a_stub_of_alders(
    demo_store: GraphStore, tokens: TokenSource
) -> None:
    birch = await client(demo_store, tokens, "birch")
    lineage = (await birch.data(UPSTREAM, id=GAP_BATCH_ID))["lineage"]

    readable = [node for node in lineage["nodes"] if not node["redacted"]]
    stubs = [node for node in lineage["nodes"] if node["redacted"]]
    assert {maker(node["id"]) for node in readable} == {"birch"}
    assert all(node["batch"] is None for node in stubs)
    assert stubs, "the lots Birch received name their makers' lots, as stubs"
    stub_ids = {node["id"] for node in stubs}
    assert not any(edge["from"] in stub_ids for edge in lineage["edges"]), "no walk past a stub"


async def test_alder_cannot_see_where_its_lots_went_after_birch(
    demo_store: GraphStore, tokens: TokenSource
) -> None:
    operator_view = await (await client(demo_store, tokens, "operator")).data(
        UPSTREAM, id=GAP_BATCH_ID
    )
    alder_lots = [
        node["id"] for node in operator_view["lineage"]["nodes"] if maker(node["id"]) == "alder"
    ]
    alder = await client(demo_store, tokens, "alder")

    for lot in alder_lots:
        lineage = (await alder.data(DOWNSTREAM, id=lot))["lineage"]
        if lineage is None:
            continue  # a lot Alder did not make itself (e.g. a supplier's) is not Alder's
        readable = {maker(node["id"]) for node in lineage["nodes"] if not node["redacted"]}
        assert readable == {"alder"}
        assert "cedar" not in {maker(node["id"]) for node in lineage["nodes"]}


async def test_northwind_sees_the_whole_genealogy_of_its_products(
    demo_store: GraphStore, tokens: TokenSource
) -> None:
    northwind = await client(demo_store, tokens, "northwind")
    operator = await client(demo_store, tokens, "operator")

    as_sponsor = (await northwind.data(UPSTREAM, id=FINISHED_LOT_ID))["lineage"]
    as_operator = (await operator.data(UPSTREAM, id=FINISHED_LOT_ID))["lineage"]

    assert as_sponsor == as_operator
    assert not any(node["redacted"] for node in as_sponsor["nodes"])
    assert {"alder", "birch", "cedar", "dogwood"} <= {maker(n["id"]) for n in as_sponsor["nodes"]}
    oakridge_lot = await northwind.answer(f'{{ batch(id: "{OAKRIDGE_BATCH_ID}") {{ id }} }}')
    assert oakridge_lot == {"data": {"batch": None}}, "nor what Birch makes for Oakridge"
