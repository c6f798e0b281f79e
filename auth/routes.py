"""The authorization server's HTTP surface, as Starlette routes for the hub to mount:

    POST /oauth/token                          client credentials, authorization code
                                               (PKCE) or refresh token → access token
    GET  /oauth/authorize, POST                the sign-in form of people (``auth.authorize``)
    POST /oauth/revoke                         sign-out: a refresh token and its session
    GET  /oauth/authorize/oidc, /oauth/oidc/callback   sign-in at an org's OIDC provider
    GET  /.well-known/jwks.json                public keys that verify the tokens
    GET  /.well-known/oauth-authorization-server   RFC 8414 metadata

None of them needs a bearer token (``auth.middleware.PUBLIC_PATHS`` lists them).
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from auth.authorize import AUTHORIZE_PATH, OIDC_PATH
from auth.config import AuthConfig
from auth.oidc_login import CALLBACK_PATH
from auth.person_grants import PERSON_GRANT_TYPES
from auth.revocation import REVOKE_PATH
from auth.server import AUTH_METHODS, GRANT_TYPE
from auth.service import AuthService

TOKEN_PATH = "/oauth/token"
JWKS_PATH = "/.well-known/jwks.json"
METADATA_PATH = "/.well-known/oauth-authorization-server"


def authorization_server_metadata(config: AuthConfig) -> dict[str, Any]:
    return {
        "issuer": config.issuer,
        "token_endpoint": config.endpoint(TOKEN_PATH),
        "jwks_uri": config.endpoint(JWKS_PATH),
        "authorization_endpoint": config.endpoint(AUTHORIZE_PATH),
        "revocation_endpoint": config.endpoint(REVOKE_PATH),
        "grant_types_supported": [GRANT_TYPE, *PERSON_GRANT_TYPES],
        # "none": public clients (the console), which prove themselves with PKCE.
        "token_endpoint_auth_methods_supported": [*AUTH_METHODS, "none"],
        "revocation_endpoint_auth_methods_supported": ["none"],
        "scopes_supported": sorted(config.scopes_supported),
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "code_challenge_methods_supported": ["S256"],
        "authorization_response_iss_parameter_supported": True,
    }


def auth_routes(service: AuthService) -> list[Route]:
    metadata = authorization_server_metadata(service.config)

    async def jwks(request: Request) -> Response:
        """
        summary: The JWK Set whose keys verify this hub's access tokens
        responses:
          200: {description: "keys: the signing key and any key rotated out but not yet retired"}
        """
        # Short caching: a key retired at once (compromise) must leave caches soon.
        return JSONResponse(
            await service.store.public_jwks(), headers={"Cache-Control": "public, max-age=60"}
        )

    async def authorization_server(request: Request) -> Response:
        """
        summary: OAuth 2.0 authorization server metadata (RFC 8414)
        responses:
          200: {description: "issuer, token_endpoint, jwks_uri, supported grants, methods and scopes"}
        """
        return JSONResponse(metadata, headers={"Cache-Control": "public, max-age=3600"})

    return [
        Route(TOKEN_PATH, service.token_endpoint.respond, methods=["POST"]),
        Route(AUTHORIZE_PATH, service.authorization_endpoint.show, methods=["GET"]),
        Route(AUTHORIZE_PATH, service.authorization_endpoint.submit, methods=["POST"]),
        Route(REVOKE_PATH, service.revocation_endpoint.respond, methods=["POST"]),
        Route(OIDC_PATH, service.oidc_login.start, methods=["GET"]),
        Route(CALLBACK_PATH, service.oidc_login.callback, methods=["GET"]),
        Route(JWKS_PATH, jwks, methods=["GET"]),
        Route(METADATA_PATH, authorization_server, methods=["GET"]),
    ]
