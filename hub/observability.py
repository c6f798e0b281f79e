"""Request ids and Prometheus metrics, as plain ASGI middleware around the app.

Every response carries ``X-Request-ID`` (the caller's, when it is a sane token, so a
gateway's id follows the request through; otherwise a fresh one). The same id is in
``scope["state"]["request_id"]`` for handlers and in every masked error message, so a
client's report leads straight to the server's log line. While the request is
handled the id is also ``current_request_id`` (a context variable, so the JSON log
lines of ``hub.telemetry.logs`` carry it) and an attribute of the request's span when
tracing is on.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Iterable
from contextvars import ContextVar
from datetime import UTC, datetime

from opentelemetry import trace
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

REQUEST_ID_HEADER = "x-request-id"
_SANE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
current_request_id: ContextVar[str | None] = ContextVar("partnerhub_request_id", default=None)


def request_id_of(scope: Scope) -> str:
    return str(scope.get("state", {}).get("request_id", "unknown"))


class RequestIdMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        given = (
            dict(scope.get("headers", [])).get(REQUEST_ID_HEADER.encode(), b"").decode("latin-1")
        )
        request_id = given if _SANE_REQUEST_ID.match(given) else uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id
        token = current_request_id.set(request_id)  # seen by what the request runs and starts
        span = trace.get_current_span()
        if span.is_recording():
            span.set_attribute("partnerhub.request_id", request_id)

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message)[REQUEST_ID_HEADER] = request_id
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            current_request_id.reset(token)


class HttpMetrics:
    """Request counts and latencies per route; unknown paths share one label, so a
    scanner cannot blow up the number of series."""

    def __init__(self, registry: CollectorRegistry, routes: Iterable[str]) -> None:
        self.routes = frozenset(routes)
        self.requests = Counter(
            "partnerhub_http_requests",
            "HTTP requests answered, by route, method and status code.",
            ("route", "method", "status"),
            registry=registry,
        )
        self.latency = Histogram(
            "partnerhub_http_request_duration_seconds",
            "Time to answer an HTTP request, by route.",
            ("route",),
            registry=registry,
        )


class GraphQLErrorMetrics:
    """Errors in GraphQL answers, by code: they come with HTTP 200, so the request
    counts do not show them. Codes are the schema's own (``schema.errors``), a small
    fixed set; an error without one counts as ``UNCODED``."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.errors = Counter(
            "partnerhub_graphql_errors",
            "Errors in GraphQL answers over HTTP, by code.",
            ("code",),
            registry=registry,
        )

    def count(self, codes: Iterable[object]) -> None:
        for code in codes:
            self.errors.labels(str(code or "UNCODED")).inc()


class IngestMetrics:
    """What this process's workers made of the ingestions they finished, and how long
    each waited from its acknowledgement to its outcome (the queue's lag)."""

    LAG_BUCKETS = (0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600)

    def __init__(self, registry: CollectorRegistry) -> None:
        self.outcomes = Counter(
            "partnerhub_ingestions_finished",
            "Ingestions finished by this process's workers, by status.",
            ("status",),
            registry=registry,
        )
        self.lag = Histogram(
            "partnerhub_ingestion_lag_seconds",
            "Time from an ingestion's acknowledgement to its outcome.",
            buckets=self.LAG_BUCKETS,
            registry=registry,
        )

    def finished(self, status: str, received_at: datetime) -> None:
        self.outcomes.labels(status).inc()
        self.lag.observe(max(0.0, (datetime.now(UTC) - received_at).total_seconds()))


class Availability:
    """Whether the graph store and the database answer, asked at each scrape."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.up = Gauge(
            "partnerhub_up",
            "1 when the part answers, 0 when it does not (part: store, database).",
            ("part",),
            registry=registry,
        )

    def note(self, part: str, answers: bool) -> None:
        self.up.labels(part).set(1 if answers else 0)


class MetricsMiddleware:
    def __init__(self, app: ASGIApp, metrics: HttpMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope["path"]
        route = path if path in self.metrics.routes else "other"
        status = 500
        started = time.perf_counter()

        async def send_and_note(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_and_note)
        finally:
            self.metrics.latency.labels(route).observe(time.perf_counter() - started)
            self.metrics.requests.labels(route, scope["method"], str(status)).inc()
