"""A hub authorization server on a fresh SQL database (SQLite, then PostgreSQL), and an
HTTP client on the app."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from auth.principal import Scope
from auth.service import AuthService
from auth.store import IssuedClient
from hub.records.database import migrate
from tests.auth.support import MovableClock, build_app, http_client, hub_config


@pytest.fixture
def clock() -> MovableClock:
    return MovableClock()


@pytest.fixture
async def service(database_url: str, clock: MovableClock) -> AsyncIterator[AuthService]:
    opened = AuthService.from_url(database_url, hub_config(), clock=clock, migrate=migrate)
    await opened.setup()
    try:
        yield opened
    finally:
        await opened.close()


@pytest.fixture
async def http(service: AuthService) -> AsyncIterator[httpx.AsyncClient]:
    async with http_client(build_app(service)) as client:
        yield client


@pytest.fixture
async def birch(service: AuthService) -> IssuedClient:
    """Birch's client: reads the graph and pushes exports."""
    return await service.store.add_client(
        "birch", [Scope.GRAPH_READ, Scope.INGEST_WRITE], org_kind="CDMO", client_id="birch-mes"
    )


@pytest.fixture
async def reader(service: AuthService) -> IssuedClient:
    """A BI client for Northwind: read only."""
    return await service.store.add_client(
        "northwind", [Scope.GRAPH_READ], org_kind="SPONSOR", client_id="northwind-bi"
    )
