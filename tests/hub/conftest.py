"""Fixtures of the hub's tests."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from graph.sql.store import SqlGraphStore
from hub.records.ledger import Ledger


@pytest.fixture
async def ledger(database_url: str) -> AsyncIterator[Ledger]:
    """A migrated ledger on SQLite, then on a real PostgreSQL."""
    opened = Ledger(database_url)
    await opened.setup()
    yield opened
    await opened.close()


@pytest.fixture
async def sql_store(tmp_path: Path) -> AsyncIterator[SqlGraphStore]:
    """An empty embedded store, for tests of what holds no data of the graph's (pages,
    their files, the ledger's listings)."""
    store = SqlGraphStore(f"sqlite+aiosqlite:///{tmp_path / 'graph.sqlite'}")
    await store.setup()
    yield store
    await store.close()
