"""The last compliance verdict each audience was given on each lot, in the database.

A ``COMPLIANCE_GAP`` alert is raised when a lot's verdict changes for an audience
(``graph.quality.alerts``), not every time a partner sends the lot again. What was
said last has to outlive the process, or every restart would ring every bell again,
and has to be shared by hub processes sharing the database, or each would ring its
own. The audience is an organization, or ``*`` for the operator's view of everything.

A verdict is replaced only if it is still the one read (compare and set), so two
processes judging the same lot at once raise the change once. With the database out of
reach every verdict counts as changed: a bell rung twice beats a gap never told.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import UTC, datetime

from sqlalchemy import Column, DateTime, MetaData, String, Table, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from graph.quality.compliance import GapReason
from graph.visibility import Visibility
from hub.records.database import DATABASE_ERRORS, unavailable

log = logging.getLogger("partnerhub.alerts")
metadata = MetaData()

compliance_verdicts = Table(
    "compliance_verdicts",
    metadata,
    Column("batch_id", String(512), primary_key=True),
    Column("audience", String(64), primary_key=True),  # an org slug, or * for the operator
    Column("gap_reasons", String(1000), nullable=False),  # sorted, comma-separated; "" compliant
    Column("judged_at", DateTime(timezone=True), nullable=False),
)

OPERATOR = "*"  # no organization slug starts with it
_BATCH = 500  # lots per IN (...) list


def _audience(visibility: Visibility) -> str:
    return visibility.org or OPERATOR


def _spelled(reasons: frozenset[GapReason]) -> str:
    return ",".join(sorted(reason.value for reason in reasons))


class StoredVerdicts:
    """A ``graph.quality.alerts.VerdictMemory`` in the hub's database."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    async def changed(
        self, audience: Visibility, verdicts: Mapping[str, frozenset[GapReason]]
    ) -> set[str]:
        if not verdicts:
            return set()
        try:
            try:
                async with self.engine.begin() as conn:
                    return await self._compare_and_set(conn, _audience(audience), verdicts)
            except IntegrityError:  # another process judged a new lot first: read its verdict
                async with self.engine.begin() as conn:
                    return await self._compare_and_set(conn, _audience(audience), verdicts)
        except DATABASE_ERRORS as error:
            if not unavailable(error):
                raise
            log.warning(
                "compliance verdicts not remembered, the database is unreachable: %s", error
            )
            return set(verdicts)

    async def _compare_and_set(
        self, conn: AsyncConnection, audience: str, verdicts: Mapping[str, frozenset[GapReason]]
    ) -> set[str]:
        table = compliance_verdicts
        wanted = {batch_id: _spelled(reasons) for batch_id, reasons in verdicts.items()}
        lots = sorted(wanted)
        last: dict[str, str] = {}
        for start in range(0, len(lots), _BATCH):
            rows = await conn.execute(
                select(table.c.batch_id, table.c.gap_reasons).where(
                    table.c.audience == audience, table.c.batch_id.in_(lots[start : start + _BATCH])
                )
            )
            last.update({batch_id: reasons for batch_id, reasons in rows})
        now = datetime.now(UTC)
        new = [
            {"batch_id": lot, "audience": audience, "gap_reasons": wanted[lot], "judged_at": now}
            for lot in lots
            if lot not in last
        ]
        if new:
            await conn.execute(table.insert(), new)
        changed: set[str] = {lot for lot in lots if lot not in last}
        for lot in lots:
            if lot not in last or last[lot] == wanted[lot]:
                continue
            done = await conn.execute(
                update(table)
                .where(
                    table.c.batch_id == lot,
                    table.c.audience == audience,
                    table.c.gap_reasons == last[lot],
                )
                .values(gap_reasons=wanted[lot], judged_at=now)
            )
            if done.rowcount == 1:
                changed.add(lot)
        return changed
