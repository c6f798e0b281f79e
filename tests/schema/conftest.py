"""The API over each real store: an in-process HTTP client on the ASGI app."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from graph.store import GraphStore
from hub.app import create_app
from hub.settings import Settings
from tests.tokens import TokenSource


@dataclass
class GraphQLClient:
    http: httpx.AsyncClient

    async def post(self, query: str, **variables: Any) -> httpx.Response:
        return await self.http.post("/graphql", json={"query": query, "variables": variables})

    async def answer(self, query: str, **variables: Any) -> dict[str, Any]:
        """The whole JSON answer (data and errors), after checking it is not a 5xx."""
        response = await self.post(query, **variables)
        assert response.status_code < 500, response.text
        body: dict[str, Any] = response.json()
        return body

    async def data(self, query: str, **variables: Any) -> dict[str, Any]:
        """The data of an answer that must have no errors."""
        body = await self.answer(query, **variables)
        assert "errors" not in body, body["errors"]
        data: dict[str, Any] = body["data"]
        return data


def error_codes(body: dict[str, Any]) -> list[str | None]:
    return [error.get("extensions", {}).get("code") for error in body.get("errors", [])]


async def client_for(
    store: GraphStore, tokens: TokenSource, settings: Settings | None = None
) -> AsyncIterator[GraphQLClient]:
    """A client of the API over ``store``, with the operator's token."""
    app = create_app(settings, store=store, auth=tokens.service)
    transport = httpx.ASGITransport(app=app)
    headers = await tokens.bearer()
    async with httpx.AsyncClient(
        transport=transport, base_url="http://hub.test", headers=headers
    ) as http:
        yield GraphQLClient(http)


@pytest.fixture
async def api(demo_store: GraphStore, tokens: TokenSource) -> AsyncIterator[GraphQLClient]:
    """A client of the API serving the demo story, on each store in turn."""
    async for client in client_for(demo_store, tokens):
        yield client
