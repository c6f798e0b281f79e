"""Which ``/graphql`` requests a compiled plan may answer before strawberry's view.

Only the plainest kind: a POST of one JSON object holding ``query`` and, if any,
``variables`` and ``operationName``, from a caller whose verified token holds
``graph:read``, that wants a single JSON answer. Anything else (a GET, a batch, a
persisted query's ``extensions``, an upload, a streamed answer asked for in
``Accept``, a body that does not parse, a token without the scope) goes to the view,
which answers or refuses it as it always did: this module only ever says "not mine".
"""

from __future__ import annotations

import json
from typing import Any

from starlette.types import Scope as AsgiScope

from auth.middleware import PrincipalUser
from auth.principal import Scope
from schema.compiled.direct import Asked

# The scope key under which a request declined after its cost was paid carries that
# cost to the view's context (``GraphQLApp.get_context``), so it is not charged twice.
PAID_COST = "partnerhub.paid_cost"
_FIELDS = frozenset({"query", "variables", "operationName"})
_STREAMED = (b"multipart/", b"text/event-stream")  # answers the view streams


def plain_query(scope: AsgiScope, body: bytes) -> Asked | None:
    """The operation ``body`` asks for, if the request is of the plainest kind."""
    if scope["method"] != "POST" or not _may_read(scope):
        return None
    content_type, accept = _header(scope, b"content-type"), _header(scope, b"accept")
    if content_type.split(b";", 1)[0].strip().lower() != b"application/json":
        return None
    if any(streamed in accept for streamed in _STREAMED):
        return None
    try:
        sent: Any = json.loads(body)
    except (ValueError, RecursionError):  # the view says what is wrong with it
        return None
    if not isinstance(sent, dict) or not _FIELDS.issuperset(sent):
        return None
    query, variables, name = sent.get("query"), sent.get("variables"), sent.get("operationName")
    if not isinstance(query, str):
        return None
    if not isinstance(variables, dict | None) or not isinstance(name, str | None):
        return None
    return Asked(query, variables, name)


def _may_read(scope: AsgiScope) -> bool:
    user = scope.get("user")
    return isinstance(user, PrincipalUser) and user.principal.has(Scope.GRAPH_READ)


def _header(scope: AsgiScope, name: bytes) -> bytes:
    """The first value of header ``name`` (as Starlette's ``Headers.get``), or b""."""
    for key, value in scope["headers"]:
        if key == name:
            return bytes(value)
    return b""
