"""Where an organization's alerts go besides open websockets: its webhooks and e-mail
addresses, registered by the operator (``partnerhub webhooks add``, ``partnerhub alerts
email add``) and audited.

A target belongs to one organization and hears exactly what that organization's
subscriptions would (``Visibility.for_org``), for the kinds it names. A webhook gets a
signing secret at registration, shown once to the operator to hand to the receiver.
The hub needs the secret itself to sign each delivery, so it cannot be hashed: with a
key-encryption key (``HUB_KEY_ENCRYPTION_KEY``) it is sealed in this table like the
signing keys (``auth.key_wrap``; ``secret_kek_id`` names the KEK, NULL a plaintext
secret from before sealing or from a hub without a KEK, sealed by
``seal_webhook_secrets`` on the next start with one), and only the dispatcher opens it,
to sign. It never enters a log line, an audit entry, a listing or a ``repr``
(``AlertTarget.secret`` is left out of it).
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import JSON, Column, DateTime, MetaData, String, Table, delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from auth.key_wrap import KeyRing, KeyWrapError
from graph.quality.alerts import ALL_KINDS, AlertKind
from graph.visibility import Visibility
from hub.records import audit
from hub.records.audit import Actor
from hub.records.database import utc

metadata = MetaData()

alert_targets = Table(
    "alert_targets",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("channel", String(16), nullable=False),
    Column("org", String(64), nullable=False, index=True),
    Column("kinds", JSON, nullable=False),  # AlertKind names
    Column("address", String(2000), nullable=False),  # the URL, or the e-mail address
    Column("secret", String(128), nullable=True),  # a webhook's signing secret
    Column("secret_kek_id", String(32), nullable=True),  # the KEK that sealed it; NULL: plain
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("created_by", String(128), nullable=False),
)


class Channel(StrEnum):
    WEBHOOK = "webhook"
    EMAIL = "email"


_PREFIX = {Channel.WEBHOOK: "wh_", Channel.EMAIL: "em_"}
_ADDRESS = re.compile(r"[^@\s<>,;\"]+@[^@\s<>,;\"]+\.[^@\s<>,;\"]+")


class TargetError(ValueError):
    """A registration refused: a bad organization, URL, address or kind, named."""


@dataclass(frozen=True, slots=True)
class AlertTarget:
    id: str
    channel: Channel
    org: str
    kinds: frozenset[AlertKind]
    address: str
    created_at: datetime
    created_by: str
    # Never shown after creation; sealed under ``secret_kek_id`` when that is set.
    secret: str | None = field(default=None, repr=False)
    secret_kek_id: str | None = field(default=None, repr=False)

    def signing_secret(self, key_ring: KeyRing | None) -> str | None:
        """The secret that signs deliveries, opened when sealed (KeyWrapError if it
        cannot be: no KEK, or not the one that sealed it)."""
        if self.secret is None or self.secret_kek_id is None:
            return self.secret
        if key_ring is None:
            raise KeyWrapError(
                f"the secret of webhook {self.id} is sealed under key-encryption key "
                f"{self.secret_kek_id}, and HUB_KEY_ENCRYPTION_KEY is not set"
            )
        return key_ring.open(self.id, self.secret_kek_id, self.secret)

    @property
    def visibility(self) -> Visibility:
        return Visibility.for_org(self.org)


def _checked_org(org: str) -> str:
    try:
        Visibility.for_org(org)
    except ValueError:
        raise TargetError(
            f"{org!r} is not an organization id (lower-case letters, digits, .-_)"
        ) from None
    return org


def checked_kinds(kinds: Iterable[str] | None) -> frozenset[AlertKind]:
    """The kinds named (None or none: every kind), or which name is not a kind."""
    named = list(kinds or ())
    if not named:
        return ALL_KINDS
    try:
        return frozenset(AlertKind(kind.strip().upper()) for kind in named)
    except ValueError as error:
        known = ", ".join(sorted(kind.value for kind in AlertKind))
        raise TargetError(f"{error}; the kinds are {known}") from None


def checked_url(url: str, *, allow_http: bool) -> str:
    """An absolute http(s) URL with a host; plain http only when allowed (a receiver on
    a private network, tests), since the alert would cross the network readable."""
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise TargetError(f"a webhook URL is https://HOST/PATH, not {url!r}")
    if parts.scheme == "http" and not allow_http:
        raise TargetError(
            f"{url!r} is plain http: use https, or set HUB_WEBHOOKS_ALLOW_HTTP=true "
            "for a receiver on a trusted network"
        )
    if parts.username or parts.password:
        raise TargetError("a webhook URL carries no user or password: the hub signs each delivery")
    return url


def checked_address(address: str) -> str:
    if not _ADDRESS.fullmatch(address.strip()):
        raise TargetError(f"{address!r} is not an e-mail address (name@domain.example)")
    return address.strip()


async def add_webhook(
    engine: AsyncEngine,
    org: str,
    url: str,
    kinds: Iterable[str] | None,
    by: Actor,
    *,
    allow_http: bool = False,
    key_ring: KeyRing | None = None,
) -> AlertTarget:
    """Register a webhook (audited), its secret sealed under ``key_ring``'s KEK if given.
    The answer holds the new signing secret in clear: show it once, to the operator,
    and nowhere else."""
    return await _add(
        engine,
        Channel.WEBHOOK,
        _checked_org(org),
        checked_url(url, allow_http=allow_http),
        checked_kinds(kinds),
        by,
        secret="whsec_" + secrets.token_urlsafe(32),
        key_ring=key_ring,
    )


async def add_email(
    engine: AsyncEngine, org: str, address: str, kinds: Iterable[str] | None, by: Actor
) -> AlertTarget:
    """Register an e-mail address for the organization's alerts (audited)."""
    return await _add(
        engine,
        Channel.EMAIL,
        _checked_org(org),
        checked_address(address),
        checked_kinds(kinds),
        by,
    )


async def _add(
    engine: AsyncEngine,
    channel: Channel,
    org: str,
    address: str,
    kinds: frozenset[AlertKind],
    by: Actor,
    secret: str | None = None,
    key_ring: KeyRing | None = None,
) -> AlertTarget:
    target = AlertTarget(
        id=_PREFIX[channel] + secrets.token_hex(8),
        channel=channel,
        org=org,
        kinds=kinds,
        address=address,
        created_at=datetime.now(UTC),
        created_by=by.client or by.org,
        secret=secret,
    )
    kek_id, stored = None, secret
    if secret is not None and key_ring is not None:
        kek_id, stored = key_ring.seal(target.id, secret)
    async with engine.begin() as conn:
        await conn.execute(
            alert_targets.insert().values(
                id=target.id,
                channel=channel.value,
                org=org,
                kinds=sorted(kind.value for kind in kinds),
                address=address,
                secret=stored,
                secret_kek_id=kek_id,
                created_at=target.created_at,
                created_by=target.created_by,
            )
        )
        await audit.append(
            conn,
            by,
            f"{channel.value}.add",
            target.id,
            "ok",
            {"org": org, "address": address, "kinds": sorted(kind.value for kind in kinds)},
        )
    return target


async def seal_webhook_secrets(engine: AsyncEngine, key_ring: KeyRing) -> int:
    """Seal every webhook secret (plaintext, or sealed under a previous KEK) under the
    current KEK; how many were sealed anew."""
    current = key_ring.current.kek_id
    async with engine.begin() as conn:
        rows = (
            (
                await conn.execute(
                    select(alert_targets).where(
                        alert_targets.c.secret.is_not(None),
                        or_(
                            alert_targets.c.secret_kek_id.is_(None),
                            alert_targets.c.secret_kek_id != current,
                        ),
                    )
                )
            )
            .mappings()
            .all()
        )
        for row in rows:
            target = _target(row)
            plain = target.signing_secret(key_ring)
            assert plain is not None  # selected for having one
            kek_id, sealed = key_ring.seal(target.id, plain)
            await conn.execute(
                update(alert_targets)
                .where(alert_targets.c.id == target.id)
                .values(secret=sealed, secret_kek_id=kek_id)
            )
    return len(rows)


async def remove(engine: AsyncEngine, target_id: str, by: Actor) -> bool:
    """Remove a target (audited); False if there is none by that id. Deliveries still
    waiting for it fail when their turn comes."""
    async with engine.begin() as conn:
        gone = await conn.execute(delete(alert_targets).where(alert_targets.c.id == target_id))
        if gone.rowcount != 1:
            return False
        await audit.append(conn, by, "alert-target.remove", target_id, "ok")
    return True


async def targets(
    engine: AsyncEngine, *, org: str | None = None, channel: Channel | None = None
) -> list[AlertTarget]:
    """The registered targets (of ``org``, of ``channel``), by organization and id."""
    query = select(alert_targets).order_by(alert_targets.c.org, alert_targets.c.id)
    if org is not None:
        query = query.where(alert_targets.c.org == org)
    if channel is not None:
        query = query.where(alert_targets.c.channel == channel.value)
    async with engine.connect() as conn:
        rows = (await conn.execute(query)).mappings().all()
    return [_target(row) for row in rows]


async def by_ids(engine: AsyncEngine, ids: Iterable[str]) -> dict[str, AlertTarget]:
    wanted = sorted(set(ids))
    if not wanted:
        return {}
    async with engine.connect() as conn:
        rows = (
            (await conn.execute(select(alert_targets).where(alert_targets.c.id.in_(wanted))))
            .mappings()
            .all()
        )
    return {row["id"]: _target(row) for row in rows}


def _target(row: Any) -> AlertTarget:
    return AlertTarget(
        id=row["id"],
        channel=Channel(row["channel"]),
        org=row["org"],
        kinds=frozenset(AlertKind(kind) for kind in row["kinds"]),
        address=row["address"],
        created_at=utc(row["created_at"]),
        created_by=row["created_by"],
        secret=row["secret"],
        secret_kek_id=row["secret_kek_id"],
    )
