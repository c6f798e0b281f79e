"""OAuth clients and signing keys in SQL (SQLAlchemy Core, async; SQLite or PostgreSQL).

The tables live in their own ``auth_metadata`` so the hub can create them beside the
ledger's, in the same database. A client's secret is shown once, when the client is
added, and kept only as a salted scrypt hash (``auth.secret_hash``).

Signing keys: the newest key without ``retired_at`` signs. Rotating adds a new key
and gives every older key a retirement time far enough away (token lifetime + leeway
+ overlap) that each token it signed expires first; until then it stays in the JWKS
and verifies. Retiring a key at once (``retire_signing_key``) is for a compromised key.

Private keys are sealed at rest when the config has a key ring (``auth.key_wrap``):
``kek_id`` names the key-encryption key that sealed a row, NULL a plaintext row.
``seal_signing_keys`` seals every row under the current KEK (``setup`` runs it).
"""

from __future__ import annotations

import asyncio
import re
import secrets
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import anyio.to_thread
from sqlalchemy import (
    Column,
    DateTime,
    Index,
    MetaData,
    String,
    Table,
    Text,
    func,
    or_,
    select,
    union,
    update,
)
from sqlalchemy.engine import RowMapping
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from auth.config import AuthConfig, Clock, system_clock
from auth.key_wrap import KeyWrapError
from auth.keys import SigningKey, generate_private_jwk
from auth.log_safety import protect_sql_logs
from auth.principal import Scope
from auth.secret_hash import (
    hash_secret,
    new_client_secret,
    spend_like_a_verification,
    verify_secret,
)
from auth.signin_tables import public_clients

auth_metadata = MetaData()

oauth_clients = Table(
    "oauth_clients",
    auth_metadata,
    Column("client_id", String(64), primary_key=True),
    Column("secret_hash", String(200), nullable=False),
    Column("org_id", String(64), nullable=False),
    Column("org_kind", String(32), nullable=True),
    Column("scopes", String(200), nullable=False),  # space-separated, as OAuth writes them
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("revoked_at", DateTime(timezone=True), nullable=True),
    Index("ix_oauth_clients_org", "org_id"),
)

signing_keys = Table(
    "signing_keys",
    auth_metadata,
    Column("kid", String(64), primary_key=True),
    Column("private_jwk", Text, nullable=False),
    Column("algorithm", String(16), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("retired_at", DateTime(timezone=True), nullable=True),
    # The key-encryption key that sealed private_jwk (auth.key_wrap); NULL: plaintext.
    Column("kek_id", String(32), nullable=True),
)

# Org and client ids: lower-case slugs. (Generated secrets are mixed-case, so a secret
# sent where a client id belongs is never mistaken for one and looked up.)
SLUG = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")
# Org kinds as the graph names them (OrgKind: SPONSOR, CDMO, ...), within the column's
# 32 characters, which PostgreSQL enforces and SQLite does not.
ORG_KIND = re.compile(r"^[A-Z][A-Z0-9_]{0,31}$")


class ClientExists(Exception):
    """The client id asked for is taken."""


@dataclass(frozen=True, slots=True)
class OAuthClient:
    client_id: str
    org_id: str
    org_kind: str | None
    scopes: frozenset[Scope]
    created_at: datetime
    revoked_at: datetime | None
    secret_hash: str = field(repr=False)

    @property
    def revoked(self) -> bool:
        return self.revoked_at is not None


@dataclass(frozen=True, slots=True)
class IssuedClient:
    """A client just added, with its secret: the only time the secret is known."""

    client: OAuthClient
    secret: str = field(repr=False)


SchemaMigrator = Callable[[AsyncEngine], Awaitable[None]]
"""Brings a database to the newest schema. ``auth`` defines its tables (``auth_metadata``)
but does not run migrations: the hub's runner migrates them with its own, and is handed
to the store by whoever assembles it."""


class AuthStore:
    """The repository. Give it the hub's engine to share the ledger's database (the
    caller then disposes of the engine), or use ``from_url`` for one of its own."""

    def __init__(
        self,
        engine: AsyncEngine,
        config: AuthConfig,
        *,
        migrate: SchemaMigrator,
        clock: Clock = system_clock,
    ) -> None:
        self.engine = engine
        self.config = config
        self.clock = clock
        self._migrate = migrate
        self._owns_engine = False
        self._creating_key = asyncio.Lock()
        protect_sql_logs()

    @classmethod
    def from_url(
        cls,
        url: str,
        config: AuthConfig,
        *,
        migrate: SchemaMigrator,
        clock: Clock = system_clock,
    ) -> AuthStore:
        store = cls(
            create_async_engine(url, hide_parameters=True), config, migrate=migrate, clock=clock
        )
        store._owns_engine = True
        return store

    async def setup(self) -> None:
        """Bring the database to the newest schema (with the migration runner given), and
        seal any signing key not sealed under the current key-encryption key yet."""
        await self._migrate(self.engine)
        if self.config.key_ring is not None:
            await self.seal_signing_keys()

    async def key_seals(self) -> dict[str | None, int]:
        """How many signing keys each KEK id sealed (None: plaintext)."""
        async with self.engine.connect() as conn:
            rows = await conn.execute(
                select(signing_keys.c.kek_id, func.count()).group_by(signing_keys.c.kek_id)
            )
            return {kek_id: count for kek_id, count in rows}

    async def seal_signing_keys(self) -> int:
        """Seal every signing key (plaintext, or sealed under a previous KEK) under the
        current KEK; the number of keys sealed anew. Safe to run on several replicas at
        once: each row is opened and sealed in one transaction, and any outcome opens."""
        ring = self.config.key_ring
        if ring is None:
            raise KeyWrapError("no key-encryption key: set HUB_KEY_ENCRYPTION_KEY")
        current = ring.current.kek_id
        async with self.engine.begin() as conn:
            rows = (
                await conn.execute(
                    select(signing_keys).where(
                        or_(signing_keys.c.kek_id.is_(None), signing_keys.c.kek_id != current)
                    )
                )
            ).all()
            for row in rows:
                key = self._signing_key(row._mapping)
                kek_id, sealed = ring.seal(key.kid, key.private_jwk)
                await conn.execute(
                    update(signing_keys)
                    .where(signing_keys.c.kid == key.kid)
                    .values(private_jwk=sealed, kek_id=kek_id)
                )
        return len(rows)

    async def close(self) -> None:
        if self._owns_engine:
            await self.engine.dispose()

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.clock(), UTC)

    # -- clients --

    async def add_client(
        self,
        org_id: str,
        scopes: Iterable[Scope | str],
        *,
        org_kind: str | None = None,
        client_id: str | None = None,
    ) -> IssuedClient:
        """Register a client for ``org_id``; the answer holds the plaintext secret, once."""
        if not SLUG.fullmatch(org_id):
            raise ValueError(f"org id {org_id!r}: expected a slug (a-z, 0-9, . _ -)")
        if org_kind is not None and not ORG_KIND.fullmatch(org_kind):
            raise ValueError(
                f"org kind {org_kind!r}: expected a kind such as SPONSOR or CDMO "
                "(A-Z, 0-9, _; at most 32)"
            )
        granted = frozenset(Scope(scope) for scope in scopes)  # ValueError names a bad one
        if not granted:
            raise ValueError("a client needs at least one scope")
        client_id = client_id or f"{org_id}-{secrets.token_hex(4)}"
        if not SLUG.fullmatch(client_id):
            raise ValueError(f"client id {client_id!r}: expected a slug (a-z, 0-9, . _ -)")
        secret = new_client_secret()
        client = OAuthClient(
            client_id=client_id,
            org_id=org_id,
            org_kind=org_kind,
            scopes=granted,
            created_at=self.now(),
            revoked_at=None,
            secret_hash=await anyio.to_thread.run_sync(hash_secret, secret),
        )
        try:
            async with self.engine.begin() as conn:
                await conn.execute(
                    oauth_clients.insert().values(
                        client_id=client.client_id,
                        secret_hash=client.secret_hash,
                        org_id=client.org_id,
                        org_kind=client.org_kind,
                        scopes=" ".join(sorted(client.scopes)),
                        created_at=client.created_at,
                        revoked_at=None,
                    )
                )
        except IntegrityError:
            raise ClientExists(f"client id {client_id!r} is taken") from None
        return IssuedClient(client=client, secret=secret)

    async def get_client(self, client_id: str) -> OAuthClient | None:
        async with self.engine.connect() as conn:
            row = (
                await conn.execute(
                    select(oauth_clients).where(oauth_clients.c.client_id == client_id)
                )
            ).first()
        return None if row is None else _client(row._mapping)

    async def list_clients(self, *, include_revoked: bool = True) -> list[OAuthClient]:
        query = select(oauth_clients).order_by(oauth_clients.c.org_id, oauth_clients.c.client_id)
        if not include_revoked:
            query = query.where(oauth_clients.c.revoked_at.is_(None))
        async with self.engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        return [_client(row._mapping) for row in rows]

    async def revoke_client(self, client_id: str) -> bool:
        """Revoke a client: no new tokens, and its live tokens are refused. False if
        there is no such client or it was revoked already."""
        async with self.engine.begin() as conn:
            result = await conn.execute(
                update(oauth_clients)
                .where(oauth_clients.c.client_id == client_id, oauth_clients.c.revoked_at.is_(None))
                .values(revoked_at=self.now())
            )
        return bool(result.rowcount)

    async def revoked_client_ids(self) -> frozenset[str]:
        """Revoked clients: partners' systems, and apps people sign in to."""
        query = union(
            select(oauth_clients.c.client_id).where(oauth_clients.c.revoked_at.is_not(None)),
            select(public_clients.c.client_id).where(public_clients.c.revoked_at.is_not(None)),
        )
        async with self.engine.connect() as conn:
            return frozenset((await conn.scalars(query)).all())

    async def authenticate(self, client_id: str, secret: str) -> OAuthClient | None:
        """The client, if ``secret`` is its secret and it is not revoked."""
        client = await self.get_client(client_id)
        if client is None or client.revoked:
            await anyio.to_thread.run_sync(spend_like_a_verification, secret)
            return None
        matches = await anyio.to_thread.run_sync(verify_secret, secret, client.secret_hash)
        return client if matches else None

    # -- signing keys --

    async def current_signing_key(self) -> SigningKey:
        """The key that signs now, created on first use (and rotated in when the
        configured algorithm changed)."""
        key = await self._newest_unretired()
        if key is not None and key.algorithm == self.config.signing_algorithm:
            return key
        if key is not None:
            return await self.rotate_signing_key()
        async with self._creating_key:
            # Replicas racing here may each create one; all of them verify, the newest signs.
            return await self._newest_unretired() or await self._insert_new_key()

    async def rotate_signing_key(self) -> SigningKey:
        """A new key signs from now on; older keys verify until their tokens expire."""
        async with self._creating_key:
            new_key = await self._insert_new_key()
            retire_at = new_key.created_at + self.config.key_retention
            async with self.engine.begin() as conn:
                await conn.execute(
                    update(signing_keys)
                    .where(signing_keys.c.retired_at.is_(None), signing_keys.c.kid != new_key.kid)
                    .values(retired_at=retire_at)
                )
        return new_key

    async def retire_signing_key(self, kid: str) -> bool:
        """Stop trusting a key at once (compromise): its tokens are refused from now."""
        now = self.now()
        async with self.engine.begin() as conn:
            result = await conn.execute(
                update(signing_keys)
                .where(
                    signing_keys.c.kid == kid,
                    or_(signing_keys.c.retired_at.is_(None), signing_keys.c.retired_at > now),
                )
                .values(retired_at=now)
            )
        return bool(result.rowcount)

    async def signing_key(self, kid: str) -> SigningKey | None:
        """The key named ``kid``, retired or not."""
        async with self.engine.connect() as conn:
            row = (
                await conn.execute(select(signing_keys).where(signing_keys.c.kid == kid))
            ).first()
        return None if row is None else self._signing_key(row._mapping)

    async def verification_keys(self) -> list[SigningKey]:
        """Every key whose tokens may still be accepted: signing, or retiring later."""
        now = self.now()
        query = (
            select(signing_keys)
            .where(or_(signing_keys.c.retired_at.is_(None), signing_keys.c.retired_at > now))
            .order_by(signing_keys.c.created_at.desc())
        )
        async with self.engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        # SQLite compares the stored text, not instants: filter again on real datetimes.
        return [
            key for key in map(self._signing_key, (r._mapping for r in rows)) if key.usable_at(now)
        ]

    async def public_jwks(self) -> dict[str, Any]:
        """The JWK Set to publish: public halves of the verification keys."""
        return {"keys": [key.public_jwk() for key in await self.verification_keys()]}

    async def _newest_unretired(self) -> SigningKey | None:
        query = (
            select(signing_keys)
            .where(signing_keys.c.retired_at.is_(None))
            .order_by(signing_keys.c.created_at.desc(), signing_keys.c.kid)
            .limit(1)
        )
        async with self.engine.connect() as conn:
            row = (await conn.execute(query)).first()
        return None if row is None else self._signing_key(row._mapping)

    async def _insert_new_key(self) -> SigningKey:
        algorithm = self.config.signing_algorithm
        kid, private_jwk = await anyio.to_thread.run_sync(generate_private_jwk, algorithm)
        key = SigningKey(
            kid=kid,
            algorithm=algorithm,
            private_jwk=private_jwk,
            created_at=self.now(),
            retired_at=None,
        )
        ring = self.config.key_ring
        kek_id, stored = (None, private_jwk) if ring is None else ring.seal(kid, private_jwk)
        async with self.engine.begin() as conn:
            await conn.execute(
                signing_keys.insert().values(
                    kid=key.kid,
                    private_jwk=stored,
                    algorithm=key.algorithm,
                    created_at=key.created_at,
                    retired_at=None,
                    kek_id=kek_id,
                )
            )
        return key

    def _signing_key(self, row: RowMapping) -> SigningKey:
        created_at = _utc(row["created_at"])
        assert created_at is not None
        return SigningKey(
            kid=row["kid"],
            algorithm=row["algorithm"],
            private_jwk=self._private_jwk(row["kid"], row["kek_id"], row["private_jwk"]),
            created_at=created_at,
            retired_at=_utc(row["retired_at"]),
        )

    def _private_jwk(self, kid: str, kek_id: str | None, stored: str) -> str:
        if kek_id is None:
            return stored  # plaintext: before encryption, or a hub without a KEK
        if self.config.key_ring is None:
            raise KeyWrapError(
                f"signing key {kid} is sealed under key-encryption key {kek_id}, and "
                "HUB_KEY_ENCRYPTION_KEY is not set: set it to that key"
            )
        return self.config.key_ring.open(kid, kek_id, stored)


def _utc(moment: datetime | None) -> datetime | None:
    # SQLite hands back naive datetimes; everything stored here is UTC.
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=UTC)


def _client(row: RowMapping) -> OAuthClient:
    created_at = _utc(row["created_at"])
    assert created_at is not None
    return OAuthClient(
        client_id=row["client_id"],
        org_id=row["org_id"],
        org_kind=row["org_kind"],
        scopes=frozenset(Scope(scope) for scope in row["scopes"].split()),
        created_at=created_at,
        revoked_at=_utc(row["revoked_at"]),
        secret_hash=row["secret_hash"],
    )
