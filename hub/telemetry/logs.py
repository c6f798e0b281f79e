"""The hub's log lines: text for people, or one JSON object a line for collectors.

``HUB_LOG_FORMAT=json`` gives every line ``time``, ``level``, ``logger`` and
``message``, the ``request_id`` of the request it was written for (``X-Request-ID``,
``hub.observability``), the ``trace_id`` and ``span_id`` of the current span when
tracing is on, and the ``exception`` with its traceback when there is one. What a
filter withheld (``auth.log_safety``: SQL parameters on the auth tables) is withheld
here too: the line is the record's message as the filters left it, and the record's
other attributes are never copied in.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Any

from opentelemetry import trace

from hub.observability import current_request_id

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"
# uvicorn's own loggers: in JSON they hand their lines to the root handler instead of
# printing text of their own.
SERVER_LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.access")


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if (request_id := current_request_id.get()) is not None:
            line["request_id"] = request_id
        span = trace.get_current_span().get_span_context()
        if span.is_valid:
            line["trace_id"] = format(span.trace_id, "032x")
            line["span_id"] = format(span.span_id, "016x")
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        elif record.exc_text:
            line["exception"] = record.exc_text
        if record.stack_info:
            line["stack"] = self.formatStack(record.stack_info)
        return json.dumps(line, ensure_ascii=False, default=str)


def configure_logging(level: str, log_format: str) -> None:
    """The root logger's one handler (standard error), in the format asked for."""
    handler = logging.StreamHandler()
    handler.setFormatter(
        JsonFormatter() if log_format == "json" else logging.Formatter(TEXT_FORMAT)
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    if log_format == "json":
        logging.captureWarnings(True)  # a Python warning is a line like any other
        for name in SERVER_LOGGERS:
            server = logging.getLogger(name)
            server.handlers.clear()
            server.propagate = True
