"""Security headers and CORS on what the hub answers (``hub.web``): every response,
refusals included, tells the browser not to sniff, frame or leak referrers; https
answers pin https; pages keep a policy that lets them work; no other origin may read
the hub unless the operator lists it."""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from pydantic import ValidationError

from graph.sql.store import SqlGraphStore
from hub.app import create_app
from hub.settings import Settings
from tests.hub.support import hub_client
from tests.tokens import TokenSource

HTML = {"accept": "text/html"}
BI = "https://bi.example.com"


@pytest.fixture
async def sql_store(tmp_path: Path) -> AsyncIterator[SqlGraphStore]:
    store = SqlGraphStore(f"sqlite+aiosqlite:///{tmp_path / 'graph.sqlite'}")
    await store.setup()
    yield store
    await store.close()


def _directives(policy: str) -> dict[str, list[str]]:
    return {
        name: values
        for name, *values in (part.split() for part in policy.split(";") if part.strip())
    }


def _sha256(block: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(block.encode()).digest()).decode() + "'"


async def test_every_answer_carries_the_security_headers_and_https_alone_pins_https(
    sql_store: SqlGraphStore, tokens: TokenSource, tmp_path: Path
) -> None:
    settings = Settings(database=f"sqlite:///{tmp_path / 'ledger.sqlite'}")
    app = create_app(settings, store=sql_store, auth=tokens.service)
    async with hub_client(app) as http:
        answers = [
            await http.get("/healthz"),
            await http.post("/graphql", json={"query": "{ __typename }"}),  # 401: no token
            await http.get("/export/nothing.csv"),  # 401 as well
        ]
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="https://hub.test"
        ) as over_https:
            secure = await over_https.get("/healthz")

    assert [answer.status_code for answer in answers] == [200, 401, 401]
    for answer in answers:
        assert answer.headers["x-content-type-options"] == "nosniff"
        assert answer.headers["referrer-policy"] == "no-referrer"
        assert answer.headers["x-frame-options"] == "DENY"
        assert "strict-transport-security" not in answer.headers  # plain http: no pinning
        policy = _directives(answer.headers["content-security-policy"])
        assert policy["default-src"] == ["'self'"]
        assert policy["frame-ancestors"] == ["'none'"]
        assert policy["style-src"] == ["'self'"]  # no inline style for the console
        assert policy["script-src"] == ["'self'"]
        assert policy["img-src"] == ["'self'", "data:", "blob:"]
    assert secure.headers["strict-transport-security"].startswith("max-age=31536000")


async def test_graphiql_and_the_sign_in_page_keep_policies_that_let_them_work(
    sql_store: SqlGraphStore, tokens: TokenSource
) -> None:
    app = create_app(store=sql_store, auth=tokens.service)
    async with hub_client(app) as http:
        ide = await http.get("/graphql", headers=HTML)
        refusal = await http.get("/oauth/authorize", params={"client_id": "nobody"})

    page = ide.text
    policy = _directives(ide.headers["content-security-policy"])
    inline_scripts = re.findall(r"<script>(.*?)</script>", page, re.S)
    inline_styles = re.findall(r"<style>(.*?)</style>", page, re.S)
    assert inline_scripts and inline_styles  # strawberry's page has both
    assert policy["script-src"] == ["'self'", *sorted(map(_sha256, inline_scripts))]
    assert policy["style-src"] == ["'self'", *sorted(map(_sha256, inline_styles))]
    assert "'unsafe-inline'" not in ide.headers["content-security-policy"]
    assert policy["frame-ancestors"] == ["'none'"]
    assert ide.headers["x-content-type-options"] == "nosniff"

    # The sign-in pages have no inline code at all: their own stricter policy stays.
    assert refusal.status_code == 400
    assert refusal.headers["content-security-policy"].startswith("default-src 'none'")
    assert "<style" not in refusal.text and "style=" not in refusal.text
    assert refusal.headers["x-content-type-options"] == "nosniff"


async def test_no_origin_may_read_the_hub_until_the_operator_lists_it(
    sql_store: SqlGraphStore, tokens: TokenSource
) -> None:
    preflight = {
        "origin": BI,
        "access-control-request-method": "POST",
        "access-control-request-headers": "authorization, content-type",
    }
    async with hub_client(create_app(store=sql_store, auth=tokens.service)) as http:
        closed = await http.get("/healthz", headers={"origin": BI})
        closed_preflight = await http.options("/graphql", headers=preflight)
    assert "access-control-allow-origin" not in closed.headers
    assert "access-control-allow-origin" not in closed_preflight.headers

    listed = Settings(cors_origins=f"{BI}, http://localhost:3000")  # type: ignore[arg-type]
    assert listed.cors_origins == [BI, "http://localhost:3000"]
    async with hub_client(create_app(listed, store=sql_store, auth=tokens.service)) as http:
        allowed = await http.options("/graphql", headers=preflight)
        simple = await http.get("/healthz", headers={"origin": BI})
        other = await http.options("/graphql", headers={**preflight, "origin": "https://evil.test"})
        delete = await http.options(
            "/graphql", headers={**preflight, "access-control-request-method": "DELETE"}
        )

    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == BI
    assert set(allowed.headers["access-control-allow-methods"].split(", ")) == {"GET", "POST"}
    assert "authorization" in allowed.headers["access-control-allow-headers"].lower()
    assert "access-control-allow-credentials" not in allowed.headers
    assert simple.headers["access-control-allow-origin"] == BI
    assert other.status_code == 400
    assert "access-control-allow-origin" not in other.headers
    assert delete.status_code == 400


def test_a_malformed_origin_or_proxy_fails_start_up_naming_it(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match=re.escape("https://bi.example.com/dashboards")):
        Settings(cors_origins=["https://bi.example.com/dashboards"])
    with pytest.raises(ValidationError, match=re.escape("proxy.internal")):
        Settings(trusted_proxies="10.0.0.0/8, proxy.internal")  # type: ignore[arg-type]
    assert Settings(trusted_proxies="10.0.0.5,10.1.0.0/16").trusted_proxies == [  # type: ignore[arg-type]
        "10.0.0.5",
        "10.1.0.0/16",
    ]
    with pytest.raises(ValidationError, match="HUB_TLS_KEY_FILE"):
        Settings(tls_cert_file=tmp_path / "cert.pem")
