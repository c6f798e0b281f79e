"""The hub on a real loopback socket (uvicorn, in this process) and a real websocket client
speaking graphql-transport-ws, for the alert tests and the alert benchmark."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from typing import Any

import uvicorn
from starlette.applications import Starlette
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed
from websockets.typing import Subprotocol

from deploy.neo4j.launcher import free_port
from graph.model import Record
from hub.demo.generator import canonical_lines

PROTOCOL = "graphql-transport-ws"
ALERT_FIELDS = (
    "alertId kind subjectId batchIds ingestionId message raisedAt rules gapReasons missedBefore"
)
ALERTS = f"subscription ($kinds: [AlertKind!]) {{ alerts(kinds: $kinds) {{ {ALERT_FIELDS} }} }}"


@asynccontextmanager
async def served(app: Starlette) -> AsyncIterator[str]:
    """``app`` served by uvicorn on a free loopback port, lifespan and all; its base URL."""
    port = free_port()
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, lifespan="on", log_level="warning", ws="auto"
    )
    server = uvicorn.Server(config)
    serving = asyncio.create_task(server.serve())
    while not server.started:
        if serving.done():
            serving.result()  # raises what stopped it
            raise RuntimeError("uvicorn stopped before it started")
        await asyncio.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await serving


def canonical(records: Iterable[Record]) -> bytes:
    return "".join(canonical_lines(records)).encode()


class GraphQLSocket:
    """One websocket to /graphql, driven message by message."""

    def __init__(self, connection: ClientConnection) -> None:
        self.connection = connection

    @classmethod
    @asynccontextmanager
    async def open(
        cls, base_url: str, headers: dict[str, str] | None = None
    ) -> AsyncIterator[GraphQLSocket]:
        url = base_url.replace("http://", "ws://", 1) + "/graphql"
        async with connect(
            url,
            subprotocols=[Subprotocol(PROTOCOL)],
            additional_headers=headers,
            proxy=None,
        ) as connection:
            yield cls(connection)

    async def send(self, message: dict[str, Any]) -> None:
        await self.connection.send(json.dumps(message))

    async def start(self, token: str | None = None, **payload: Any) -> None:
        """Send connection_init, with ``{"authorization": "Bearer token"}`` when given."""
        if token is not None:
            payload["authorization"] = f"Bearer {token}"
        await self.send({"type": "connection_init", "payload": payload})

    async def init(self, token: str | None = None, **payload: Any) -> dict[str, Any]:
        """connection_init, and the server's reply."""
        await self.start(token, **payload)
        return await self.receive()

    async def subscribe(
        self, kinds: list[str] | None = None, operation_id: str = "1", query: str = ALERTS
    ) -> None:
        variables = {} if kinds is None else {"kinds": kinds}
        await self.send(
            {
                "id": operation_id,
                "type": "subscribe",
                "payload": {"query": query, "variables": variables},
            }
        )

    async def receive(self, within: float = 20.0) -> dict[str, Any]:
        raw = await asyncio.wait_for(self.connection.recv(), within)
        assert isinstance(raw, str), raw  # graphql-transport-ws messages are text frames
        message: dict[str, Any] = json.loads(raw)
        return message

    async def alert(self, within: float = 20.0) -> dict[str, Any]:
        """The next alert's fields (fails on any other message)."""
        message = await self.receive(within)
        assert message["type"] == "next", message
        assert "errors" not in message["payload"], message
        alert: dict[str, Any] = message["payload"]["data"]["alerts"]
        return alert

    async def close_code(self, within: float = 20.0) -> int | None:
        """The code the server closes with (messages before it are skipped)."""
        try:
            async with asyncio.timeout(within):
                while True:
                    await self.connection.recv()
        except ConnectionClosed as closed:
            return closed.rcvd.code if closed.rcvd is not None else None
        raise AssertionError("unreachable")


async def subscribers_reach(app: Starlette, count: int, within: float = 10.0) -> None:
    """Wait until the hub's bus holds ``count`` subscriptions (a subscribe message is
    taken up asynchronously, and an alert raised before that is not for it)."""
    async with asyncio.timeout(within):
        while app.state.alerts.subscribers < count:
            await asyncio.sleep(0.01)
