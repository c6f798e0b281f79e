"""Limits that protect the server, bad input, and masked internal errors."""

from __future__ import annotations

import inspect
import logging
import types
from typing import Any

import httpx
import pytest

from graph.neo4j.store import Neo4jGraphStore
from graph.store import GraphStore
from hub.app import create_app
from hub.demo.story import FINISHED_LOT_ID
from hub.settings import Settings
from tests.schema.conftest import GraphQLClient, client_for, error_codes
from tests.tokens import TokenSource


@pytest.mark.parametrize(
    ("query", "says"),
    [
        ('{ batch(id: "A-2207") { id } }', "has no kind prefix"),
        ('{ batch(id: "org:birch") { id } }', "is an Organization id, not a Batch id"),
        ('{ batches(filter: {vendor: "birch"}) { nodes { id } } }', "filter:"),
        ('{ batches(after: "not-a-cursor") { nodes { id } } }', "is not a cursor from this API"),
        ('{ batches(after: "djE6") { nodes { id } } }', "is not a cursor from this API"),  # "v1:"
        ('{ products(filter: {sponsor: "northwind"}) { nodes { id } } }', "e.g. 'org:alder'"),
        ('{ batch(id: "' + "x" * 10_000 + '") { id } }', "(10,000 characters)"),
        ("{ batches(first: 501) { nodes { id } } }", "first: must be between 1 and 500"),
        ("{ batches(first: 0) { nodes { id } } }", "first: must be between 1 and 500"),
        (f'{{ lineage(batchId: "{FINISHED_LOT_ID}", maxDepth: 21) {{ root }} }}', "maxDepth"),
        ('{ lineage(batchId: "product:x/y") { root } }', "not a Batch id"),
    ],
)
async def test_bad_arguments_get_a_clear_input_error(
    api: GraphQLClient, query: str, says: str
) -> None:
    body = await api.answer(query)

    assert error_codes(body) == ["BAD_USER_INPUT"]
    assert says in body["errors"][0]["message"]
    assert len(body["errors"][0]["message"]) < 300, "a message never echoes a huge input back"


DEEP_QUERY = (
    '{ batch(id: "batch:a/b") ' + "{ inputs " * 12 + "{ id }" + " }" * 12 + " }"
)  # 14 levels of selection, over the limit of 12
MANY_ALIASES = "{ " + " ".join(f'a{n}: batch(id: "batch:a/{n}") {{ id }}' for n in range(31)) + " }"


@pytest.mark.parametrize(
    ("query", "says"),
    [
        ("{ batch(id: ", "Syntax Error"),
        ("{ batch { id } }", "of type 'ID!' is required"),
        ('{ batch(id: "batch:a/b") { nonsense } }', "Cannot query field 'nonsense'"),
        ('{ batches(first: "ten") { nodes { id } } }', "Int cannot represent"),
        (DEEP_QUERY, "exceeds maximum operation depth"),
        (MANY_ALIASES, "aliases found"),
        ("{ " + "__typename " * 5001 + "}", "token"),
    ],
)
async def test_malformed_and_oversized_queries_are_refused_without_a_server_error(
    api: GraphQLClient, query: str, says: str
) -> None:
    body = await api.answer(query)

    assert body.get("data") is None
    assert says.lower() in body["errors"][0]["message"].lower()
    assert set(error_codes(body)) <= {"GRAPHQL_PARSE_FAILED", "GRAPHQL_VALIDATION_FAILED"}


async def test_unknown_ids_answer_null_like_any_missing_thing(api: GraphQLClient) -> None:
    body = await api.answer(
        """{ batch(id: "batch:nobody/X-1") { id } product(id: "product:nobody/P") { id }
             lineage(batchId: "batch:nobody/X-1") { root } impact(batchId: "batch:nobody/X-1") { root }
             node(id: "org:nobody") { id } }"""
    )
    assert "errors" not in body
    assert set(body["data"].values()) == {None}


class FailingStore:
    """A store whose reads fail in a way only the server should see."""

    def __init__(self, inner: GraphStore) -> None:
        self.inner = inner

    async def get_nodes(self, ids: Any, **options: Any) -> Any:
        raise RuntimeError("connection string postgres://admin:hunter2@db leaked")

    async def read_tree(self, ids: Any, *args: Any, **options: Any) -> Any:
        return await self.get_nodes(ids)  # a compiled read (schema.compiled) fails the same

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


async def test_internal_errors_are_masked_with_a_request_id_and_logged(
    demo_store: GraphStore, tokens: TokenSource, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR, logger="partnerhub.graphql")
    async for client in client_for(FailingStore(demo_store), tokens):  # type: ignore[arg-type]
        response = await client.post(f'{{ batch(id: "{FINISHED_LOT_ID}") {{ number }} }}')
        body = response.json()

        request_id = response.headers["x-request-id"]
        assert response.status_code == 200
        assert error_codes(body) == ["INTERNAL_SERVER_ERROR"]
        assert "hunter2" not in response.text
        assert request_id in body["errors"][0]["message"]
        assert body["errors"][0]["extensions"]["requestId"] == request_id
        assert any(request_id in record.getMessage() for record in caplog.records)
        assert any(
            "hunter2" in str(record.exc_info[1]) for record in caplog.records if record.exc_info
        )


async def test_health_readiness_metrics_and_graphiql(api: GraphQLClient) -> None:
    http = api.http
    assert (await http.get("/healthz")).json() == {"status": "ok"}
    assert (await http.get("/readyz")).json() == {"status": "ready"}
    await api.data("{ __typename }")
    metrics = (await http.get("/metrics")).text
    assert 'partnerhub_http_requests_total{method="POST",route="/graphql",status="200"}' in metrics
    page = await http.get("/graphql", headers={"accept": "text/html"})
    assert page.status_code == 200 and "graphiql" in page.text.lower()


async def test_readiness_fails_when_the_store_is_unreachable() -> None:
    unreachable = Neo4jGraphStore("bolt://127.0.0.1:9")  # discard port: nothing listens
    try:
        transport = httpx.ASGITransport(app=create_app(store=unreachable))
        async with httpx.AsyncClient(transport=transport, base_url="http://hub.test") as http:
            ready = await http.get("/readyz")
            alive = await http.get("/healthz")
    finally:
        await unreachable.close()
    assert ready.status_code == 503
    assert ready.json()["status"] == "unavailable"
    assert alive.status_code == 200, "liveness does not depend on the store"


class CountingStore:
    """Counts the store calls a request makes (each is at least one database round-trip)."""

    def __init__(self, inner: GraphStore) -> None:
        self.inner = inner
        self.calls = 0

    def __getattr__(self, name: str) -> Any:
        generic = type(self.inner).read_tree is GraphStore.read_tree
        if name in ("read_tree", "list_trees", "_reach") and generic:
            # The interface's level-by-level tree read, its reads counted one by one.
            return types.MethodType(getattr(GraphStore, name), self)
        attribute = getattr(self.inner, name)
        if not inspect.iscoroutinefunction(attribute):
            return attribute

        async def counted(*args: Any, **kwargs: Any) -> Any:
            self.calls += 1
            return await attribute(*args, **kwargs)

        return counted


async def test_store_round_trips_do_not_grow_with_the_page(
    store: GraphStore, tokens: TokenSource
) -> None:
    from graph.loading import load
    from hub.demo.generator import generate_network

    await load(store, generate_network(600, seed=3))
    counting = CountingStore(store)
    query = """query ($first: Int!) { batches(first: $first) { nodes {
                 number vendor { name } product { name } results { value verdict }
                 inputs { number vendor { name } } } } }"""
    calls = {}
    async for client in client_for(counting, tokens):  # type: ignore[arg-type]
        for first in (10, 500):
            counting.calls = 0
            data = await client.data(query, first=first)
            assert len(data["batches"]["nodes"]) == first
            calls[first] = counting.calls

    # The bound comes from the query's shape alone: the listing; vendors; product (direct,
    # through the material, then the products); results (edges, then nodes); inputs
    # (edges, then nodes) and their vendors. Fewer when a level finds nothing to load.
    assert max(calls.values()) <= 10, calls


@pytest.mark.parametrize("compiled", [False, True], ids=["graphql-core", "compiled"])
async def test_a_lot_and_its_vendor_come_in_one_read_and_its_inputs_with_theirs(
    demo_store: GraphStore, tokens: TokenSource, compiled: bool
) -> None:
    """A lot's id names its maker, so asking for a lot with its vendor (or its inputs
    with theirs) costs no round trip for the vendors through the DataLoaders. Compiled
    (schema.compiled), the whole selection is one query on Neo4j, and a read per
    level on the SQL store."""
    counting = CountingStore(demo_store)
    with_vendor = '{ batch(id: "batch:birch/BT-25-041") { number vendor { name } } }'
    with_inputs = """{ batch(id: "batch:birch/BT-25-041") { vendor { name }
                         inputs { number vendor { name } } } }"""
    in_fragment = """{ batch(id: "batch:birch/BT-25-041") { ...made } }
                     fragment made on Batch { vendor { name } }"""
    calls = {}
    settings = Settings(graphql_compiled=compiled)
    async for client in client_for(counting, tokens, settings):  # type: ignore[arg-type]
        for name, query in (
            ("vendor", with_vendor),
            ("inputs", with_inputs),
            ("fragment", in_fragment),
        ):
            counting.calls = 0
            data = await client.data(query)
            assert data["batch"]["vendor"] == {"name": "Birch Pharma Services"}
            calls[name] = counting.calls

    if not compiled:  # the lot (with its vendor); the CONSUMED edges; the inputs (with theirs)
        assert calls == {"vendor": 1, "inputs": 3, "fragment": 1}
    elif isinstance(demo_store, Neo4jGraphStore):
        assert calls == {"vendor": 1, "inputs": 1, "fragment": 1}
    else:  # the lot; then its vendor, edges and inputs; then the inputs' vendors
        assert calls == {"vendor": 2, "inputs": 4, "fragment": 2}
