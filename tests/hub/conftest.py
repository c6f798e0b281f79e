"""Fixtures of the hub's tests."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from hub.records.ledger import Ledger


@pytest.fixture
async def ledger(database_url: str) -> AsyncIterator[Ledger]:
    """A migrated ledger on SQLite, then on a real PostgreSQL."""
    opened = Ledger(database_url)
    await opened.setup()
    yield opened
    await opened.close()
