"""POST /oauth/token, the JWKS and the metadata document, over HTTP."""

from __future__ import annotations

import httpx
import pytest
from authlib.oauth2.rfc8414 import AuthorizationServerMetadata  # type: ignore[import-untyped]
from joserfc import jwt
from joserfc.jwk import KeySet

from auth.service import AuthService
from auth.store import IssuedClient
from tests.auth.support import (
    AUDIENCE,
    ISSUER,
    bearer,
    decode_unverified,
    request_token,
)


@pytest.mark.parametrize("post", [False, True], ids=["client_secret_basic", "client_secret_post"])
async def test_client_credentials_give_an_rfc9068_access_token(
    http: httpx.AsyncClient, birch: IssuedClient, post: bool
) -> None:
    response = await request_token(http, birch.client.client_id, birch.secret, post=post)

    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 900
    assert body["scope"] == "graph:read ingest:write"
    assert "refresh_token" not in body
    token = decode_unverified(body["access_token"])
    assert token.header["typ"] == "at+jwt"
    assert token.header["alg"] == "RS256"
    assert token.header["kid"]
    claims = token.claims
    assert claims["iss"] == ISSUER
    assert claims["aud"] == AUDIENCE
    assert claims["sub"] == claims["client_id"] == "birch-mes"
    assert claims["exp"] - claims["iat"] == 900
    assert claims["jti"]
    assert claims["scope"] == "graph:read ingest:write"
    assert claims["partnerhub_org"] == "birch"
    assert claims["partnerhub_org_kind"] == "CDMO"

    whoami = await http.get("/whoami", headers=bearer(body["access_token"]))
    assert whoami.json() == {
        "org_id": "birch",
        "org_kind": "CDMO",
        "scopes": ["graph:read", "ingest:write"],
        "issuer": ISSUER,
        "client_id": "birch-mes",
    }


async def test_the_published_jwks_verifies_the_token(
    http: httpx.AsyncClient, birch: IssuedClient
) -> None:
    token = (await request_token(http, birch.client.client_id, birch.secret)).json()["access_token"]

    jwks = (await http.get("/.well-known/jwks.json")).json()

    assert all("d" not in key for key in jwks["keys"]), "private key material published"
    verified = jwt.decode(token, KeySet.import_key_set(jwks), algorithms=["RS256"])
    assert verified.header["kid"] in {key["kid"] for key in jwks["keys"]}
    assert verified.claims["client_id"] == "birch-mes"


async def test_asking_for_fewer_scopes_gets_just_those(
    http: httpx.AsyncClient, birch: IssuedClient
) -> None:
    response = await request_token(http, birch.client.client_id, birch.secret, scope="graph:read")

    assert response.status_code == 200, response.text
    assert response.json()["scope"] == "graph:read"
    assert decode_unverified(response.json()["access_token"]).claims["scope"] == "graph:read"


async def test_metadata_document(http: httpx.AsyncClient) -> None:
    response = await http.get("/.well-known/oauth-authorization-server")

    assert response.status_code == 200
    document = response.json()
    assert document == {
        "issuer": ISSUER,
        "token_endpoint": f"{ISSUER}/oauth/token",
        "jwks_uri": f"{ISSUER}/.well-known/jwks.json",
        "authorization_endpoint": f"{ISSUER}/oauth/authorize",
        "revocation_endpoint": f"{ISSUER}/oauth/revoke",
        "grant_types_supported": ["client_credentials", "authorization_code", "refresh_token"],
        "token_endpoint_auth_methods_supported": [
            "client_secret_basic",
            "client_secret_post",
            "none",
        ],
        "revocation_endpoint_auth_methods_supported": ["none"],
        "scopes_supported": ["admin", "graph:read", "ingest:write"],
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "code_challenge_methods_supported": ["S256"],
        "authorization_response_iss_parameter_supported": True,
    }
    metadata = AuthorizationServerMetadata(document)
    for member in AuthorizationServerMetadata.REGISTRY_KEYS:
        getattr(metadata, f"validate_{member}")()


@pytest.mark.parametrize("post", [False, True], ids=["client_secret_basic", "client_secret_post"])
async def test_wrong_secret_is_invalid_client(
    http: httpx.AsyncClient, birch: IssuedClient, post: bool
) -> None:
    response = await request_token(http, birch.client.client_id, birch.secret + "x", post=post)

    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"
    assert "access_token" not in response.json()


@pytest.mark.parametrize("post", [False, True], ids=["client_secret_basic", "client_secret_post"])
async def test_unknown_client_gets_the_same_answer_as_a_wrong_secret(
    http: httpx.AsyncClient, birch: IssuedClient, post: bool
) -> None:
    unknown = await request_token(http, "nobody", birch.secret, post=post)
    wrong = await request_token(http, birch.client.client_id, "not-the-secret", post=post)

    assert unknown.status_code == wrong.status_code == 401
    assert unknown.json() == wrong.json()
    assert unknown.json()["error"] == "invalid_client"


async def test_revoked_client_gets_no_token(
    http: httpx.AsyncClient, service: AuthService, birch: IssuedClient
) -> None:
    await service.revoke_client(birch.client.client_id)

    response = await request_token(http, birch.client.client_id, birch.secret)

    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"


async def test_ungranted_scope_is_invalid_scope(
    http: httpx.AsyncClient, reader: IssuedClient
) -> None:
    response = await request_token(
        http, reader.client.client_id, reader.secret, scope="graph:read ingest:write"
    )

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_scope"
    assert "ingest:write" in response.json()["error_description"]


async def test_unknown_scope_is_invalid_scope(
    http: httpx.AsyncClient, reader: IssuedClient
) -> None:
    response = await request_token(
        http, reader.client.client_id, reader.secret, scope="graph:read graph:write"
    )

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_scope"


async def test_only_client_credentials_are_granted(
    http: httpx.AsyncClient, birch: IssuedClient
) -> None:
    response = await http.post(
        "/oauth/token",
        data={"grant_type": "password", "username": "a", "password": "b"},
        auth=(birch.client.client_id, birch.secret),
    )

    assert response.status_code == 400
    assert response.json()["error"] == "unsupported_grant_type"


@pytest.mark.parametrize(
    ("content", "headers"),
    [
        (b'{"grant_type": "client_credentials"}', {"content-type": "application/json"}),
        (
            b"grant_type=client_credentials&scope=graph:read&scope=admin",
            {"content-type": "application/x-www-form-urlencoded"},
        ),
        (
            b"grant_type=client_credentials&%ff=1",
            {"content-type": "application/x-www-form-urlencoded"},
        ),
    ],
    ids=["json body", "repeated parameter", "not utf-8"],
)
async def test_malformed_requests_are_invalid_request(
    http: httpx.AsyncClient, birch: IssuedClient, content: bytes, headers: dict[str, str]
) -> None:
    response = await http.post(
        "/oauth/token",
        content=content,
        headers=headers,
        auth=(birch.client.client_id, birch.secret),
    )

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"


async def test_plain_http_off_loopback_is_refused(
    service: AuthService, birch: IssuedClient
) -> None:
    from tests.auth.support import build_app

    transport = httpx.ASGITransport(app=build_app(service))
    async with httpx.AsyncClient(transport=transport, base_url="http://hub.example") as plain:
        response = await request_token(plain, birch.client.client_id, birch.secret)

    assert response.status_code == 400
    assert response.json()["error"] == "insecure_transport"
