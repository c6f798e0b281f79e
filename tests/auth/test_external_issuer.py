"""Tokens from a trusted identity provider: a real HTTP server on loopback that
publishes its JWKS, started here, with its own claim names."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import httpx
import pytest
import uvicorn
from joserfc.jwk import ECKey, OctKey, RSAKey
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from auth.config import TrustedIssuer
from auth.principal import Scope
from auth.service import AuthService
from hub.records.database import migrate
from tests.auth.support import (
    MovableClock,
    bearer,
    build_app,
    challenge,
    http_client,
    hub_config,
    sign_with,
)

ORG_CLAIM = "https://idp.birch.example/claims/org"
KIND_CLAIM = "org_type"
AUDIENCE = "api://partnerhub"


@dataclass
class IdentityProvider:
    """A stand-in for a partner's identity provider: it publishes ``keys`` at /jwks."""

    issuer: str = ""
    keys: list[Any] = field(default_factory=list)
    extra_published: list[dict[str, Any]] = field(default_factory=list)
    fetches: int = 0

    def add_key(self) -> ECKey:
        key = ECKey.generate_key("P-256", {"alg": "ES256", "use": "sig"}, auto_kid=True)
        self.keys.append(key)
        return key

    def app(self) -> Starlette:
        async def jwks(request: Request) -> Response:
            self.fetches += 1
            published = [key.as_dict(private=False) for key in self.keys]
            return JSONResponse({"keys": published + self.extra_published})

        return Starlette(routes=[Route("/jwks", jwks)])

    def token(self, key: Any = None, *, issuer: str | None = None, **claims: Any) -> str:
        key = key or self.keys[-1]
        now = int(time.time())
        body = {
            "iss": issuer or self.issuer,
            "sub": "svc-birch-lims",
            "aud": AUDIENCE,
            "iat": now,
            "exp": now + 300,
            "azp": "birch-lims",
            ORG_CLAIM: "birch",
            KIND_CLAIM: "CDMO",
            "scp": ["graph:read", "lims:admin"],
            **claims,
        }
        alg = key.alg or "ES256"
        return sign_with(key, {"alg": alg, "typ": "at+jwt", "kid": key.kid}, body)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def idp() -> Iterator[IdentityProvider]:
    provider = IdentityProvider()
    port = free_port()
    provider.issuer = f"http://127.0.0.1:{port}"
    provider.add_key()
    server = uvicorn.Server(
        uvicorn.Config(
            provider.app(), host="127.0.0.1", port=port, log_level="warning", lifespan="off"
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "identity provider did not start"
        time.sleep(0.02)
    try:
        yield provider
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.fixture
async def hub(
    database_url: str, idp: IdentityProvider, clock: MovableClock
) -> AsyncIterator[httpx.AsyncClient]:
    trusted = TrustedIssuer(
        issuer=idp.issuer,
        jwks_url=f"{idp.issuer}/jwks",
        audience=AUDIENCE,
        org_claim=ORG_CLAIM,
        scope_claim="scp",
        org_kind_claim=KIND_CLAIM,
        allowed_orgs=frozenset({"birch"}),
    )
    config = hub_config(trusted_issuers=[trusted], jwks_refetch_cooldown=timedelta(seconds=30))
    service = AuthService.from_url(database_url, config, clock=clock, migrate=migrate)
    await service.setup()
    try:
        async with http_client(build_app(service)) as client:
            yield client
    finally:
        await service.close()


async def test_a_trusted_issuers_token_maps_to_its_principal(
    hub: httpx.AsyncClient, idp: IdentityProvider
) -> None:
    response = await hub.get("/whoami", headers=bearer(idp.token()))

    assert response.status_code == 200, response.text
    assert response.json() == {
        "org_id": "birch",
        "org_kind": "CDMO",
        "scopes": ["graph:read"],  # lims:admin is no hub scope: ignored
        "issuer": idp.issuer,
        "client_id": "birch-lims",
    }


async def test_scope_as_a_space_separated_string_works_too(
    hub: httpx.AsyncClient, idp: IdentityProvider
) -> None:
    response = await hub.get("/whoami", headers=bearer(idp.token(scp="graph:read ingest:write")))

    assert response.json()["scopes"] == ["graph:read", "ingest:write"]


async def test_an_outside_issuer_cannot_grant_admin(
    hub: httpx.AsyncClient, idp: IdentityProvider
) -> None:
    response = await hub.get("/whoami", headers=bearer(idp.token(scp=["graph:read", "admin"])))

    assert response.json()["scopes"] == ["graph:read"]
    pushed = await hub.post("/ingest", headers=bearer(idp.token(scp=["admin"])))
    assert pushed.status_code == 403
    assert challenge(pushed)["error"] == "insufficient_scope"


async def test_an_untrusted_issuer_is_refused(
    hub: httpx.AsyncClient, idp: IdentityProvider
) -> None:
    # Same keys, same server even, but an issuer the hub was not told to trust.
    response = await hub.get("/whoami", headers=bearer(idp.token(issuer=f"{idp.issuer}/other")))

    assert response.status_code == 401
    assert challenge(response)["error_description"] == "the token's issuer is not trusted"


async def test_a_token_claiming_the_trusted_issuer_with_a_strangers_key_is_refused(
    hub: httpx.AsyncClient, idp: IdentityProvider
) -> None:
    stranger = ECKey.generate_key("P-256", {"alg": "ES256"}, auto_kid=True)
    response = await hub.get("/whoami", headers=bearer(idp.token(stranger)))

    assert response.status_code == 401
    assert challenge(response)["error_description"] == (
        "the token's signing key is not published by its issuer"
    )


async def test_the_issuer_may_only_speak_for_its_orgs(
    hub: httpx.AsyncClient, idp: IdentityProvider
) -> None:
    for org in ("northwind", None, "Not A Slug"):
        response = await hub.get("/whoami", headers=bearer(idp.token(**{ORG_CLAIM: org})))

        assert response.status_code == 401


async def test_wrong_audience_for_the_issuer(hub: httpx.AsyncClient, idp: IdentityProvider) -> None:
    # The hub's own audience is not the one configured for this issuer.
    response = await hub.get("/whoami", headers=bearer(idp.token(aud="https://hub.test/api")))

    assert response.status_code == 401
    assert challenge(response)["error_description"] == "the token is meant for another audience"


async def test_hmac_and_symmetric_keys_in_the_jwks_are_never_used(
    hub: httpx.AsyncClient, idp: IdentityProvider
) -> None:
    oct_key = OctKey.generate_key(256, {"alg": "HS256"}, auto_kid=True)
    idp.extra_published.append(oct_key.as_dict(private=True))  # a careless provider
    try:
        token = sign_with(
            oct_key,
            {"alg": "HS256", "typ": "at+jwt", "kid": oct_key.kid},
            {
                "iss": idp.issuer,
                "aud": AUDIENCE,
                "exp": int(time.time()) + 60,
                "iat": int(time.time()),
                ORG_CLAIM: "birch",
                "scp": ["graph:read"],
            },
        )
        response = await hub.get("/whoami", headers=bearer(token))
    finally:
        idp.extra_published.clear()

    assert response.status_code == 401
    assert (
        challenge(response)["error_description"] == "the token's signing algorithm is not accepted"
    )


async def test_keys_are_cached_and_refetched_once_for_an_unknown_kid(
    hub: httpx.AsyncClient, idp: IdentityProvider, clock: MovableClock
) -> None:
    assert (await hub.get("/whoami", headers=bearer(idp.token()))).status_code == 200
    fetches = idp.fetches
    assert (await hub.get("/whoami", headers=bearer(idp.token()))).status_code == 200
    assert idp.fetches == fetches, "the JWKS was fetched again within its time to live"

    rotated = idp.add_key()  # the provider rotates; the hub's cached set lacks the new kid
    response = await hub.get("/whoami", headers=bearer(idp.token(rotated)))
    assert response.status_code == 200, response.text
    assert idp.fetches == fetches + 1

    # Made-up kids within the cooldown force no more fetches.
    strangers = [RSAKey.generate_key(2048, {"alg": "RS256"}, auto_kid=True) for _ in range(3)]
    for stranger in strangers:
        assert (await hub.get("/whoami", headers=bearer(idp.token(stranger)))).status_code == 401
    assert idp.fetches == fetches + 1

    clock.advance(5 * 60)  # time to live over: fetched again
    assert (await hub.get("/whoami", headers=bearer(idp.token()))).status_code == 200
    assert idp.fetches == fetches + 2


async def test_an_unreachable_jwks_refuses_without_crashing(
    database_url: str, idp: IdentityProvider
) -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    trusted = TrustedIssuer(
        issuer=dead, jwks_url=f"{dead}/jwks", audience=AUDIENCE, org_claim=ORG_CLAIM
    )
    service = AuthService.from_url(
        database_url, hub_config(trusted_issuers=[trusted]), migrate=migrate
    )
    await service.setup()
    try:
        async with http_client(build_app(service)) as hub:
            response = await hub.get("/whoami", headers=bearer(idp.token(issuer=dead)))
    finally:
        await service.close()

    assert response.status_code == 401
    assert challenge(response)["error_description"] == (
        "the token's signing key is not published by its issuer"
    )


def test_trusted_issuer_configuration_is_checked() -> None:
    with pytest.raises(ValueError, match="https"):
        TrustedIssuer("http://idp.example", "http://idp.example/jwks", AUDIENCE, ORG_CLAIM)
    with pytest.raises(ValueError, match="asymmetric"):
        TrustedIssuer(
            "https://idp.example",
            "https://idp.example/jwks",
            AUDIENCE,
            ORG_CLAIM,
            algorithms=frozenset({"HS256"}),
        )
    with pytest.raises(ValueError, match="own issuer"):
        hub_config(
            trusted_issuers=[
                TrustedIssuer("https://hub.test", "https://hub.test/jwks", AUDIENCE, ORG_CLAIM)
            ]
        )
    assert (
        Scope.ADMIN
        not in TrustedIssuer(
            "https://idp.example", "https://idp.example/jwks", AUDIENCE, ORG_CLAIM
        ).allowed_scopes
    )
