"""OpenTelemetry set-up, and a push's trace carried to the worker that applies it.

Off by default: no SDK is set up, the API hands out its no-op tracer, and the hub adds
none of its tracing layers (``hub.app``), so an untraced hub pays nearly nothing. On
(``HUB_TRACING=true``, or ``OTEL_TRACES_EXPORTER`` set to an exporter), the SDK is
configured the way every OpenTelemetry service is: ``OTEL_SERVICE_NAME`` (default
``partnerhub``), ``OTEL_RESOURCE_ATTRIBUTES``, ``OTEL_TRACES_SAMPLER``,
``OTEL_EXPORTER_OTLP_ENDPOINT`` / ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`` and
``..._HEADERS`` for the OTLP exporter (HTTP, protobuf), ``OTEL_BSP_*`` for batching.
``OTEL_TRACES_EXPORTER`` picks ``otlp`` (the default) or ``console``.

A push is acknowledged by one process and applied, maybe seconds later, by a worker of
any process: the push's ``traceparent`` (W3C Trace Context) is stored with the
ingestion in the ledger, and the worker's spans continue that trace.
"""

from __future__ import annotations

import os

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    ConsoleSpanExporter,
    SpanExporter,
)
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

TRACER_NAME = "partnerhub"
DEFAULT_SERVICE_NAME = "partnerhub"
EXPORTERS = ("otlp", "console")
_TRACE_CONTEXT = TraceContextTextMapPropagator()
_TRACEPARENT = "traceparent"


class UnknownTraceExporter(ValueError):
    """OTEL_TRACES_EXPORTER names an exporter this hub does not ship."""


def tracer() -> trace.Tracer:
    """The hub's tracer: a proxy, so it follows whatever provider is set, now or later."""
    return trace.get_tracer(TRACER_NAME)


def exporter_named(name: str | None) -> SpanExporter:
    chosen = (name or "otlp").strip().lower()
    if chosen == "otlp":
        # Imported here: the exporter pulls in protobuf, which an untraced hub never needs.
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        return OTLPSpanExporter()  # endpoint, headers, timeout: OTEL_EXPORTER_OTLP_*
    if chosen == "console":
        return ConsoleSpanExporter()
    raise UnknownTraceExporter(
        f"OTEL_TRACES_EXPORTER={name!r}: this hub sends traces with one of "
        f"{', '.join(EXPORTERS)} (or 'none' for no traces)"
    )


def start_tracing(exporter: SpanExporter) -> TracerProvider:
    """Set up the SDK for this process, sending spans to ``exporter`` in batches.

    Once per process (OpenTelemetry's global provider cannot be replaced); the SDK
    flushes what is pending when the process exits."""
    attributes = {} if os.environ.get("OTEL_SERVICE_NAME") else {SERVICE_NAME: DEFAULT_SERVICE_NAME}
    provider = TracerProvider(resource=Resource.create(attributes))
    provider.add_span_processor(BatchSpanProcessor(exporter))
    trace.set_tracer_provider(provider)
    return provider


def current_traceparent() -> str | None:
    """The current span as a W3C ``traceparent``, or None when nothing is traced."""
    carrier: dict[str, str] = {}
    _TRACE_CONTEXT.inject(carrier)
    return carrier.get(_TRACEPARENT)


def continued(traceparent: str | None) -> Context | None:
    """The context a stored ``traceparent`` names, to start spans in; None (the current
    context) when there is none. A malformed value is ignored, as the standard says."""
    if not traceparent:
        return None
    return _TRACE_CONTEXT.extract({_TRACEPARENT: traceparent})
