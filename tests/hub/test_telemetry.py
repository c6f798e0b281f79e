"""Traces across HTTP, GraphQL, the store, the ledger and the ingest worker; JSON logs.

Spans are collected by the OpenTelemetry SDK's in-memory exporter, set up once for the
test process as ``hub.telemetry.tracing.start_tracing`` sets up the real one.
"""

from __future__ import annotations

import io
import json
import logging
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from graph.store import GraphStore
from hub.app import create_app
from hub.records.ledger import Ledger
from hub.settings import Settings
from hub.telemetry.logs import JsonFormatter
from hub.telemetry.tracing import UnknownTraceExporter, exporter_named
from tests.hub.support import hub_client
from tests.tokens import TokenSource


class _WhileCollecting(SimpleSpanProcessor):
    """Keeps spans only during this module's tests: the provider, once set, stays for
    the whole test process, and the suite's other tests need not fill memory with theirs."""

    collecting = False

    def on_end(self, span: ReadableSpan) -> None:
        if self.collecting:
            super().on_end(span)


_EXPORTER = InMemorySpanExporter()
_PROCESSOR = _WhileCollecting(_EXPORTER)
LOTS = b'{"node": "Batch", "maker": "birch", "number": "T-1"}\n'
ONE_LOT = '{ batch(id: "batch:birch/T-1") { number } }'


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    """The spans finished during the test (the process's provider is set once)."""
    if not isinstance(trace.get_tracer_provider(), TracerProvider):
        provider = TracerProvider()
        provider.add_span_processor(_PROCESSOR)
        trace.set_tracer_provider(provider)
    _EXPORTER.clear()
    _PROCESSOR.collecting = True
    yield _EXPORTER
    _PROCESSOR.collecting = False
    _EXPORTER.clear()


@pytest.fixture
async def ledger(tmp_path: Path) -> AsyncIterator[Ledger]:
    opened = Ledger(f"sqlite+aiosqlite:///{tmp_path / 'ledger.sqlite'}")
    await opened.setup()
    yield opened
    await opened.close()


@asynccontextmanager
async def client(
    store: GraphStore, ledger: Ledger, tokens: TokenSource, **settings: object
) -> AsyncIterator[httpx.AsyncClient]:
    settings.setdefault("ingest_poll_seconds", 0.05)
    app = create_app(Settings(**settings), store=store, ledger=ledger, auth=tokens.service)  # type: ignore[arg-type]
    async with hub_client(app, await tokens.bearer()) as http:
        yield http


def named(spans: tuple[ReadableSpan, ...], prefix: str) -> list[ReadableSpan]:
    return [span for span in spans if span.name.startswith(prefix)]


def parent_of(span: ReadableSpan) -> int | None:
    return span.parent.span_id if span.parent is not None else None


async def test_a_graphql_read_is_one_trace_from_the_http_span_through_graphql_to_the_store(
    store: GraphStore, ledger: Ledger, tokens: TokenSource, spans: InMemorySpanExporter
) -> None:
    async with client(store, ledger, tokens, tracing=True) as http:
        await http.post("/ingest/canonical.jsonl?wait=30&org=birch", content=LOTS)
        spans.clear()
        answer = await http.post(
            "/graphql", json={"query": ONE_LOT}, headers={"x-request-id": "read-1"}
        )
    assert answer.json() == {"data": {"batch": {"number": "T-1"}}}

    finished = spans.get_finished_spans()
    (request,) = [s for s in finished if s.kind is SpanKind.SERVER]
    (operation,) = named(finished, "graphql.query")
    reads = named(finished, "store.")
    assert request.parent is None, "the request starts the trace"
    assert (
        request.attributes is not None and request.attributes["partnerhub.request_id"] == "read-1"
    )
    assert parent_of(operation) == request.context.span_id
    # The store calls the operation made (a compiled read: one tree read, schema.compiled),
    # and inside them the calls a store makes of its own methods (the SQL store's tree
    # read is node and edge reads), each under its caller.
    store_spans = {read.context.span_id for read in reads}
    made = [read for read in reads if parent_of(read) not in store_spans]
    assert made and {parent_of(read) for read in made} == {operation.context.span_id}
    assert {read.name for read in made} == {"store.read_tree"}
    assert {s.context.trace_id for s in finished} == {request.context.trace_id}
    assert not named(finished, "GraphQL Resolving"), "no span per field"


async def test_a_graphql_error_marks_the_operation_span_with_its_code(
    store: GraphStore, ledger: Ledger, tokens: TokenSource, spans: InMemorySpanExporter
) -> None:
    async with client(store, ledger, tokens, tracing=True) as http:
        await http.post("/graphql", json={"query": '{ batch(id: "org:birch") { number } }'})

    (operation,) = named(spans.get_finished_spans(), "graphql.query")
    assert operation.attributes is not None and operation.attributes["graphql.errors"] == 1
    assert operation.status.status_code is trace.StatusCode.ERROR
    assert operation.status.description  # the error's code, not its message


async def test_a_push_is_traced_through_the_ledger_and_the_workers_apply(
    store: GraphStore, ledger: Ledger, tokens: TokenSource, spans: InMemorySpanExporter
) -> None:
    async with client(store, ledger, tokens, tracing=True) as http:
        report = (await http.post("/ingest/canonical.jsonl?wait=30&org=birch", content=LOTS)).json()
    ingestion = report["ingestion_id"]
    assert report["status"] == "APPLIED"

    finished = spans.get_finished_spans()
    (push,) = [s for s in finished if s.kind is SpanKind.SERVER]
    (received,) = named(finished, "ledger.receive")
    (claim,) = named(finished, "ingest.claim")
    (apply,) = named(finished, "ingest.apply")
    (write,) = named(finished, "ingest.write")
    writes = [s for s in named(finished, "store.upsert") if parent_of(s) == write.context.span_id]
    for span in (received, claim, apply):
        assert (
            span.attributes is not None and span.attributes["partnerhub.ingestion.id"] == ingestion
        )
    assert parent_of(received) == push.context.span_id
    assert parent_of(apply) == push.context.span_id, "the worker continues the push's trace"
    assert parent_of(write) == apply.context.span_id and writes
    assert (
        apply.attributes is not None
        and apply.attributes["partnerhub.ingestion.status"] == "APPLIED"
    )
    others = {s.name for s in finished if s.context.trace_id != push.context.trace_id}
    assert others <= {"store.setup"}, "only the start-up's own set-up is another trace"
    stored = await ledger.get(ingestion)
    assert stored is not None and stored.traceparent is not None
    assert stored.traceparent.split("-")[1] == format(push.context.trace_id, "032x")


async def test_tracing_is_off_by_default_and_adds_nothing(
    store: GraphStore, ledger: Ledger, tokens: TokenSource, spans: InMemorySpanExporter
) -> None:
    assert not Settings().tracing_on()
    plain_read = type(store).get_nodes
    async with client(store, ledger, tokens) as http:
        answer = await http.post("/graphql", json={"query": ONE_LOT})
        report = (await http.post("/ingest/canonical.jsonl?wait=30&org=birch", content=LOTS)).json()

    assert answer.status_code == 200
    assert store.get_nodes.__func__ is plain_read, "the store is left as it is"  # type: ignore[attr-defined]
    assert not [s for s in spans.get_finished_spans() if s.kind is SpanKind.SERVER]
    assert not named(spans.get_finished_spans(), "graphql.")
    stored = await ledger.get(report["ingestion_id"])
    assert stored is not None and stored.traceparent is None


def test_the_standard_variable_turns_tracing_on_and_none_keeps_it_off(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OTEL_TRACES_EXPORTER", "otlp")
    assert Settings().tracing_on()
    monkeypatch.setenv("OTEL_TRACES_EXPORTER", "none")
    monkeypatch.setenv("HUB_TRACING", "true")
    assert not Settings().tracing_on()
    monkeypatch.delenv("OTEL_TRACES_EXPORTER")
    assert Settings().tracing_on()
    with pytest.raises(UnknownTraceExporter, match=r"OTEL_TRACES_EXPORTER='zipkin'.*otlp"):
        exporter_named("zipkin")


def test_a_json_log_line_carries_the_current_span() -> None:
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(JsonFormatter())
    log = logging.getLogger("partnerhub.test-telemetry")
    log.addHandler(handler)
    provider = TracerProvider()  # a provider of its own: the span is recorded, not exported
    try:
        with provider.get_tracer("test").start_as_current_span("work") as span:
            log.warning("lot %s held", "T-1")
    finally:
        log.removeHandler(handler)
    line = json.loads(out.getvalue())

    assert line["message"] == "lot T-1 held" and line["level"] == "WARNING"
    assert line["trace_id"] == format(span.get_span_context().trace_id, "032x")
    assert line["span_id"] == format(span.get_span_context().span_id, "016x")
    assert "request_id" not in line, "no request, no id"
