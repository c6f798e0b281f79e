"""Public OAuth clients: apps that run where a secret cannot be kept (a browser page, a
desktop tool) and so prove themselves with PKCE instead, and are known by the exact
redirect URIs registered for them.

One is built in: ``console``, the hub's own pages, whose only redirect is the hub's
``/console/callback``; it needs no registration and cannot be revoked. Others are added
by the operator (``partnerhub clients add --public --redirect-uri URI``).
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.engine import RowMapping
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from auth.config import AuthConfig, Clock, check_url
from auth.signin_tables import public_clients
from auth.store import SLUG, ClientExists
from auth.timing import aware, moment

CONSOLE_CLIENT_ID = "console"
CONSOLE_CALLBACK_PATH = "/console/callback"


@dataclass(frozen=True, slots=True)
class PublicClient:
    client_id: str
    redirect_uris: tuple[str, ...]
    created_at: datetime | None  # None: built in
    revoked_at: datetime | None = None

    @property
    def revoked(self) -> bool:
        return self.revoked_at is not None

    def allows(self, redirect_uri: str) -> bool:
        """Exact string comparison (RFC 9700 2.1): no prefixes, no patterns."""
        return redirect_uri in self.redirect_uris


class PublicClientStore:
    def __init__(self, engine: AsyncEngine, config: AuthConfig, clock: Clock) -> None:
        self.engine = engine
        self.clock = clock
        self.console = PublicClient(
            client_id=CONSOLE_CLIENT_ID,
            redirect_uris=(config.endpoint(CONSOLE_CALLBACK_PATH),),
            created_at=None,
        )

    async def add(
        self, redirect_uris: Iterable[str], *, client_id: str | None = None
    ) -> PublicClient:
        uris = tuple(dict.fromkeys(redirect_uris))
        if not uris:
            raise ValueError("a public client needs at least one --redirect-uri")
        for uri in uris:
            check_url("redirect URI", uri)
        client_id = client_id or f"app-{secrets.token_hex(4)}"
        if not SLUG.fullmatch(client_id) or client_id == CONSOLE_CLIENT_ID:
            raise ValueError(f"client id {client_id!r}: expected a slug, not {CONSOLE_CLIENT_ID!r}")
        client = PublicClient(client_id, uris, created_at=moment(self.clock))
        try:
            async with self.engine.begin() as conn:
                await conn.execute(
                    public_clients.insert().values(
                        client_id=client_id,
                        redirect_uris=" ".join(uris),
                        created_at=client.created_at,
                        revoked_at=None,
                    )
                )
        except IntegrityError:
            raise ClientExists(f"client id {client_id!r} is taken") from None
        return client

    async def get(self, client_id: str) -> PublicClient | None:
        """The client if it exists and is not revoked."""
        if client_id == CONSOLE_CLIENT_ID:
            return self.console
        if not SLUG.fullmatch(client_id):
            return None
        query = select(public_clients).where(
            public_clients.c.client_id == client_id, public_clients.c.revoked_at.is_(None)
        )
        async with self.engine.connect() as conn:
            row = (await conn.execute(query)).first()
        return None if row is None else _public_client(row._mapping)

    async def list(self) -> list[PublicClient]:
        query = select(public_clients).order_by(public_clients.c.client_id)
        async with self.engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        return [self.console, *(_public_client(row._mapping) for row in rows)]

    async def revoke(self, client_id: str) -> bool:
        async with self.engine.begin() as conn:
            result = await conn.execute(
                update(public_clients)
                .where(
                    public_clients.c.client_id == client_id, public_clients.c.revoked_at.is_(None)
                )
                .values(revoked_at=moment(self.clock))
            )
        return bool(result.rowcount)


def _public_client(row: RowMapping) -> PublicClient:
    revoked_at = row["revoked_at"]
    return PublicClient(
        client_id=row["client_id"],
        redirect_uris=tuple(row["redirect_uris"].split()),
        created_at=aware(row["created_at"]),
        revoked_at=None if revoked_at is None else aware(revoked_at),
    )
