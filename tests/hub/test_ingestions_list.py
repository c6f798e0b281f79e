"""``GET /ingestions``: recent pushes newest first, a partner's own only, paged."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from graph.store import GraphStore
from hub.app import create_app
from hub.records.ledger import Ledger
from hub.settings import Settings
from tests.hub.support import hub_client
from tests.tokens import TokenSource

PARTNER = ("graph:read", "ingest:write")


def lot(maker: str, number: str) -> bytes:
    return json.dumps({"node": "Batch", "maker": maker, "number": number}).encode() + b"\n"


@pytest.fixture
async def ledger(tmp_path: Path) -> AsyncIterator[Ledger]:
    opened = Ledger(f"sqlite+aiosqlite:///{tmp_path / 'ledger.sqlite'}")
    await opened.setup()
    yield opened
    await opened.close()


async def push_some(sql_store: GraphStore, ledger: Ledger, tokens: TokenSource) -> list[str]:
    """Three pushes by Birch (the second partly rejected), one by Alder; their ids."""
    app = create_app(
        Settings(ingest_poll_seconds=0.05), store=sql_store, ledger=ledger, auth=tokens.service
    )
    pushed = []
    async with hub_client(app) as http:
        for org, body in [
            ("birch", lot("birch", "L-1")),
            ("birch", lot("birch", "L-2") + b"{not json\n"),
            ("alder", lot("alder", "A-1")),
            ("birch", lot("birch", "L-3")),
        ]:
            headers = await tokens.bearer(org, PARTNER)
            answer = await http.post(
                f"/ingest/canonical.jsonl?wait=30&filename={org}.jsonl",
                content=body,
                headers=headers,
            )
            pushed.append(answer.json()["ingestion_id"])
    return pushed


async def listed(
    sql_store: GraphStore,
    ledger: Ledger,
    tokens: TokenSource,
    org: str,
    scopes: tuple[str, ...],
    query: str = "",
) -> tuple[int, dict[str, object], dict[str, str]]:
    app = create_app(Settings(), store=sql_store, ledger=ledger, auth=tokens.service)
    async with hub_client(app, await tokens.bearer(org, scopes)) as http:
        answer = await http.get(f"/ingestions{query}")
    return answer.status_code, answer.json(), dict(answer.headers)


async def test_a_partner_lists_its_own_pushes_newest_first_with_their_outcome(
    sql_store: GraphStore, ledger: Ledger, tokens: TokenSource
) -> None:
    first, partial, alders, last = await push_some(sql_store, ledger, tokens)

    status, body, _ = await listed(sql_store, ledger, tokens, "birch", PARTNER)

    assert status == 200
    rows = body["ingestions"]
    assert isinstance(rows, list)
    assert [row["ingestion_id"] for row in rows] == [last, partial, first]
    by_id = {row["ingestion_id"]: row for row in rows}
    assert by_id[partial]["status"] == "PARTIAL"
    assert (by_id[partial]["records"], by_id[partial]["applied"], by_id[partial]["rejected"]) == (
        1,
        1,
        1,
    )
    assert by_id[first]["status"] == "APPLIED" and by_id[first]["org"] == "birch"
    assert alders not in by_id


async def test_a_partner_may_not_list_another_organizations_pushes(
    sql_store: GraphStore, ledger: Ledger, tokens: TokenSource
) -> None:
    await push_some(sql_store, ledger, tokens)

    status, body, _ = await listed(sql_store, ledger, tokens, "birch", PARTNER, "?org=alder")

    assert status == 403
    assert "own" in str(body)


async def test_the_operator_lists_everyones_in_pages_and_filters_by_status(
    sql_store: GraphStore, ledger: Ledger, tokens: TokenSource
) -> None:
    first, partial, alders, last = await push_some(sql_store, ledger, tokens)
    operator = ("admin", "graph:read", "ingest:write")

    _, page_one, headers = await listed(sql_store, ledger, tokens, "operator", operator, "?first=2")
    following = headers["link"].split(";")[0].strip("<>").split("/ingestions")[1]
    _, page_two, _ = await listed(sql_store, ledger, tokens, "operator", operator, following)
    _, partials, _ = await listed(
        sql_store, ledger, tokens, "operator", operator, "?status=PARTIAL"
    )
    _, alder_only, _ = await listed(sql_store, ledger, tokens, "operator", operator, "?org=alder")

    ids = [row["ingestion_id"] for row in [*page_one["ingestions"], *page_two["ingestions"]]]  # type: ignore[misc]
    assert ids == [last, alders, partial, first]
    assert [row["ingestion_id"] for row in partials["ingestions"]] == [partial]  # type: ignore[index]
    assert [row["ingestion_id"] for row in alder_only["ingestions"]] == [alders]  # type: ignore[index]


@pytest.mark.parametrize(
    ("query", "named"),
    [("?status=DONE", "status"), ("?first=0", "first"), ("?first=lots", "first")],
)
async def test_a_bad_parameter_is_refused_naming_it(
    sql_store: GraphStore, ledger: Ledger, tokens: TokenSource, query: str, named: str
) -> None:
    status, body, _ = await listed(sql_store, ledger, tokens, "birch", PARTNER, query)

    assert status == 422
    assert str(body["detail"]).startswith(named)


async def test_listing_needs_the_ingest_scope(
    sql_store: GraphStore, ledger: Ledger, tokens: TokenSource
) -> None:
    status, _, _ = await listed(sql_store, ledger, tokens, "birch", ("graph:read",))

    assert status == 403
