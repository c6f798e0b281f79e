"""Telemetry beyond ``/metrics``: OpenTelemetry traces and structured logs.

``tracing`` sets up the OpenTelemetry SDK from the standard ``OTEL_*`` variables when
asked to (``HUB_TRACING`` or ``OTEL_TRACES_EXPORTER``), and carries a push's trace
through the ledger to the worker that applies it; off, nothing is set up and every span
is the API's no-op. ``store`` puts a span around each graph store call, ``logs`` is the
JSON log format (``HUB_LOG_FORMAT=json``) with the request id and the trace.

May import ``graph`` (the store interface) and ``hub.observability``; nothing of the
ingest path or the records, which import it.
"""
