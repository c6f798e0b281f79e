"""Alerts across hub processes: the log every process reads, and who listens where.

With several hub processes on one PostgreSQL database, the process whose worker applied
an ingestion detects its alerts (``schema.alert_bus``) for every audience that listens
anywhere, and writes each (alert, audience) here once: the row's ``seq`` orders the log,
and the unique (alert id, audience) makes an alert raised again (an ingestion applied a
second time after its worker died) no new row. Every process reads the rows after the
last it has read and hands them to its own subscribers (``hub.cluster.relay``).

Rows are numbered in commit order: a writer holds a transaction-scoped advisory lock
from before its insert to its commit, so no reader can see row n+1 before row n is
committed and skip it for good.

``alert_listeners`` says which audiences (an organization, or ``*`` for the operator's
view of everything) have a subscriber on which process, and the kinds they asked for;
each process rewrites its rows when its subscribers change and touches them every few
seconds, and a row not touched for ``stale_after`` counts no more (its process died).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Index,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    delete,
    func,
    select,
    text,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncEngine

from graph.quality.alerts import Alert, AlertKind
from graph.quality.compliance import GapReason
from graph.quality.cpv import NelsonRule
from graph.visibility import EVERYTHING, Visibility

metadata = MetaData()

alert_log = Table(
    "alert_log",
    metadata,
    Column("seq", BigInteger, primary_key=True, autoincrement=True),
    Column("alert_id", String(64), nullable=False),
    Column("audience", String(64), nullable=False),  # an org slug, or * for the operator
    Column("kind", String(40), nullable=False),
    Column("body", Text, nullable=False),  # the alert as JSON (``alert_json``)
    Column("logged_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("alert_id", "audience", name="uq_alert_log_alert_audience"),
)

alert_listeners = Table(
    "alert_listeners",
    metadata,
    Column("process_id", String(64), primary_key=True),
    Column("audience", String(64), primary_key=True),
    Column("kinds", String(1000), nullable=False),  # kind values, comma separated
    Column("seen_at", DateTime(timezone=True), nullable=False),
    Index("ix_alert_listeners_seen_at", "seen_at"),
)

CHANNEL = "partnerhub_alerts"  # the NOTIFY channel; its payload is the last seq written
READ_BATCH = 500  # rows read at once
_LOG_LOCK = 7_251_604_119  # serialises writers, so seq order is commit order
EVERYONE = "*"


def audience_key(visibility: Visibility) -> str:
    return EVERYONE if visibility.everything else str(visibility.org)


def audience_of(key: str) -> Visibility:
    return EVERYTHING if key == EVERYONE else Visibility.for_org(key)


def alert_json(alert: Alert) -> str:
    return json.dumps(
        {
            "kind": alert.kind.value,
            "subject_id": alert.subject_id,
            "batch_ids": list(alert.batch_ids),
            "ingestion_id": alert.ingestion_id,
            "message": alert.message,
            "raised_at": alert.raised_at.isoformat(),
            "rules": [rule.value for rule in alert.rules],
            "gap_reasons": [reason.value for reason in alert.gap_reasons],
        }
    )


def alert_from_json(body: str) -> Alert:
    fields = json.loads(body)
    return Alert(
        kind=AlertKind(fields["kind"]),
        subject_id=fields["subject_id"],
        batch_ids=tuple(fields["batch_ids"]),
        ingestion_id=fields["ingestion_id"],
        message=fields["message"],
        raised_at=datetime.fromisoformat(fields["raised_at"]),
        rules=tuple(NelsonRule(rule) for rule in fields["rules"]),
        gap_reasons=tuple(GapReason(reason) for reason in fields["gap_reasons"]),
    )


@dataclass(frozen=True, slots=True)
class Logged:
    """One alert as the log holds it for one audience."""

    seq: int
    audience: Visibility
    alert: Alert


async def append(engine: AsyncEngine, found: Mapping[Visibility, Sequence[Alert]]) -> int | None:
    """Log each alert for its audience (an alert already logged for it is skipped) and
    notify every listening process; the last seq written, or None when nothing was new."""
    now = datetime.now(UTC)
    rows = [
        {
            "alert_id": alert.id,
            "audience": audience_key(visibility),
            "kind": alert.kind.value,
            "body": alert_json(alert),
            "logged_at": now,
        }
        for visibility, alerts in found.items()
        for alert in alerts
    ]
    if not rows:
        return None
    async with engine.begin() as conn:
        await conn.execute(select(func.pg_advisory_xact_lock(_LOG_LOCK)))
        statement = (
            pg_insert(alert_log)
            .values(rows)
            .on_conflict_do_nothing(constraint="uq_alert_log_alert_audience")
            .returning(alert_log.c.seq)
        )
        written = (await conn.scalars(statement)).all()
        if not written:
            return None
        last = int(max(written))
        # Delivered at commit, after the rows are visible to every reader.
        await conn.execute(
            text("SELECT pg_notify(:channel, :last)"), {"channel": CHANNEL, "last": str(last)}
        )
        return last


async def last_seq(engine: AsyncEngine) -> int:
    async with engine.connect() as conn:
        return int(await conn.scalar(select(func.coalesce(func.max(alert_log.c.seq), 0))) or 0)


async def read_after(
    engine: AsyncEngine, after: int, audiences: Sequence[Visibility], limit: int = READ_BATCH
) -> list[Logged]:
    """The rows after ``after`` for these audiences, in log order, at most ``limit``."""
    keys = sorted({audience_key(visibility) for visibility in audiences})
    if not keys:
        return []
    query = (
        select(alert_log.c.seq, alert_log.c.audience, alert_log.c.body)
        .where(alert_log.c.seq > after, alert_log.c.audience.in_(keys))
        .order_by(alert_log.c.seq)
        .limit(limit)
    )
    async with engine.connect() as conn:
        rows = (await conn.execute(query)).all()
    return [Logged(row.seq, audience_of(row.audience), alert_from_json(row.body)) for row in rows]


async def listen_as(
    engine: AsyncEngine, process_id: str, audiences: Mapping[Visibility, frozenset[AlertKind]]
) -> None:
    """Make the process's rows exactly ``audiences``, touched now."""
    now = datetime.now(UTC)
    async with engine.begin() as conn:
        await conn.execute(
            delete(alert_listeners).where(alert_listeners.c.process_id == process_id)
        )
        if audiences:
            await conn.execute(
                alert_listeners.insert(),
                [
                    {
                        "process_id": process_id,
                        "audience": audience_key(visibility),
                        "kinds": ",".join(sorted(kind.value for kind in kinds)),
                        "seen_at": now,
                    }
                    for visibility, kinds in audiences.items()
                ],
            )


async def stop_listening(engine: AsyncEngine, process_id: str) -> None:
    async with engine.begin() as conn:
        await conn.execute(
            delete(alert_listeners).where(alert_listeners.c.process_id == process_id)
        )


async def listening(
    engine: AsyncEngine, stale_after: timedelta
) -> dict[Visibility, frozenset[AlertKind]]:
    """Every audience with a live subscriber on some process, and the kinds it asked for."""
    since = datetime.now(UTC) - stale_after
    query = select(alert_listeners.c.audience, alert_listeners.c.kinds).where(
        alert_listeners.c.seen_at > since
    )
    async with engine.connect() as conn:
        rows = (await conn.execute(query)).all()
    audiences: dict[Visibility, frozenset[AlertKind]] = {}
    for row in rows:
        visibility = audience_of(row.audience)
        kinds = frozenset(AlertKind(kind) for kind in row.kinds.split(",") if kind)
        audiences[visibility] = audiences.get(visibility, frozenset()) | kinds
    return audiences
