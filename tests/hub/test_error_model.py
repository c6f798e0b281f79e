"""The error model: only a database that cannot be reached is "unavailable, nothing was
stored, send it again"; a bug is a bug (500, traceback logged, ingestion FAILED, never
retried), and once a payload is committed every answer names its ingestion."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError, ProgrammingError

from graph.store import GraphStore
from hub.app import create_app
from hub.ingest.pipeline import IngestPipeline
from hub.ingest.worker import IngestWorker, QueuePolicy
from hub.records.database import unavailable
from hub.records.ledger import IngestionStatus, Ledger
from hub.settings import Settings
from tests.hub.support import hub_client
from tests.hub.test_ingest_api import LOTS
from tests.hub.test_ledger import delivery
from tests.tokens import TokenSource


class Original(Exception):
    pass


class FromPostgres(Exception):
    """An error as the asyncpg adapter hands it over: with PostgreSQL's SQLSTATE."""

    def __init__(self, message: str, sqlstate: str) -> None:
        super().__init__(message)
        self.sqlstate = sqlstate


def driver_error(kind: type[DBAPIError], message: str) -> DBAPIError:
    return kind("SELECT 1", {}, Original(message))


@pytest.mark.parametrize(
    ("error", "is_unavailable"),
    [
        (driver_error(OperationalError, "database is locked"), True),
        (driver_error(OperationalError, "connection refused"), True),
        (ConnectionRefusedError(111, "Connection refused"), True),
        (TimeoutError(), True),
        (DBAPIError("SELECT 1", {}, Original("terminating connection"), connection_invalidated=True), True),
        # The server stopped under a running query: admin_shutdown, whatever the class.
        (DBAPIError("SELECT 1", {}, FromPostgres("terminating connection", "57P01")), True),
        (DBAPIError("SELECT 1", {}, FromPostgres("connection failure", "08006")), True),
        (DBAPIError("SELECT 1", {}, FromPostgres("division by zero", "22012")), False),
        (driver_error(OperationalError, "no such table: ingestions"), False),
        (driver_error(IntegrityError, "UNIQUE constraint failed: ingestions.id"), False),
        (driver_error(ProgrammingError, "column \"x\" does not exist"), False),
    ],
)  # fmt: skip
def test_only_connection_failures_count_as_unavailable(
    error: BaseException, is_unavailable: bool
) -> None:
    assert unavailable(error) is is_unavailable


@pytest.fixture
async def ledger(tmp_path: Path) -> AsyncIterator[Ledger]:
    opened = Ledger(f"sqlite+aiosqlite:///{tmp_path / 'ledger.sqlite'}")
    await opened.setup()
    yield opened
    await opened.close()


def failing(error: BaseException) -> Any:
    async def fail(*args: object, **kwargs: object) -> None:
        raise error

    return fail


async def push(store: GraphStore, ledger: Ledger, tokens: TokenSource, wait: int = 0) -> Any:
    app = create_app(
        Settings(ingest_poll_seconds=0.05), store=store, ledger=ledger, auth=tokens.service
    )
    async with hub_client(app, await tokens.bearer("birch", ["ingest:write"])) as http:
        return await http.post(f"/ingest/canonical.jsonl?wait={wait}", content=LOTS)


async def test_a_bug_while_storing_is_a_500_not_send_it_again(
    store: GraphStore, ledger: Ledger, tokens: TokenSource, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(
        ledger, "receive", failing(driver_error(IntegrityError, "NOT NULL constraint failed"))
    )

    answer = await push(store, ledger, tokens)

    assert answer.status_code == 500
    assert "nothing was stored" in answer.json()["detail"]
    assert "send it again" not in answer.json()["detail"]


async def test_a_database_that_cannot_be_reached_is_a_503_send_it_again(
    store: GraphStore, ledger: Ledger, tokens: TokenSource, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ledger, "receive", failing(ConnectionRefusedError(111, "refused")))

    answer = await push(store, ledger, tokens)

    assert answer.status_code == 503 and answer.headers["retry-after"] == "5"
    assert "nothing was stored, send it again" in answer.json()["detail"]


async def test_a_failure_after_the_commit_answers_with_the_stored_ingestion(
    store: GraphStore, ledger: Ledger, tokens: TokenSource, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The payload is committed, then the database is lost while the push waits for
    its outcome: the partner is told what was stored, never to send it again."""
    monkeypatch.setattr(ledger, "get", failing(driver_error(OperationalError, "server closed")))

    answer = await push(store, ledger, tokens, wait=30)

    assert answer.status_code == 202, answer.json()
    body = answer.json()
    assert (
        body["status"] == "RECEIVED" and body["location"] == f"/ingestions/{body['ingestion_id']}"
    )
    monkeypatch.undo()
    assert await ledger.payload(body["ingestion_id"]) == LOTS


class BrokenPipeline(IngestPipeline):
    def __init__(self, store: GraphStore) -> None:
        super().__init__(store)
        self.calls = 0

    async def apply(self, *args: Any, **kwargs: Any) -> Any:
        self.calls += 1
        raise KeyError("a bug in the pipeline")


async def test_a_bug_fails_the_ingestion_once_with_its_traceback(
    store: GraphStore, ledger: Ledger, tokens: TokenSource, caplog: pytest.LogCaptureFixture
) -> None:
    ingestion_id = (await ledger.receive(delivery())).id
    pipeline = BrokenPipeline(store)
    worker = IngestWorker(ledger, pipeline, QueuePolicy(poll=0.01))

    with caplog.at_level(logging.ERROR, logger="partnerhub.worker"):
        processed = await worker.drain()
        again = await worker.drain()

    found = await ledger.get(ingestion_id)
    assert found is not None and found.status is IngestionStatus.FAILED
    assert (processed, again, pipeline.calls) == (1, 0, 1), "never retried"
    assert found.report is not None and found.report["error"]["kind"] == "internal"
    (logged,) = [r for r in caplog.records if ingestion_id in r.getMessage()]
    assert logged.exc_info is not None and "a bug in the pipeline" in str(logged.exc_info[1])
    assert await ledger.payload(ingestion_id) == delivery().payload, "kept, to replay once fixed"


async def test_a_bug_recording_the_outcome_fails_it_and_the_worker_keeps_serving(
    store: GraphStore, ledger: Ledger, tokens: TokenSource, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A bug outside the pipeline (here the ledger refuses the first outcome) used to end
    the worker's loop: now that ingestion is FAILED and the next one still lands."""
    first = (await ledger.receive(delivery("birch", "T-1"))).id
    second = (await ledger.receive(delivery("birch", "T-2"))).id
    finish = ledger.finish
    refused = []

    async def finish_once_broken(ingestion_id: str, *args: Any) -> bool:
        if not refused:
            refused.append(ingestion_id)
            raise driver_error(ProgrammingError, "can't adapt type 'set'")
        return await finish(ingestion_id, *args)

    monkeypatch.setattr(ledger, "finish", finish_once_broken)
    app = create_app(
        Settings(ingest_poll_seconds=0.05), store=store, ledger=ledger, auth=tokens.service
    )
    async with hub_client(app, await tokens.bearer("birch", ["ingest:write"])) as http:
        answer = await http.get(f"/ingestions/{second}?wait=1")
        for _ in range(100):
            states = [(await ledger.get(i)) for i in (first, second)]
            if all(s is not None and s.status is not IngestionStatus.RECEIVED for s in states):
                break
            await asyncio.sleep(0.05)

    assert answer.status_code == 200
    assert refused == [first]
    assert [s.status if s else None for s in states] == [
        IngestionStatus.FAILED,
        IngestionStatus.APPLIED,
    ]


async def test_a_database_lost_while_reading_the_registry_defers_the_ingestion(
    store: GraphStore, ledger: Ledger
) -> None:
    """The organizations' identifiers are read from the database for every ingestion:
    losing it there is not the payload's fault, and the ingestion is tried again."""
    ingestion_id = (await ledger.receive(delivery())).id
    pipeline = IngestPipeline(store, registry=failing(ConnectionRefusedError(111, "refused")))
    worker = IngestWorker(ledger, pipeline, QueuePolicy(poll=0.01))

    job = await ledger.claim(worker.name, worker.policy.lease)
    assert job is not None
    outcome = await worker.process(job)

    found = await ledger.get(ingestion_id)
    assert outcome is None, "deferred, not finished"
    assert found is not None and found.status is IngestionStatus.RECEIVED
    assert found.next_attempt_at is not None
