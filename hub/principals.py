"""Who is asking, for every route. Until OAuth lands every request is the local
operator, which is why the hub binds to loopback by default."""

from __future__ import annotations

from starlette.requests import HTTPConnection

from auth.principal import LOCAL_OPERATOR, Principal


def principal_of(connection: HTTPConnection) -> Principal:
    return LOCAL_OPERATOR
