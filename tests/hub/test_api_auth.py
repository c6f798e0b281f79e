"""Every route but health and discovery needs a valid token with the right scope."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from graph.sql.store import SqlGraphStore
from hub.app import create_app
from hub.records.ledger import Ledger
from hub.settings import Settings
from tests.hub.support import hub_client
from tests.tokens import TokenSource

QUERY = {"query": "{ __typename }"}


@pytest.fixture
async def hub(tmp_path: Path, tokens: TokenSource) -> AsyncIterator[httpx.AsyncClient]:
    store = SqlGraphStore(f"sqlite+aiosqlite:///{tmp_path / 'graph.sqlite'}")
    ledger = Ledger(f"sqlite+aiosqlite:///{tmp_path / 'ledger.sqlite'}")
    await store.setup()
    await ledger.setup()
    app = create_app(
        Settings(ingest_poll_seconds=0.05), store=store, ledger=ledger, auth=tokens.service
    )
    async with hub_client(app) as client:
        yield client
    await ledger.close()
    await store.close()


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/graphql"),
        ("GET", "/graphql?query={__typename}"),
        ("POST", "/ingest/canonical.jsonl"),
        ("GET", "/ingestions/ing-1"),
        ("GET", "/metrics"),
        ("GET", "/openapi.json"),
    ],
)
async def test_without_a_token_the_answer_is_401_with_a_bearer_challenge(
    hub: httpx.AsyncClient, method: str, path: str
) -> None:
    response = await hub.request(method, path, json=QUERY if method == "POST" else None)

    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")


async def test_a_bad_token_names_the_problem_in_the_challenge(hub: httpx.AsyncClient) -> None:
    response = await hub.post("/graphql", json=QUERY, headers={"authorization": "Bearer nonsense"})

    assert response.status_code == 401
    assert 'error="invalid_token"' in response.headers["www-authenticate"]


@pytest.mark.parametrize(
    "path",
    ["/healthz", "/readyz", "/.well-known/jwks.json", "/.well-known/oauth-authorization-server"],
)
async def test_health_and_discovery_need_no_token(hub: httpx.AsyncClient, path: str) -> None:
    assert (await hub.get(path)).status_code == 200


async def test_the_graphiql_page_needs_no_token_but_its_queries_do(hub: httpx.AsyncClient) -> None:
    page = await hub.get("/graphql", headers={"accept": "text/html"})
    query_by_get = await hub.get("/graphql?query={__typename}", headers={"accept": "text/html"})

    assert page.status_code == 200 and "graphiql" in page.text.lower()
    assert query_by_get.status_code == 401


async def test_reading_the_graph_needs_graph_read(
    hub: httpx.AsyncClient, tokens: TokenSource
) -> None:
    writer_only = await tokens.bearer("birch", ["ingest:write"])
    reader = await tokens.bearer("birch", ["graph:read", "ingest:write"])

    refused = await hub.post("/graphql", json=QUERY, headers=writer_only)
    allowed = await hub.post("/graphql", json=QUERY, headers=reader)

    assert refused.status_code == 403
    assert 'error="insufficient_scope"' in refused.headers["www-authenticate"]
    assert allowed.json() == {"data": {"__typename": "Query"}}


async def test_pushing_needs_ingest_write_and_is_for_the_tokens_own_org(
    hub: httpx.AsyncClient, tokens: TokenSource
) -> None:
    reader = await tokens.bearer("birch", ["graph:read"])
    writer = await tokens.bearer("birch", ["ingest:write"])
    body = b'{"node": "Batch", "maker": "birch", "number": "T-1"}\n'

    no_scope = await hub.post("/ingest/canonical.jsonl", content=body, headers=reader)
    other_org = await hub.post("/ingest/canonical.jsonl?org=alder", content=body, headers=writer)
    own = await hub.post("/ingest/canonical.jsonl", content=body, headers=writer)

    assert no_scope.status_code == 403
    assert other_org.status_code == 403
    assert own.status_code == 202, "accepted: committed to the ledger, applied by a worker"
    status = await hub.get(f"/ingestions/{own.json()['ingestion_id']}", headers=writer)
    assert status.json()["org"] == "birch" and status.json()["submitted_by"] == "birch"
    alder = await tokens.bearer("alder", ["ingest:write"])
    hidden = await hub.get(f"/ingestions/{own.json()['ingestion_id']}", headers=alder)
    missing = await hub.get("/ingestions/ing-nothing", headers=alder)
    assert (hidden.status_code, hidden.json()) == (missing.status_code, missing.json())


async def test_metrics_can_be_made_public(tmp_path: Path, tokens: TokenSource) -> None:
    store = SqlGraphStore(f"sqlite+aiosqlite:///{tmp_path / 'graph.sqlite'}")
    app = create_app(Settings(metrics_public=True), store=store, auth=tokens.service)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://h"
    ) as http:
        assert (await http.get("/metrics")).status_code == 200
    await store.close()


async def test_a_hub_on_a_fresh_store_answers_reads_before_any_ingestion(
    tmp_path: Path, tokens: TokenSource
) -> None:
    """The hub sets its store up when it starts, not only at the first ingestion: a
    lot nobody pushed yet is simply not there."""
    settings = Settings(
        store=f"sqlite:///{tmp_path / 'fresh.sqlite'}",
        database=f"sqlite:///{tmp_path / 'ledger.sqlite'}",
    )
    app = create_app(settings, auth=tokens.service)
    query = '{ batch(id: "batch:alder/A-2207") { number } batches(first: 5) { nodes { id } } }'
    async with hub_client(app, await tokens.bearer()) as client:
        answer = (await client.post("/graphql", json={"query": query})).json()
        for _ in range(50):  # start-up sets the store up beside serving; it is quick
            if "errors" not in answer:
                break
            await asyncio.sleep(0.1)
            answer = (await client.post("/graphql", json={"query": query})).json()

    assert answer == {"data": {"batch": None, "batches": {"nodes": []}}}
