"""The console's page and files: served without a token (they hold no data), nothing
but its own files and the libraries it names, none from another host."""

from __future__ import annotations

import re

from graph.store import GraphStore
from hub.app import create_app
from hub.console.routes import VENDOR_FILES
from tests.hub.support import hub_client
from tests.tokens import TokenSource

_REFERENCE = re.compile(r'(?:src|href)="([^"]+)"')


async def test_the_page_and_every_file_it_names_are_served_from_the_hub_without_a_token(
    sql_store: GraphStore, tokens: TokenSource
) -> None:
    app = create_app(store=sql_store, auth=tokens.service)
    async with hub_client(app) as anonymous:
        page = await anonymous.get("/console")
        callback = await anonymous.get("/console/callback?code=x&state=y")
        named = [ref for ref in _REFERENCE.findall(page.text) if not ref.startswith(("data:", "#"))]
        files = {ref: await anonymous.get(ref) for ref in named}
        modules = {
            name: await anonymous.get(f"/console/app/{name}")
            for name in re.findall(
                r'from "\./([\w-]+\.js)"', (await anonymous.get("/console/app/main.js")).text
            )
        }

    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    assert callback.text == page.text, "sign-in comes back to the same page"
    assert all(ref.startswith("/console/") for ref in named), named
    assert {ref.rsplit("/", 1)[1] for ref in named if "/vendor/" in ref} == set(VENDOR_FILES)
    for ref, answer in files.items():
        assert answer.status_code == 200, ref
        assert answer.content, ref
    assert set(modules) >= {"auth.js", "lineage.js", "recall.js", "quality.js", "ingestions.js"}
    for name, answer in modules.items():
        assert answer.status_code == 200 and "javascript" in answer.headers["content-type"], name
        assert "https://" not in answer.text and "http://" not in answer.text, name


async def test_nothing_but_the_consoles_own_files_and_named_libraries_is_served(
    sql_store: GraphStore, tokens: TokenSource
) -> None:
    app = create_app(store=sql_store, auth=tokens.service)
    async with hub_client(app) as anonymous:
        outside = [
            await anonymous.get(path)
            for path in (
                "/console/app/../../pyproject.toml",
                "/console/app/%2e%2e/%2e%2e/pyproject.toml",
                "/console/app/index.html",
                "/console/vendor/react.development.js",
                "/console/vendor/..%2fcytoscape%2fpackage.json",
                "/console/app/nope.js",
            )
        ]
        data = await anonymous.post("/graphql", json={"query": "{ batches { nodes { id } } }"})

    # (a client normalises the first to /pyproject.toml: outside the console, a token is asked)
    assert [answer.status_code for answer in outside] == [401] + [404] * (len(outside) - 1)
    assert not any("[project]" in answer.text for answer in outside)
    assert data.status_code == 401, "the API still needs a token"
