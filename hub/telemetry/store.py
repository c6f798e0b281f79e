"""A span around every call to a graph store, without touching the stores.

``traced_store`` wraps the store's public coroutine methods (every one the
``GraphStore`` interface and its compliance reads declare) on the instance itself: the
object stays the same store, of the same class, and calls between its own methods
(``lineage`` walking, ``upsert`` writing its plan) nest as child spans. Only a traced
hub calls it, so an untraced one keeps the plain methods.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Awaitable, Callable
from typing import Any

from opentelemetry.trace import SpanKind

from graph.store import GraphStore
from hub.telemetry.tracing import tracer

_TRACED = "_partnerhub_traced"
# Readiness probes and scrapes ping every few seconds: a trace each would be noise.
_UNTRACED = frozenset({"ping"})


def store_operations() -> tuple[str, ...]:
    """The interface's public coroutine methods, what a caller of any store may await
    (but ``ping``, the probes' question)."""
    return tuple(
        name
        for name, member in inspect.getmembers(GraphStore)
        if not name.startswith("_")
        and name not in _UNTRACED
        and inspect.iscoroutinefunction(member)
    )


def traced_store(store: GraphStore) -> GraphStore:
    """``store`` with a span around each operation (idempotent: traced once)."""
    if getattr(store, _TRACED, False):
        return store
    system = "neo4j" if "neo4j" in type(store).__module__ else "sql"
    for name in store_operations():
        setattr(store, name, _spanned(getattr(store, name), name, system))
    setattr(store, _TRACED, True)
    return store


def _spanned(
    method: Callable[..., Awaitable[Any]], operation: str, system: str
) -> Callable[..., Awaitable[Any]]:
    span_name = f"store.{operation}"
    attributes = {"db.system.name": system, "db.operation.name": operation}

    @functools.wraps(method)
    async def call(*args: Any, **kwargs: Any) -> Any:
        with tracer().start_as_current_span(span_name, kind=SpanKind.CLIENT, attributes=attributes):
            return await method(*args, **kwargs)

    return call
