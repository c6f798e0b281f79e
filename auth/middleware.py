"""Bearer tokens on every request, as plain ASGI middleware around the hub's app.

A request to a public path passes untouched (``request.user`` unauthenticated). Any
other request needs ``Authorization: Bearer <token>``; the token is verified and its
principal put in ``scope["user"]`` (a ``PrincipalUser``) and its scopes in
``scope["auth"]``, as Starlette's ``AuthenticationMiddleware`` would. Refusals follow
RFC 6750: 401 with a ``WWW-Authenticate: Bearer`` challenge, carrying
``error="invalid_token"`` when a token was sent and no error code when none was; 403
``insufficient_scope`` from ``require_scope``. WebSocket connections are closed with
code 1008 instead.

Only the reason a token was refused is ever logged, never the token.
"""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Awaitable, Callable, Iterable

from starlette.authentication import AuthCredentials, BaseUser, UnauthenticatedUser
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.requests import HTTPConnection, Request
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Receive, Send
from starlette.types import Scope as AsgiScope
from starlette.websockets import WebSocketClose

from auth.authorize import AUTHORIZE_PATH, OIDC_PATH
from auth.oidc_login import CALLBACK_PATH
from auth.principal import Principal, Scope
from auth.revocation import REVOKE_PATH
from auth.routes import JWKS_PATH, METADATA_PATH, TOKEN_PATH
from auth.verify import AccessToken, InvalidToken, TokenVerifier

log = logging.getLogger("partnerhub.auth.middleware")

REALM = "partnerhub"
# /metrics is left out on purpose: add it when the scraper has no token.
PUBLIC_PATHS = frozenset(
    {
        "/healthz",
        "/readyz",
        TOKEN_PATH,
        JWKS_PATH,
        METADATA_PATH,
        AUTHORIZE_PATH,
        REVOKE_PATH,
        OIDC_PATH,
        CALLBACK_PATH,
    }
)

Endpoint = Callable[[Request], Awaitable[Response]]


class PrincipalUser(BaseUser):
    """``request.user`` for a verified token."""

    def __init__(self, token: AccessToken) -> None:
        self.token = token

    @property
    def principal(self) -> Principal:
        return self.token.principal

    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def display_name(self) -> str:
        return self.principal.org_id

    @property
    def identity(self) -> str:
        return self.token.client_id or self.token.subject or self.principal.org_id


class BearerChallenge(HTTPException):
    """A refusal with an RFC 6750 challenge; ``challenge_response`` renders it as JSON.
    Register ``AUTH_EXCEPTION_HANDLERS`` on the app to render raised ones the same way."""

    def __init__(
        self,
        status_code: int,
        description: str,
        *,
        error: str | None,
        scope: Scope | None = None,
        realm: str = REALM,
    ) -> None:
        params = {"realm": realm}
        if error is not None:
            params |= {"error": error, "error_description": description}
        if scope is not None:
            params["scope"] = scope.value
        challenge = "Bearer " + ", ".join(f'{name}="{_quotable(v)}"' for name, v in params.items())
        super().__init__(status_code, description, headers={"WWW-Authenticate": challenge})
        self.error = error


class InsufficientScope(BearerChallenge):
    def __init__(self, scope: Scope, realm: str = REALM) -> None:
        super().__init__(
            403,
            f"this needs the {scope.value} scope",
            error="insufficient_scope",
            scope=scope,
            realm=realm,
        )


class NotAuthenticated(BearerChallenge):
    def __init__(self, realm: str = REALM) -> None:
        super().__init__(401, "this needs a bearer token", error=None, realm=realm)


def challenge_response(challenge: BearerChallenge) -> JSONResponse:
    body = {"error": challenge.error or "unauthorized", "error_description": challenge.detail}
    return JSONResponse(body, status_code=challenge.status_code, headers=challenge.headers)


async def _challenge_handler(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, BearerChallenge)
    return challenge_response(exc)


AUTH_EXCEPTION_HANDLERS = {BearerChallenge: _challenge_handler}


def authenticated_principal(connection: HTTPConnection) -> Principal | None:
    """The principal of a verified token, or None (public path, or no middleware)."""
    user = connection.scope.get("user")
    return user.principal if isinstance(user, PrincipalUser) else None


def require_scope(connection: HTTPConnection, scope: Scope) -> Principal:
    """The caller's principal if it holds ``scope`` (admin holds every scope); raises
    ``InsufficientScope`` (403) otherwise, ``NotAuthenticated`` (401) without a token."""
    principal = authenticated_principal(connection)
    if principal is None:
        raise NotAuthenticated()
    if not principal.has(scope):
        raise InsufficientScope(scope)
    return principal


def requires_scope(scope: Scope) -> Callable[[Endpoint], Endpoint]:
    """Decorate an endpoint so that it answers 403 ``insufficient_scope`` (401 without
    a token) unless the caller holds ``scope``."""

    def decorate(endpoint: Endpoint) -> Endpoint:
        @functools.wraps(endpoint)
        async def guarded(request: Request) -> Response:
            try:
                require_scope(request, scope)
            except BearerChallenge as challenge:
                return challenge_response(challenge)
            return await endpoint(request)

        return guarded

    return decorate


class BearerAuthMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        verifier: TokenVerifier,
        public_paths: Iterable[str] = PUBLIC_PATHS,
        realm: str = REALM,
    ) -> None:
        self.app = app
        self.verifier = verifier
        self.public_paths = frozenset(public_paths)
        self.realm = realm

    async def __call__(self, scope: AsgiScope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        if _route_path(scope) in self.public_paths:
            scope["user"], scope["auth"] = UnauthenticatedUser(), AuthCredentials()
            await self.app(scope, receive, send)
            return
        try:
            token = _bearer_token(Headers(scope=scope), self.realm)
            if token is None:
                raise NotAuthenticated(self.realm)
            try:
                access = await self.verifier.verify_access_token(token)
            except InvalidToken as refused:
                log.info("refused a bearer token: %s", refused.reason)
                raise BearerChallenge(
                    401, refused.reason, error="invalid_token", realm=self.realm
                ) from None
        except BearerChallenge as challenge:
            if scope["type"] == "websocket":
                await WebSocketClose(code=1008, reason=challenge.detail)(scope, receive, send)
            else:
                await challenge_response(challenge)(scope, receive, send)
            return
        scope["user"] = PrincipalUser(access)
        scope["auth"] = AuthCredentials(sorted(s.value for s in access.principal.scopes))
        await self.app(scope, receive, send)


def _bearer_token(headers: Headers, realm: str) -> str | None:
    """The bearer token, None when no Bearer credentials were sent (another scheme
    counts as none, RFC 6750 3.1)."""
    values = headers.getlist("authorization")
    if not values:
        return None
    if len(values) > 1:
        raise BearerChallenge(
            400, "send one Authorization header", error="invalid_request", realm=realm
        )
    scheme, _, credentials = values[0].strip().partition(" ")
    if scheme.lower() != "bearer":
        return None
    credentials = credentials.strip()
    if not credentials or " " in credentials:
        raise BearerChallenge(
            400,
            "the Authorization header holds no bearer token",
            error="invalid_request",
            realm=realm,
        )
    return credentials


def _route_path(scope: AsgiScope) -> str:
    path: str = scope["path"]
    root: str = scope.get("root_path", "")
    return path[len(root) :] if root and path.startswith(root) else path


_UNQUOTABLE = re.compile(r'["\\\x00-\x1f\x7f-\uffff]')


def _quotable(text: str) -> str:
    return _UNQUOTABLE.sub("?", text)
