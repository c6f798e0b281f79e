"""The Starlette application: GraphQL, health, readiness and metrics.

``create_app`` assembles it from settings. The store is opened by the lifespan (or
given, for tests and the demo), and every GraphQL request gets its own context: the
store, the principal, fresh loaders, the limits and the request id.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.schemas import SchemaGenerator
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL

from graph.store import GraphStore, StoreUnavailable
from hub.ingest import IngestPipeline
from hub.ingest_routes import ROUTES as INGEST_ROUTES
from hub.ledger import Ledger
from hub.observability import (
    HttpMetrics,
    MetricsMiddleware,
    RequestIdMiddleware,
    request_id_of,
)
from hub.principals import principal_of
from hub.settings import Settings
from hub.stores import open_graph_store
from schema.build import build_schema
from schema.context import Limits, RequestContext

log = logging.getLogger("partnerhub.app")
METRIC_ROUTES = ("/graphql", "/healthz", "/readyz", "/metrics", "/openapi.json")
OPENAPI = SchemaGenerator(
    {
        "openapi": "3.0.3",
        "info": {"title": "PartnerHub ingest API", "version": "1"},
        "paths": {},
    }
)


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


def create_app(
    settings: Settings | None = None,
    *,
    store: GraphStore | None = None,
    ledger: Ledger | None = None,
) -> Starlette:
    """The hub's ASGI app. A ``store`` or ``ledger`` given is used as it is and left for
    the caller to close; otherwise the app opens them from settings on start-up and
    closes them on exit."""
    settings = settings or Settings()
    registry = CollectorRegistry()
    metrics = HttpMetrics(registry, METRIC_ROUTES)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with AsyncExitStack() as opened:
            if store is None:
                app.state.store = open_graph_store(settings)
                opened.push_async_callback(app.state.store.close)
            if ledger is None:
                app.state.ledger = Ledger(settings.database_url())
                opened.push_async_callback(app.state.ledger.close)
                await app.state.ledger.setup()
            app.state.ingest = IngestPipeline(app.state.ledger, app.state.store)
            yield

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

    async def openapi(request: Request) -> Response:
        return JSONResponse(OPENAPI.get_schema(routes=request.app.routes))

    graphql: Any = GraphQLApp(settings.limits())
    app = Starlette(
        routes=[
            Route("/graphql", graphql, methods=["GET", "POST"]),
            Route("/healthz", healthz),
            Route("/readyz", readyz),
            Route("/metrics", metrics_endpoint),
            Route("/openapi.json", openapi, include_in_schema=False),
            *INGEST_ROUTES,
        ],
        lifespan=lifespan,
    )
    app.state.settings = settings
    if store is not None:
        app.state.store = store
    if ledger is not None:
        app.state.ledger = ledger
    if store is not None and ledger is not None:
        app.state.ingest = IngestPipeline(ledger, store)
    app.add_middleware(MetricsMiddleware, metrics=metrics)
    app.add_middleware(RequestIdMiddleware)
    return app
