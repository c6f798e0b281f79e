"""The ingest ledger: every payload received, kept whole, and the queue that applies it.

A payload is committed here, with its audit entry, before the sender hears "accepted"
(202), so nothing acknowledged is ever lost: a crash, a parse error or a store outage
leaves the payload and its status in the ledger, and the graph (derived data) can be
rebuilt from it (``partnerhub replay``). The same file pushed twice is two ingestions:
the ledger records deliveries; the graph, being idempotent, changes only once.

The queue is the ``ingestions`` table itself. A worker claims the oldest received
ingestion of an organization with nothing older still waiting (so one partner's
corrections apply in the order they were sent), holds it under a lease it renews while
it works, and finishes it only while it still holds the claim. A worker that dies
leaves a lease that runs out, and another worker takes the ingestion over; applying
again is harmless because graph writes are idempotent. On PostgreSQL the claim uses
``FOR UPDATE SKIP LOCKED``, so hub processes sharing one database never block on, or
take, each other's work; SQLite serializes writers, which gives the same guarantee.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    DateTime,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    and_,
    exists,
    false,
    func,
    or_,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncEngine

from hub.records import audit
from hub.records.audit import Actor
from hub.records.database import migrate, open_engine, utc
from hub.telemetry.tracing import tracer

metadata = MetaData()

ingestions = Table(
    "ingestions",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("connector", String(64), nullable=False),
    Column("org", String(64), nullable=False),  # whose records the payload carries
    Column("submitted_by", String(64), nullable=False),  # the organization that pushed it
    Column("filename", String(500), nullable=False, default=""),
    Column("media_type", String(200), nullable=False, default=""),
    Column("options", JSON, nullable=False),
    Column("received_at", DateTime(timezone=True), nullable=False),
    Column("size", Integer, nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("payload", LargeBinary, nullable=False),
    Column("status", String(16), nullable=False),
    Column("report", JSON, nullable=True),
    Column("finished_at", DateTime(timezone=True), nullable=True),
    Column("all_or_nothing", Boolean, nullable=False, server_default=false()),
    Column("owner_only", Boolean, nullable=False, server_default=false()),
    Column("supersedes", String(40), nullable=True),  # the ingestion this one corrects
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("next_attempt_at", DateTime(timezone=True), nullable=True),
    Column("claimed_by", String(64), nullable=True),
    Column("claimed_until", DateTime(timezone=True), nullable=True),
    Column("traceparent", String(64), nullable=True),  # the push's trace (hub.telemetry)
    Index("ix_ingestions_org_received", "org", "received_at"),
    Index("ix_ingestions_sha256", "sha256"),
    Index("ix_ingestions_queue", "status", "org", "received_at"),
    Index("ix_ingestions_supersedes", "supersedes"),
)


class IngestionStatus(StrEnum):
    RECEIVED = "RECEIVED"  # stored and acknowledged, waiting for (or being given to) the graph
    APPLIED = "APPLIED"  # every record landed
    PARTIAL = "PARTIAL"  # good records landed, some were rejected (each named)
    REJECTED = "REJECTED"  # nothing landed: unreadable, or rejections under all-or-nothing
    FAILED = "FAILED"  # nothing landed through no fault of the payload (a bug): see the log


FINISHED = frozenset(IngestionStatus) - {IngestionStatus.RECEIVED}
# What a replay applies again: the ingestions whose records reached the graph.
LANDED = (IngestionStatus.APPLIED, IngestionStatus.PARTIAL)


@dataclass(frozen=True, slots=True)
class Delivery:
    """What arrived and how its sender asked for it to be read."""

    payload: bytes
    connector: str
    org: str
    submitted_by: Actor
    filename: str = ""
    media_type: str = ""
    options: Mapping[str, Any] | None = None
    all_or_nothing: bool = False
    owner_only: bool = False  # refuse records about what another organization owns
    supersedes: str | None = None
    traceparent: str | None = None  # the push's trace, continued by the worker


@dataclass(frozen=True, slots=True)
class Received:
    """An ingestion as the ledger keeps it (without the bytes)."""

    id: str
    connector: str
    org: str
    submitted_by: str
    filename: str
    media_type: str
    options: dict[str, Any]
    received_at: datetime
    size: int
    sha256: str
    status: IngestionStatus
    report: dict[str, Any] | None
    finished_at: datetime | None
    all_or_nothing: bool
    owner_only: bool
    supersedes: str | None
    attempts: int
    next_attempt_at: datetime | None
    traceparent: str | None = None


class UnknownIngestion(LookupError):
    pass


def new_ingestion_id(now: datetime) -> str:
    # Sortable by time, unguessable, and safe in provenance refs ("<id>#<location>").
    return f"ing-{now:%Y%m%dT%H%M%S}-{secrets.token_hex(6)}"


_METADATA_COLUMNS = [column for column in ingestions.c if column.name != "payload"]


class Ledger:
    def __init__(self, url: str, engine: AsyncEngine | None = None) -> None:
        self.engine: AsyncEngine = engine or open_engine(url)

    async def setup(self) -> None:
        await migrate(self.engine)

    async def close(self) -> None:
        await self.engine.dispose()

    async def ping(self) -> None:
        async with self.engine.connect() as conn:
            await conn.execute(select(1))

    # -- receiving --

    async def receive(
        self, delivery: Delivery, *, refused: Mapping[str, Any] | None = None
    ) -> Received:
        """Store the payload durably (committed, with its audit entry, when this returns).

        A delivery ``refused`` before reading (unknown connector, bad options) is kept
        too, finished as REJECTED with that report, so what was sent is never lost.
        """
        now = datetime.now(UTC)
        ingestion_id = new_ingestion_id(now)
        row = {
            "id": ingestion_id,
            "connector": delivery.connector,
            "org": delivery.org,
            "submitted_by": delivery.submitted_by.org,
            "filename": delivery.filename,
            "media_type": delivery.media_type,
            "options": dict(delivery.options or {}),
            "received_at": now,
            "size": len(delivery.payload),
            "sha256": hashlib.sha256(delivery.payload).hexdigest(),
            "status": (IngestionStatus.REJECTED if refused else IngestionStatus.RECEIVED).value,
            "report": {**refused, "ingestion_id": ingestion_id} if refused else None,
            "finished_at": now if refused else None,
            "all_or_nothing": delivery.all_or_nothing,
            "owner_only": delivery.owner_only,
            "supersedes": delivery.supersedes,
            "attempts": 0,
            "next_attempt_at": None,
            "traceparent": delivery.traceparent,
        }
        detail = {
            "connector": delivery.connector,
            "org": delivery.org,
            "sha256": row["sha256"],
            "size": row["size"],
            "filename": delivery.filename,
        }
        if delivery.supersedes:
            detail["supersedes"] = delivery.supersedes
        with tracer().start_as_current_span(
            "ledger.receive",
            attributes={
                "partnerhub.ingestion.id": ingestion_id,
                "partnerhub.ingestion.connector": delivery.connector,
                "partnerhub.ingestion.org": delivery.org,
                "partnerhub.ingestion.size": len(delivery.payload),
            },
        ):
            async with self.engine.begin() as conn:
                await conn.execute(ingestions.insert().values(payload=delivery.payload, **row))
                await audit.append(
                    conn,
                    delivery.submitted_by,
                    "ingestion.received",
                    ingestion_id,
                    "refused" if refused else "accepted",
                    detail,
                )
        return _received(row)

    # -- the queue --

    async def claim(self, worker: str, lease: timedelta) -> Received | None:
        """Take the next ingestion to apply, or None if nothing is ready."""
        now = datetime.now(UTC)
        waiting = ingestions.alias("waiting")
        ready = (
            select(ingestions.c.id)
            .where(
                ingestions.c.status == IngestionStatus.RECEIVED.value,
                or_(ingestions.c.next_attempt_at.is_(None), ingestions.c.next_attempt_at <= now),
                or_(ingestions.c.claimed_until.is_(None), ingestions.c.claimed_until < now),
                # One organization's ingestions apply in the order they arrived.
                ~exists().where(
                    waiting.c.org == ingestions.c.org,
                    waiting.c.status == IngestionStatus.RECEIVED.value,
                    or_(
                        waiting.c.received_at < ingestions.c.received_at,
                        and_(
                            waiting.c.received_at == ingestions.c.received_at,
                            waiting.c.id < ingestions.c.id,
                        ),
                    ),
                ),
            )
            .order_by(ingestions.c.received_at, ingestions.c.id)
            .limit(1)
            .with_for_update(skip_locked=True)
            .scalar_subquery()
        )
        async with self.engine.begin() as conn:
            row = (
                await conn.execute(
                    update(ingestions)
                    .where(ingestions.c.id == ready)
                    .values(
                        claimed_by=worker,
                        claimed_until=now + lease,
                        attempts=ingestions.c.attempts + 1,
                    )
                    .returning(*_METADATA_COLUMNS)
                )
            ).first()
        return None if row is None else _received(dict(row._mapping))

    async def renew(self, ingestion_id: str, worker: str, lease: timedelta) -> bool:
        """Extend the claim; False if it was lost (the lease ran out and another took it)."""
        async with self.engine.begin() as conn:
            renewed = await conn.execute(
                update(ingestions)
                .where(ingestions.c.id == ingestion_id, ingestions.c.claimed_by == worker)
                .values(claimed_until=datetime.now(UTC) + lease)
            )
        return renewed.rowcount == 1

    async def finish(
        self,
        ingestion_id: str,
        worker: str,
        status: IngestionStatus,
        report: Mapping[str, Any],
        actor: Actor,
    ) -> bool:
        """Record the outcome, if ``worker`` still holds the claim (else someone else will)."""
        async with self.engine.begin() as conn:
            done = await conn.execute(
                update(ingestions)
                .where(
                    ingestions.c.id == ingestion_id,
                    ingestions.c.claimed_by == worker,
                    ingestions.c.status == IngestionStatus.RECEIVED.value,
                )
                .values(
                    status=status.value,
                    report=dict(report),
                    finished_at=datetime.now(UTC),
                    claimed_by=None,
                    claimed_until=None,
                )
            )
            if done.rowcount != 1:
                return False
            await audit.append(
                conn,
                actor,
                "ingestion.applied",
                ingestion_id,
                status.value,
                _outcome_detail(report),
            )
        return True

    async def defer(
        self, ingestion_id: str, worker: str, delay: timedelta, reason: str, actor: Actor
    ) -> bool:
        """Give the claim back, to be tried again after ``delay`` (the graph store is down)."""
        async with self.engine.begin() as conn:
            done = await conn.execute(
                update(ingestions)
                .where(ingestions.c.id == ingestion_id, ingestions.c.claimed_by == worker)
                .values(
                    next_attempt_at=datetime.now(UTC) + delay,
                    claimed_by=None,
                    claimed_until=None,
                )
            )
            if done.rowcount != 1:
                return False
            await audit.append(
                conn,
                actor,
                "ingestion.deferred",
                ingestion_id,
                "retry",
                {"reason": reason, "retry_in_seconds": round(delay.total_seconds(), 3)},
            )
        return True

    async def waiting(self) -> int:
        """How many acknowledged ingestions are not applied yet."""
        async with self.engine.connect() as conn:
            count = await conn.scalar(
                select(func.count()).where(ingestions.c.status == IngestionStatus.RECEIVED.value)
            )
        return int(count or 0)

    # -- reading --

    async def get(self, ingestion_id: str) -> Received | None:
        async with self.engine.connect() as conn:
            row = (
                await conn.execute(
                    select(*_METADATA_COLUMNS).where(ingestions.c.id == ingestion_id)
                )
            ).first()
        return None if row is None else _received(dict(row._mapping))

    async def recent(
        self,
        *,
        org: str | None = None,
        status: IngestionStatus | None = None,
        before: str | None = None,
        limit: int = 50,
    ) -> list[Received]:
        """Ingestions newest first (of one organization, in one status), at most
        ``limit``, after ``before`` (the last id of the previous page) when given."""
        query = select(*_METADATA_COLUMNS).order_by(
            ingestions.c.received_at.desc(), ingestions.c.id.desc()
        )
        if org is not None:
            query = query.where(ingestions.c.org == org)
        if status is not None:
            query = query.where(ingestions.c.status == status.value)
        async with self.engine.connect() as conn:
            if before is not None:
                received_at = await conn.scalar(
                    select(ingestions.c.received_at).where(ingestions.c.id == before)
                )
                if received_at is None:
                    return []
                query = query.where(
                    or_(
                        ingestions.c.received_at < received_at,
                        and_(ingestions.c.received_at == received_at, ingestions.c.id < before),
                    )
                )
            rows = await conn.execute(query.limit(limit))
            return [_received(dict(row._mapping)) for row in rows]

    async def corrections_of(self, ingestion_id: str) -> list[str]:
        """The ingestions that say they supersede this one, oldest first."""
        async with self.engine.connect() as conn:
            found = await conn.scalars(
                select(ingestions.c.id)
                .where(ingestions.c.supersedes == ingestion_id)
                .order_by(ingestions.c.received_at, ingestions.c.id)
            )
            return list(found)

    async def payload(self, ingestion_id: str) -> bytes | None:
        async with self.engine.connect() as conn:
            payload: bytes | None = await conn.scalar(
                select(ingestions.c.payload).where(ingestions.c.id == ingestion_id)
            )
        return payload

    async def landed(self, page_size: int = 200) -> AsyncIterator[Received]:
        """Every ingestion whose records reached the graph, in the order they arrived.

        Read a page at a time, each in a short connection of its own: a cursor held open
        while the caller applies each ingestion would hold SQLite's shared lock for the
        whole replay, and a worker's commit waiting on it blocks every other reader.
        """
        after: Mapping[str, Any] | None = None
        while True:
            query = (
                select(*_METADATA_COLUMNS)
                .where(ingestions.c.status.in_([status.value for status in LANDED]))
                .order_by(ingestions.c.received_at, ingestions.c.id)
                .limit(page_size)
            )
            if after is not None:
                query = query.where(
                    or_(
                        ingestions.c.received_at > after["received_at"],
                        and_(
                            ingestions.c.received_at == after["received_at"],
                            ingestions.c.id > after["id"],
                        ),
                    )
                )
            async with self.engine.connect() as conn:
                rows = [dict(row._mapping) for row in await conn.execute(query)]
            for row in rows:
                yield _received(row)
            if len(rows) < page_size:
                return
            after = rows[-1]


def _outcome_detail(report: Mapping[str, Any]) -> dict[str, Any]:
    detail = {key: report[key] for key in ("records", "applied", "rejected") if key in report}
    if error := report.get("error"):
        detail["error"] = error.get("kind") if isinstance(error, Mapping) else str(error)
    return detail


def _received(row: dict[str, Any]) -> Received:
    return Received(
        id=row["id"],
        connector=row["connector"],
        org=row["org"],
        submitted_by=row["submitted_by"],
        filename=row["filename"],
        media_type=row["media_type"],
        options=row["options"],
        received_at=utc(row["received_at"]),
        size=row["size"],
        sha256=row["sha256"],
        status=IngestionStatus(row["status"]),
        report=row["report"],
        finished_at=_utc_or_none(row["finished_at"]),
        all_or_nothing=bool(row["all_or_nothing"]),
        owner_only=bool(row["owner_only"]),
        supersedes=row["supersedes"],
        attempts=row["attempts"],
        next_attempt_at=_utc_or_none(row["next_attempt_at"]),
        traceparent=row.get("traceparent"),
    )


def _utc_or_none(moment: datetime | None) -> datetime | None:
    return None if moment is None else utc(moment)
