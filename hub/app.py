"""The Starlette application: GraphQL, health, readiness and metrics.

``create_app`` assembles it from settings. The store is opened by the lifespan (or
given, for tests and the demo), and every GraphQL request gets its own context: the
store, the principal, fresh loaders, the limits and the request id.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL

from auth.principal import LOCAL_OPERATOR, Principal
from graph.store import GraphStore, StoreUnavailable
from hub.observability import (
    HttpMetrics,
    MetricsMiddleware,
    RequestIdMiddleware,
    request_id_of,
)
from hub.settings import Settings
from hub.stores import open_graph_store
from schema.build import build_schema
from schema.context import Limits, RequestContext

log = logging.getLogger("partnerhub.app")
ROUTES = ("/graphql", "/healthz", "/readyz", "/metrics")


def principal_of(request: Request | WebSocket) -> Principal:
    """Who is asking. Until OAuth lands every request is the local operator, which is
    why the hub binds to loopback by default."""
    return LOCAL_OPERATOR


class GraphQLApp(GraphQL[RequestContext, None]):
    def __init__(self, limits: Limits) -> None:
        super().__init__(build_schema(limits), graphql_ide="graphiql")
        self.limits = limits

    async def get_context(
        self, request: Request | WebSocket, response: Response | WebSocket
    ) -> RequestContext:
        return RequestContext(
            store=request.app.state.store,
            principal=principal_of(request),
            request_id=request_id_of(request.scope),
            limits=self.limits,
            request=request,
            response=response,
        )


def create_app(settings: Settings | None = None, *, store: GraphStore | None = None) -> Starlette:
    """The hub's ASGI app. With ``store`` given, the app uses it and leaves closing it to
    the caller; otherwise it opens ``settings.store`` on start-up and closes it on exit."""
    settings = settings or Settings()
    registry = CollectorRegistry()
    metrics = HttpMetrics(registry, ROUTES)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        if store is not None:
            yield
            return
        opened = open_graph_store(settings)
        app.state.store = opened
        try:
            yield
        finally:
            await opened.close()

    async def healthz(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def readyz(request: Request) -> Response:
        try:
            await request.app.state.store.ping()
        except StoreUnavailable as error:
            log.warning("not ready: %s", error)
            return JSONResponse({"status": "unavailable", "store": "unreachable"}, 503)
        return JSONResponse({"status": "ready"})

    async def metrics_endpoint(request: Request) -> Response:
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    graphql: Any = GraphQLApp(settings.limits())
    app = Starlette(
        routes=[
            Route("/graphql", graphql, methods=["GET", "POST"]),
            Route("/healthz", healthz),
            Route("/readyz", readyz),
            Route("/metrics", metrics_endpoint),
        ],
        lifespan=lifespan,
    )
    if store is not None:
        app.state.store = store
    app.add_middleware(MetricsMiddleware, metrics=metrics)
    app.add_middleware(RequestIdMiddleware)
    return app
