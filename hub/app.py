"""The Starlette application: GraphQL, health, readiness and metrics.

``create_app`` assembles it from settings. The store is opened by the lifespan (or
given, for tests and the demo), and every GraphQL request gets its own context: the
store, the principal, fresh loaders, the limits and the request id.

Subscriptions (real-time alerts, ``schema.subscriptions``) are served over a websocket
at ``/graphql`` with the graphql-transport-ws protocol. The token comes in the
handshake's ``Authorization`` header (checked by the bearer middleware, which refuses
the handshake if it does not verify) or, for browsers that cannot set headers, in
``connection_init``'s payload as ``{"authorization": "Bearer ..."}``; ``on_ws_connect``
accepts the connection only with a verified token holding ``graph:read`` and closes it
with 4403 otherwise, and the protocol closes with 4401 a socket that subscribes before
that. A connection ends (4403) when its token expires.

Alerts also go to the webhooks and e-mail addresses organizations registered
(``hub.notify``): the bus detects for them as standing audiences, queues what it finds
in the database's outbox, and the lifespan runs the dispatcher that sends it. The last
compliance verdict per lot and audience is kept in the database too
(``hub.records.verdicts``), so a lot sent again rings no bell, across restarts. On
PostgreSQL, several hub processes share one system: alerts reach the subscribers of
every process through the alert log (``hub.cluster.relay``), and the sockets of a
client revoked on any process close within seconds (``hub.cluster.revoked_sockets``).

A ``/graphql`` request body over ``HUB_GRAPHQL_MAX_BODY_BYTES`` is refused with 413
before it is read whole (by its Content-Length, or as soon as a chunked body passes the
limit); the query's cost and its execution time are limited by the schema
(``schema.build``, ``schema.cost``), and each client's queries together by its cost
budget (``hub.limits``, 429 when spent).

With tracing on (``HUB_TRACING`` or ``OTEL_TRACES_EXPORTER``; ``hub.telemetry``) the app
gets OpenTelemetry's ASGI middleware outermost, the schema its per-operation span, and
the store a span per call; off, none of them is added.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from datetime import timedelta
from typing import Any

from opentelemetry.instrumentation.asgi import OpenTelemetryMiddleware
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Gauge, generate_latest
from starlette.applications import Starlette
from starlette.authentication import AuthCredentials, UnauthenticatedUser
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.schemas import SchemaGenerator
from starlette.types import Message, Receive, Send
from starlette.types import Scope as AsgiScope
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.http import GraphQLHTTPResponse
from strawberry.http.ides import get_graphql_ide_html
from strawberry.types import ExecutionResult
from strawberry.types.unset import UnsetType

from auth.middleware import (
    AUTH_EXCEPTION_HANDLERS,
    PUBLIC_PATHS,
    BearerAuthMiddleware,
    require_scope,
)
from auth.principal import Principal, Scope
from auth.routes import auth_routes
from auth.service import AuthService
from auth.store import AuthStore
from auth.verify import InvalidToken
from graph.store import GraphStore, StoreUnavailable
from hub.cluster.relay import PostgresAlertRelay
from hub.cluster.revoked_sockets import OpenSockets, close_revoked
from hub.console.routes import ROUTES as CONSOLE_ROUTES
from hub.console.routes import is_console_path
from hub.exports import ROUTES as EXPORT_ROUTES
from hub.ide import ASSET_ROUTE, asset_endpoint, localised
from hub.ingest.pipeline import IngestPipeline, IngestReport
from hub.ingest.routes import ROUTES as INGEST_ROUTES
from hub.ingest.worker import Completions, IngestWorker, QueuePolicy
from hub.limits.graphql_budget import CostBudgets
from hub.limits.metrics import LimitRefusals
from hub.notify.dispatcher import Dispatcher
from hub.notify.standing import StandingTargets
from hub.observability import (
    Availability,
    GraphQLErrorMetrics,
    HttpMetrics,
    IngestMetrics,
    MetricsMiddleware,
    RequestIdMiddleware,
    request_id_of,
)
from hub.organizations import ROUTES as ORGANIZATION_ROUTES
from hub.records.audit import auth_changes, deliveries_trail
from hub.records.database import DATABASE_ERRORS, migrate
from hub.records.ledger import Ledger, Received
from hub.records.outbox import Outbox
from hub.records.verdicts import StoredVerdicts
from hub.sealing.at_rest import check_at_start
from hub.settings import Settings
from hub.sockets import close_on_expiry, forget_expiry, is_socket_without_header, socket_token
from hub.stores import open_graph_store
from hub.telemetry.store import traced_store
from hub.web.answer_json import encode_answer
from hub.web.cors import cors_options
from hub.web.headers import SecurityHeadersMiddleware
from hub.web.page_policy import policy_for_page
from hub.web.plain_queries import PAID_COST, plain_query
from schema.alert_bus import AlertBus
from schema.budget import already_paid
from schema.build import build_schema
from schema.compiled.direct import Declined
from schema.context import Limits, RequestContext
from schema.subscriptions import NOT_YET_AUTHENTICATED, SocketContext

log = logging.getLogger("partnerhub.app")
GRAPHQL_TRANSPORT_WS = "graphql-transport-ws"
SOCKET_INIT_TIMEOUT = timedelta(seconds=10)
MAX_SUBSCRIPTIONS_PER_SOCKET = 10
PAYLOAD_TOO_LARGE = "PAYLOAD_TOO_LARGE"
METRIC_ROUTES = ("/graphql", "/healthz", "/readyz", "/metrics", "/openapi.json")
UNTRACED_PATHS = "/healthz,/readyz,/metrics"  # probes and scrapes, every few seconds
OPENAPI = SchemaGenerator(
    {
        "openapi": "3.0.3",
        "info": {"title": "PartnerHub ingest API", "version": "1"},
        "paths": {},
    }
)


class BearerAuthExceptPages(BearerAuthMiddleware):
    """GraphiQL's page and the console's are served without a token: they hold no
    data, and every query they then send carries the person's token."""

    async def __call__(self, scope: AsgiScope, receive: Receive, send: Send) -> None:
        if (
            _is_ide_page(scope)
            or _is_ide_asset(scope)
            or _is_console_page(scope)
            or is_socket_without_header(scope)
        ):
            scope["user"], scope["auth"] = UnauthenticatedUser(), AuthCredentials()
            await self.app(scope, receive, send)
            return
        await super().__call__(scope, receive, send)


def _is_ide_asset(scope: AsgiScope) -> bool:
    if scope["type"] != "http":  # lifespan and websocket scopes come through here too
        return False
    path: str = scope["path"]
    return path.startswith(ASSET_ROUTE + "/")


def _is_console_page(scope: AsgiScope) -> bool:
    return scope["type"] == "http" and is_console_path(scope["path"])


def _is_ide_page(scope: AsgiScope) -> bool:
    if scope["type"] != "http" or scope["method"] != "GET" or scope["path"] != "/graphql":
        return False
    asked = scope.get("query_string", b"")
    if b"query=" in asked or b"extensions=" in asked:  # a query, maybe by its hash alone
        return False  # a query sent by GET is a query, whatever it accepts
    return b"text/html" in dict(scope.get("headers", [])).get(b"accept", b"")


async def _body_within(scope: AsgiScope, receive: Receive, send: Send, limit: int) -> bytes | None:
    """Read a request's body, at most ``limit`` bytes; or answer 413 and give None. A
    declared Content-Length over the limit is refused before reading anything, a chunked
    body as soon as it passes the limit, so no more than ``limit`` bytes are ever held. The connection is closed after a 413:
    the rest of the body is not read."""
    declared = dict(scope.get("headers", [])).get(b"content-length", b"")
    too_large = declared.isdigit() and int(declared) > limit
    chunks: list[bytes] = []
    size = 0
    more = not too_large
    while more:
        message = await receive()
        if message["type"] != "http.request":  # the client went away: nothing to answer
            return None
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            too_large = True
            break
        chunks.append(chunk)
        more = message.get("more_body", False)
    if too_large:
        response = JSONResponse(
            {
                "errors": [
                    {
                        "message": f"request body over {limit:,} bytes "
                        "(HUB_GRAPHQL_MAX_BODY_BYTES): send a smaller query and variables",
                        "extensions": {"code": PAYLOAD_TOO_LARGE},
                    }
                ]
            },
            status_code=413,
            headers={"connection": "close"},
        )
        await response(scope, receive, send)
        return None
    return b"".join(chunks)


def _replay(body: bytes, receive: Receive) -> Receive:
    """A ``receive`` that hands on ``body``, already read, then what comes after it."""
    handed = False

    async def replay() -> Message:
        nonlocal handed
        if handed:
            return await receive()  # after the body: a disconnect, when it comes
        handed = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replay


class GraphQLApp(GraphQL[RequestContext, None]):
    def __init__(
        self,
        limits: Limits,
        max_body_bytes: int = 2**20,
        *,
        budgets: CostBudgets | None = None,
        traced: bool = False,
        compiled: bool = True,
        errors: GraphQLErrorMetrics | None = None,
    ) -> None:
        schema = build_schema(limits, traced=traced, compiled=compiled)
        super().__init__(
            schema,
            graphql_ide="graphiql",
            subscription_protocols=(GRAPHQL_TRANSPORT_WS,),
            # An unauthenticated socket is closed (4408) if it sends no connection_init.
            connection_init_wait_timeout=SOCKET_INIT_TIMEOUT,
            max_subscriptions_per_connection=MAX_SUBSCRIPTIONS_PER_SOCKET,
        )
        self.limits = limits
        self.direct = schema.direct  # plain queries answered from their plans
        self.max_body_bytes = max_body_bytes
        self.budgets = budgets
        self.errors = errors
        self.ide = localised(get_graphql_ide_html(graphql_ide="graphiql"))
        # Its inline script and style are allowed by their hashes, nothing else inline.
        self.ide_policy = policy_for_page(self.ide.html)

    def encode_json(self, data: object) -> str:
        return encode_answer(data)

    async def render_graphql_ide(self, request: Request) -> Response:
        return HTMLResponse(
            self.graphql_ide_html, headers={"Content-Security-Policy": self.ide_policy}
        )

    async def process_result(self, request: Any, result: ExecutionResult) -> GraphQLHTTPResponse:
        if result.errors and self.errors is not None:
            self.errors.count((error.extensions or {}).get("code") for error in result.errors)
        return await super().process_result(request, result)

    def should_render_graphql_ide(self, request: Any) -> bool:
        # A GET carrying a persisted query's hash and no document is a query (APQ:
        # schema.persisted), not a person opening GraphiQL.
        asks = "extensions" in request.query_params
        return not asks and bool(super().should_render_graphql_ide(request))

    @property
    def graphql_ide_html(self) -> str:
        """GraphiQL's page with its scripts and styles served by this hub (``hub.ide``)."""
        return self.ide.html

    async def __call__(self, scope: AsgiScope, receive: Receive, send: Send) -> None:
        if _is_ide_page(scope):  # no context, no principal: the page holds no data
            response = await self.render_graphql_ide(Request(scope, receive))
            await response(scope, receive, send)
            return
        if scope["type"] == "http":
            body = await _body_within(scope, receive, send, self.max_body_bytes)
            if body is None:
                return
            if await self._answered_from_plan(scope, body, send):
                return
            receive = _replay(body, receive)
        if scope["type"] == "websocket":
            socket = WebSocket(scope, receive, send)
            context = await self.get_context(socket, socket)
            try:
                await self.run(socket, context=context)
            finally:
                if isinstance(context, SocketContext):
                    forget_expiry(context)
                    socket.app.state.open_sockets.closed(context.principal.client_id, socket)
            return
        await super().__call__(scope, receive, send)

    async def _answered_from_plan(self, scope: AsgiScope, body: bytes, send: Send) -> bool:
        """Answer a plain query whose document has a plan straight from it
        (``schema.compiled.direct``), or leave the request to strawberry's view."""
        if self.direct is None:
            return False
        asked = plain_query(scope, body)
        if asked is None:
            return False
        request = Request(scope)
        sub_response = await self.get_sub_response(request)  # a 429's status and headers
        context = await self.get_context(request, sub_response)
        outcome = await self.direct.answer(asked, context)
        if isinstance(outcome, Declined):
            if outcome.paid is not None:
                scope[PAID_COST] = outcome.paid
            return False
        result = ExecutionResult(data=outcome.data, errors=outcome.errors)
        if result.errors:
            self.schema.process_errors(result.errors)
        answer = await self.process_result(request, result)
        response = self.create_response(response_data=answer, sub_response=sub_response)
        await response(scope, _nothing_more, send)
        return True

    async def on_ws_connect(self, context: RequestContext) -> UnsetType | dict[str, object] | None:
        """Accept the connection only with a verified token holding graph:read."""
        assert isinstance(context, SocketContext)
        try:
            access = await socket_token(context)
        except InvalidToken as refused:
            log.info("refused a websocket: %s", refused.reason)
            raise ConnectionRejectionError from None
        if not access.principal.has(Scope.GRAPH_READ):
            log.info("refused a websocket: the token lacks graph:read")
            raise ConnectionRejectionError
        context.authenticate(access.principal, access.expires_at)
        close_on_expiry(context)
        socket = context.request
        assert isinstance(socket, WebSocket)
        socket.app.state.open_sockets.opened(access.client_id, socket)  # closed when revoked
        return UnsetType()  # connection_ack without a payload

    async def get_context(
        self, request: Request | WebSocket, response: Response | WebSocket
    ) -> RequestContext:
        if isinstance(request, WebSocket):
            return SocketContext(
                store=request.app.state.store,
                principal=NOT_YET_AUTHENTICATED,
                request_id=request_id_of(request.scope),
                limits=self.limits,
                request=request,
                response=response,
                alerts=request.app.state.alerts,
                directory=request.app.state.settings.directory,
            )
        # Each client's cost budget (hub.limits.graphql_budget), paid before execution,
        # except what an answer from a plan already paid for this request.
        spend_cost = self.budgets.for_user(request.user) if self.budgets else None
        if PAID_COST in request.scope:
            spend_cost = already_paid(spend_cost, request.scope[PAID_COST])
        return RequestContext(
            store=request.app.state.store,
            principal=_reader(request),
            request_id=request_id_of(request.scope),
            limits=self.limits,
            request=request,
            response=response,
            audit_trail=deliveries_trail(request.app.state.ledger.engine),
            spend_cost=spend_cost,
            directory=request.app.state.settings.directory,
        )


async def _nothing_more() -> Message:
    """``receive`` once the body is read: a plain answer never asks for more."""
    return {"type": "http.disconnect"}


def _reader(request: Request | WebSocket) -> Principal:
    # What the principal may see is applied inside the stores' queries (graph.visibility).
    return require_scope(request, Scope.GRAPH_READ)


async def _set_up_when_reachable(store: GraphStore, policy: QueuePolicy) -> None:
    """A fresh store answers reads once its tables, constraints and indexes exist: make
    them at start (idempotent), or, if the store is down, as soon as it is back. Start-up
    never waits for it; ``/readyz`` says whether the store answers."""
    attempts = 0
    while True:
        try:
            await store.setup()
            return
        except StoreUnavailable as error:
            attempts += 1
            log.warning("graph store not set up yet (%s); trying again", error)
            await asyncio.sleep(policy.retry_delay(attempts).total_seconds())


async def _answers(store: GraphStore) -> bool:
    """Whether the store answers a ping soon enough for a scrape (a few seconds)."""
    try:
        async with asyncio.timeout(3):
            await store.ping()
    except (StoreUnavailable, TimeoutError):
        return False
    return True


async def _stop(tasks: list[asyncio.Task[None]]) -> None:
    """Cancel the background tasks and wait for them, a bounded time: a shutdown never hangs."""
    pending = set(tasks)
    for _ in range(5):
        for task in pending:
            task.cancel()
        _, pending = await asyncio.wait(pending, timeout=2)
        if not pending:
            return
    log.error("background tasks did not stop: %s", ", ".join(t.get_name() for t in pending))


def create_app(
    settings: Settings | None = None,
    *,
    store: GraphStore | None = None,
    ledger: Ledger | None = None,
    auth: AuthService | None = None,
) -> Starlette:
    """The hub's ASGI app. A ``store``, ``ledger`` or ``auth`` given is used as it is and
    left for the caller to set up and close; the others are opened from settings on
    start-up and closed on exit. The auth tables live in the ledger's database. The
    lifespan also runs the workers that apply queued ingestions."""
    settings = settings or Settings()
    check_at_start(settings)  # no production hub with its signing keys unsealed
    # Tracing layers only when on (hub.telemetry): an untraced hub runs none of them.
    traced = settings.tracing_on()
    registry = CollectorRegistry()
    metrics = HttpMetrics(registry, METRIC_ROUTES)
    queue_depth = Gauge(
        "partnerhub_ingestions_waiting",
        "Acknowledged ingestions not applied yet (all hub processes).",
        registry=registry,
    )
    given_ledger, given_auth = ledger, auth
    ledger = ledger or Ledger(settings.database_url())
    if auth is None:
        config = settings.auth_config()
        auth = AuthService(
            config,
            AuthStore(ledger.engine, config, migrate=migrate),
            on_change=auth_changes(ledger.engine),
        )
    completions = Completions()
    wake = asyncio.Event()
    # Webhooks and e-mail: alerts queued in the ledger's outbox, sent by the dispatcher.
    dispatcher = Dispatcher(
        ledger.engine,
        settings.delivery_policy(),
        settings.smtp_relay(),
        registry,
        key_ring=settings.key_ring(),
    )
    # Processes sharing a PostgreSQL database pass alerts to each other's subscribers.
    relay = (
        PostgresAlertRelay(
            ledger.engine, poll=timedelta(seconds=settings.alerts_relay_poll_seconds)
        )
        if ledger.engine.dialect.name == "postgresql"
        else None
    )
    alerts = AlertBus(
        queue_size=settings.alerts_queue_size,
        registry=registry,
        standing=StandingTargets(ledger.engine, Outbox(ledger.engine), dispatcher.wake),
        verdicts=StoredVerdicts(ledger.engine),
        relay=relay,
    )
    open_sockets = OpenSockets()

    ingest_metrics, availability = IngestMetrics(registry), Availability(registry)

    async def finished(job: Received, report: IngestReport) -> None:
        completions.done(job.id)
        ingest_metrics.finished(report.status.value, job.received_at)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with AsyncExitStack() as opened:
            if store is None:
                app.state.store = open_graph_store(settings)
                opened.push_async_callback(app.state.store.close)
                if traced:
                    traced_store(app.state.store)
            if given_ledger is None:
                await app.state.ledger.setup()
                opened.push_async_callback(app.state.ledger.close)
            if given_auth is None:
                await app.state.auth.setup()
                opened.push_async_callback(app.state.auth.close)
            pipeline = IngestPipeline.with_registry(app.state.store, app.state.ledger.engine)
            workers = [
                IngestWorker(
                    app.state.ledger,
                    pipeline,
                    settings.queue_policy(),
                    wake=wake,
                    on_chunk=alerts.on_chunk,
                    on_finish=finished,
                )
                for _ in range(settings.ingest_workers)
            ]
            running = [asyncio.create_task(worker.run(), name=worker.name) for worker in workers]
            running.append(
                asyncio.create_task(
                    _set_up_when_reachable(app.state.store, settings.queue_policy()),
                    name="store-setup",
                )
            )
            running.append(asyncio.create_task(alerts.run(app.state.store), name="alerts"))
            running.append(asyncio.create_task(dispatcher.run(), name="alert-notifications"))
            if relay is not None:
                running.append(asyncio.create_task(relay.run(alerts), name="alert-relay"))
            running.append(
                asyncio.create_task(
                    close_revoked(
                        open_sockets,
                        app.state.auth.store.revoked_client_ids,
                        settings.revocation_poll_seconds,
                    ),
                    name="revoked-sockets",
                )
            )
            opened.push_async_callback(_stop, running)
            yield

    async def healthz(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def readyz(request: Request) -> Response:
        down = {}
        try:
            await request.app.state.store.ping()
        except StoreUnavailable as error:
            log.warning("not ready, graph store: %s", error)
            down["store"] = "unreachable"
        try:
            await request.app.state.ledger.ping()
        except DATABASE_ERRORS as error:  # whatever the cause, it cannot serve
            log.warning("not ready, database: %s", error)
            down["database"] = "unreachable"
        if down:
            return JSONResponse({"status": "unavailable", **down}, 503)
        return JSONResponse({"status": "ready"})

    async def metrics_endpoint(request: Request) -> Response:
        try:
            queue_depth.set(await request.app.state.ledger.waiting())
            availability.note("database", True)
        except DATABASE_ERRORS:
            queue_depth.set(float("nan"))  # unknown, rather than a reassuring zero
            availability.note("database", False)
        availability.note("store", await _answers(request.app.state.store))
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    async def openapi(request: Request) -> Response:
        return JSONResponse(OPENAPI.get_schema(routes=request.app.routes))

    budgets = settings.cost_budgets()
    quotas = settings.ingest_quotas()
    registry.register(LimitRefusals([auth.login_guard.limits, budgets.limits, quotas.limits]))
    graphql: Any = GraphQLApp(
        settings.limits(),
        settings.graphql_max_body_bytes,
        budgets=budgets,
        traced=traced,
        compiled=settings.graphql_compiled,
        errors=GraphQLErrorMetrics(registry),
    )
    app = Starlette(
        routes=[
            Route("/graphql", graphql, methods=["GET", "POST"]),
            Route(f"{ASSET_ROUTE}/{{name:path}}", asset_endpoint(graphql.ide), methods=["GET"]),
            WebSocketRoute("/graphql", graphql),
            *EXPORT_ROUTES,
            *CONSOLE_ROUTES,
            Route("/healthz", healthz),
            Route("/readyz", readyz),
            Route("/metrics", metrics_endpoint),
            Route("/openapi.json", openapi, include_in_schema=False),
            *INGEST_ROUTES,
            *ORGANIZATION_ROUTES,
            *auth_routes(auth),
        ],
        lifespan=lifespan,
        exception_handlers=AUTH_EXCEPTION_HANDLERS,
    )
    app.state.settings = settings
    app.state.ledger = ledger
    app.state.auth = auth
    app.state.completions = completions
    app.state.ingest_quotas = quotas
    app.state.wake_workers = wake.set
    app.state.alerts = alerts
    app.state.open_sockets = open_sockets
    app.state.notifications = dispatcher
    if store is not None:
        app.state.store = traced_store(store) if traced else store
    public = PUBLIC_PATHS | ({"/metrics"} if settings.metrics_public else set())
    # Innermost first: tokens are checked inside the request id and metrics layers, so
    # refused requests are counted and carry an id too.
    app.add_middleware(BearerAuthExceptPages, verifier=auth.verifier, public_paths=public)
    app.add_middleware(MetricsMiddleware, metrics=metrics)
    app.add_middleware(RequestIdMiddleware)
    if settings.cors_origins:  # preflights carry no token: answered outside the auth layer
        app.add_middleware(CORSMiddleware, **cors_options(settings.cors_origins))
    app.add_middleware(
        SecurityHeadersMiddleware
    )  # on every answer, refusals too (only tracing wraps it)
    if traced:  # outermost: the request's span is the parent of everything it does
        app.add_middleware(
            OpenTelemetryMiddleware,
            excluded_urls=UNTRACED_PATHS,
            exclude_spans=["receive", "send"],  # a span per ASGI message is noise
        )
    return app
