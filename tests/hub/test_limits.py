"""The hub's limits, through the real app: the token endpoint throttled before the
secret is hashed, each client's GraphQL cost budget, each organization's ingest quotas,
and their refusals in /metrics. Budgets are small (settings) so the tests are fast."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from graphql import parse
from sqlalchemy import func, select

import auth.server
from auth.principal import Scope
from graph.sql.store import SqlGraphStore
from hub.app import create_app
from hub.records.ledger import Ledger, ingestions
from hub.settings import Settings
from schema.build import build_schema
from schema.cost import CostModel, operation_cost
from tests.tokens import TokenSource

ATTACKER = ("203.0.113.7", 40000)
PARTNER = ("198.51.100.20", 40000)
HUB_URL = "http://127.0.0.1:8000"  # the issuer: plain http is accepted on loopback only
BATCHES = "{ batches(first: 10) { nodes { number } } }"


@pytest.fixture
async def parts(tmp_path: Path) -> AsyncIterator[tuple[SqlGraphStore, Ledger]]:
    store = SqlGraphStore(f"sqlite+aiosqlite:///{tmp_path / 'graph.sqlite'}")
    ledger = Ledger(f"sqlite+aiosqlite:///{tmp_path / 'ledger.sqlite'}")
    await store.setup()
    await ledger.setup()
    yield store, ledger
    await ledger.close()
    await store.close()


@asynccontextmanager
async def running(app: Any) -> AsyncIterator[Callable[[tuple[str, int]], httpx.AsyncClient]]:
    """The app started, and a way to open clients calling from a given address."""
    async with app.router.lifespan_context(app):

        def client_from(address: tuple[str, int]) -> httpx.AsyncClient:
            transport = httpx.ASGITransport(app=app, client=address)
            return httpx.AsyncClient(transport=transport, base_url=HUB_URL)

        yield client_from


class HashCalls:
    """Counts the client-secret hashes the token endpoint computes (and computes them)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.count = 0
        for name in ("verify_secret", "spend_like_a_verification"):
            monkeypatch.setattr(auth.server, name, self._counting(getattr(auth.server, name)))

    def _counting(self, hash_function: Callable[..., Any]) -> Callable[..., Any]:
        def counted(*args: Any) -> Any:
            self.count += 1
            return hash_function(*args)

        return counted


async def token(http: httpx.AsyncClient, client_id: str, secret: str) -> httpx.Response:
    return await http.post(
        "/oauth/token", data={"grant_type": "client_credentials"}, auth=(client_id, secret)
    )


async def metrics(app: Any, tokens: TokenSource | None = None) -> str:
    transport = httpx.ASGITransport(app=app)
    headers = await tokens.bearer() if tokens else {}
    async with httpx.AsyncClient(transport=transport, base_url=HUB_URL) as http:
        answer = await http.get("/metrics", headers=headers)
    assert answer.status_code == 200, answer.text
    return answer.text


def refusals(exposition: str, limit: str) -> float:
    prefix = f'partnerhub_limit_refusals_total{{limit="{limit}"}} '
    lines = [line for line in exposition.splitlines() if line.startswith(prefix)]
    assert lines, f"no {limit} counter in /metrics"
    return float(lines[0].removeprefix(prefix))


async def test_a_flood_of_wrong_secrets_gets_429_before_the_hash_is_computed(
    parts: tuple[SqlGraphStore, Ledger], monkeypatch: pytest.MonkeyPatch
) -> None:
    store, ledger = parts
    settings = Settings(limit_token_failures=3, metrics_public=True)
    app = create_app(settings, store=store, ledger=ledger)
    hashes = HashCalls(monkeypatch)
    async with running(app) as client_from:
        target = await app.state.auth.add_client("birch", [Scope.GRAPH_READ])
        good = await app.state.auth.add_client("northwind", [Scope.GRAPH_READ])
        async with client_from(ATTACKER) as attacker, client_from(PARTNER) as partner:
            answers = [await token(attacker, target.client.client_id, "guess") for _ in range(20)]
            hashed_during_flood = hashes.count
            from_another_address = await token(partner, good.client.client_id, good.secret)
            exposition = await metrics(app)

    statuses = [answer.status_code for answer in answers]
    assert statuses[:3] == [401, 401, 401]
    assert statuses[3:] == [429] * 17, "refused once the failures are spent"
    assert hashed_during_flood == 3, "the 17 refused requests computed no hash"
    refused = answers[-1]
    assert refused.json()["error"] == "too_many_requests"
    assert 0 < int(refused.headers["retry-after"]) <= 900
    assert "token_failures" in refused.json()["error_description"]
    assert from_another_address.status_code == 200, from_another_address.text
    assert from_another_address.json()["access_token"]
    assert refusals(exposition, "token_failures_address") == 17
    assert "guess" not in exposition and target.client.client_id not in exposition


async def test_a_burst_of_concurrent_wrong_secrets_gets_no_more_hashes_than_the_limit(
    parts: tuple[SqlGraphStore, Ledger], monkeypatch: pytest.MonkeyPatch
) -> None:
    store, ledger = parts
    app = create_app(Settings(limit_token_failures=3), store=store, ledger=ledger)
    hashes = HashCalls(monkeypatch)
    async with running(app) as client_from:
        target = await app.state.auth.add_client("birch", [Scope.GRAPH_READ])
        async with client_from(ATTACKER) as attacker:
            burst = [token(attacker, target.client.client_id, f"guess {n}") for n in range(20)]
            answers = await asyncio.gather(*burst)
            afterwards = await token(attacker, "nobody", "x")

    statuses = sorted(answer.status_code for answer in answers)
    assert statuses == [401] * 3 + [429] * 17
    assert hashes.count == 3, "all 20 were in flight at once; only 3 were hashed"
    assert afterwards.status_code == 429, "the address is still resting"


async def test_good_secrets_do_not_spend_the_failure_limit(
    parts: tuple[SqlGraphStore, Ledger],
) -> None:
    store, ledger = parts
    app = create_app(Settings(limit_token_failures=2), store=store, ledger=ledger)
    async with running(app) as client_from:
        good = await app.state.auth.add_client("northwind", [Scope.GRAPH_READ])
        async with client_from(PARTNER) as partner:
            answers = [await token(partner, good.client.client_id, good.secret) for _ in range(5)]
            wrong = [await token(partner, good.client.client_id, "old secret") for _ in range(3)]

    assert [answer.status_code for answer in answers] == [200] * 5
    assert [answer.status_code for answer in wrong] == [401, 401, 429]


async def test_too_many_token_requests_from_one_address_get_429(
    parts: tuple[SqlGraphStore, Ledger], monkeypatch: pytest.MonkeyPatch
) -> None:
    store, ledger = parts
    app = create_app(Settings(limit_token_per_address=2), store=store, ledger=ledger)
    hashes = HashCalls(monkeypatch)
    async with running(app) as client_from:
        good = await app.state.auth.add_client("northwind", [Scope.GRAPH_READ])
        async with client_from(PARTNER) as partner, client_from(ATTACKER) as other:
            answers = [await token(partner, good.client.client_id, good.secret) for _ in range(3)]
            elsewhere = await token(other, good.client.client_id, good.secret)

    assert [answer.status_code for answer in answers] == [200, 200, 429]
    assert int(answers[2].headers["retry-after"]) <= 60
    assert hashes.count == 3, "two tokens and the one from another address"
    assert elsewhere.status_code == 200


async def test_limits_can_be_turned_off(
    parts: tuple[SqlGraphStore, Ledger], monkeypatch: pytest.MonkeyPatch
) -> None:
    store, ledger = parts
    settings = Settings(limit_token_failures=0, limit_token_per_address=0, metrics_public=True)
    app = create_app(settings, store=store, ledger=ledger)
    async with running(app) as client_from:
        target = await app.state.auth.add_client("birch", [Scope.GRAPH_READ])
        async with client_from(ATTACKER) as attacker:
            statuses = {(await token(attacker, target.client.client_id, "x")).status_code}
            for _ in range(24):
                statuses.add((await token(attacker, target.client.client_id, "x")).status_code)
        exposition = await metrics(app)

    assert statuses == {401}
    assert 'limit="token_failures_address"' not in exposition


async def graphql(http: httpx.AsyncClient, headers: dict[str, str]) -> httpx.Response:
    return await http.post("/graphql", json={"query": BATCHES}, headers=headers)


async def test_a_client_that_spends_its_graphql_budget_gets_429_and_others_do_not(
    parts: tuple[SqlGraphStore, Ledger], tokens: TokenSource
) -> None:
    store, ledger = parts
    settings = Settings(limit_graphql_cost=25, limit_graphql_operator_cost=1000)
    app = create_app(settings, store=store, ledger=ledger, auth=tokens.service)
    cost = operation_cost(build_schema()._schema, parse(BATCHES), model=CostModel())
    assert cost == 12, "1 for batches, 1 for nodes and 10 numbers"
    spender = await tokens.bearer("birch", ["graph:read"])
    other = await tokens.bearer("alder", ["graph:read"])
    operator = await tokens.bearer()
    async with running(app) as client_from, client_from(PARTNER) as http:
        first, second, third = [await graphql(http, spender) for _ in range(3)]
        others = await graphql(http, other)
        operators = await graphql(http, operator)
        exposition = await metrics(app, tokens)

    assert (first.status_code, second.status_code) == (200, 200)
    assert first.json()["data"] == {"batches": {"nodes": []}}
    assert third.status_code == 429
    assert 0 < int(third.headers["retry-after"]) <= 60
    body = third.json()
    assert body["data"] is None, "refused before execution"
    error = body["errors"][0]
    assert error["extensions"]["code"] == "COST_BUDGET_SPENT"
    assert error["extensions"]["cost"] == cost
    assert error["extensions"]["budget"] == 25 and error["extensions"]["windowSeconds"] == 60
    assert error["extensions"]["remaining"] == 1
    assert error["extensions"]["retryAfter"] == int(third.headers["retry-after"])
    assert "refillsAt" in error["extensions"]
    assert "query cost 12" in error["message"] and "HUB_LIMIT_GRAPHQL_COST" in error["message"]
    assert others.status_code == 200 and "errors" not in others.json()
    assert operators.status_code == 200 and "errors" not in operators.json()
    assert refusals(exposition, "graphql_cost") == 1
    assert refusals(exposition, "graphql_operator_cost") == 0


async def push(http: httpx.AsyncClient, headers: dict[str, str], number: str) -> httpx.Response:
    body = f'{{"node": "Batch", "maker": "birch", "number": "{number}"}}\n'.encode()
    return await http.post("/ingest/canonical.jsonl", content=body, headers=headers)


async def stored_pushes(ledger: Ledger, org: str) -> int:
    async with ledger.engine.connect() as connection:
        query = select(func.count()).select_from(ingestions).where(ingestions.c.org == org)
        return int((await connection.execute(query)).scalar_one())


async def test_an_organization_over_its_push_quota_gets_429_and_nothing_of_it_is_stored(
    parts: tuple[SqlGraphStore, Ledger], tokens: TokenSource
) -> None:
    store, ledger = parts
    settings = Settings(limit_ingest_pushes=2, ingest_workers=0)
    app = create_app(settings, store=store, ledger=ledger, auth=tokens.service)
    birch = await tokens.bearer("birch", ["ingest:write"])
    alder = await tokens.bearer("alder", ["ingest:write"])
    async with running(app) as client_from, client_from(PARTNER) as http:
        answers = [await push(http, birch, f"Q-{n}") for n in range(3)]
        other_org = await push(http, alder, "A-1")
        exposition = await metrics(app, tokens)

    assert [answer.status_code for answer in answers] == [202, 202, 429]
    refused = answers[2]
    assert refused.json()["quota"] == "ingest_pushes" and refused.json()["org"] == "birch"
    assert "HUB_LIMIT_INGEST_PUSHES" in refused.json()["detail"]
    assert 0 < int(refused.headers["retry-after"]) <= 3600
    assert await stored_pushes(ledger, "birch") == 2, "only the accepted pushes"
    assert other_org.status_code == 202
    assert refusals(exposition, "ingest_pushes") == 1


async def test_an_organization_over_its_byte_quota_gets_429_naming_the_quota(
    parts: tuple[SqlGraphStore, Ledger], tokens: TokenSource
) -> None:
    store, ledger = parts
    settings = Settings(limit_ingest_bytes=100, ingest_workers=0)
    app = create_app(settings, store=store, ledger=ledger, auth=tokens.service)
    birch = await tokens.bearer("birch", ["ingest:write"])
    async with running(app) as client_from, client_from(PARTNER) as http:
        first = await push(http, birch, "B-1")  # 53 bytes
        second = await push(http, birch, "B-2")
        too_big = await http.post("/ingest/canonical.jsonl", content=b" " * 101, headers=birch)

    assert first.status_code == 202
    assert second.status_code == 429
    assert second.json()["quota"] == "ingest_bytes"
    assert second.json()["remaining"] == 100 - first.json()["size"]
    assert too_big.status_code == 429
    assert "more than 'birch' may push in a whole window" in too_big.json()["detail"]
    assert await stored_pushes(ledger, "birch") == 1
