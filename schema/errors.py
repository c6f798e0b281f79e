"""Errors clients see, and the mask over the ones they must not.

A client's own mistake (a malformed id, a junk cursor, a page too large) is a
``GraphQLError`` with code ``BAD_USER_INPUT`` and a message saying what was expected.
Anything else raised inside a resolver is a fault of ours: it is logged whole, with
the request id, and the client sees only "internal error" and that request id.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

from graphql import GraphQLError
from strawberry.extensions import SchemaExtension

from graph.ids import InvalidNodeId, NodeKind, parse_id, shown, with_article

log = logging.getLogger("partnerhub.graphql")

BAD_USER_INPUT = "BAD_USER_INPUT"
INTERNAL = "INTERNAL_SERVER_ERROR"
QUERY_TIMED_OUT = "QUERY_TIMED_OUT"


def bad_input(message: str) -> GraphQLError:
    return GraphQLError(message, extensions={"code": BAD_USER_INPUT})


def timed_out(seconds: float) -> GraphQLError:
    """An operation stopped at the time limit (``schema.build``)."""
    return GraphQLError(
        f"query took longer than {seconds:g} s and was stopped "
        "(HUB_GRAPHQL_TIMEOUT_SECONDS); ask for smaller pages or a shallower lineage",
        extensions={"code": QUERY_TIMED_OUT},
    )


def checked_id(value: str, kind: NodeKind | None, argument: str) -> str:
    """``value`` if it is a well-formed id (of ``kind``, when given), else a client error
    naming the argument and what was expected."""
    try:
        ref = parse_id(value)
    except InvalidNodeId as error:
        raise bad_input(f"{argument}: {error}") from None
    if kind is not None and ref.kind is not kind:
        raise bad_input(
            f"{argument}: {shown(value)} is {with_article(ref.kind)} id, not {with_article(kind)} id"
        )
    return value


def with_code(error: GraphQLError) -> GraphQLError:
    """Parse and validation errors get the codes Apollo clients know (in place)."""
    if error.original_error is None and not (error.extensions or {}).get("code"):
        syntax = error.message.startswith("Syntax Error")
        error.extensions = {
            **(error.extensions or {}),
            "code": "GRAPHQL_PARSE_FAILED" if syntax else "GRAPHQL_VALIDATION_FAILED",
        }
    return error


def is_ours(error: GraphQLError) -> bool:
    """True for an unexpected exception inside execution (not parse, validation or input)."""
    original = error.original_error
    return original is not None and not isinstance(original, GraphQLError)


class MaskInternalErrors(SchemaExtension):
    def on_operation(self) -> Iterator[None]:
        yield
        result = self.execution_context.result
        errors = getattr(result, "errors", None)
        if not errors:
            return
        request_id = getattr(self.execution_context.context, "request_id", "unknown")
        masked = []
        for error in errors:
            if not is_ours(error):
                masked.append(with_code(error))
                continue
            log.error(
                "internal error in %s (request %s)",
                ".".join(map(str, error.path or ())) or "operation",
                request_id,
                exc_info=error.original_error,
            )
            masked.append(
                GraphQLError(
                    f"Internal error (request id {request_id}); the operator has the details.",
                    nodes=error.nodes,
                    path=error.path,
                    extensions={"code": INTERNAL, "requestId": request_id},
                )
            )
        result.errors = masked  # type: ignore[union-attr]
