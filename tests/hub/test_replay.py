"""Replay: the graph is derived data. Wipe it, rebuild it from the ledger alone, and
every node, attribute, source and edge is as it was; corrections keep both sources."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from graph.store import GraphStore
from hub.app import create_app
from hub.demo.generator import canonical_lines, generate_network
from hub.ingest.replay import replay
from hub.records.audit import Actor, entries
from hub.records.ledger import Ledger
from hub.settings import Settings
from tests.connectors.support import SAMPLES, sample_files
from tests.hub.graph_snapshot import snapshot
from tests.hub.support import hub_client
from tests.tokens import TokenSource

OPERATOR = Actor("operator", "ops-console")


@pytest.fixture
async def ledger(tmp_path: Path) -> AsyncIterator[Ledger]:
    """SQLite only here (the HTTP path is what is tested; the ledger's own tests run on
    both databases)."""
    opened = Ledger(f"sqlite+aiosqlite:///{tmp_path / 'ledger.sqlite'}")
    await opened.setup()
    yield opened
    await opened.close()


async def push_everything(http: httpx.AsyncClient) -> list[str]:
    """A generated network in four deliveries, a partner's LIMS export and an EPCIS file."""
    lines = list(canonical_lines(generate_network(120, seed=7)))
    quarter = len(lines) // 4 + 1
    pushes = [
        ("canonical.jsonl", "".join(lines[n : n + quarter]).encode(), {"org": "operator"})
        for n in range(0, len(lines), quarter)
    ]
    lims = SAMPLES / "lims" / "SampleResults2022-06-28_142558.csv"
    pushes.append(("lims.csv", lims.read_bytes(), {"org": "cdmo-b", "profile": "novabio_flex2"}))
    epcis = sample_files("epcis")[0]
    pushes.append(("supply.epcis", epcis.read_bytes(), {"org": "birch"}))
    ids = []
    for connector, body, params in pushes:
        answer = await http.post(
            f"/ingest/{connector}", params={"wait": "60", **params}, content=body
        )
        assert answer.status_code == 200, answer.json()
        ids.append(answer.json()["ingestion_id"])
    return ids


async def test_a_wiped_store_is_rebuilt_from_the_ledger_alone(
    store: GraphStore, ledger: Ledger, tokens: TokenSource
) -> None:
    app = create_app(
        Settings(ingest_poll_seconds=0.05), store=store, ledger=ledger, auth=tokens.service
    )
    query = {"query": "{ batches(first: 5) { nodes { id number sources { ingestionId } } } }"}
    async with hub_client(app, await tokens.bearer()) as http:
        pushed = await push_everything(http)
        before = await snapshot(store)
        answer_before = (await http.post("/graphql", json=query)).json()

        await store.wipe()
        assert (await store.counts()).total_nodes == 0
        summary = await replay(ledger, store, OPERATOR)
        after = await snapshot(store)
        answer_after = (await http.post("/graphql", json=query)).json()

    assert summary.ingestions == len(pushed) and summary.differing == []
    assert len(before["nodes"]) > 300 and before["edges"]
    assert after == before
    assert answer_after == answer_before and answer_before["data"]["batches"]["nodes"]
    replays = [
        entry.outcome async for entry in entries(ledger.engine) if entry.action == "graph.replay"
    ]
    assert replays == ["started", "done"], "a replay is an admin action on the audit trail"


async def test_a_correction_supersedes_and_both_stay_in_provenance(
    store: GraphStore, ledger: Ledger, tokens: TokenSource
) -> None:
    app = create_app(
        Settings(ingest_poll_seconds=0.05), store=store, ledger=ledger, auth=tokens.service
    )
    wrong = b'{"node": "Batch", "maker": "birch", "number": "T-1", "quantity": 10}\n'
    right = b'{"node": "Batch", "maker": "birch", "number": "T-1", "quantity": 12}\n'
    birch = await tokens.bearer("birch", ["ingest:write", "graph:read"])
    async with hub_client(app, birch) as http:
        first = (await http.post("/ingest/canonical.jsonl?wait=30", content=wrong)).json()
        second = await http.post(
            f"/ingest/canonical.jsonl?wait=30&supersedes={first['ingestion_id']}", content=right
        )
        unknown = await http.post("/ingest/canonical.jsonl?supersedes=ing-nothing", content=right)
        original = (await http.get(f"/ingestions/{first['ingestion_id']}")).json()
        correction = (await http.get(f"/ingestions/{second.json()['ingestion_id']}")).json()
    node = (await store.get_nodes(["batch:birch/T-1"]))["batch:birch/T-1"]

    assert second.status_code == 200
    assert unknown.status_code == 422 and "ing-nothing" in unknown.json()["detail"]
    assert original["superseded_by"] == [correction["ingestion_id"]]
    assert correction["supersedes"] == first["ingestion_id"]
    assert node.record.quantity == 12  # type: ignore[attr-defined]
    assert node.sources == (
        f"{first['ingestion_id']}#line 1",
        f"{correction['ingestion_id']}#line 1",
    ), "both deliveries stay visible in provenance"
