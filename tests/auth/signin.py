"""Signing a person in through the hub's form, as a browser would: the helpers the
sign-in tests share."""

from __future__ import annotations

import base64
import hashlib
import html
import re
import secrets
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx

from tests.auth.support import ISSUER

CONSOLE_CALLBACK = f"{ISSUER}/console/callback"
PASSWORD = "correct horse battery staple"
_HIDDEN = re.compile(r'<input type="hidden" name="([^"]+)" value="([^"]*)">')


@dataclass
class Pkce:
    verifier: str
    challenge: str


def pkce() -> Pkce:
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return Pkce(verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii"))


def authorize_params(pair: Pkce, **overrides: Any) -> dict[str, str]:
    params = {
        "response_type": "code",
        "client_id": "console",
        "redirect_uri": CONSOLE_CALLBACK,
        "state": secrets.token_urlsafe(8),
        "code_challenge": pair.challenge,
        "code_challenge_method": "S256",
        "scope": "graph:read",
        **overrides,
    }
    return {name: value for name, value in params.items() if value is not None}


def hidden_fields(page: str) -> dict[str, str]:
    return {name: html.unescape(value) for name, value in _HIDDEN.findall(page)}


def redirect_answer(response: httpx.Response) -> dict[str, str]:
    """The query parameters of the redirect back to the client."""
    assert response.status_code == 303, response.text
    return {
        name: values[0]
        for name, values in parse_qs(urlsplit(response.headers["location"]).query).items()
    }


async def post_form(
    http: httpx.AsyncClient, params: dict[str, str], email: str, password: str
) -> httpx.Response:
    page = await http.get("/oauth/authorize", params=params)
    assert page.status_code == 200, page.text
    fields = hidden_fields(page.text)
    return await http.post(
        "/oauth/authorize", data={**fields, "email": email, "password": password}
    )


async def sign_in(
    http: httpx.AsyncClient, email: str, pair: Pkce, password: str = PASSWORD, **overrides: Any
) -> str:
    """The one-time code the hub redirects back with."""
    params = authorize_params(pair, **overrides)
    answer = redirect_answer(await post_form(http, params, email, password))
    assert answer["state"] == params["state"]
    assert answer["iss"] == ISSUER
    return answer["code"]


async def exchange(
    http: httpx.AsyncClient,
    code: str,
    verifier: str,
    *,
    client_id: str = "console",
    redirect_uri: str = CONSOLE_CALLBACK,
) -> httpx.Response:
    return await http.post(
        "/oauth/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "code_verifier": verifier,
            "client_id": client_id,
            "redirect_uri": redirect_uri,
        },
    )


async def refresh(
    http: httpx.AsyncClient, refresh_token: str, client_id: str = "console"
) -> httpx.Response:
    return await http.post(
        "/oauth/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": refresh_token,
            "client_id": client_id,
        },
    )
