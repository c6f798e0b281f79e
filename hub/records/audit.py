"""The audit trail: append-only, hash-chained entries of who did what, when, and how it ended.

Every ingestion (received, refused, applied, deferred), every client or key change and
every admin action (a replay, an operator pushing for another organization) gets one
entry, written in the same transaction as the change it records where the change is
in this database. Each entry holds the hash of the one before, and a one-row head
holds the newest, so editing, deleting or dropping entries, even directly in the
database, breaks the chain at a place ``verify`` names (21 CFR Part 11 / Annex 11:
attributable, tamper-evident records).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    DateTime,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    func,
    select,
    update,
)
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from auth.principal import Principal
from auth.service import ChangeListener
from graph.ids import parse_id
from graph.quality.readiness import AuditTrail, AuditTrailVerdict
from hub.records.database import utc

audit_metadata = MetaData()
_SEQ = BigInteger().with_variant(Integer, "sqlite")

audit_log = Table(
    "audit_log",
    audit_metadata,
    Column("seq", _SEQ, primary_key=True, autoincrement=False),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("actor_client", String(64), nullable=True),
    Column("actor_org", String(64), nullable=False),
    Column("action", String(64), nullable=False),
    Column("target", String(200), nullable=False),
    Column("outcome", String(32), nullable=False),
    Column("detail", JSON, nullable=False),
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
    Index("ix_audit_log_target", "target"),
)

audit_head = Table(
    "audit_head",
    audit_metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("seq", _SEQ, nullable=False),
    Column("hash", String(64), nullable=False),
)

GENESIS = "0" * 64  # the "previous hash" of the first entry


@dataclass(frozen=True, slots=True)
class Actor:
    """Who did it: an organization, and the OAuth client (or local tool) it acted through."""

    org: str
    client: str | None = None

    @classmethod
    def of(cls, principal: Principal) -> Actor:
        return cls(principal.org_id, principal.client_id)


@dataclass(frozen=True, slots=True)
class AuditEntry:
    seq: int
    at: datetime
    actor: Actor
    action: str  # e.g. ingestion.received, client.added, key.rotated, graph.replayed
    target: str  # what it was done to: an ingestion id, a client id, a key id
    outcome: str  # e.g. accepted, APPLIED, refused, revoked
    detail: Mapping[str, Any]
    prev_hash: str
    hash: str

    def to_json(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "at": self.at.isoformat(),
            "actor_org": self.actor.org,
            "actor_client": self.actor.client,
            "action": self.action,
            "target": self.target,
            "outcome": self.outcome,
            "detail": dict(self.detail),
            "prev_hash": self.prev_hash,
            "hash": self.hash,
        }

    def expected_hash(self) -> str:
        return chained_hash(
            self.prev_hash,
            self.seq,
            self.at,
            self.actor,
            self.action,
            self.target,
            self.outcome,
            self.detail,
        )


def chained_hash(
    prev_hash: str,
    seq: int,
    at: datetime,
    actor: Actor,
    action: str,
    target: str,
    outcome: str,
    detail: Mapping[str, Any],
) -> str:
    # Canonical JSON (sorted keys, no spaces) so the hash does not depend on how a
    # database hands the JSON back.
    body = json.dumps(
        [
            seq,
            utc(at).isoformat(timespec="microseconds"),
            actor.client,
            actor.org,
            action,
            target,
            outcome,
            detail,
        ],
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    )
    return hashlib.sha256(f"{prev_hash}\n{body}".encode()).hexdigest()


async def append(
    conn: AsyncConnection,
    actor: Actor,
    action: str,
    target: str,
    outcome: str,
    detail: Mapping[str, Any] | None = None,
) -> AuditEntry:
    """Add one entry inside the caller's transaction (committed, or not, with its change)."""
    # Taking the head with an UPDATE locks it at once (a row lock on PostgreSQL, the
    # write lock on SQLite): concurrent appenders queue here and the chain stays linear.
    seq, prev_hash = (
        await conn.execute(
            update(audit_head)
            .where(audit_head.c.id == 1)
            .values(seq=audit_head.c.seq + 1)
            .returning(audit_head.c.seq, audit_head.c.hash)
        )
    ).one()
    at = datetime.now(UTC)
    detail = dict(detail or {})
    entry = AuditEntry(seq, at, actor, action, target, outcome, detail, prev_hash, "")
    entry_hash = entry.expected_hash()
    await conn.execute(
        audit_log.insert().values(
            seq=seq,
            at=at,
            actor_client=actor.client,
            actor_org=actor.org,
            action=action,
            target=target,
            outcome=outcome,
            detail=detail,
            prev_hash=prev_hash,
            hash=entry_hash,
        )
    )
    await conn.execute(update(audit_head).where(audit_head.c.id == 1).values(hash=entry_hash))
    return AuditEntry(seq, at, actor, action, target, outcome, detail, prev_hash, entry_hash)


async def record(
    engine: AsyncEngine,
    actor: Actor,
    action: str,
    target: str,
    outcome: str,
    detail: Mapping[str, Any] | None = None,
) -> AuditEntry:
    """Add one entry in a transaction of its own (for changes made outside this database)."""
    async with engine.begin() as conn:
        return await append(conn, actor, action, target, outcome, detail)


def auth_changes(engine: AsyncEngine) -> ChangeListener:
    """What ``AuthService`` calls on every client or key change: one entry each."""

    async def changed(
        by: Principal, action: str, target: str, outcome: str, detail: Mapping[str, Any]
    ) -> None:
        await record(engine, Actor.of(by), action, target, outcome, detail)

    return changed


async def entries(
    engine: AsyncEngine, *, target: str | None = None, after: int = 0, limit: int | None = None
) -> AsyncIterator[AuditEntry]:
    query = select(audit_log).where(audit_log.c.seq > after).order_by(audit_log.c.seq)
    if target is not None:
        query = query.where(audit_log.c.target == target)
    if limit is not None:
        query = query.limit(limit)
    async with engine.connect() as conn:
        async for row in await conn.stream(query):
            yield entry_of(row._mapping)


@dataclass(frozen=True, slots=True)
class Verdict:
    checked: int  # entries read
    broken_at: int | None  # the first entry that does not hold, or None if the chain holds
    reason: str = ""

    @property
    def intact(self) -> bool:
        return self.broken_at is None


async def verify(engine: AsyncEngine) -> Verdict:
    """Recompute the chain from the first entry; name the first one that does not hold."""
    checked, expected_seq, prev_hash = 0, 1, GENESIS
    async for entry in entries(engine):
        checked += 1
        if entry.seq != expected_seq:
            return Verdict(checked, expected_seq, f"entry {expected_seq} is missing")
        if entry.prev_hash != prev_hash:
            return Verdict(
                checked, entry.seq, f"entry {entry.seq} does not link to entry {entry.seq - 1}"
            )
        if entry.expected_hash() != entry.hash:
            return Verdict(
                checked, entry.seq, f"entry {entry.seq} was changed after it was written"
            )
        expected_seq, prev_hash = entry.seq + 1, entry.hash
    async with engine.connect() as conn:
        head_seq, head_hash = (
            await conn.execute(select(audit_head.c.seq, audit_head.c.hash))
        ).one()
    if head_seq != expected_seq - 1 or head_hash != prev_hash:
        # The newest entries were removed (or the head was moved): name the first gone.
        return Verdict(
            checked, expected_seq, f"entries from {expected_seq} to {head_seq} are missing"
        )
    return Verdict(checked, None)


def deliveries_trail(engine: AsyncEngine) -> AuditTrail:
    """What inspection readiness asks (``RequestContext.audit_trail``): does the chain
    hold, and how many deliveries of an organization (by organization id) does it
    record. The whole chain is verified: an entry of one organization is only as
    trustworthy as every link before it. A trail that cannot be read says so
    (``available`` false), never that it is broken."""

    async def verdict(org_id: str) -> AuditTrailVerdict:
        slug = parse_id(org_id).parts[0]
        count = (
            select(func.count())
            .select_from(audit_log)
            .where(audit_log.c.action == "ingestion.received")
            .where(audit_log.c.detail["org"].as_string() == slug)
        )
        try:
            chain = await verify(engine)
            async with engine.connect() as conn:
                deliveries = int((await conn.execute(count)).scalar_one())
        except SQLAlchemyError as error:
            return AuditTrailVerdict(
                False, 0, f"the audit trail cannot be read: {error.code}", False
            )
        return AuditTrailVerdict(chain.intact, deliveries, chain.reason)

    return verdict


def entry_of(row: Any) -> AuditEntry:
    """An audit entry from its row (the audit_log table's columns by name)."""
    return AuditEntry(
        seq=row["seq"],
        at=utc(row["at"]),
        actor=Actor(row["actor_org"], row["actor_client"]),
        action=row["action"],
        target=row["target"],
        outcome=row["outcome"],
        detail=row["detail"],
        prev_hash=row["prev_hash"],
        hash=row["hash"],
    )
