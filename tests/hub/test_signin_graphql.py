"""A person of Birch signs in through the hub's own form and reads GraphQL: they see
exactly what Birch's systems see, nothing of other organizations."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from auth.principal import Scope
from auth.service import AuthService
from graph.sql.store import SqlGraphStore
from hub.app import create_app
from hub.demo.story import GAP_BATCH_ID, OAKRIDGE_BATCH_ID, demo_records
from hub.records.database import migrate
from tests.auth.signin import PASSWORD, exchange, pkce, sign_in
from tests.auth.support import ISSUER, bearer, hub_config, request_token

BATCHES = "{ batches(first: 500) { nodes { id } } }"


@pytest.fixture
async def hub(tmp_path: Path) -> AsyncIterator[tuple[httpx.AsyncClient, AuthService]]:
    store = SqlGraphStore(f"sqlite+aiosqlite:///{tmp_path / 'graph.sqlite'}")
    await store.setup()
    await store.upsert(demo_records())
    service = AuthService.from_url(
        f"sqlite+aiosqlite:///{tmp_path / 'auth.sqlite'}", hub_config(), migrate=migrate
    )
    await service.setup()
    app = create_app(store=store, auth=service)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=ISSUER) as http:
        yield http, service
    await service.close()
    await store.close()


async def batch_ids(http: httpx.AsyncClient, token: str) -> set[str]:
    response = await http.post("/graphql", json={"query": BATCHES}, headers=bearer(token))
    assert response.status_code == 200, response.text
    return {node["id"] for node in response.json()["data"]["batches"]["nodes"]}


async def test_a_birch_person_reads_only_what_birch_may(
    hub: tuple[httpx.AsyncClient, AuthService],
) -> None:
    http, service = hub
    await service.add_user("birch", "ana@birch.example", PASSWORD, [Scope.GRAPH_READ])
    birch_system = await service.store.add_client("birch", [Scope.GRAPH_READ], org_kind="CDMO")
    operator = await service.store.add_client("operator", [Scope.ADMIN])

    pair = pkce()
    code = await sign_in(http, "ana@birch.example", pair)
    signed_in = await exchange(http, code, pair.verifier)
    assert signed_in.status_code == 200, signed_in.text
    person_sees = await batch_ids(http, signed_in.json()["access_token"])

    system_token = await request_token(http, birch_system.client.client_id, birch_system.secret)
    admin_token = await request_token(http, operator.client.client_id, operator.secret)
    birch_sees = await batch_ids(http, system_token.json()["access_token"])
    everything = await batch_ids(http, admin_token.json()["access_token"])

    assert person_sees == birch_sees
    assert OAKRIDGE_BATCH_ID in person_sees and GAP_BATCH_ID in person_sees
    assert person_sees < everything, "other organizations' lots stay hidden"
