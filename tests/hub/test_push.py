"""The partner's push agent against a real hub over HTTP: each file once, retries, state kept."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from deploy.neo4j.launcher import free_port
from graph.lineage import Direction
from graph.sql.store import SqlGraphStore
from hub.ingest.push import STATE_FILE, PushTarget, push_folder
from tests.served import ServedHub, served_hub, store_url


def write_lot(folder: Path, name: str, number: str) -> None:
    (folder / name).write_text(
        json.dumps({"node": "Batch", "maker": "birch", "number": number}) + "\n"
    )


@pytest.fixture(scope="module")
async def graph(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[SqlGraphStore]:
    """The hub's graph, shared by the module's tests: each pushes lots of its own numbers."""
    store = SqlGraphStore(f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('push') / 'graph.sqlite'}")
    await store.setup()
    yield store
    await store.close()


@pytest.fixture(scope="module")
def hub(graph: SqlGraphStore) -> Iterator[ServedHub]:
    """One served hub for the module, Birch's agent its one client (as Birch's agent
    would: its own client, pushing for Birch); each test pushes from an outbox of its own."""
    with served_hub(store_url(graph), org="birch", scopes="ingest:write") as served:
        yield served


async def test_new_files_are_sent_once_and_remembered(
    hub: ServedHub, graph: SqlGraphStore, tmp_path: Path
) -> None:
    outbox = tmp_path / "outbox"
    outbox.mkdir()
    write_lot(outbox, "a.jsonl", "T-1")
    write_lot(outbox, "b.jsonl", "T-2")

    target = PushTarget(hub.url, "canonical.jsonl", hub.client_id, hub.client_secret)
    first = push_folder(outbox, target)
    write_lot(outbox, "c.jsonl", "T-3")
    write_lot(outbox, "a-copy.jsonl", "T-1")  # same bytes as a.jsonl under another name
    second = push_folder(outbox, target)

    assert [(r.path.name, r.outcome, r.status) for r in first] == [
        ("a.jsonl", "sent", "APPLIED"),
        ("b.jsonl", "sent", "APPLIED"),
    ]
    assert {r.path.name: r.outcome for r in second} == {
        "a-copy.jsonl": "already sent",
        "a.jsonl": "already sent",
        "b.jsonl": "already sent",
        "c.jsonl": "sent",
    }
    state = json.loads((outbox / STATE_FILE).read_text())
    assert sorted(entry["file"] for entry in state.values()) == ["a.jsonl", "b.jsonl", "c.jsonl"]
    assert set(await graph.get_nodes([f"batch:birch/T-{n}" for n in (1, 2, 3)])) == {
        "batch:birch/T-1",
        "batch:birch/T-2",
        "batch:birch/T-3",
    }


def test_an_unreachable_hub_is_retried_with_backoff_then_left_for_next_time(tmp_path: Path) -> None:
    write_lot(tmp_path, "a.jsonl", "T-1")
    waits: list[float] = []
    target = PushTarget(f"http://127.0.0.1:{free_port()}", "canonical.jsonl", "birch-1", "secret")

    results = push_folder(tmp_path, target, attempts=4, first_delay=0.5, sleep=waits.append)

    assert [r.outcome for r in results] == ["failed"]
    assert "gave up after 4 attempts" in results[0].detail
    assert waits == [0.5, 1.0, 2.0]
    assert not (tmp_path / STATE_FILE).exists(), "nothing is remembered as sent"


async def test_files_about_other_makers_lots_are_refused_by_owner(
    hub: ServedHub, graph: SqlGraphStore, tmp_path: Path
) -> None:
    outbox = tmp_path / "outbox"
    outbox.mkdir()
    (outbox / "lots.jsonl").write_text(
        '{"node": "Batch", "maker": "birch", "number": "R-1"}\n'
        '{"edge": "SAME_LOT", "source": "batch:birch/R-1", "target": "batch:alder/A-1"}\n'
        '{"node": "Batch", "maker": "alder", "number": "A-1", "status": "REJECTED"}\n'
    )

    target = PushTarget(hub.url, "canonical.jsonl", hub.client_id, hub.client_secret)
    [result] = push_folder(outbox, target)

    assert (result.outcome, result.status) == ("sent", "PARTIAL")
    alder_lot = (await graph.get_nodes(["batch:alder/A-1"]))["batch:alder/A-1"]
    assert alder_lot.record.status is None, "Birch cannot set Alder's lot's attributes"  # type: ignore[attr-defined]
    lineage = await graph.lineage("batch:birch/R-1", Direction.UPSTREAM, 2)
    assert lineage is not None and "batch:alder/A-1" in lineage.ids, "but may say it received it"
