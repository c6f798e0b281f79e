"""Who is asking: the principal the bearer middleware verified for this request."""

from __future__ import annotations

from starlette.requests import HTTPConnection

from auth.middleware import require_scope
from auth.principal import Principal, Scope


def principal_with(connection: HTTPConnection, scope: Scope) -> Principal:
    """The request's principal, which must hold ``scope`` (401/403 otherwise)."""
    return require_scope(connection, scope)
