"""The limits on work a request may cause: query cost, execution time, body size, and a
shutdown that does not wait for slow requests.

The cost and body limits refuse before the store is touched, so these tests run on the
embedded store only; the timeout uses a store whose reads are slow on purpose.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from deploy.neo4j.launcher import free_port
from graph.sql.store import SqlGraphStore
from graph.store import GraphStore
from hub.app import create_app
from hub.cli import uvicorn_options
from hub.demo.story import FINISHED_LOT_ID, demo_records
from hub.settings import Settings
from schema.build import build_schema
from schema.cost import operation_cost
from tests.schema.conftest import GraphQLClient, error_codes
from tests.schema.test_protection import CountingStore
from tests.served import fetch_token, register_client
from tests.tokens import TokenSource

# Depth 7, no alias, 40 tokens: within every document limit. Each lot's inputs, and
# theirs, with their makers: 500 x 50 x 50 lots as far as anyone can tell beforehand.
NESTED = """query ($n: Int!) { batches(first: $n) { edges { node { number
  inputs { number inputs { number vendor { name } } } } } } }"""
NESTED_500 = NESTED.replace("query ($n: Int!) ", "").replace("$n", "500")
COST_MESSAGE = "exceeds the limit 200,000 (HUB_GRAPHQL_MAX_COST); ask for smaller pages"

HIDDEN_IN_FRAGMENTS = """{ batches(first: 500) { ...Page } }
fragment Page on BatchConnection { edges { node { ...Lot } } }
fragment Lot on Batch { number inputs { ...Input } }
fragment Input on Batch { number inputs { number vendor { name } } }"""
HIDDEN_IN_INLINE_FRAGMENTS = f"""{{ node(id: "{FINISHED_LOT_ID}") {{ id
  ... on Batch {{ inputs {{ ... on Batch {{ inputs {{ inputs {{ inputs {{ number }} }} }} }} }} }} }} }}"""


@pytest.fixture
async def demo_sqlite(tmp_path: Path) -> AsyncIterator[GraphStore]:
    store = SqlGraphStore(f"sqlite+aiosqlite:///{tmp_path / 'graph.sqlite'}")
    await store.setup()
    await store.upsert(demo_records())
    try:
        yield store
    finally:
        await store.close()


async def client_of(
    store: GraphStore, tokens: TokenSource, **settings: Any
) -> AsyncIterator[GraphQLClient]:
    app = create_app(Settings(**settings), store=store, auth=tokens.service)
    transport = httpx.ASGITransport(app=app)
    headers = await tokens.bearer()
    async with httpx.AsyncClient(
        transport=transport, base_url="http://hub.test", headers=headers
    ) as http:
        yield GraphQLClient(http)


@pytest.fixture
async def counted(
    demo_sqlite: GraphStore, tokens: TokenSource
) -> AsyncIterator[tuple[GraphQLClient, CountingStore]]:
    counting = CountingStore(demo_sqlite)
    async for client in client_of(counting, tokens):  # type: ignore[arg-type]
        yield client, counting


def assert_too_costly(body: dict[str, Any]) -> None:
    assert body.get("data") is None
    assert error_codes(body) == ["QUERY_TOO_COSTLY"]
    message = body["errors"][0]["message"]
    assert message.startswith("query cost "), message
    assert COST_MESSAGE in message
    assert "fewer nested lists" in message
    assert body["errors"][0]["extensions"]["maxCost"] == 200_000
    assert body["errors"][0]["extensions"]["cost"] > 200_000


# ---------------------------------------------------------------- cost


async def test_a_nested_listing_is_refused_for_its_cost_before_the_store_is_read(
    counted: tuple[GraphQLClient, CountingStore],
) -> None:
    api, store = counted

    body = await api.answer(NESTED_500)

    assert_too_costly(body)
    assert body["errors"][0]["extensions"]["cost"] == 3_801_502
    assert store.calls == 0, "no resolver ran: the store was never asked"


async def test_the_same_query_with_small_pages_is_answered(
    counted: tuple[GraphQLClient, CountingStore],
) -> None:
    api, store = counted

    data = await api.data(NESTED_500.replace("500", "10"))

    assert 0 < len(data["batches"]["edges"]) <= 10
    assert any(edge["node"]["inputs"] for edge in data["batches"]["edges"])
    assert store.calls > 0


async def test_the_page_size_is_read_from_the_variables(
    counted: tuple[GraphQLClient, CountingStore],
) -> None:
    api, store = counted

    small = await api.data(NESTED, n=10)
    calls_for_small = store.calls
    large = await api.answer(NESTED, n=500)
    again = await api.data(NESTED, n=10)  # the same document: no verdict is cached

    assert small == again and small["batches"]["edges"]
    assert_too_costly(large)
    assert store.calls == 2 * calls_for_small, "the costly request read nothing"


@pytest.mark.parametrize(
    "query", [HIDDEN_IN_FRAGMENTS, HIDDEN_IN_INLINE_FRAGMENTS], ids=["fragments", "inline"]
)
async def test_fragments_are_expanded_before_pricing(
    counted: tuple[GraphQLClient, CountingStore], query: str
) -> None:
    api, store = counted

    body = await api.answer(query)

    assert_too_costly(body)
    assert store.calls == 0


async def test_federation_entities_count_one_item_per_representation(
    counted: tuple[GraphQLClient, CountingStore],
) -> None:
    api, store = counted
    query = """query ($reps: [_Any!]!) { _entities(representations: $reps) {
                 ... on Batch { number inputs { number inputs { number } } } } }"""
    one = [{"__typename": "Batch", "id": FINISHED_LOT_ID}]

    answered = await api.data(query, reps=one)
    calls = store.calls
    refused = await api.answer(query, reps=one * 200)

    assert answered["_entities"][0]["number"] == "P25-1214"
    assert_too_costly(refused)
    assert store.calls == calls


def test_cost_model_figures() -> None:
    """The figures the module docstring states, so that they stay true."""
    schema = build_schema()._schema

    def cost(query: str, **variables: Any) -> int | None:
        from graphql import parse

        return operation_cost(schema, parse(query), None, variables)

    heaviest_in_the_suite = """query ($first: Int!) { batches(first: $first) { nodes {
        number vendor { name } product { name } results { value verdict }
        inputs { number vendor { name } } } } }"""
    assert cost(heaviest_in_the_suite, first=500) == 128_502
    assert cost("{ batches { nodes { id } } }") == 52  # the default page: 50
    assert cost("{ batches(first: 100000) { nodes { id } } }") == 502  # counted as 500
    lineage = '{ lineage(batchId: "batch:a/b", maxDepth: %d) { nodes { id } } }'
    assert cost(lineage % 10) == 2 + 275
    assert cost(lineage % 20) == 2 + 525
    assert cost(lineage % 99) == 2 + 525, "beyond the limit counts as the limit"
    assert cost("{ __schema { types { fields { name } } } }") == 1
    assert (
        cost('{ batch(id: "batch:a/b") { gaps: complianceGaps { reason } } }') == 13
    )  # 11 reasons
    assert (
        cost('{ batch(id: "batch:a/b") { id @skip(if: true) inputs @include(if: false) { id } } }')
        == 1
    )


# ---------------------------------------------------------------- time


class SlowLineageStore:
    """A store whose lineage takes far longer than the limit; notes being cancelled."""

    def __init__(self, inner: GraphStore) -> None:
        self.inner = inner
        self.cancelled = False

    async def lineage(self, *args: Any, **kwargs: Any) -> Any:
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            self.cancelled = True
            raise
        return await self.inner.lineage(*args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


async def test_a_query_running_past_the_time_limit_is_stopped(
    demo_sqlite: GraphStore, tokens: TokenSource
) -> None:
    slow = SlowLineageStore(demo_sqlite)
    async for api in client_of(slow, tokens, graphql_timeout_seconds=0.2):  # type: ignore[arg-type]
        started = time.monotonic()
        body = await api.answer(f'{{ lineage(batchId: "{FINISHED_LOT_ID}") {{ root }} }}')
        elapsed = time.monotonic() - started
        after = await api.data(f'{{ batch(id: "{FINISHED_LOT_ID}") {{ number }} }}')

        assert body.get("data") is None
        assert error_codes(body) == ["QUERY_TIMED_OUT"]
        assert body["errors"][0]["message"].startswith(
            "query took longer than 0.2 s and was stopped"
        )
        assert elapsed < 5
        assert slow.cancelled, "the store read was cancelled, not left running"
        assert after == {"batch": {"number": "P25-1214"}}, "the next request is answered"


# ---------------------------------------------------------------- body size


async def test_a_body_over_the_limit_is_refused_with_413_by_its_length(
    demo_sqlite: GraphStore, tokens: TokenSource
) -> None:
    async for api in client_of(demo_sqlite, tokens):
        padding = " " * (2**20)  # valid JSON, one byte short of nothing: over 1 MiB
        response = await api.http.post(
            "/graphql",
            content=b'{"query": "{ __typename }"}' + padding.encode(),
            headers={"content-type": "application/json"},
        )
        after = await api.data("{ __typename }")

        assert response.status_code == 413
        assert response.json()["errors"][0]["extensions"]["code"] == "PAYLOAD_TOO_LARGE"
        assert "HUB_GRAPHQL_MAX_BODY_BYTES" in response.json()["errors"][0]["message"]
        assert after == {"__typename": "Query"}


async def test_a_streamed_body_is_refused_once_it_passes_the_limit(
    demo_sqlite: GraphStore, tokens: TokenSource
) -> None:
    chunk = b" " * 2**12
    sent = 0

    async def endless() -> AsyncIterator[bytes]:
        nonlocal sent
        yield b'{"query": "{ __typename }"}'
        for _ in range(1000):  # 4 MB if all of it were read
            sent += 1
            yield chunk

    async for api in client_of(demo_sqlite, tokens, graphql_max_body_bytes=64 * 2**10):
        response = await api.http.post(
            "/graphql", content=endless(), headers={"content-type": "application/json"}
        )
        within = b'{"query": "{ __typename }"}' + b" " * (60 * 2**10)
        answered = await api.http.post(
            "/graphql", content=within, headers={"content-type": "application/json"}
        )

        assert "content-length" not in response.request.headers  # chunked
        assert response.status_code == 413
        assert sent <= 17, f"reading stopped at the limit, not after {sent} chunks"
        assert answered.status_code == 200 and answered.json() == {"data": {"__typename": "Query"}}


async def test_graphiql_and_queries_by_get_still_work(
    demo_sqlite: GraphStore, tokens: TokenSource
) -> None:
    async for api in client_of(demo_sqlite, tokens):
        page = await api.http.get("/graphql", headers={"accept": "text/html"})
        by_get = await api.http.get("/graphql", params={"query": "{ __typename }"})

        assert page.status_code == 200 and "graphiql" in page.text.lower()
        assert by_get.json() == {"data": {"__typename": "Query"}}


# ---------------------------------------------------------------- shutdown


def test_serve_gives_uvicorn_a_graceful_shutdown_timeout(tmp_path: Path) -> None:
    settings = Settings(
        store=f"sqlite:///{tmp_path}/graph.sqlite",
        database=f"sqlite:///{tmp_path}/ledger.sqlite",
        shutdown_seconds=7,
        graphql_max_body_bytes=4096,
    )

    options = uvicorn_options(settings)

    assert options["timeout_graceful_shutdown"] == 7
    assert options["ws_max_size"] == 4096
    assert Settings(database=settings.database).shutdown_seconds == 10


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[bytes], dict[str, str], Path]]:
    """``partnerhub serve`` on a free port with 2 s of graceful shutdown, its log file."""
    port = free_port()
    env = {
        **os.environ,
        "HUB_STORE": f"sqlite:///{tmp_path}/graph.sqlite",
        "HUB_DATABASE": f"sqlite:///{tmp_path}/ledger.sqlite",
        "HUB_PORT": str(port),
        "HUB_LOG_LEVEL": "INFO",
        "HUB_SHUTDOWN_SECONDS": "2",
    }
    client_id, secret = register_client(env, "operator", "admin,graph:read")
    log = tmp_path / "serve.log"
    with log.open("wb") as out:
        child = subprocess.Popen(
            [sys.executable, "-m", "hub.cli", "serve"], env=env, stdout=out, stderr=out
        )
    base = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert child.poll() is None, log.read_text()[-3000:]
            try:
                with urllib.request.urlopen(base + "healthz", timeout=2):
                    break
            except OSError:
                assert time.monotonic() < deadline, log.read_text()[-3000:]
                time.sleep(0.2)
        token = fetch_token(base, client_id, secret)
        yield child, {"port": str(port), "authorization": f"Bearer {token}"}, log
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()


def test_sigterm_ends_the_server_within_seconds_with_a_request_in_flight(
    served: tuple[subprocess.Popen[bytes], dict[str, str], Path],
) -> None:
    child, hub, log = served
    port = int(hub["port"])
    with socket.create_connection(("127.0.0.1", port)) as slow:
        # A request whose body never finishes arriving: the app waits for it for ever.
        slow.sendall(
            b"POST /graphql HTTP/1.1\r\nhost: 127.0.0.1\r\n"
            + f"authorization: {hub['authorization']}\r\n".encode()
            + b"content-type: application/json\r\ncontent-length: 1000\r\n\r\n"
            + b'{"query": "{ __typename '
        )
        time.sleep(0.5)
        oversized = httpx.post(
            f"http://127.0.0.1:{port}/graphql",
            content=b'{"query": "{ __typename }"}' + b" " * 2**20,
            headers={"authorization": hub["authorization"], "content-type": "application/json"},
        )
        answered = httpx.post(
            f"http://127.0.0.1:{port}/graphql",
            json={"query": "{ __typename }"},
            headers={"authorization": hub["authorization"]},
        )
        started = time.monotonic()
        child.send_signal(signal.SIGTERM)
        code = child.wait(timeout=15)
        took = time.monotonic() - started

    assert oversized.status_code == 413
    assert answered.json() == {"data": {"__typename": "Query"}}, "413 harms no other request"
    assert code == -signal.SIGTERM, "uvicorn ends by the signal once shut down, as it should"
    assert took < 15
    assert "timeout graceful shutdown exceeded" in log.read_text(), "the request was in flight"


async def test_a_document_is_validated_once_however_often_it_is_sent() -> None:
    """The validation cache keys on the validation rules: the limiters' rules must be
    the same objects from one request to the next for it ever to hit."""
    from strawberry.extensions.validation_cache import _get_validate_cache

    from schema.build import PARSED_DOCUMENTS, build_schema

    schema = build_schema()
    cache = _get_validate_cache(PARSED_DOCUMENTS)
    document = "{ __typename a: __typename }"
    before = cache.cache_info()
    for _ in range(3):
        result = await schema.execute(document)
        assert result.errors is None, result.errors
    after = cache.cache_info()

    assert after.misses - before.misses == 1
    assert after.hits - before.hits == 2
    # and the limits still hold
    too_many_aliases = await schema.execute("{ " + "a: __typename " * 100 + "}")
    assert too_many_aliases.errors, "the alias limit still refuses"
