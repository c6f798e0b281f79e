"""The ingest ledger: every payload received, kept whole, with what became of it.

A payload is committed here before anything reads it, so nothing received is ever
lost: a crash, a parse error or a store outage leaves the payload and its status in
the ledger, and the graph (derived data) can be rebuilt from it. The same file pushed
twice is two ingestions: the ledger records deliveries; the graph, being idempotent,
changes only once.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    Column,
    DateTime,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

metadata = MetaData()

ingestions = Table(
    "ingestions",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("connector", String(64), nullable=False),
    Column("org", String(64), nullable=False),  # whose records the payload carries
    Column("submitted_by", String(64), nullable=False),  # the principal that pushed it
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
    Index("ix_ingestions_org_received", "org", "received_at"),
    Index("ix_ingestions_sha256", "sha256"),
)


class IngestionStatus(StrEnum):
    RECEIVED = "RECEIVED"  # stored, not yet (or never, after a crash) applied
    APPLIED = "APPLIED"  # every record landed
    PARTIAL = "PARTIAL"  # good records landed, some were rejected (each named)
    REJECTED = "REJECTED"  # nothing landed: unreadable, or rejections under all-or-nothing
    FAILED = "FAILED"  # nothing landed through no fault of the payload (store down, bug)


@dataclass(frozen=True, slots=True)
class Received:
    """A payload as the ledger keeps it (without the bytes)."""

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


def new_ingestion_id(now: datetime) -> str:
    # Sortable by time, unguessable, and safe in provenance refs ("<id>#<location>").
    return f"ing-{now:%Y%m%dT%H%M%S}-{secrets.token_hex(6)}"


class Ledger:
    def __init__(self, url: str) -> None:
        self.engine: AsyncEngine = create_async_engine(url)

    async def setup(self) -> None:
        async with self.engine.begin() as conn:
            await conn.run_sync(metadata.create_all)

    async def close(self) -> None:
        await self.engine.dispose()

    async def receive(
        self,
        payload: bytes,
        *,
        connector: str,
        org: str,
        submitted_by: str,
        filename: str = "",
        media_type: str = "",
        options: dict[str, Any] | None = None,
    ) -> Received:
        """Store the payload durably (committed when this returns) and give it an id."""
        now = datetime.now(UTC)
        row = {
            "id": new_ingestion_id(now),
            "connector": connector,
            "org": org,
            "submitted_by": submitted_by,
            "filename": filename,
            "media_type": media_type,
            "options": options or {},
            "received_at": now,
            "size": len(payload),
            "sha256": hashlib.sha256(payload).hexdigest(),
            "status": IngestionStatus.RECEIVED.value,
            "report": None,
            "finished_at": None,
        }
        async with self.engine.begin() as conn:
            await conn.execute(ingestions.insert().values(payload=payload, **row))
        return _received(row)

    async def finish(
        self, ingestion_id: str, status: IngestionStatus, report: dict[str, Any]
    ) -> None:
        async with self.engine.begin() as conn:
            await conn.execute(
                update(ingestions)
                .where(ingestions.c.id == ingestion_id)
                .values(status=status.value, report=report, finished_at=datetime.now(UTC))
            )

    async def get(self, ingestion_id: str) -> Received | None:
        columns = [column for column in ingestions.c if column.name != "payload"]
        async with self.engine.connect() as conn:
            row = (
                await conn.execute(select(*columns).where(ingestions.c.id == ingestion_id))
            ).first()
        return None if row is None else _received(dict(row._mapping))

    async def payload(self, ingestion_id: str) -> bytes | None:
        async with self.engine.connect() as conn:
            payload: bytes | None = await conn.scalar(
                select(ingestions.c.payload).where(ingestions.c.id == ingestion_id)
            )
        return payload


def _received(row: dict[str, Any]) -> Received:
    received_at = row["received_at"]
    finished_at = row["finished_at"]
    return Received(
        id=row["id"],
        connector=row["connector"],
        org=row["org"],
        submitted_by=row["submitted_by"],
        filename=row["filename"],
        media_type=row["media_type"],
        options=row["options"],
        # SQLite hands back naive datetimes; everything stored here is UTC.
        received_at=received_at if received_at.tzinfo else received_at.replace(tzinfo=UTC),
        size=row["size"],
        sha256=row["sha256"],
        status=IngestionStatus(row["status"]),
        report=row["report"],
        finished_at=finished_at
        if finished_at is None or finished_at.tzinfo
        else finished_at.replace(tzinfo=UTC),
    )
