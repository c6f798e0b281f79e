"""``POST /oauth/revoke`` (RFC 7009): sign-out. Revoking a refresh token ends its whole
session, so no new access token can be had from it; access tokens already issued are
self-contained and run out within their short lifetime.

Public clients name themselves with ``client_id``. As RFC 7009 2.2 asks, an unknown or
already-revoked token is answered 200 like a revoked one, so the endpoint tells nothing
about which tokens exist; a token of another client is refused and left alone.
"""

from __future__ import annotations

import logging

from authlib.oauth2.rfc6749.errors import OAuth2Error  # type: ignore[import-untyped]
from starlette.requests import Request
from starlette.responses import Response

from auth.forms import read_form
from auth.person_grants import NO_STORE, GrantError
from auth.public_clients import PublicClientStore
from auth.signin_sessions import SigninSessions

log = logging.getLogger("partnerhub.auth.signin")

REVOKE_PATH = "/oauth/revoke"


class RevocationEndpoint:
    def __init__(self, clients: PublicClientStore, sessions: SigninSessions) -> None:
        self.clients = clients
        self.sessions = sessions

    async def respond(self, request: Request) -> Response:
        """
        summary: Revoke a refresh token and its session (sign-out, RFC 7009)
        requestBody:
          required: true
          content:
            application/x-www-form-urlencoded:
              schema:
                type: object
                required: [token, client_id]
                properties:
                  token: {type: string}
                  token_type_hint: {type: string, enum: [refresh_token, access_token]}
                  client_id: {type: string}
        responses:
          200: {description: "revoked (or nothing to revoke)"}
          400: {description: "invalid_request"}
          401: {description: "invalid_client"}
        """
        try:
            form = await read_form(request)
        except OAuth2Error as error:
            return GrantError("invalid_request", error.description or "Malformed body.").response()
        token, client_id = form.get("token", ""), form.get("client_id", "")
        if not token or not client_id:
            return GrantError("invalid_request", "token and client_id are required.").response()
        if await self.clients.get(client_id) is None:
            return GrantError("invalid_client", "Client authentication failed.", 401).response()
        session = await self.sessions.session_of(token)
        if session is not None:
            if session.client_id != client_id:
                return GrantError(
                    "invalid_client", "The token was not issued to this client.", 401
                ).response()
            await self.sessions.revoke(session.session_id)
            log.info("session %s of %s revoked (sign-out)", session.session_id, session.user_id)
        return Response(status_code=200, headers=NO_STORE)
