"""The partner directory over GraphQL (``graph.directory``): a second sponsor lists
only the organizations it is related to, still reads who an inspection names, and
with ``HUB_DIRECTORY=published`` lists everyone."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from graph.directory import Directory
from graph.sql.store import SqlGraphStore
from hub.app import create_app
from hub.demo.story import demo_records
from hub.settings import Settings
from tests.hub.support import hub_client
from tests.tokens import TokenSource

ASKED = """{
  organizations(first: 50) { nodes { id } }
  alder: organization(id: "org:alder") { id name }
  inspections(first: 50) { nodes { agency organization { id name } site { id } } }
}"""


async def _asked(tmp_path: Path, tokens: TokenSource, directory: Directory) -> dict[str, Any]:
    store = SqlGraphStore(f"sqlite+aiosqlite:///{tmp_path / f'{directory}.sqlite'}")
    await store.setup()
    await store.upsert(demo_records())
    settings = Settings(directory=directory, database=f"sqlite:///{tmp_path / 'ledger.sqlite'}")
    app = create_app(settings, store=store, auth=tokens.service)
    try:
        async with hub_client(app, await tokens.bearer("oakridge", ["graph:read"])) as http:
            answer = await http.post("/graphql", json={"query": ASKED})
    finally:
        await store.close()
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    assert "errors" not in body, body
    return body["data"]


def _ids(data: dict[str, Any], listing: str) -> list[str]:
    return [node["id"] for node in data[listing]["nodes"]]


@pytest.mark.parametrize("directory", list(Directory))
async def test_what_a_second_sponsor_lists_follows_hub_directory(
    tmp_path: Path, tokens: TokenSource, directory: Directory
) -> None:
    data = await _asked(tmp_path, tokens, directory)

    if directory is Directory.RELATED:
        assert _ids(data, "organizations") == ["org:birch", "org:dogwood", "org:oakridge"]
        assert data["alder"] is None  # as if it did not exist
    else:
        assert len(_ids(data, "organizations")) == 9
        assert data["alder"] == {"id": "org:alder", "name": "Alder Lifesciences"}
    # Public record either way: each inspection names its organization and site.
    named = {
        inspection["organization"]["id"]: inspection["site"]["id"]
        for inspection in data["inspections"]["nodes"]
    }
    assert named == {"org:alder": "site:alder/HYD-1", "org:birch": "site:birch/CRK-1"}
