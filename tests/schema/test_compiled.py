"""Compiled reads (``schema.compiled``) answer exactly what graphql-core answers.

Every document here is sent to two apps over the same store and the same token: one
answering plain reads by tree reads (then once more, answered from its plan before
strawberry's view), one with them off (``HUB_GRAPHQL_COMPILED=false``,
every field by graphql-core's resolvers). The whole JSON answers must be equal: data,
nulls, order, errors. Each document is also checked to have compiled (else the
comparison would hold trivially), and on Neo4j to cost one store query.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from graph.neo4j.store import Neo4jGraphStore
from graph.store import GraphStore
from hub.app import create_app
from hub.demo.story import FINISHED_LOT_ID, GAP_BATCH_ID
from hub.settings import Settings
from schema.build import build_schema
from tests.schema.test_protection import CountingStore
from tests.tokens import TokenSource

READERS = ("operator", "northwind", "birch", "cedar", "oakridge")
LOT = "query ($id: ID!) { batch(id: $id) { id number vendor { name } } }"
WITH_INPUTS = """query ($id: ID!) { batch(id: $id) { id number status manufacturedOn
  quantity unit validationStage statusText
  vendor { id name kind country orgId __typename }
  product { id name sponsor { name } }
  inputs { id number vendor { name } material { code name owner { name } product { code } }
           product { code } inputs { id vendor { name } product { name } } }
  outputs { id } sameLotAs { id vendor { name } } receivedAs { id } partOf { id } parts { id }
  site { code name feiNumber organization { name } }
  sources { ingestionId location __typename } } }"""
# Documents that compile: every link, aliases, fragments on the same type, listings.
COMPILED = {
    "lot": LOT,
    "inputs": WITH_INPUTS,
    "aliases": """query ($id: ID!) { a: batch(id: $id) { n: number maker: vendor { label: name } }
        b: batch(id: "batch:birch/BT-25-041") { number } }""",
    "fragments": """query ($id: ID!) { batch(id: $id) { ...lot ... on Batch { unit } } }
        fragment lot on Batch { number vendor { ...org } } fragment org on Organization { name }""",
    "results": """query ($id: ID!) { batch(id: $id) { results { resultId test value unit
        specLow specHigh verdict testedOn lab { name } batch { number } }
        deviations { deviationId title classification status openedOn
        organization { name } } } }""",
    "page": """{ batches(first: 7) { __typename nodes { id number vendor { name } }
        pageInfo { hasNextPage hasPreviousPage startCursor endCursor __typename } } }""",
    "edges": """{ batches(first: 5, filter: {vendor: "org:birch"}) {
        edges { cursor __typename node { id status } } pageInfo { endCursor } } }""",
    "filtered": """{ batches(first: 50, filter: {status: RELEASED}) { nodes { id
        inputs { id } } } }""",
    "products": "{ products(first: 20) { nodes { id code name dosageForm sponsor { name } } } }",
    "organizations": """{ organizations(first: 10) { nodes { id name kind sites { code
        qualifications { status validUntil vendor { name } site { code } } }
        agreements { agreementId } } } }""",
    "agreements": """{ agreements(first: 10) { nodes { id agreementId version activities
        effectiveFrom effectiveTo status sponsor { name } vendor { name } } } }""",
    "look-ups": """{ product(id: "product:northwind/NW-TAB-101") { name }
        organization(id: "org:birch") { name sites { code } }
        agreement(id: "agreement:northwind/QA-NW-BIR/2") { version } }""",
    "unknown": '{ batch(id: "batch:birch/NO-SUCH-LOT") { id } }',
    "products of a page": "{ batches(first: 200) { nodes { id product { code } } } }",
    "lineage": """query ($id: ID!) { lineage(batchId: $id, maxDepth: 10) { __typename
        nodes { depth batch { number vendor { name } inputs { id } } id redacted }
        root truncated direction maxDepth edges { from to kind quantity unit __typename } } }""",
    "downstream": """{ lineage(batchId: "batch:dogwood/DW-M-50402", direction: DOWNSTREAM,
        maxDepth: 3) { truncated nodes { id } edges { to } } }""",
    "unknown lineage": '{ lineage(batchId: "batch:birch/NO-SUCH-LOT") { root } }',
}
# Documents left to graphql-core, or errors graphql-core reports: answered the same.
NOT_COMPILED = {
    "shipments": '{ batch(id: "batch:birch/BT-25-041") { shipments { to { name } } } }',
    "directive": """query ($id: ID!, $no: Boolean!) { batch(id: $id) {
        vendor @include(if: $no) { name } } }""",
    "malformed id": '{ batch(id: "not an id") { id } }',
    "wrong kind": '{ batch(id: "org:birch") { id } }',
    "page too large": "{ batches(first: 100000) { nodes { id } } }",
    "bad cursor": '{ batches(after: "nope") { nodes { id } } }',
    "bad filter": '{ batches(filter: {vendor: "birch"}) { nodes { id } } }',
    "interface": '{ node(id: "batch:birch/BT-25-041") { id ... on Batch { number } } }',
    "too deep": '{ lineage(batchId: "batch:birch/BT-25-041", maxDepth: 99) { root } }',
    "gaps": """{ lineage(batchId: "batch:cedar/P25-1214") { nonCompliant { id }
        nodes { complianceGaps { reason } } } }""",
}


async def _client(store: Any, tokens: TokenSource, org: str, compiled: bool) -> httpx.AsyncClient:
    app = create_app(Settings(graphql_compiled=compiled), store=store, auth=tokens.service)
    headers = await (tokens.bearer() if org == "operator" else tokens.bearer(org, ["graph:read"]))
    transport = httpx.ASGITransport(app=app)
    return httpx.AsyncClient(transport=transport, base_url="http://t", headers=headers)


@pytest.fixture
async def both(
    demo_store: GraphStore, tokens: TokenSource
) -> AsyncIterator[dict[str, tuple[httpx.AsyncClient, httpx.AsyncClient]]]:
    """Per reader: (compiled, graphql-core) clients over the demo store."""
    pairs = {
        org: (
            await _client(demo_store, tokens, org, compiled=True),
            await _client(demo_store, tokens, org, compiled=False),
        )
        for org in READERS
    }
    yield pairs
    for compiled, plain in pairs.values():
        await compiled.aclose()
        await plain.aclose()


async def _answers(
    pair: tuple[httpx.AsyncClient, httpx.AsyncClient], query: str, variables: dict[str, Any]
) -> tuple[Any, Any]:
    body = {"query": query, "variables": variables}
    compiled, plain = [await client.post("/graphql", json=body) for client in pair]
    assert compiled.status_code == plain.status_code
    return compiled.json(), plain.json()


@pytest.mark.parametrize("name", [*COMPILED, *NOT_COMPILED])
async def test_the_same_answer_for_every_reader(
    both: dict[str, tuple[httpx.AsyncClient, httpx.AsyncClient]], name: str
) -> None:
    query = COMPILED.get(name) or NOT_COMPILED[name]
    variables = {"id": FINISHED_LOT_ID, "no": False} if "$id" in query else {}
    if "$no" not in query:
        variables.pop("no", None)
    seen_data = False
    for org, pair in both.items():
        compiled, plain = await _answers(pair, query, variables)
        assert compiled == plain, org
        # Asked again, a document with a plan is answered from it before strawberry's
        # view (schema.compiled.direct): the same answer.
        again = await pair[0].post("/graphql", json={"query": query, "variables": variables})
        assert again.json() == plain, org
        seen_data = seen_data or bool(compiled.get("data") and any(compiled["data"].values()))
    if name in COMPILED and not name.startswith("unknown"):
        assert seen_data, "no reader got any data: the comparison says nothing"


async def test_every_lot_of_the_demo_with_its_links_and_lineage(
    both: dict[str, tuple[httpx.AsyncClient, httpx.AsyncClient]],
) -> None:
    operator = both["operator"][1]
    listed = await operator.post(
        "/graphql", json={"query": "{ batches(first: 500) { nodes { id } } }"}
    )
    lots = [node["id"] for node in listed.json()["data"]["batches"]["nodes"]]
    assert GAP_BATCH_ID in lots and len(lots) > 20
    for org in ("operator", "cedar", "northwind"):
        for lot in lots:
            for query in (WITH_INPUTS, COMPILED["lineage"]):
                compiled, plain = await _answers(both[org], query, {"id": lot})
                assert compiled == plain, (org, lot, query)


def test_the_documents_said_to_compile_do() -> None:
    """Else the comparisons above would compare graphql-core with itself."""
    from graphql import parse

    schema = build_schema()
    assert schema.plans is not None
    for name, query in COMPILED.items():
        assert schema.plans.plan_for(query, parse(query), None) is not None, name
    for name in ("shipments", "directive", "interface", "gaps"):
        query = NOT_COMPILED[name]
        assert schema.plans.plan_for(query, parse(query), None) is None, name


async def test_a_lot_with_inputs_and_their_vendors_is_one_neo4j_query(
    demo_store: GraphStore, tokens: TokenSource
) -> None:
    """On Neo4j the whole selection is one Cypher statement (graph.neo4j.trees); on the
    SQL store a read per level, as the DataLoaders made."""
    counting = CountingStore(demo_store)
    client = await _client(counting, tokens, "northwind", compiled=True)
    async with client:
        answer = await client.post(
            "/graphql", json={"query": WITH_INPUTS, "variables": {"id": FINISHED_LOT_ID}}
        )
    assert answer.json()["data"]["batch"]["inputs"], answer.json()
    if isinstance(demo_store, Neo4jGraphStore):
        assert counting.calls == 1
    else:
        assert 1 < counting.calls <= 30


async def test_codes_that_ids_quote_are_read_as_graphql_core_reads_them(
    demo_store: GraphStore, tokens: TokenSource
) -> None:
    """A material or site code with a '/' or a space is percent-quoted in its id
    (graph.ids), which Cypher does not make: those links are read again level by level
    (graph.neo4j.trees), and the answer is graphql-core's."""
    from graph.model import Material, Site
    from hub.demo.story import TABLET_PRODUCT_ID
    from tests.graph.builders import PROVENANCE, batch

    await demo_store.upsert(
        [
            Material(
                org="birch",
                code="MAT/01 X",
                name="odd code",
                product_id=TABLET_PRODUCT_ID,
                provenance=PROVENANCE,
            ),
            Site(org="birch", code="S 1", name="odd site", provenance=PROVENANCE),
            batch("birch", "Q/1 odd", material_code="MAT/01 X", site_code="S 1"),
        ]
    )
    query = """{ batch(id: "batch:birch/Q%2F1%20odd") { number material { code name }
        site { code name } product { code } vendor { name } } }"""
    answers = []
    for compiled in (True, False):
        client = await _client(demo_store, tokens, "operator", compiled=compiled)
        async with client:
            answers.append((await client.post("/graphql", json={"query": query})).json())
    assert answers[0] == answers[1]
    lot = answers[0]["data"]["batch"]
    assert lot["material"] == {"code": "MAT/01 X", "name": "odd code"}
    assert lot["site"] == {"code": "S 1", "name": "odd site"}
    assert lot["product"] == {"code": "NW-TAB-101"}
