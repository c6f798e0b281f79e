"""The hub app in-process, with its lifespan running (so its ingest workers run too)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from starlette.applications import Starlette


@asynccontextmanager
async def hub_client(
    app: Starlette, headers: dict[str, str] | None = None
) -> AsyncIterator[httpx.AsyncClient]:
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app),
            base_url="http://hub.test",
            headers=headers or {},
        ) as http,
    ):
        yield http
