"""Plain queries whose document has a plan are answered from it, before strawberry's view.

(``hub.web.plain_queries``, ``schema.compiled.direct``.) The answer is the view's, to
the byte of JSON that matters: data, errors, status and headers. What is not a plain
query still goes through the view; a failed answer from a plan leaves the request to
the view without charging the asker's budget twice; a refused budget is answered with
the view's 429 and counted once.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from graphql import parse

from graph.store import GraphStore
from hub.app import create_app
from hub.demo.story import FINISHED_LOT_ID
from hub.settings import Settings
from schema.build import build_schema
from schema.cost import CostModel, operation_cost
from tests.tokens import TokenSource

LOT = "query ($id: ID!) { batch(id: $id) { id number vendor { name } } }"


class Executions:
    """Counts the operations strawberry's schema executes for one app."""

    def __init__(self, app: Any) -> None:
        self.count = 0
        view = next(route.endpoint for route in app.routes if route.path == "/graphql")
        schema = view.schema
        execute = schema.execute

        async def counted(*args: Any, **kwargs: Any) -> Any:
            self.count += 1
            return await execute(*args, **kwargs)

        schema.execute = counted


@pytest.fixture
async def served(
    demo_store: GraphStore, tokens: TokenSource
) -> AsyncIterator[tuple[httpx.AsyncClient, Executions]]:
    app = create_app(Settings(), store=demo_store, auth=tokens.service)
    headers = await tokens.bearer("northwind", ["graph:read"])
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t", headers=headers) as http:
        yield http, Executions(app)


async def test_a_document_asked_again_is_answered_from_its_plan_without_the_view(
    served: tuple[httpx.AsyncClient, Executions],
) -> None:
    http, executions = served
    body = {"query": LOT, "variables": {"id": FINISHED_LOT_ID}}
    first, second, third = [await http.post("/graphql", json=body) for _ in range(3)]
    assert executions.count == 1, "only the first went through the view (and made the plan)"
    assert first.json()["data"]["batch"]["vendor"]["name"], first.json()
    assert first.json() == second.json() == third.json()
    for answer in (first, second, third):
        assert answer.status_code == 200
        assert answer.headers["content-type"] == "application/json"
    # The request id and security headers are the outer layers', on every answer.
    assert second.headers["x-request-id"] != third.headers["x-request-id"]
    assert second.headers.get("x-content-type-options") == first.headers.get(
        "x-content-type-options"
    )


async def test_requests_that_are_not_plain_queries_go_through_the_view(
    served: tuple[httpx.AsyncClient, Executions], tokens: TokenSource
) -> None:
    http, executions = served
    body = {"query": LOT, "variables": {"id": FINISHED_LOT_ID}}
    expected = (await http.post("/graphql", json=body)).json()  # the plan is made
    assert executions.count == 1
    variables = '{"id": "' + FINISHED_LOT_ID + '"}'
    by_get = await http.get("/graphql", params={"query": LOT, "variables": variables})
    with_extensions = await http.post("/graphql", json=body | {"extensions": {}})
    batch = await http.post("/graphql", json=[body])
    assert by_get.json() == with_extensions.json() == expected
    assert batch.status_code == 400 and "batch" in batch.text.lower(), "the view refuses batches"
    assert executions.count == 3
    no_scope = await tokens.bearer("northwind", ["ingest:write"])
    refused = await http.post("/graphql", json=body, headers=no_scope)
    assert refused.status_code == 403, "refused by the view, as before"
    assert executions.count == 3
    not_json = await http.post(
        "/graphql", content=b"{", headers={"content-type": "application/json"}
    )
    assert not_json.status_code == 400, "the view's answer to a body that does not parse"


async def test_an_answer_from_a_plan_that_fails_is_charged_once(
    demo_store: GraphStore, tokens: TokenSource
) -> None:
    """A malformed id sent to a known plan: the plan's run stops, graphql-core answers
    with its located error, and the budget pays the query's cost once."""
    cost = operation_cost(build_schema()._schema, parse(LOT), None, {"id": "x"}, CostModel())
    assert cost == 5
    app = create_app(Settings(limit_graphql_cost=3 * cost), store=demo_store, auth=tokens.service)
    headers = await tokens.bearer("northwind", ["graph:read"])
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t", headers=headers) as http:
        good = {"query": LOT, "variables": {"id": FINISHED_LOT_ID}}
        bad = {"query": LOT, "variables": {"id": "not an id"}}
        answers = [await http.post("/graphql", json=body) for body in (good, bad, good, good)]
    assert [answer.status_code for answer in answers] == [200, 200, 200, 429]
    error = answers[1].json()["errors"][0]
    assert error["extensions"]["code"] == "BAD_USER_INPUT" and error["path"] == ["batch"]
    assert answers[2].json() == answers[0].json()
    spent = answers[3].json()["errors"][0]["extensions"]
    assert spent["code"] == "COST_BUDGET_SPENT" and spent["remaining"] == 0
    assert int(answers[3].headers["retry-after"]) > 0
