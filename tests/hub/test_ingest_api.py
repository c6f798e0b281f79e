"""Pushing exports over HTTP: the ledger keeps every payload, the graph gets the good records."""

from __future__ import annotations

import hashlib
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest

from graph.ids import NodeKind, make_id
from graph.lineage import Direction
from graph.neo4j.store import Neo4jGraphStore
from graph.store import GraphStore
from hub.app import create_app
from hub.records.ledger import Ledger
from hub.settings import Settings
from tests.hub.support import hub_client
from tests.tokens import TokenSource


def jsonl(*records: dict[str, object]) -> bytes:
    return b"".join(json.dumps(record).encode() + b"\n" for record in records)


LOTS = jsonl(
    {"node": "Batch", "maker": "birch", "number": "T-1", "status": "RELEASED"},
    {"node": "Batch", "maker": "birch", "number": "R-1"},
    {
        "edge": "CONSUMED",
        "source": "batch:birch/T-1",
        "target": "batch:birch/R-1",
        "quantity": 12.5,
        "unit": "kg",
    },
    {"edge": "SAME_LOT", "source": "batch:birch/R-1", "target": "batch:alder/A-1"},
)
BAD_LINES = b'{"node": "Batch", "maker": "birch", "number": "T-9"}\n{not json\n{"node": "Batch", "maker": "Birch Ltd", "number": "T-10"}\n'


@pytest.fixture
async def ledger(tmp_path: Path) -> AsyncIterator[Ledger]:
    """SQLite only here (the HTTP path is what is tested; the ledger's own tests run on
    both databases)."""
    opened = Ledger(f"sqlite+aiosqlite:///{tmp_path / 'ledger.sqlite'}")
    await opened.setup()
    yield opened
    await opened.close()


@asynccontextmanager
async def client(
    store: GraphStore, ledger: Ledger, tokens: TokenSource, **settings: object
) -> AsyncIterator[httpx.AsyncClient]:
    """The operator's client (the operator names the org it loads for)."""
    settings.setdefault("ingest_poll_seconds", 0.05)
    app = create_app(Settings(**settings), store=store, ledger=ledger, auth=tokens.service)  # type: ignore[arg-type]
    async with hub_client(app, await tokens.bearer()) as http:
        yield http


async def test_a_pushed_export_lands_and_every_fact_traces_to_its_line(
    store: GraphStore, ledger: Ledger, tokens: TokenSource
) -> None:
    async with client(store, ledger, tokens) as http:
        response = await http.post(
            "/ingest/canonical.jsonl?wait=30&org=birch&filename=lots.jsonl", content=LOTS
        )
        report = response.json()
        status = (await http.get(f"/ingestions/{report['ingestion_id']}")).json()

    assert response.status_code == 200
    assert report["status"] == "APPLIED"
    assert (report["records"], report["applied"], report["rejected"]) == (4, 4, 0)
    assert status["status"] == "APPLIED"
    assert status["sha256"] == hashlib.sha256(LOTS).hexdigest()
    assert status["filename"] == "lots.jsonl" and status["org"] == "birch"
    assert await ledger.payload(report["ingestion_id"]) == LOTS, "the payload is kept byte for byte"
    stored = (await store.get_nodes(["batch:birch/T-1"]))["batch:birch/T-1"]
    assert stored.sources == (f"{report['ingestion_id']}#line 1",)
    lineage = await store.lineage("batch:birch/T-1", Direction.UPSTREAM, 5)
    assert lineage is not None and "batch:alder/A-1" in lineage.ids


async def test_the_same_file_twice_is_two_ingestions_and_one_graph(
    store: GraphStore, ledger: Ledger, tokens: TokenSource
) -> None:
    async with client(store, ledger, tokens) as http:
        first = (await http.post("/ingest/canonical.jsonl?wait=30&org=birch", content=LOTS)).json()
        counts = await store.counts()
        second = (await http.post("/ingest/canonical.jsonl?wait=30&org=birch", content=LOTS)).json()

    assert first["ingestion_id"] != second["ingestion_id"]
    assert await ledger.get(first["ingestion_id"]) is not None
    assert await ledger.get(second["ingestion_id"]) is not None
    assert await store.counts() == counts


async def test_bad_records_are_named_and_good_ones_still_land(
    store: GraphStore, ledger: Ledger, tokens: TokenSource
) -> None:
    async with client(store, ledger, tokens) as http:
        report = (
            await http.post("/ingest/canonical.jsonl?wait=30&org=birch", content=BAD_LINES)
        ).json()

    assert report["status"] == "PARTIAL"
    assert report["applied"] == 1
    assert [(r["location"], r["field"]) for r in report["rejections"]] == [
        ("line 2", "column 2"),
        ("line 3", "maker"),
    ]
    assert make_id(NodeKind.BATCH, "birch", "T-9") in await store.get_nodes(["batch:birch/T-9"])


async def test_all_or_nothing_refuses_the_whole_payload(
    store: GraphStore, ledger: Ledger, tokens: TokenSource
) -> None:
    async with client(store, ledger, tokens) as http:
        response = await http.post(
            "/ingest/canonical.jsonl?wait=30&org=birch&all_or_nothing=true", content=BAD_LINES
        )

    assert response.status_code == 422
    assert response.json()["status"] == "REJECTED"
    assert (await store.counts()).total_nodes == 0, "nothing half-applied"
    kept = await ledger.get(response.json()["ingestion_id"])
    assert kept is not None and kept.status.value == "REJECTED"


async def test_unreadable_unknown_and_oversized_payloads(
    store: GraphStore, ledger: Ledger, tokens: TokenSource
) -> None:
    async with client(store, ledger, tokens, ingest_max_bytes=1_000) as http:
        unreadable = await http.post(
            "/ingest/canonical.jsonl?wait=30&org=birch", content=b"\xff\xfe\x00bad"
        )
        unknown = await http.post("/ingest/lims.nothing?org=birch", content=LOTS)
        oversized = await http.post(
            "/ingest/canonical.jsonl?wait=30&org=birch", content=b"x" * 1_001
        )
        no_org = await http.post("/ingest/canonical.jsonl", content=LOTS)

    assert unreadable.status_code == 422
    assert unreadable.json()["error"]["location"] == "line 1"
    assert unknown.status_code == 404
    assert "canonical.jsonl" in unknown.json()["error"]["message"], "lists the known connectors"
    assert await ledger.payload(unknown.json()["ingestion_id"]) == LOTS, "kept all the same"
    assert oversized.status_code == 413
    assert no_org.status_code == 422
    assert (await store.counts()).total_nodes == 0


async def test_a_store_outage_still_accepts_and_keeps_the_payload_queued(
    ledger: Ledger, tokens: TokenSource
) -> None:
    unreachable = Neo4jGraphStore("bolt://127.0.0.1:9")
    try:
        async with client(unreachable, ledger, tokens) as http:
            response = await http.post("/ingest/canonical.jsonl?org=birch", content=LOTS)
            status = (await http.get(response.headers["location"])).json()
            metrics = (await http.get("/metrics")).text
    finally:
        await unreachable.close()

    assert response.status_code == 202, "a push is accepted while the graph store is down"
    ingestion_id = response.json()["ingestion_id"]
    assert response.json()["sha256"] == hashlib.sha256(LOTS).hexdigest()
    assert status["status"] == "RECEIVED" and status["finished_at"] is None
    assert await ledger.payload(ingestion_id) == LOTS
    assert await ledger.waiting() == 1, "still queued, to be applied when the store returns"
    assert "partnerhub_ingestions_waiting 1.0" in metrics, "operators see the queue grow"


async def test_openapi_describes_the_ingest_routes(
    store: GraphStore, ledger: Ledger, tokens: TokenSource
) -> None:
    async with client(store, ledger, tokens) as http:
        spec = (await http.get("/openapi.json")).json()
    assert set(spec["paths"]) >= {"/ingest/{connector}", "/ingestions/{ingestion_id}"}
    responses = spec["paths"]["/ingest/{connector}"]["post"]["responses"]
    assert {"202", "413", "503"} <= set(responses)
