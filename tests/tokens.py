"""Access tokens for tests, issued by a real authorization server (the hub's own)."""

from __future__ import annotations

import time
from collections.abc import Sequence

import httpx
from starlette.applications import Starlette

from auth.config import AuthConfig
from auth.routes import auth_routes
from auth.service import AuthService
from auth.store import IssuedClient

OPERATOR = ("operator", ("admin", "graph:read", "ingest:write"))
TEST_AUTH = AuthConfig(issuer="http://127.0.0.1:8000", audience="partnerhub")
_REUSE_SECONDS = 600  # tokens live 15 minutes


class TokenSource:
    """Registers a client per (org, scopes) once and hands out its bearer header."""

    def __init__(self, service: AuthService) -> None:
        self.service = service
        self._clients: dict[tuple[str, tuple[str, ...]], IssuedClient] = {}
        self._tokens: dict[tuple[str, tuple[str, ...]], tuple[str, float]] = {}

    async def bearer(
        self, org: str = OPERATOR[0], scopes: Sequence[str] = OPERATOR[1], kind: str | None = None
    ) -> dict[str, str]:
        key = (org, tuple(sorted(scopes)))
        cached = self._tokens.get(key)
        if cached is not None and time.monotonic() - cached[1] < _REUSE_SECONDS:
            return {"authorization": f"Bearer {cached[0]}"}
        if key not in self._clients:
            self._clients[key] = await self.service.store.add_client(org, scopes, org_kind=kind)
        issued = self._clients[key]
        app = Starlette(routes=auth_routes(self.service))
        # The token endpoint accepts plain http on loopback only, as in development.
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as http:
            answer = await http.post(
                "/oauth/token",
                data={"grant_type": "client_credentials"},
                auth=(issued.client.client_id, issued.secret),
            )
        assert answer.status_code == 200, answer.text
        token: str = answer.json()["access_token"]
        self._tokens[key] = (token, time.monotonic())
        return {"authorization": f"Bearer {token}"}
