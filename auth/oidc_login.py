"""Signing in through an organization's own OpenID Connect provider (the relying-party
side of OIDC Core's authorization code flow), as an alternative to a hub password on
the sign-in form.

``GET /oauth/authorize/oidc?provider=<name>`` takes the same parameters as
``/oauth/authorize`` and checks them the same way, keeps them with a fresh ``state``,
``nonce`` and PKCE verifier (one-time, ten minutes), and sends the browser to the
provider. ``GET /oauth/oidc/callback`` takes the provider's code back, exchanges it
(client_secret_basic, with the verifier), and verifies the ID token: signature by a
key the provider publishes, ``iss``, ``aud``, ``exp``, the ``nonce`` sent, and a
verified ``email`` in one of the provider's domains. That e-mail must be an active hub
user's, who then gets a code for the original client exactly as after a password.

The ``state`` is also kept in a cookie scoped to the callback, so a callback started
in another browser (login CSRF: signing someone in as the attacker) is refused.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import secrets
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

import httpx
from authlib.oauth2.rfc7636 import create_s256_code_challenge  # type: ignore[import-untyped]
from joserfc import jws
from joserfc.errors import JoseError
from joserfc.jwt import JWTClaimsRegistry
from sqlalchemy import select, update
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from auth.authorize import AuthorizationEndpoint, PageError, RedirectError
from auth.config import AuthConfig, Clock, OidcProvider
from auth.jwks import RemoteKeySet
from auth.signin_page import refusal_page
from auth.signin_tables import oidc_logins
from auth.timing import aware, moment

log = logging.getLogger("partnerhub.auth.signin")

CALLBACK_PATH = "/oauth/oidc/callback"
STATE_COOKIE = "partnerhub_oidc_state"
LOGIN_LIFETIME = timedelta(minutes=10)


class OidcLogin:
    def __init__(
        self,
        config: AuthConfig,
        authorization: AuthorizationEndpoint,
        http: httpx.AsyncClient,
        clock: Clock,
    ) -> None:
        self.config = config
        self.authorization = authorization
        self.http = http
        self.clock = clock
        self.engine = authorization.sessions.engine
        self._keys = {
            provider.name: RemoteKeySet(
                provider.jwks_url,
                http,
                ttl=config.jwks_cache_ttl,
                cooldown=config.jwks_refetch_cooldown,
                clock=clock,
            )
            for provider in config.oidc_providers
        }

    async def start(self, request: Request) -> Response:
        """
        summary: Sign in at the organization's OpenID Connect provider instead
        responses:
          303: {description: "to the provider (or back to the client with an error)"}
          400: {description: "an unknown provider, client or redirect URI (HTML)"}
        """
        params = dict(request.query_params)
        provider = self.config.oidc_provider(params.pop("provider", ""))
        try:
            if provider is None:
                raise PageError("There is no such sign-in provider.")
            checked = await self.authorization.check(params)
        except PageError as refused:
            return refusal_page(str(refused))
        except RedirectError as refused:
            return self.authorization.redirect_error(params, refused)
        state, nonce, verifier = (secrets.token_urlsafe(32) for _ in range(3))
        async with self.engine.begin() as conn:
            await conn.execute(
                oidc_logins.insert().values(
                    state_hash=_digest(state),
                    provider=provider.name,
                    nonce=nonce,
                    code_verifier=verifier,
                    request=json.dumps(checked.parameters),
                    expires_at=moment(self.clock) + LOGIN_LIFETIME,
                    used_at=None,
                )
            )
        query = urlencode(
            {
                "response_type": "code",
                "client_id": provider.client_id,
                "redirect_uri": self.config.endpoint(CALLBACK_PATH),
                "scope": "openid email",
                "state": state,
                "nonce": nonce,
                "code_challenge": create_s256_code_challenge(verifier),
                "code_challenge_method": "S256",
            }
        )
        response = RedirectResponse(f"{provider.authorization_endpoint}?{query}", status_code=303)
        response.set_cookie(
            STATE_COOKIE,
            state,
            max_age=int(LOGIN_LIFETIME.total_seconds()),
            path=CALLBACK_PATH,
            secure=self.config.issuer.startswith("https://"),
            httponly=True,
            samesite="lax",  # the provider's redirect back is a cross-site top-level GET
        )
        return response

    async def callback(self, request: Request) -> Response:
        """
        summary: The OpenID Connect provider's answer
        responses:
          303: {description: "back to the client with a one-time code, or an error"}
          400: {description: "an unknown, expired or replayed sign-in (HTML)"}
        """
        state = request.query_params.get("state", "")
        kept = request.cookies.get(STATE_COOKIE, "")
        if not state or not kept or not hmac.compare_digest(state.encode(), kept.encode()):
            return refusal_page("This sign-in was not started in this browser. Sign in again.")
        login = await self._take(state)
        provider = self.config.oidc_provider(login["provider"]) if login else None
        if login is None or provider is None:
            return refusal_page("This sign-in has expired or was used. Sign in again.")
        params: dict[str, str] = json.loads(login["request"])
        try:
            checked = await self.authorization.check(params)
        except PageError as refused:
            return refusal_page(str(refused))
        except RedirectError as refused:
            return self.authorization.redirect_error(params, refused)
        email = await self._verified_email(provider, request, login)
        user = await self.authorization.users.by_email(email) if email else None
        if user is None or user.disabled:
            log.warning("sign-in through %s refused: no active hub user", provider.name)
            return self.authorization.redirect_error(
                params, RedirectError("access_denied", "The sign-in was not accepted.")
            )
        response = await self.authorization.grant(checked, user)
        response.delete_cookie(STATE_COOKIE, path=CALLBACK_PATH)
        return response

    async def _take(self, state: str) -> dict[str, Any] | None:
        """The sign-in in flight under ``state``, once, if not expired."""
        state_hash, now = _digest(state), moment(self.clock)
        async with self.engine.begin() as conn:
            taken = await conn.execute(
                update(oidc_logins)
                .where(oidc_logins.c.state_hash == state_hash, oidc_logins.c.used_at.is_(None))
                .values(used_at=now)
            )
            if not taken.rowcount:
                return None
            row = (
                await conn.execute(
                    select(oidc_logins).where(oidc_logins.c.state_hash == state_hash)
                )
            ).first()
        if row is None or aware(row._mapping["expires_at"]) <= now:
            return None
        return dict(row._mapping)

    async def _verified_email(
        self, provider: OidcProvider, request: Request, login: dict[str, Any]
    ) -> str | None:
        """The ID token's verified e-mail in the provider's domains, or None (logged why)."""
        code = request.query_params.get("code")
        if not code:
            # Its error code is not logged: the query string is anyone's to write.
            log.info("sign-in through %s: the provider answered without a code", provider.name)
            return None
        try:
            answer = await self.http.post(
                provider.token_endpoint,
                data={
                    "grant_type": "authorization_code",
                    "code": code,
                    "redirect_uri": self.config.endpoint(CALLBACK_PATH),
                    "code_verifier": login["code_verifier"],
                },
                auth=(provider.client_id, provider.client_secret),
                headers={"Accept": "application/json"},
            )
            id_token = answer.json().get("id_token") if answer.status_code == 200 else None
        except (httpx.HTTPError, ValueError) as error:
            log.warning("sign-in through %s: token request failed: %s", provider.name, error)
            return None
        if not isinstance(id_token, str):
            log.warning("sign-in through %s: no ID token (%s)", provider.name, answer.status_code)
            return None
        claims = await self._id_token_claims(provider, id_token, login["nonce"])
        if claims is None:
            return None
        email = claims.get("email")
        if not isinstance(email, str) or claims.get("email_verified") is not True:
            log.warning("sign-in through %s: no verified e-mail in the ID token", provider.name)
            return None
        if email.rpartition("@")[2].lower() not in provider.email_domains:
            log.warning("sign-in through %s: e-mail outside its domains", provider.name)
            return None
        return email

    async def _id_token_claims(
        self, provider: OidcProvider, id_token: str, nonce: str
    ) -> dict[str, Any] | None:
        try:
            compact = jws.extract_compact(id_token.encode("ascii"))
            header = compact.headers()
            alg, kid = header.get("alg"), header.get("kid")
            if alg not in provider.algorithms or not isinstance(kid, str):
                raise JoseError("algorithm or kid")
            key = await self._keys[provider.name].get(kid)
            if key is None:
                raise JoseError("unknown kid")
            registry = jws.JWSRegistry(algorithms=[str(alg)])
            if not jws.validate_compact(compact, key, registry=registry):
                raise JoseError("signature")
            claims = json.loads(compact.payload or b"")
            JWTClaimsRegistry(
                now=int(self.clock()),
                leeway=int(self.config.clock_leeway.total_seconds()),
                iss={"essential": True, "value": provider.issuer},
                aud={"essential": True, "value": provider.client_id},
                exp={"essential": True},
                iat={"essential": True},
                nonce={"essential": True, "value": nonce},
            ).validate(claims)
        except (JoseError, ValueError) as error:
            log.warning(
                "sign-in through %s: ID token refused (%s)", provider.name, type(error).__name__
            )
            return None
        return claims if isinstance(claims, dict) else None


def _digest(state: str) -> str:
    return hashlib.sha256(state.encode("utf-8")).hexdigest()
