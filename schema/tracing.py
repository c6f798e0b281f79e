"""One OpenTelemetry span per GraphQL operation, none per field.

strawberry's ``OpenTelemetryExtension`` opens a span for every resolved field: on a
listing of 500 lots that is thousands of spans, and the read path's time goes into
them. This extension opens one, around the whole operation, and makes it the current
span, so the store calls the resolvers make (``hub.telemetry.store``) are its children.
It names the operation and its type and counts the errors the client gets; the query
text and variables are left out (they may name lots a reader should not see in a
tracing back end).

The hub adds it only when tracing is on (``build_schema(traced=True)``).
"""

from __future__ import annotations

from collections.abc import Iterator

from opentelemetry import trace
from opentelemetry.trace import SpanKind, Status, StatusCode
from strawberry.extensions import SchemaExtension

TRACER_NAME = "partnerhub.graphql"


class OperationSpan(SchemaExtension):
    def on_operation(self) -> Iterator[None]:
        context = self.execution_context
        tracer = trace.get_tracer(TRACER_NAME)
        with tracer.start_as_current_span(
            "graphql.operation", kind=SpanKind.INTERNAL, record_exception=False
        ) as span:
            yield
            if not span.is_recording():
                return
            name = context.operation_name
            try:
                kind = context.operation_type.value
            except RuntimeError:  # a document that did not parse has no operation
                kind = "unknown"
            span.update_name(f"graphql.{kind} {name}" if name else f"graphql.{kind}")
            span.set_attribute("graphql.operation.type", kind)
            if name:
                span.set_attribute("graphql.operation.name", name)
            errors = context.pre_execution_errors or (
                context.result.errors if context.result is not None else None
            )
            if errors:
                # The code, not the message: a message may quote what the client sent.
                code = (errors[0].extensions or {}).get("code", "GRAPHQL_ERROR")
                span.set_attribute("graphql.errors", len(errors))
                span.set_status(Status(StatusCode.ERROR, str(code)))
