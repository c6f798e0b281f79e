"""The token endpoint's grants for people: ``authorization_code`` (with the PKCE
verifier) and ``refresh_token`` (rotated at every use), for public clients, which name
themselves with ``client_id`` and have no secret.

Errors are RFC 6749 5.2's: ``invalid_request`` for a missing parameter,
``invalid_client`` (401) for an unknown client, ``invalid_grant`` for a code or refresh
token that is unknown, expired, used before, issued to another client or redirect URI,
or whose verifier does not match its challenge (RFC 7636 4.6). Nothing tells which.
"""

from __future__ import annotations

import hmac
import logging
import re
from collections.abc import Mapping
from typing import Any

import anyio.to_thread
from authlib.oauth2.rfc7636 import create_s256_code_challenge  # type: ignore[import-untyped]
from starlette.responses import JSONResponse

from auth.config import AuthConfig
from auth.person_tokens import person_access_token
from auth.principal import Scope
from auth.public_clients import PublicClientStore
from auth.signin_sessions import Session, SigninSessions
from auth.store import AuthStore
from auth.users import HubUser, UserStore

log = logging.getLogger("partnerhub.auth.signin")

PERSON_GRANT_TYPES = ("authorization_code", "refresh_token")
# RFC 7636 4.1: 43 to 128 unreserved characters.
CODE_VERIFIER = re.compile(r"^[A-Za-z0-9._~-]{43,128}$")
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
_KNOWN_SCOPES = {scope.value: scope for scope in Scope}


class GrantError(Exception):
    def __init__(self, error: str, description: str, status_code: int = 400) -> None:
        super().__init__(description)
        self.error = error
        self.description = description
        self.status_code = status_code

    def response(self) -> JSONResponse:
        body = {"error": self.error, "error_description": self.description}
        return JSONResponse(body, status_code=self.status_code, headers=NO_STORE)


def _bad_grant() -> GrantError:
    return GrantError("invalid_grant", "The grant is invalid, expired, or was used already.")


class PersonGrants:
    def __init__(
        self,
        config: AuthConfig,
        store: AuthStore,
        clients: PublicClientStore,
        users: UserStore,
        sessions: SigninSessions,
    ) -> None:
        self.config = config
        self.store = store
        self.clients = clients
        self.users = users
        self.sessions = sessions

    async def respond(self, form: Mapping[str, str]) -> JSONResponse:
        client_id = form.get("client_id", "")
        try:
            if not client_id:
                raise GrantError("invalid_request", "client_id is required.")
            if await self.clients.get(client_id) is None:
                raise GrantError("invalid_client", "Client authentication failed.", 401)
            if form.get("grant_type") == "authorization_code":
                answer = await self._authorization_code(client_id, form)
            else:
                answer = await self._refresh(client_id, form)
        except GrantError as refused:
            log.info(
                "%s grant for client %s refused: %s",
                form.get("grant_type"),
                client_id if await self.clients.get(client_id) else "(unknown client)",
                refused.error,
            )
            return refused.response()
        return JSONResponse(answer, headers=NO_STORE)

    async def _authorization_code(self, client_id: str, form: Mapping[str, str]) -> dict[str, Any]:
        code, verifier = form.get("code", ""), form.get("code_verifier", "")
        redirect_uri = form.get("redirect_uri", "")
        if not code or not redirect_uri:
            raise GrantError("invalid_request", "code and redirect_uri are required.")
        if not verifier:
            raise GrantError("invalid_request", "code_verifier is required (PKCE).")
        issued = await self.sessions.redeem_code(code)  # burnt now, whatever follows
        if issued is None or issued.client_id != client_id or issued.redirect_uri != redirect_uri:
            raise _bad_grant()
        expected = create_s256_code_challenge(verifier) if CODE_VERIFIER.fullmatch(verifier) else ""
        if not hmac.compare_digest(expected.encode(), issued.code_challenge.encode()):
            raise GrantError("invalid_grant", "The code_verifier does not match the challenge.")
        user = await self._active_user(issued.user_id)
        session, refresh_token = await self.sessions.open_session(issued)
        log.info("opened session %s for %s via %s", session.session_id, user.user_id, client_id)
        return await self._tokens(user, session, session.scopes, refresh_token)

    async def _refresh(self, client_id: str, form: Mapping[str, str]) -> dict[str, Any]:
        refresh_token = form.get("refresh_token", "")
        if not refresh_token:
            raise GrantError("invalid_request", "refresh_token is required.")
        owner = await self.sessions.session_of(refresh_token)
        if owner is None or owner.client_id != client_id:
            raise _bad_grant()  # another client's token is not burnt by this attempt
        rotated = await self.sessions.rotate(refresh_token)
        if rotated is None:
            raise _bad_grant()
        session, next_token = rotated
        user = await self._active_user(session.user_id)
        scopes = session.scopes
        if "scope" in form:  # RFC 6749 6: narrower, never wider
            asked = set(form["scope"].split())
            if not asked <= set(scopes):
                raise GrantError("invalid_scope", "A refresh cannot widen the scope.")
            scopes = frozenset(_KNOWN_SCOPES[name] for name in asked)
        return await self._tokens(user, session, scopes, next_token)

    async def _active_user(self, user_id: str) -> HubUser:
        user = await self.users.get(user_id)
        if user is None or user.disabled:
            raise _bad_grant()
        return user

    async def _tokens(
        self, user: HubUser, session: Session, scopes: frozenset[Scope], refresh_token: str
    ) -> dict[str, Any]:
        # The user's scopes may have shrunk since the session opened.
        scopes = scopes & user.scopes
        key = await self.store.current_signing_key()
        access_token = await anyio.to_thread.run_sync(
            person_access_token,
            self.config,
            key,
            user,
            session.client_id,
            scopes,
            self.store.clock(),
        )
        return {
            "access_token": access_token,
            "token_type": "Bearer",
            "expires_in": int(self.config.access_token_lifetime.total_seconds()),
            "scope": " ".join(sorted(scopes)),
            "refresh_token": refresh_token,
        }
