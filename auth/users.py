"""People who sign in (authorization code + PKCE): each belongs to one organization and
holds some of its scopes, so a token issued to them is scoped exactly like the org's.

A password is checked only here, in a worker thread, against its argon2id hash
(``auth.passwords``). An unknown or disabled e-mail costs the same as a wrong password
and gets the same answer (None), so nothing tells a caller which e-mails exist.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

import anyio.to_thread
from sqlalchemy import select, update
from sqlalchemy.engine import RowMapping
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from auth.config import Clock
from auth.passwords import hash_password, spend_like_a_password_check, verify_password
from auth.principal import Scope
from auth.signin_tables import hub_users
from auth.store import ORG_KIND, SLUG
from auth.timing import aware, moment

# Deliberately loose (one @, a dot in the domain, no spaces): the address is a login
# name here, never mailed.
EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]+$")


class UserExists(Exception):
    """The e-mail address is registered already."""


@dataclass(frozen=True, slots=True)
class HubUser:
    user_id: str
    email: str
    org_id: str
    org_kind: str | None
    scopes: frozenset[Scope]
    created_at: datetime
    disabled_at: datetime | None
    password_hash: str = field(repr=False)

    @property
    def disabled(self) -> bool:
        return self.disabled_at is not None


def normal_email(email: str) -> str:
    return email.strip().lower()


# Each check holds 64 MiB and a core for a fraction of a second: a burst of sign-in
# attempts waits its turn instead of exhausting the process's memory and threads.
CONCURRENT_PASSWORD_CHECKS = 4


class UserStore:
    def __init__(self, engine: AsyncEngine, clock: Clock) -> None:
        self.engine = engine
        self.clock = clock
        self._checks: anyio.CapacityLimiter | None = None  # made in the event loop

    async def add(
        self,
        org_id: str,
        email: str,
        password: str,
        scopes: Iterable[Scope | str],
        *,
        org_kind: str | None = None,
    ) -> HubUser:
        email = normal_email(email)
        if not EMAIL.fullmatch(email) or len(email) > 320:
            raise ValueError(f"e-mail {email!r}: expected an address such as ana@birch.example")
        if not SLUG.fullmatch(org_id):
            raise ValueError(f"org id {org_id!r}: expected a slug (a-z, 0-9, . _ -)")
        if org_kind is not None and not ORG_KIND.fullmatch(org_kind):
            raise ValueError(f"org kind {org_kind!r}: expected a kind such as SPONSOR or CDMO")
        granted = frozenset(Scope(scope) for scope in scopes)
        if not granted:
            raise ValueError("a user needs at least one scope")
        user = HubUser(
            user_id=f"user-{secrets.token_hex(8)}",
            email=email,
            org_id=org_id,
            org_kind=org_kind,
            scopes=granted,
            created_at=moment(self.clock),
            disabled_at=None,
            password_hash=await anyio.to_thread.run_sync(hash_password, password),
        )
        try:
            async with self.engine.begin() as conn:
                await conn.execute(
                    hub_users.insert().values(
                        user_id=user.user_id,
                        email=user.email,
                        org_id=user.org_id,
                        org_kind=user.org_kind,
                        scopes=" ".join(sorted(user.scopes)),
                        password_hash=user.password_hash,
                        created_at=user.created_at,
                        disabled_at=None,
                    )
                )
        except IntegrityError:
            raise UserExists(f"{email} is registered already") from None
        return user

    async def get(self, user_id: str) -> HubUser | None:
        return await self._one(hub_users.c.user_id == user_id)

    async def by_email(self, email: str) -> HubUser | None:
        return await self._one(hub_users.c.email == normal_email(email))

    async def list(self, org_id: str | None = None) -> list[HubUser]:
        query = select(hub_users).order_by(hub_users.c.org_id, hub_users.c.email)
        if org_id is not None:
            query = query.where(hub_users.c.org_id == org_id)
        async with self.engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        return [_user(row._mapping) for row in rows]

    async def disable(self, email: str) -> HubUser | None:
        """Disable a user: no more sign-ins or refreshes. None if no active such user."""
        async with self.engine.begin() as conn:
            result = await conn.execute(
                update(hub_users)
                .where(hub_users.c.email == normal_email(email), hub_users.c.disabled_at.is_(None))
                .values(disabled_at=moment(self.clock))
            )
        return await self.by_email(email) if result.rowcount else None

    async def authenticate(self, email: str, password: str) -> HubUser | None:
        """The active user with this e-mail and password, or None (same time either way)."""
        user = await self.by_email(email) if EMAIL.fullmatch(normal_email(email)) else None
        if self._checks is None:
            self._checks = anyio.CapacityLimiter(CONCURRENT_PASSWORD_CHECKS)
        if user is None or user.disabled:
            await anyio.to_thread.run_sync(
                spend_like_a_password_check, password, limiter=self._checks
            )
            return None
        matches = await anyio.to_thread.run_sync(
            verify_password, password, user.password_hash, limiter=self._checks
        )
        return user if matches else None

    async def _one(self, condition: object) -> HubUser | None:
        async with self.engine.connect() as conn:
            row = (await conn.execute(select(hub_users).where(condition))).first()  # type: ignore[arg-type]
        return None if row is None else _user(row._mapping)


def _user(row: RowMapping) -> HubUser:
    return HubUser(
        user_id=row["user_id"],
        email=row["email"],
        org_id=row["org_id"],
        org_kind=row["org_kind"],
        scopes=frozenset(Scope(scope) for scope in row["scopes"].split()),
        created_at=aware(row["created_at"]),
        disabled_at=None if row["disabled_at"] is None else aware(row["disabled_at"]),
        password_hash=row["password_hash"],
    )
