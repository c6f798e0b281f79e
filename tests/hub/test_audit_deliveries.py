"""The audit trail's verdict over one organization's deliveries, as inspection
readiness asks it (``hub.records.audit.deliveries_trail``)."""

from __future__ import annotations

from pathlib import Path

from hub.records.audit import deliveries_trail
from hub.records.ledger import Ledger
from tests.hub.test_audit import edit_directly, write_some


async def test_counts_the_organizations_deliveries_and_says_when_the_chain_breaks(
    ledger: Ledger,
) -> None:
    await write_some(ledger)
    trail = deliveries_trail(ledger.engine)
    birch = await trail("org:birch")
    assert (birch.intact, birch.deliveries, birch.available) == (True, 1, True)
    assert (await trail("org:alder")).deliveries == 0
    await edit_directly(ledger.engine, "UPDATE audit_log SET outcome = 'x' WHERE seq = 2")
    broken = await trail("org:birch")
    assert not broken.intact and broken.available
    assert "entry 2" in broken.reason


async def test_an_unreadable_trail_is_not_available_rather_than_broken(tmp_path: Path) -> None:
    unmigrated = Ledger(f"sqlite+aiosqlite:///{tmp_path / 'empty.sqlite'}")
    try:
        verdict = await deliveries_trail(unmigrated.engine)("org:birch")
    finally:
        await unmigrated.close()
    assert not verdict.available
