"""Signing in through an organization's own OpenID Connect provider: the provider vouches
for a verified e-mail of its domains, the hub finds the user by it and hands the app a
code as after a password. The provider here answers through httpx's mock transport."""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from joserfc.jwk import ECKey

from auth.config import OidcProvider
from auth.principal import Scope
from auth.service import AuthService
from hub.records.database import migrate
from hub.settings import Settings
from tests.auth.signin import PASSWORD, authorize_params, exchange, pkce, redirect_answer
from tests.auth.support import ISSUER, MovableClock, build_app, hub_config, sign_with

IDP = "https://idp.birch.example"
CALLBACK = f"{ISSUER}/oauth/oidc/callback"


@dataclass
class Provider:
    """Birch's identity provider: one signing key, codes it issued, what it says."""

    key: ECKey = field(
        default_factory=lambda: ECKey.generate_key("P-256", {"alg": "ES256"}, auto_kid=True)
    )
    codes: dict[str, dict[str, str]] = field(default_factory=dict)  # code -> nonce, challenge
    claims: dict[str, Any] = field(default_factory=dict)

    def authorize(self, location: str, email: str) -> str:
        """The provider's side of the browser's visit: a code, and the callback URL."""
        query = {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}
        assert query["redirect_uri"] == CALLBACK and query["code_challenge_method"] == "S256"
        code = f"idp-code-{len(self.codes)}"
        self.codes[code] = {**query, "email": email}
        return f"/oauth/oidc/callback?code={code}&state={query['state']}"

    def handle(self, request: httpx.Request) -> httpx.Response:
        if request.url.path == "/jwks":
            return httpx.Response(200, json={"keys": [self.key.as_dict(private=False)]})
        assert request.url.path == "/token"
        form = {k: v[0] for k, v in parse_qs(request.content.decode()).items()}
        issued = self.codes.pop(form["code"], None)
        verifier = form["code_verifier"].encode()
        digest = base64.urlsafe_b64encode(hashlib.sha256(verifier).digest()).rstrip(b"=")
        if issued is None or digest.decode() != issued["code_challenge"]:
            return httpx.Response(400, json={"error": "invalid_grant"})
        now = int(time.time())
        claims = {
            "iss": IDP,
            "aud": "partnerhub",
            "sub": "idp-user-1",
            "iat": now,
            "exp": now + 300,
            "nonce": issued["nonce"],
            "email": issued["email"],
            "email_verified": True,
            **self.claims,
        }
        token = sign_with(self.key, {"alg": "ES256", "kid": self.key.kid}, claims)
        return httpx.Response(200, json={"id_token": token, "token_type": "Bearer"})


@pytest.fixture
def provider() -> Provider:
    return Provider()


@pytest.fixture
async def http(
    database_url: str, provider: Provider, clock: MovableClock
) -> AsyncIterator[httpx.AsyncClient]:
    birch_idp = OidcProvider(
        name="birch",
        issuer=IDP,
        client_id="partnerhub",
        client_secret="idp-secret",
        authorization_endpoint=f"{IDP}/authorize",
        token_endpoint=f"{IDP}/token",
        jwks_url=f"{IDP}/jwks",
        email_domains=frozenset({"birch.example"}),
    )
    outbound = httpx.AsyncClient(transport=httpx.MockTransport(provider.handle))
    service = AuthService.from_url(
        database_url,
        hub_config(oidc_providers=[birch_idp]),
        migrate=migrate,
        http=outbound,
        clock=clock,
    )
    await service.setup()
    await service.add_user("birch", "ana@birch.example", PASSWORD, [Scope.GRAPH_READ])
    await service.add_user("elm", "eli@elm.example", PASSWORD, [Scope.GRAPH_READ])
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=build_app(service)), base_url=ISSUER
    ) as client:
        yield client
    await service.close()
    await outbound.aclose()


async def start(http: httpx.AsyncClient, params: dict[str, str]) -> str:
    page = await http.get("/oauth/authorize", params=params)
    assert "Sign in with birch" in page.text
    started = await http.get("/oauth/authorize/oidc", params={**params, "provider": "birch"})
    assert started.status_code == 303, started.text
    location = started.headers["location"]
    assert location.startswith(f"{IDP}/authorize?")
    return location


async def test_a_person_signs_in_at_their_organizations_provider(
    http: httpx.AsyncClient, provider: Provider
) -> None:
    pair = pkce()
    params = authorize_params(pair)
    callback = provider.authorize(await start(http, params), "ana@birch.example")

    answer = redirect_answer(await http.get(callback))
    tokens = await exchange(http, answer["code"], pair.verifier)
    replayed = await http.get(callback)

    assert answer["state"] == params["state"]
    assert tokens.status_code == 200, tokens.text
    whoami = await http.get(
        "/whoami", headers={"authorization": f"Bearer {tokens.json()['access_token']}"}
    )
    assert whoami.json()["org_id"] == "birch"
    assert replayed.status_code == 400, "a callback is good once"


@pytest.mark.parametrize(
    ("email", "claims", "logged"),
    [
        # a real user, but of a domain the provider does not speak for
        ("eli@elm.example", {}, "outside its domains"),
        ("nobody@birch.example", {}, "no active hub user"),
        ("ana@birch.example", {"email_verified": False}, "no verified e-mail"),
        ("ana@birch.example", {"nonce": "another"}, "ID token refused"),
        ("ana@birch.example", {"aud": "someone-else"}, "ID token refused"),
        ("ana@birch.example", {"iss": "https://idp.evil.example"}, "ID token refused"),
    ],
    ids=["other-domain", "unknown-user", "unverified", "nonce", "audience", "issuer"],
)
async def test_what_the_provider_cannot_vouch_for_is_access_denied(
    http: httpx.AsyncClient,
    provider: Provider,
    caplog: pytest.LogCaptureFixture,
    email: str,
    claims: dict[str, Any],
    logged: str,
) -> None:
    caplog.set_level(logging.INFO, logger="partnerhub.auth.signin")
    provider.claims = claims
    params = authorize_params(pkce())
    callback = provider.authorize(await start(http, params), email)

    answer = redirect_answer(await http.get(callback))

    assert answer["error"] == "access_denied" and answer["state"] == params["state"]
    assert "code" not in answer
    assert logged in caplog.text


async def test_a_callback_from_another_browser_is_refused(
    http: httpx.AsyncClient, provider: Provider
) -> None:
    callback = provider.authorize(await start(http, authorize_params(pkce())), "ana@birch.example")
    http.cookies.clear()

    refused = await http.get(callback)

    assert refused.status_code == 400 and "location" not in refused.headers


def test_the_provider_secret_stays_out_of_reprs() -> None:
    provider = OidcProvider(
        name="birch",
        issuer=IDP,
        client_id="partnerhub",
        client_secret="idp-secret",
        authorization_endpoint=f"{IDP}/authorize",
        token_endpoint=f"{IDP}/token",
        jwks_url=f"{IDP}/jwks",
        email_domains=frozenset({"birch.example"}),
    )
    assert "idp-secret" not in repr(provider)
    assert json.dumps(sorted(provider.email_domains)) == '["birch.example"]'


def test_providers_come_from_the_settings() -> None:
    settings = Settings(
        auth_oidc_providers=[
            {
                "name": "birch",
                "issuer": IDP,
                "client_id": "partnerhub",
                "client_secret": "idp-secret",
                "authorization_endpoint": f"{IDP}/authorize",
                "token_endpoint": f"{IDP}/token",
                "jwks_url": f"{IDP}/jwks",
                "email_domains": ["Birch.example"],
            }
        ]
    )
    (provider,) = settings.auth_config().oidc_providers
    assert provider.client_secret == "idp-secret"
    assert provider.email_domains == frozenset({"birch.example"})
    with pytest.raises(ValueError, match="https"):
        Settings(
            auth_oidc_providers=[
                {**settings.auth_oidc_providers[0].model_dump(), "issuer": "http://idp.example"}
            ]
        ).auth_config()
