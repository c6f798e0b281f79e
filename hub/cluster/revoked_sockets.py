"""Websockets of a revoked client close within seconds, on every hub process.

An access token is self-contained: a client revoked (``partnerhub clients revoke``, or
``AuthService.revoke_client`` from any process) gets no new token, but a websocket
opened with an earlier one would live until that token expires. So each process keeps
its authenticated sockets by the OAuth client that opened them (``OpenSockets``), and
``close_revoked`` reads the revoked clients from the shared database every ``poll``
while any socket is open, and closes those clients' sockets with 4403 (the code of an
expired token: the grant is gone). The read is one small query a second or two per
process, and none while no socket is open.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from starlette.websockets import WebSocket

from hub.records.database import DATABASE_ERRORS

log = logging.getLogger("partnerhub.sockets")

REVOKED_CLOSE_CODE = 4403


class OpenSockets:
    """This process's authenticated websockets, by the OAuth client that opened them."""

    def __init__(self) -> None:
        self._by_client: dict[str, set[WebSocket]] = {}

    def opened(self, client_id: str | None, socket: WebSocket) -> None:
        if client_id is not None:
            self._by_client.setdefault(client_id, set()).add(socket)

    def closed(self, client_id: str | None, socket: WebSocket) -> None:
        if client_id is None or (sockets := self._by_client.get(client_id)) is None:
            return
        sockets.discard(socket)
        if not sockets:
            del self._by_client[client_id]

    @property
    def clients(self) -> frozenset[str]:
        return frozenset(self._by_client)

    async def close_client(self, client_id: str) -> int:
        """Close every socket of the client (4403); how many there were."""
        sockets = self._by_client.pop(client_id, set())
        for socket in sockets:
            with contextlib.suppress(RuntimeError, OSError):  # closed meanwhile
                await socket.close(
                    code=REVOKED_CLOSE_CODE, reason="client revoked: ask the hub's operator"
                )
        return len(sockets)


async def close_revoked(
    sockets: OpenSockets,
    revoked_clients: Callable[[], Awaitable[frozenset[str]]],
    poll_seconds: float,
) -> None:
    """Close the sockets of clients revoked anywhere, every ``poll_seconds``, until cancelled."""
    while True:
        await asyncio.sleep(poll_seconds)
        if not sockets.clients:
            continue
        try:
            revoked = await revoked_clients()
        except DATABASE_ERRORS as error:
            log.warning("could not read revoked clients (sockets stay open meanwhile): %s", error)
            continue
        for client_id in sockets.clients & revoked:
            closed = await sockets.close_client(client_id)
            log.info("closed %d websocket(s) of client %s: it was revoked", closed, client_id)
