"""Tabular exports for BI tools: the demo story as CSV and JSON Lines, scoped like
GraphQL, filtered by column, paged by Link headers, on both stores."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import AsyncIterator

import httpx
import pytest

from graph.store import GraphStore
from hub.app import create_app
from hub.demo.story import GAP_BATCH_ID, OAKRIDGE_BATCH_ID
from tests.tokens import TokenSource


async def client(
    store: GraphStore, tokens: TokenSource, org: str | None
) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(store=store, auth=tokens.service)
    headers = {} if org is None else await tokens.bearer(org, ["graph:read"])
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://t", headers=headers
    ) as http:
        yield http


def table(response: httpx.Response) -> list[dict[str, str]]:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    return list(csv.DictReader(io.StringIO(response.text)))


async def test_a_sponsor_exports_its_lots_at_a_vendor_and_not_another_sponsors(
    demo_store: GraphStore, tokens: TokenSource
) -> None:
    async for http in client(demo_store, tokens, "northwind"):
        rows = table(await http.get("/export/batches.csv", params={"maker": "birch"}))
        released = table(
            await http.get(
                "/export/batches.csv",
                params={
                    "maker": "birch",
                    "material_code": "B-FG-2050",
                    "status": "RELEASED",
                    "manufactured_on_from": "2025-07-01",
                },
            )
        )
    ids = {row["id"] for row in rows}
    assert GAP_BATCH_ID in ids and OAKRIDGE_BATCH_ID not in ids
    gap = next(row for row in rows if row["id"] == GAP_BATCH_ID)
    assert gap["number"] == "BT-25-041"
    assert gap["manufactured_on"] == "2025-07-14"
    assert gap["quantity"] == "240000.0"
    assert gap["sources"] == "demo-story#/batches/birch/BT-25-041"
    assert {row["id"] for row in released} == {GAP_BATCH_ID, "batch:birch/BT-25-048"}


async def test_jsonl_pages_follow_link_headers_without_gaps_or_repeats(
    demo_store: GraphStore, tokens: TokenSource
) -> None:
    async for http in client(demo_store, tokens, "northwind"):
        whole = (await http.get("/export/batches.jsonl")).text.splitlines()
        paged: list[str] = []
        url: str | None = "/export/batches.jsonl?first=4"
        while url:
            response = await http.get(url)
            assert response.headers["content-type"] == "application/x-ndjson"
            paged += response.text.splitlines()
            link = response.headers.get("link")
            url = link[1 : link.index(">")] if link else None
    assert len(whole) > 8
    assert paged == whole
    first = json.loads(whole[0])
    assert first["id"].startswith("batch:") and isinstance(first["sources"], list)


async def test_compliance_gaps_come_one_row_per_reason(
    demo_store: GraphStore, tokens: TokenSource
) -> None:
    async for http in client(demo_store, tokens, "northwind"):
        rows = table(await http.get("/export/compliance-gaps.csv", params={"vendor": "org:birch"}))
    gap_rows = [row for row in rows if row["batch_id"] == GAP_BATCH_ID]
    assert gap_rows and all(row["product_id"] == "product:northwind/NW-TAB-101" for row in gap_rows)
    assert {row["reason"] for row in gap_rows} == {"AGREEMENT_EXPIRED"}
    assert "QA-NW-BIR" in gap_rows[0]["agreement_id"]
    assert OAKRIDGE_BATCH_ID not in {row["batch_id"] for row in rows}


@pytest.mark.parametrize(
    ("url", "status", "says"),
    [
        ("/export/batches.csv?makr=birch", 400, "'makr' is not a filter"),
        ("/export/batches.csv?manufactured_on_from=July", 400, "not a date"),
        ("/export/batches.csv?first=0", 400, "first:"),
        ("/export/lots.csv", 404, "no export 'lots'"),
        ("/export/batches.xlsx", 404, ".csv or .jsonl"),
        ("/export/compliance-gaps.csv", 400, "give a product, a vendor or a site"),
    ],
)
async def test_bad_requests_say_what_is_wrong(
    demo_store: GraphStore, tokens: TokenSource, url: str, status: int, says: str
) -> None:
    async for http in client(demo_store, tokens, "northwind"):
        response = await http.get(url)
    assert response.status_code == status
    assert says in response.json()["detail"]


async def test_no_token_no_export(demo_store: GraphStore, tokens: TokenSource) -> None:
    async for http in client(demo_store, tokens, None):
        response = await http.get("/export/batches.csv")
    assert response.status_code == 401
