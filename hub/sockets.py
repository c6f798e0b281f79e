"""GraphQL over websockets: who is asking, and for how long.

A websocket at ``/graphql`` (graphql-transport-ws) carries its bearer token in the
handshake's ``Authorization`` header, which the bearer middleware verifies before the
socket is accepted (a bad one is refused with 403), or, since browsers cannot set
headers on a websocket, in ``connection_init``'s payload as
``{"authorization": "Bearer ..."}``. ``socket_token`` finds and verifies it, with the
same ``TokenVerifier`` as every request; ``hub.app`` accepts the connection only with
one holding ``graph:read`` (strawberry closes it with 4403 otherwise), and
``close_on_expiry`` ends it (4403) when the token expires, so a socket never outlives
the grant it was opened with. Only why a token was refused is logged, never the token.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

from starlette.types import Scope as AsgiScope
from starlette.websockets import WebSocket

from auth.middleware import PrincipalUser
from auth.verify import AccessToken, InvalidToken, TokenVerifier
from schema.subscriptions import SocketContext

log = logging.getLogger("partnerhub.sockets")

GRAPHQL_PATH = "/graphql"


def is_socket_without_header(scope: AsgiScope) -> bool:
    """A GraphQL websocket whose token is to come in connection_init (browsers cannot set
    headers on one): the bearer middleware lets it through, to be refused at
    ``connection_init`` without a valid token."""
    if scope["type"] != "websocket" or scope["path"] != GRAPHQL_PATH:
        return False
    return not any(name == b"authorization" for name, _ in scope.get("headers", []))


async def socket_token(context: SocketContext) -> AccessToken:
    """The handshake's verified token, else the one in connection_init's payload; when
    both are given they must be the same token. ``InvalidToken`` says why not."""
    socket = context.request
    assert isinstance(socket, WebSocket)
    given = [
        v for k, v in (context.connection_params or {}).items() if k.lower() == "authorization"
    ]
    if len(given) > 1:
        raise InvalidToken("connection_init carries more than one authorization")
    sent = given[0] if given else None
    if sent is not None and not isinstance(sent, str):
        raise InvalidToken("connection_init's authorization must be a string")
    scheme, _, token = (sent or "").strip().partition(" ")
    token = token.strip()
    if sent is not None and (scheme.lower() != "bearer" or not token):
        raise InvalidToken('connection_init\'s authorization must read "Bearer <token>"')
    user = socket.scope.get("user")
    if isinstance(user, PrincipalUser):  # the middleware verified the header's token
        header = socket.headers.get("authorization", "").partition(" ")[2].strip()
        if sent is not None and token != header:
            raise InvalidToken("the handshake and connection_init carry different tokens")
        return user.token
    if sent is None:
        raise InvalidToken("no token: send connection_init with {authorization: Bearer ...}")
    verifier: TokenVerifier = socket.app.state.auth.verifier
    return await verifier.verify_access_token(token)


def close_on_expiry(context: SocketContext) -> None:
    """Close the socket (4403) when its token expires; ``forget_expiry`` when it ends."""
    socket, expires_at = context.request, context.expires_at
    assert isinstance(socket, WebSocket) and expires_at is not None

    async def close_at_expiry() -> None:
        await asyncio.sleep(max(0.0, expires_at - time.time()))
        log.info("closing a websocket of %s: its token expired", context.principal.org_id)
        with contextlib.suppress(RuntimeError, OSError):  # closed meanwhile
            await socket.close(code=4403, reason="token expired: reconnect with a fresh one")

    socket.state.expiry = asyncio.create_task(close_at_expiry(), name="websocket-expiry")


def forget_expiry(context: SocketContext) -> None:
    socket = context.request
    if socket is not None and (task := getattr(socket.state, "expiry", None)) is not None:
        task.cancel()
