"""The middleware beyond tokens themselves: public paths, malformed headers, WebSockets."""

from __future__ import annotations

import httpx
from starlette.types import Message, Receive, Scope, Send

from auth.middleware import BearerAuthMiddleware
from auth.service import AuthService
from tests.auth.support import challenge


async def test_two_authorization_headers_are_a_bad_request(http: httpx.AsyncClient) -> None:
    response = await http.get(
        "/whoami", headers=[("Authorization", "Bearer a.b.c"), ("Authorization", "Bearer d.e.f")]
    )

    assert response.status_code == 400
    assert challenge(response)["error"] == "invalid_request"


async def test_a_public_path_is_public_only_exactly(http: httpx.AsyncClient) -> None:
    assert (await http.get("/healthz")).status_code == 200
    assert (await http.get("/healthz/../whoami")).status_code == 401


async def test_websocket_without_a_valid_token_is_closed_with_policy_violation(
    service: AuthService,
) -> None:
    reached = []

    async def inner_app(scope: Scope, receive: Receive, send: Send) -> None:
        reached.append(scope["path"])

    middleware = BearerAuthMiddleware(inner_app, verifier=service.verifier)
    for headers in ([], [(b"authorization", b"Bearer not-a-jwt")]):
        sent: list[Message] = []

        async def receive() -> Message:
            return {"type": "websocket.connect"}

        async def send(message: Message, sent: list[Message] = sent) -> None:
            sent.append(message)

        scope = {"type": "websocket", "path": "/graphql", "root_path": "", "headers": headers}
        await middleware(scope, receive, send)

        assert [message["type"] for message in sent] == ["websocket.close"]
        assert sent[0]["code"] == 1008
    assert reached == []
