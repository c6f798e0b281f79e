"""The outbox of alert notifications, which is also their delivery log.

An alert for a webhook or an e-mail address is written here, with the exact body to
send, before anything is sent; a sender (``hub.notify.dispatcher``) then takes what is
due, sends it and writes down how it went. So a restart, a crash or a receiver down for
a day loses nothing: what was not delivered is still PENDING, with its next attempt's
time. One row per (target, alert id): the same alert raised again (an ingestion applied
twice) is not queued twice, and a receiver that sees a delivery again (sent, but the
answer lost) recognises the alert id in it.

Taking a due delivery is a compare and set on its next attempt's time, which pushes
that time one lease ahead: hub processes sharing the database never send the same
attempt twice, and an attempt whose sender died is taken again after the lease.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    Column,
    DateTime,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    select,
    tuple_,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from hub.records.database import utc

metadata = MetaData()

alert_deliveries = Table(
    "alert_deliveries",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("target_id", String(40), nullable=False),
    Column("channel", String(16), nullable=False),
    Column("alert_id", String(64), nullable=False),
    Column("body", Text, nullable=False),  # the JSON sent (and signed), byte for byte
    Column("status", String(16), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("last_status", Integer, nullable=True),  # the receiver's last HTTP / SMTP code
    Column("last_error", String(500), nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("next_attempt_at", DateTime(timezone=True), nullable=True),
    Column("finished_at", DateTime(timezone=True), nullable=True),
    UniqueConstraint("target_id", "alert_id", name="uq_alert_deliveries_target_alert"),
    Index("ix_alert_deliveries_due", "status", "next_attempt_at"),
)


class DeliveryStatus(StrEnum):
    PENDING = "PENDING"
    DELIVERED = "DELIVERED"
    FAILED = "FAILED"


@dataclass(frozen=True, slots=True)
class Queued:
    """One alert for one target, as the sink hands it to the outbox."""

    target_id: str
    channel: str
    alert_id: str
    body: str


@dataclass(frozen=True, slots=True)
class Delivery:
    id: str
    target_id: str
    channel: str
    alert_id: str
    body: str
    status: DeliveryStatus
    attempts: int
    last_status: int | None
    last_error: str | None
    created_at: datetime
    next_attempt_at: datetime | None
    finished_at: datetime | None


class Outbox:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    async def enqueue(self, queued: Sequence[Queued]) -> int:
        """Queue each alert for its target, due now, unless already queued; how many were new."""
        if not queued:
            return 0
        table = alert_deliveries
        keys = sorted({(item.target_id, item.alert_id) for item in queued})
        async with self.engine.connect() as conn:
            known = {
                (target_id, alert_id)
                for target_id, alert_id in await conn.execute(
                    select(table.c.target_id, table.c.alert_id).where(
                        tuple_(table.c.target_id, table.c.alert_id).in_(keys)
                    )
                )
            }
        now = datetime.now(UTC)
        rows: dict[tuple[str, str], dict[str, Any]] = {}
        for item in queued:
            key = (item.target_id, item.alert_id)
            if key not in known and key not in rows:
                rows[key] = {
                    "id": "dl_" + secrets.token_hex(10),
                    "target_id": item.target_id,
                    "channel": item.channel,
                    "alert_id": item.alert_id,
                    "body": item.body,
                    "status": DeliveryStatus.PENDING.value,
                    "attempts": 0,
                    "created_at": now,
                    "next_attempt_at": now,
                }
        if not rows:
            return 0
        try:
            async with self.engine.begin() as conn:
                await conn.execute(table.insert(), list(rows.values()))
            return len(rows)
        except IntegrityError:  # another process queued some of them meanwhile
            added = 0
            for row in rows.values():
                try:
                    async with self.engine.begin() as conn:
                        await conn.execute(table.insert(), [row])
                    added += 1
                except IntegrityError:
                    pass
            return added

    async def take_due(self, limit: int, lease: timedelta) -> list[Delivery]:
        """Pending deliveries due now, each taken for ``lease`` (oldest due first)."""
        table = alert_deliveries
        now = datetime.now(UTC)
        async with self.engine.connect() as conn:
            due = (
                (
                    await conn.execute(
                        select(table)
                        .where(
                            table.c.status == DeliveryStatus.PENDING.value,
                            table.c.next_attempt_at <= now,
                        )
                        .order_by(table.c.next_attempt_at)
                        .limit(limit)
                    )
                )
                .mappings()
                .all()
            )
        taken = []
        for row in due:
            async with self.engine.begin() as conn:
                claimed = await conn.execute(
                    update(table)
                    .where(
                        table.c.id == row["id"],
                        table.c.status == DeliveryStatus.PENDING.value,
                        table.c.next_attempt_at == row["next_attempt_at"],
                    )
                    .values(next_attempt_at=now + lease)
                )
            if claimed.rowcount == 1:
                taken.append(_delivery(row))
        return taken

    async def delivered(self, delivery: Delivery, code: int | None) -> None:
        await self._finish(delivery, DeliveryStatus.DELIVERED, code, None, None)

    async def failed(self, delivery: Delivery, code: int | None, error: str | None) -> None:
        await self._finish(delivery, DeliveryStatus.FAILED, code, error, None)

    async def retry_at(
        self, delivery: Delivery, code: int | None, error: str | None, at: datetime
    ) -> None:
        await self._finish(delivery, DeliveryStatus.PENDING, code, error, at)

    async def _finish(
        self,
        delivery: Delivery,
        status: DeliveryStatus,
        code: int | None,
        error: str | None,
        next_attempt_at: datetime | None,
    ) -> None:
        done = status is not DeliveryStatus.PENDING
        async with self.engine.begin() as conn:
            await conn.execute(
                update(alert_deliveries)
                .where(alert_deliveries.c.id == delivery.id)
                .values(
                    status=status.value,
                    attempts=delivery.attempts + 1,
                    last_status=code,
                    last_error=None if error is None else error[:500],
                    next_attempt_at=next_attempt_at,
                    finished_at=datetime.now(UTC) if done else None,
                )
            )

    async def log(self, *, target_id: str | None = None, limit: int = 100) -> list[Delivery]:
        """The newest deliveries (of one target), newest first."""
        table = alert_deliveries
        query = select(table).order_by(table.c.created_at.desc(), table.c.id).limit(limit)
        if target_id is not None:
            query = query.where(table.c.target_id == target_id)
        async with self.engine.connect() as conn:
            rows = (await conn.execute(query)).mappings().all()
        return [_delivery(row) for row in rows]


def _delivery(row: Any) -> Delivery:
    return Delivery(
        id=row["id"],
        target_id=row["target_id"],
        channel=row["channel"],
        alert_id=row["alert_id"],
        body=row["body"],
        status=DeliveryStatus(row["status"]),
        attempts=row["attempts"],
        last_status=row["last_status"],
        last_error=row["last_error"],
        created_at=utc(row["created_at"]),
        next_attempt_at=None if row["next_attempt_at"] is None else utc(row["next_attempt_at"]),
        finished_at=None if row["finished_at"] is None else utc(row["finished_at"]),
    )
