"""One HTTP request handed straight to an ASGI app, for timing the app and nothing else.

httpx's ``ASGITransport`` builds an ``httpx.Request``, runs the app in a task, and
parses the answer into an ``httpx.Response``: about 0.13 ms a request on the bench
machine, against a 1 ms lineage walk. That is the client's work, not the API's. Here
the request is the ASGI scope and body the server would hand the app (what uvicorn
makes of the bytes it reads), and the answer is the status and body bytes it sends.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass

from starlette.types import ASGIApp, Message


@dataclass(frozen=True, slots=True)
class Answered:
    status: int
    body: bytes


async def post(app: ASGIApp, path: str, headers: Mapping[str, str], body: bytes) -> Answered:
    """POST ``body`` to ``path`` of ``app`` as one request of its own."""
    raw_headers = [
        (b"host", b"bench"),
        (b"content-length", str(len(body)).encode()),
        *((name.lower().encode(), value.encode()) for name, value in headers.items()),
    ]
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": raw_headers,
        "client": ("127.0.0.1", 50000),
        "server": ("bench", 80),
    }
    delivered = False
    status = 0
    chunks: list[bytes] = []

    async def receive() -> Message:
        nonlocal delivered
        if not delivered:
            delivered = True
            return {"type": "http.request", "body": body, "more_body": False}
        await asyncio.Event().wait()  # the client stays connected until the answer
        raise AssertionError("unreachable")

    async def send(message: Message) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    await app(scope, receive, send)
    return Answered(status, b"".join(chunks))
