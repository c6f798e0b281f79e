"""What the auth tests share: a movable clock, a small app around the auth routes and
middleware, and hand-made tokens (good and hostile)."""

from __future__ import annotations

import base64
import json
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
from joserfc import jws
from joserfc.jwk import Key
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from auth.config import AuthConfig
from auth.middleware import (
    AUTH_EXCEPTION_HANDLERS,
    BearerAuthMiddleware,
    PrincipalUser,
    require_scope,
    requires_scope,
)
from auth.principal import Scope
from auth.routes import auth_routes
from auth.service import AuthService

ISSUER = "https://hub.test"
AUDIENCE = "https://hub.test/api"


class MovableClock:
    """Epoch seconds that start at the real time and move only when told."""

    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def hub_config(**overrides: Any) -> AuthConfig:
    return AuthConfig(**{"issuer": ISSUER, "audience": AUDIENCE, **overrides})


def build_app(service: AuthService) -> Starlette:
    """The auth routes and middleware, plus routes standing in for the hub's."""

    async def whoami(request: Request) -> Response:
        principal = require_scope(request, Scope.GRAPH_READ)
        user = request.user
        assert isinstance(user, PrincipalUser)
        return JSONResponse(
            {
                "org_id": principal.org_id,
                "org_kind": principal.org_kind,
                "scopes": sorted(principal.scopes),
                "issuer": user.token.issuer,
                "client_id": user.token.client_id,
            }
        )

    @requires_scope(Scope.INGEST_WRITE)
    async def ingest(request: Request) -> Response:
        return JSONResponse({"accepted": True})

    async def healthz(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    app = Starlette(
        routes=[
            *auth_routes(service),
            Route("/whoami", whoami),
            Route("/ingest", ingest, methods=["POST"]),
            Route("/healthz", healthz),
        ],
        exception_handlers=AUTH_EXCEPTION_HANDLERS,
    )
    app.add_middleware(BearerAuthMiddleware, verifier=service.verifier)
    return app


def http_client(app: Starlette) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=ISSUER)


async def request_token(
    http: httpx.AsyncClient,
    client_id: str,
    secret: str,
    *,
    scope: str | None = None,
    post: bool = False,
) -> httpx.Response:
    form = {"grant_type": "client_credentials"}
    if scope is not None:
        form["scope"] = scope
    if post:
        return await http.post(
            "/oauth/token", data={**form, "client_id": client_id, "client_secret": secret}
        )
    return await http.post("/oauth/token", data=form, auth=(client_id, secret))


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def challenge(response: httpx.Response) -> dict[str, str]:
    """The parameters of a ``WWW-Authenticate: Bearer`` challenge."""
    header = response.headers["www-authenticate"]
    scheme, _, rest = header.partition(" ")
    assert scheme == "Bearer", header
    params = {}
    for part in rest.split(", "):
        name, _, value = part.partition("=")
        params[name] = value.strip('"')
    return params


# -- hand-made tokens --


def b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def encode_json(value: dict[str, Any]) -> str:
    return b64(json.dumps(value, separators=(",", ":")).encode())


def forge(header: dict[str, Any], claims: dict[str, Any], sign: Callable[[bytes], bytes]) -> str:
    """A compact JWS with any header and claims, signed by ``sign`` over its input."""
    signing_input = f"{encode_json(header)}.{encode_json(claims)}"
    return f"{signing_input}.{b64(sign(signing_input.encode('ascii')))}"


def sign_with(key: Key, header: dict[str, Any], claims: dict[str, Any]) -> str:
    algorithm = header["alg"]
    return jws.serialize_compact(header, json.dumps(claims), key, algorithms=[algorithm])


@dataclass
class TokenParts:
    header: dict[str, Any]
    claims: dict[str, Any]


def decode_unverified(token: str) -> TokenParts:
    header, payload, _ = token.split(".")
    return TokenParts(
        header=json.loads(base64.urlsafe_b64decode(header + "==")),
        claims=json.loads(base64.urlsafe_b64decode(payload + "==")),
    )


def own_claims(client_id: str, org_id: str, now: float, **overrides: Any) -> dict[str, Any]:
    """Claims as the hub's token endpoint writes them."""
    return {
        "iss": ISSUER,
        "sub": client_id,
        "aud": AUDIENCE,
        "exp": int(now) + 600,
        "iat": int(now),
        "jti": secrets.token_hex(8),
        "client_id": client_id,
        "scope": "graph:read ingest:write",
        "partnerhub_org": org_id,
        "partnerhub_org_kind": "CDMO",
        **overrides,
    }
