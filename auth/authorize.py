"""``GET`` and ``POST /oauth/authorize``: the authorization code grant with PKCE
(RFC 6749 4.1, RFC 7636), for people signing in to a public client.

The GET checks the request and shows the sign-in form (``auth.signin_page``); the form
posts back here with the same parameters, a CSRF token, the e-mail and the password.
A request is checked the same way both times, in the RFC's order: an unknown client or
a redirect URI not registered for it (compared exactly) gets an error page and is
never redirected; anything else wrong goes back to the client's redirect URI with the
RFC's error code. PKCE is required, S256 only (``plain`` would hand the verifier to
whoever sees the request), and so is ``state``.

CSRF: a double-submit token, random per form, in a ``SameSite=Strict``, ``HttpOnly``
cookie scoped to this path and in a hidden field; the POST must carry both, equal.
A wrong e-mail or password re-shows the form with one generic message, whichever was
wrong; the attempt is logged with the user id when the e-mail is known, never with
what was typed. Too many attempts from one address, or too many wrong passwords for
one account or from one address (``auth.login_limits``), re-show the form with a
message saying when to try again, as HTTP 429 with ``Retry-After``, before the
password is hashed.
"""

from __future__ import annotations

import hmac
import logging
import re
import secrets
from dataclasses import dataclass
from urllib.parse import urlencode

from authlib.oauth2.rfc6749.errors import OAuth2Error  # type: ignore[import-untyped]
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from auth.config import AuthConfig
from auth.forms import read_form
from auth.login_limits import LoginGuard
from auth.principal import Scope
from auth.public_clients import PublicClient, PublicClientStore
from auth.rate_limits import Refused
from auth.signin_page import refusal_page, signin_form
from auth.signin_sessions import SigninSessions
from auth.users import HubUser, UserStore

log = logging.getLogger("partnerhub.auth.signin")

AUTHORIZE_PATH = "/oauth/authorize"
OIDC_PATH = AUTHORIZE_PATH + "/oidc"  # ?provider=NAME&...: sign in there instead
CSRF_COOKIE = "partnerhub_signin_csrf"
CSRF_FIELD = "csrf_token"
REQUEST_PARAMETERS = (
    "response_type",
    "client_id",
    "redirect_uri",
    "scope",
    "state",
    "code_challenge",
    "code_challenge_method",
)
# S256 of a verifier: 32 bytes, base64url without padding (RFC 7636 4.2).
S256_CHALLENGE = re.compile(r"^[A-Za-z0-9_-]{43}$")
FORM_LIFETIME_SECONDS = 3600  # the CSRF cookie's: a form left open longer is shown again
WRONG_CREDENTIALS = "The e-mail address or the password is not right."
_KNOWN_SCOPES = {scope.value: scope for scope in Scope}


@dataclass(frozen=True, slots=True)
class AuthorizationRequest:
    client: PublicClient
    redirect_uri: str
    state: str
    code_challenge: str
    scopes: frozenset[Scope] | None  # None: every scope the user holds
    parameters: dict[str, str]  # as received, to carry through the form


class PageError(Exception):
    """Refused without redirecting: the client or its redirect URI cannot be trusted."""


class RedirectError(Exception):
    def __init__(self, error: str, description: str) -> None:
        super().__init__(description)
        self.error = error
        self.description = description


class AuthorizationEndpoint:
    def __init__(
        self,
        config: AuthConfig,
        clients: PublicClientStore,
        users: UserStore,
        sessions: SigninSessions,
        guard: LoginGuard | None = None,
    ) -> None:
        self.config = config
        self.clients = clients
        self.users = users
        self.sessions = sessions
        self.guard = guard or LoginGuard(config.login_limits)
        self._secure_cookie = config.issuer.startswith("https://")

    async def show(self, request: Request) -> Response:
        """
        summary: Sign in (OAuth 2.0 authorization code with PKCE, RFC 6749 4.1, RFC 7636)
        description: >-
          response_type=code, client_id, redirect_uri (exactly as registered), state,
          code_challenge with code_challenge_method=S256, and optionally scope. Answers
          with the sign-in form.
        responses:
          200: {description: "the sign-in form (HTML)"}
          303: {description: "back to the client's redirect URI with an RFC 6749 error"}
          400: {description: "an unknown client or a redirect URI not registered (HTML)"}
        """
        pairs = request.query_params.multi_items()
        params = dict(pairs)
        try:
            if len(params) != len(pairs):
                raise PageError("A parameter was given more than once.")
            checked = await self.check(params)
        except PageError as refused:
            return refusal_page(str(refused))
        except RedirectError as refused:
            return self.redirect_error(params, refused)
        return self._form(checked)

    async def submit(self, request: Request) -> Response:
        """
        summary: The sign-in form's answer
        responses:
          303: {description: "to the client's redirect URI with a one-time code and the state"}
          400: {description: "wrong e-mail or password (the form again), or a bad request"}
          403: {description: "the form's CSRF token is missing or wrong"}
          429: {description: "too many attempts or wrong passwords: the form again, with Retry-After"}
        """
        try:
            form = await read_form(request)
        except OAuth2Error as error:
            return refusal_page(error.description or "Malformed form.")
        params = {name: form[name] for name in REQUEST_PARAMETERS if name in form}
        try:
            checked = await self.check(params)
        except PageError as refused:
            return refusal_page(str(refused))
        except RedirectError as refused:
            return self.redirect_error(params, refused)
        sent = form.get(CSRF_FIELD, "")
        kept = request.cookies.get(CSRF_COOKIE, "")
        if not sent or not kept or not hmac.compare_digest(sent.encode(), kept.encode()):
            log.info("sign-in form refused for client %s: CSRF token", checked.client.client_id)
            return refusal_page(
                "This sign-in form has expired. Go back to the application and sign in again.",
                status_code=403,
            )
        email, password = form.get("email", ""), form.get("password", "")
        address = request.client.host if request.client is not None else "unknown"
        too_many = self.guard.before_signin(address, email)
        if too_many is not None:  # before argon2 runs
            log.warning(
                "sign-in refused via client %s: %s spent", checked.client.client_id, too_many.limit
            )
            return self._too_many(checked, email, too_many)
        user = await self.users.authenticate(email, password)
        if user is None:
            known = await self.users.by_email(email)
            who = known.user_id if known is not None else "an unknown e-mail"
            log.warning(
                "sign-in refused for %s via client %s: wrong e-mail or password",
                who,
                checked.client.client_id,
            )
            return self._form(checked, email=email, notice=WRONG_CREDENTIALS, status_code=400)
        self.guard.signin_not_failed(address, email)
        response = await self.grant(checked, user)
        response.delete_cookie(CSRF_COOKIE, path=AUTHORIZE_PATH)
        return response

    def _too_many(self, checked: AuthorizationRequest, email: str, refused: Refused) -> Response:
        minutes = -(-refused.retry_after // 60)
        wait = f"{minutes} minute{'s' if minutes > 1 else ''}"
        response = self._form(
            checked,
            email=email,
            notice=f"Too many sign-in attempts. Try again in {wait}.",
            status_code=429,
        )
        response.headers["Retry-After"] = str(refused.retry_after)
        return response

    async def grant(self, checked: AuthorizationRequest, user: HubUser) -> Response:
        """Back to the client with a one-time code, for a person who proved who they are
        (by password here, or at their organization's provider: ``auth.oidc_login``)."""
        granted = user.scopes if checked.scopes is None else checked.scopes & user.scopes
        if not granted:
            return self.redirect_error(
                checked.parameters,
                RedirectError("invalid_scope", "The user holds none of these scopes."),
            )
        code = await self.sessions.issue_code(
            client_id=checked.client.client_id,
            redirect_uri=checked.redirect_uri,
            user_id=user.user_id,
            scopes=granted,
            code_challenge=checked.code_challenge,
        )
        log.info("%s signed in via client %s", user.user_id, checked.client.client_id)
        return self._redirect(
            checked.redirect_uri, {"code": code, "state": checked.state, "iss": self.config.issuer}
        )

    async def check(self, params: dict[str, str]) -> AuthorizationRequest:
        client = await self.clients.get(params.get("client_id", ""))
        if client is None:
            raise PageError("The application asking you to sign in is not registered here.")
        redirect_uri = params.get("redirect_uri", "")
        if not client.allows(redirect_uri):
            raise PageError("The application's redirect URI is not registered for it.")
        state = params.get("state", "")
        if not state:
            raise RedirectError("invalid_request", "state is required.")
        if params.get("response_type") != "code":
            raise RedirectError("unsupported_response_type", "Only response_type=code.")
        if params.get("code_challenge_method") != "S256":
            raise RedirectError(
                "invalid_request", "PKCE is required, with code_challenge_method=S256."
            )
        challenge = params.get("code_challenge", "")
        if not S256_CHALLENGE.fullmatch(challenge):
            raise RedirectError("invalid_request", "code_challenge must be an S256 challenge.")
        names = params.get("scope", "").split()
        unknown = [name for name in names if name not in _KNOWN_SCOPES]
        if unknown:
            raise RedirectError("invalid_scope", f"Unknown scope: {' '.join(sorted(unknown))}.")
        return AuthorizationRequest(
            client=client,
            redirect_uri=redirect_uri,
            state=state,
            code_challenge=challenge,
            scopes=frozenset(_KNOWN_SCOPES[name] for name in names) or None,
            parameters=params,
        )

    def _form(
        self,
        checked: AuthorizationRequest,
        *,
        email: str = "",
        notice: str | None = None,
        status_code: int = 200,
    ) -> Response:
        csrf = secrets.token_urlsafe(32)
        response = signin_form(
            AUTHORIZE_PATH,
            {**checked.parameters, CSRF_FIELD: csrf},
            client_id=checked.client.client_id,
            email=email,
            notice=notice,
            providers=[
                (
                    provider.name,
                    f"{OIDC_PATH}?{urlencode({**checked.parameters, 'provider': provider.name})}",
                )
                for provider in self.config.oidc_providers
            ],
            status_code=status_code,
        )
        response.set_cookie(
            CSRF_COOKIE,
            csrf,
            max_age=FORM_LIFETIME_SECONDS,
            path=AUTHORIZE_PATH,
            secure=self._secure_cookie,
            httponly=True,
            samesite="strict",
        )
        return response

    def redirect_error(self, params: dict[str, str], refused: RedirectError) -> Response:
        answer = {"error": refused.error, "error_description": refused.description}
        if params.get("state"):
            answer["state"] = params["state"]
        answer["iss"] = self.config.issuer
        return self._redirect(params["redirect_uri"], answer)

    def _redirect(self, redirect_uri: str, answer: dict[str, str]) -> Response:
        separator = "&" if "?" in redirect_uri else "?"
        response = RedirectResponse(redirect_uri + separator + urlencode(answer), status_code=303)
        response.headers.update({"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"})
        return response
