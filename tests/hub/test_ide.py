"""GraphiQL works where the public internet does not reach: its page names no other
host, every file it names is served by the hub, byte for byte the file the page pins
(its subresource-integrity hash), and in a real Chromium that may reach no host but
the hub, the editor renders."""

from __future__ import annotations

import base64
import hashlib
import re
import shutil
import subprocess
import tempfile

import httpx

from graph.store import GraphStore
from hub.app import create_app
from hub.ide import ASSET_ROUTE
from tests.hub.support import hub_client
from tests.served import served_hub, store_url
from tests.tokens import TokenSource

HTML = {"accept": "text/html"}


_REFERENCE = re.compile(r'(?:src|href)="([^"]+)"(?:\s+integrity="([^"]+)")?')


async def _page_and_files(
    store: GraphStore, tokens: TokenSource
) -> tuple[str, dict[str, tuple[httpx.Response, str | None]]]:
    app = create_app(store=store, auth=tokens.service)
    async with hub_client(app, {}) as anonymous:
        page = (await anonymous.get("/graphql", headers=HTML)).text
        files = {
            address: (await anonymous.get(address), integrity)
            for address, integrity in _REFERENCE.findall(page)
            if not address.startswith("data:")
        }
    return page, files


async def test_the_graphiql_page_names_no_other_host_and_the_hub_serves_what_it_names(
    sql_store: GraphStore, tokens: TokenSource
) -> None:
    page, files = await _page_and_files(sql_store, tokens)

    assert "unpkg.com" not in page and "cdn" not in page.lower()
    assert files, "the page names its scripts and styles"
    assert all(address.startswith(ASSET_ROUTE + "/") for address in files)
    for address, (response, integrity) in files.items():
        assert response.status_code == 200, f"{address}: {response.status_code}"
        # served without a token, and byte for byte what the page pinned
        assert integrity, f"{address} has no integrity hash"
        algorithm, expected = integrity.split("-", 1)
        digest = hashlib.new(algorithm, response.content).digest()
        assert base64.b64encode(digest).decode() == expected, f"{address} is not the pinned file"
    kinds = {response.headers["content-type"].split(";")[0] for response, _ in files.values()}
    assert kinds == {"text/javascript", "text/css"}


async def test_only_the_files_the_page_names_are_served(
    sql_store: GraphStore, tokens: TokenSource
) -> None:
    app = create_app(store=sql_store, auth=tokens.service)
    async with hub_client(app, {}) as anonymous:
        unnamed = await anonymous.get(f"{ASSET_ROUTE}/react/package.json")
        climbing = await anonymous.get(f"{ASSET_ROUTE}/react%2F..%2F..%2F..%2Fpyproject.toml")
        graphql = await anonymous.post("/graphql", json={"query": "{ __typename }"})

    assert unnamed.status_code == 404
    assert climbing.status_code == 404
    assert graphql.status_code == 401, "the API itself still needs a token"


def _chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    assert found, "Chromium is missing: `make test` installs Debian's chromium package"
    return found


def test_graphiql_renders_in_chromium_with_no_host_but_the_hub_reachable(
    sql_store: GraphStore,
) -> None:
    with served_hub(store_url(sql_store)) as hub, tempfile.TemporaryDirectory() as profile:
        page = subprocess.run(
            [
                _chromium(),
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                f"--user-data-dir={profile}",
                # every host but the hub's loopback address resolves to nothing
                "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
                "--virtual-time-budget=15000",
                "--dump-dom",
                hub.url + "graphql",
            ],
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        ).stdout
        # and the same server still answers the API (its start-up ran through the
        # middleware that lets the page's assets pass)
        answered = httpx.post(
            hub.url + "graphql", json={"query": "{ __typename }"}, headers=hub.headers
        )

    assert answered.status_code == 200, answered.text

    assert "graphiql-editor" in page, page[-2000:]
    assert ">Loading...<" not in page
