"""The token endpoint: authlib's ``AuthorizationServer`` with the client credentials
grant, adapted to Starlette, issuing RFC 9068 JWT access tokens. The grants of people
signed in (authorization code, refresh token) are handed to ``auth.person_grants``.

authlib is synchronous (``query_client``, ``check_client_secret`` and the token
generator are plain calls) and the store is async. So the handler first loads
everything the grant can need -- the client the request names and the current signing
key -- and then runs authlib's whole token flow in a worker thread, over a server
object built for this one request around that data. The thread is needed anyway:
checking a secret is a deliberately slow scrypt hash and an RSA signature takes
milliseconds, and neither may block the event loop. Building the server per request
costs microseconds and leaves no state shared between threads.

Nothing is stored per token: the tokens are self-contained, and a revoked client's
tokens are refused by ``auth.verify`` instead.
"""

from __future__ import annotations

import logging
from typing import Any, ClassVar

import anyio.to_thread
from authlib.oauth2.rfc6749 import (  # type: ignore[import-untyped]
    AuthorizationServer,
    ClientMixin,
    OAuth2Payload,
    OAuth2Request,
)
from authlib.oauth2.rfc6749.errors import (  # type: ignore[import-untyped]
    InvalidClientError,
    InvalidScopeError,
    OAuth2Error,
)
from authlib.oauth2.rfc6749.grants import ClientCredentialsGrant  # type: ignore[import-untyped]
from authlib.oauth2.rfc6749.util import (  # type: ignore[import-untyped]
    extract_basic_authorization,
    scope_to_list,
)
from authlib.oauth2.rfc9068 import JWTBearerTokenGenerator  # type: ignore[import-untyped]
from joserfc.jwk import KeySet
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from auth.claims import ORG_CLAIM, ORG_KIND_CLAIM
from auth.config import AuthConfig
from auth.forms import read_form
from auth.keys import SigningKey
from auth.login_limits import LoginGuard
from auth.person_grants import PERSON_GRANT_TYPES, PersonGrants
from auth.rate_limits import Refused
from auth.secret_hash import spend_like_a_verification, verify_secret
from auth.store import SLUG, AuthStore, OAuthClient

log = logging.getLogger("partnerhub.auth.server")

GRANT_TYPE = "client_credentials"
AUTH_METHODS = ("client_secret_basic", "client_secret_post")


class TokenEndpoint:
    """``POST /oauth/token``: mount ``respond`` as a Starlette endpoint."""

    def __init__(
        self,
        config: AuthConfig,
        store: AuthStore,
        people: PersonGrants | None = None,
        guard: LoginGuard | None = None,
    ) -> None:
        self.config = config
        self.store = store
        self.people = people
        self.guard = guard or LoginGuard(config.login_limits)

    async def respond(self, request: Request) -> Response:
        """
        summary: Get an access token (OAuth 2.0 client credentials, RFC 6749 4.4)
        description: >-
          Authenticate with client_secret_basic (HTTP Basic) or client_secret_post
          (client_id and client_secret in the form). The answer is an RFC 9068 JWT
          access token for the scopes asked for (all granted ones when none are asked).
          People signed in through /oauth/authorize exchange their code
          (authorization_code with code_verifier, public clients name themselves with
          client_id) and refresh with refresh_token (rotated at every use).
        requestBody:
          required: true
          content:
            application/x-www-form-urlencoded:
              schema:
                type: object
                required: [grant_type]
                properties:
                  grant_type:
                    type: string
                    enum: [client_credentials, authorization_code, refresh_token]
                  scope: {type: string, description: "space-separated, e.g. graph:read"}
                  client_id: {type: string}
                  client_secret: {type: string}
                  code: {type: string, description: "authorization_code: the one-time code"}
                  redirect_uri: {type: string, description: "authorization_code: as sent"}
                  code_verifier: {type: string, description: "authorization_code: PKCE"}
                  refresh_token: {type: string, description: "refresh_token: the last one"}
        responses:
          200: {description: "access_token, token_type Bearer, expires_in, scope"}
          400: {description: "invalid_request, unsupported_grant_type or invalid_scope"}
          401: {description: "invalid_client: authentication failed"}
          429: {description: "too many requests or failed secrets from this address or for this client: see Retry-After"}
        """
        try:
            form = await read_form(request)
        except OAuth2Error as error:
            return _json(*error())
        address = remote_address(request)
        if self.people is not None and form.get("grant_type") in PERSON_GRANT_TYPES:
            # Per address only: every person signed in through one app shares its client id.
            refused = self.guard.before_token(address, None)
            if refused is not None:
                return too_many_requests(refused)
            self.guard.token_not_failed(address, None)  # no secret here to fail
            return await self.people.respond(form)
        client_id = _named_client_id(request, form)
        # Before the secret is hashed: a flood of wrong secrets stops here.
        refused = self.guard.before_token(address, client_id)
        if refused is not None:
            # Not the client id: unchecked, it may be anything typed (a misplaced secret).
            log.info("token request refused before authentication: %s spent", refused.limit)
            return too_many_requests(refused)
        client = await self.store.get_client(client_id) if client_id else None
        key = await self.store.current_signing_key()
        status, body, headers = await anyio.to_thread.run_sync(
            self._respond, request, form, client, key
        )
        # Only a stored client id is logged: what a caller typed may be anything,
        # a misplaced secret included.
        who = client.client_id if client is not None else "(unknown client)"
        if status != 401:  # 401 alone says the secret (or the client id) was wrong
            self.guard.token_not_failed(address, client_id)
        if status == 200:
            log.info("issued an access token to %s", who)
        else:
            log.info("token request from %s refused: %s", who, body.get("error"))
        return _json(status, body, headers)

    def _respond(
        self, request: Request, form: dict[str, str], client: OAuthClient | None, key: SigningKey
    ) -> tuple[int, dict[str, Any], list[tuple[str, str]]]:
        server = _OneRequestServer(self.config, client, key)
        try:
            oauth_request = _StarletteOAuth2Request(request, form)
        except OAuth2Error as error:  # e.g. insecure_transport: plain http off loopback
            return error()  # type: ignore[no-any-return]
        return server.create_token_response(oauth_request)  # type: ignore[no-any-return]


class _OneRequestServer(AuthorizationServer):  # type: ignore[misc]
    """authlib's server for one token request, over the data loaded for it."""

    def __init__(self, config: AuthConfig, client: OAuthClient | None, key: SigningKey) -> None:
        super().__init__(scopes_supported=sorted(config.scopes_supported))
        self._client = client
        self.register_grant(_ClientCredentialsGrant)
        self.register_client_auth_method("client_secret_basic", _authenticate_basic)
        self.register_client_auth_method("client_secret_post", _authenticate_post)
        self.register_token_generator("default", _AccessTokenGenerator(config, key))

    def query_client(self, client_id: str) -> ClientMixin:
        known = self._client
        if known is not None and not known.revoked and known.client_id == client_id:
            return _Client(known)
        return _UnknownClient()

    def save_token(self, token: dict[str, Any], request: OAuth2Request) -> None:
        pass  # self-contained JWTs: nothing to keep

    def send_signal(self, name: str, *args: Any, **kwargs: Any) -> None:
        pass

    def create_oauth2_request(self, request: OAuth2Request) -> OAuth2Request:
        return request  # already wrapped by TokenEndpoint

    def handle_response(
        self, status: int, body: dict[str, Any], headers: list[tuple[str, str]]
    ) -> tuple[int, dict[str, Any], list[tuple[str, str]]]:
        return status, body, headers


# authlib's own client_secret_basic / client_secret_post debug-log the client id as
# sent, which may be anything (a secret pasted in the wrong field); these two log
# nothing and never look up a string that cannot be a client id.


def _authenticate_basic(query_client: Any, request: OAuth2Request) -> ClientMixin | None:
    client_id, secret = extract_basic_authorization(request.headers)
    return _authenticate(query_client, client_id, secret)


def _authenticate_post(query_client: Any, request: OAuth2Request) -> ClientMixin | None:
    return _authenticate(
        query_client, request.form.get("client_id"), request.form.get("client_secret")
    )


def _authenticate(query_client: Any, client_id: object, secret: object) -> ClientMixin | None:
    if not isinstance(client_id, str) or not isinstance(secret, str) or not secret:
        return None
    client = query_client(client_id if SLUG.fullmatch(client_id) else "")
    return client if client.check_client_secret(secret) else None


class _ClientCredentialsGrant(ClientCredentialsGrant):  # type: ignore[misc]
    TOKEN_ENDPOINT_AUTH_METHODS: ClassVar[list[str]] = list(AUTH_METHODS)

    def authenticate_token_endpoint_client(self) -> ClientMixin:
        # One answer, 401, whatever went wrong: authlib says "does not exist" for an
        # unknown id (and answers 400 with client_secret_post), which tells a caller
        # which client ids are real.
        try:
            return super().authenticate_token_endpoint_client()
        except InvalidClientError:
            raise InvalidClientError(
                status_code=401, description="Client authentication failed."
            ) from None

    def validate_requested_scope(self) -> None:
        super().validate_requested_scope()  # only scopes this server knows
        requested = set(scope_to_list(self.request.payload.scope) or ())
        ungranted = requested - self.request.client.granted
        if ungranted:
            raise InvalidScopeError(
                description=f"Scope not granted to this client: {' '.join(sorted(ungranted))}."
            )

    def create_token_response(self) -> tuple[int, dict[str, Any], list[tuple[str, str]]]:
        # authlib's own version debug-logs the whole token response, access token
        # included; tokens must never reach a log.
        token = self.generate_token(scope=self.request.payload.scope, include_refresh_token=False)
        self.save_token(token)
        return 200, token, self.TOKEN_RESPONSE_HEADER


class _AccessTokenGenerator(JWTBearerTokenGenerator):  # type: ignore[misc]
    """RFC 9068 access tokens: ``typ: at+jwt``, ``kid``, our audience and org claims."""

    def __init__(self, config: AuthConfig, key: SigningKey) -> None:
        super().__init__(
            issuer=config.issuer,
            alg=key.algorithm,
            expires_generator=int(config.access_token_lifetime.total_seconds()),
        )
        self._audience = config.audience
        self._key = key

    def get_jwks(self) -> KeySet:
        return KeySet([self._key.private_key()])

    def get_audiences(self, client: _Client, user: object, scope: str) -> str:
        return self._audience

    def get_extra_claims(
        self, client: _Client, grant_type: str, user: object, scope: str
    ) -> dict[str, Any]:
        return {ORG_CLAIM: client.record.org_id, ORG_KIND_CLAIM: client.record.org_kind}


class _Client(ClientMixin):  # type: ignore[misc]
    """A stored client as authlib sees it: secret and client credentials only."""

    def __init__(self, record: OAuthClient) -> None:
        self.record = record
        self.granted = frozenset(str(scope) for scope in record.scopes)

    def __repr__(self) -> str:
        return f"<client {self.record.client_id}>"

    def get_client_id(self) -> str:
        return self.record.client_id

    def get_allowed_scope(self, scope: str | None) -> str:
        # Asking for nothing gets everything granted; asking for more was refused earlier.
        requested = set(scope_to_list(scope) or ()) or self.granted
        return " ".join(sorted(requested & self.granted))

    def check_client_secret(self, client_secret: str) -> bool:
        return verify_secret(client_secret, self.record.secret_hash)

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        return endpoint == "token" and method in AUTH_METHODS

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type == GRANT_TYPE

    def get_default_redirect_uri(self) -> None:
        return None

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        return False

    def check_response_type(self, response_type: str) -> bool:
        return False


class _UnknownClient(ClientMixin):  # type: ignore[misc]
    """Stands in for a client id that does not exist (or is revoked): the secret check
    takes as long as a real one and always fails."""

    def __repr__(self) -> str:
        return "<unknown client>"

    def get_client_id(self) -> str:
        return ""

    def check_client_secret(self, client_secret: str) -> bool:
        spend_like_a_verification(client_secret)
        return False

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        return True


class _FormPayload(OAuth2Payload):  # type: ignore[misc]
    def __init__(self, form: dict[str, str]) -> None:
        self._form = form

    @property
    def data(self) -> dict[str, str]:
        return self._form

    @property
    def datalist(self) -> dict[str, list[str]]:
        return {name: [value] for name, value in self._form.items()}


class _StarletteOAuth2Request(OAuth2Request):  # type: ignore[misc]
    def __init__(self, request: Request, form: dict[str, str]) -> None:
        super().__init__(request.method, str(request.url), headers=request.headers)
        self.payload = _FormPayload(form)
        self._form = form

    @property
    def args(self) -> dict[str, str]:
        return {}  # the token endpoint takes its parameters from the body only

    @property
    def form(self) -> dict[str, str]:
        return self._form


def _named_client_id(request: Request, form: dict[str, str]) -> str | None:
    basic_id, _ = extract_basic_authorization(request.headers)
    named = basic_id or form.get("client_id")
    return named if isinstance(named, str) and SLUG.fullmatch(named) else None


def remote_address(request: Request) -> str:
    """The caller's address as the server saw it (behind a proxy, the server must be
    told which proxies to believe for this to be the client's)."""
    return request.client.host if request.client is not None else "unknown"


def too_many_requests(refused: Refused) -> JSONResponse:
    """RFC 6585's 429 in RFC 6749's error shape."""
    return JSONResponse(
        {
            "error": "too_many_requests",
            "error_description": f"Too many attempts ({refused.limit}: {refused.rate}); "
            f"try again in {refused.retry_after} s.",
        },
        status_code=429,
        headers={"Retry-After": str(refused.retry_after), "Cache-Control": "no-store"},
    )


def _json(status: int, body: dict[str, Any], headers: list[tuple[str, str]]) -> JSONResponse:
    return JSONResponse(body, status_code=status, headers=dict(headers))
