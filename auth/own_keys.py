"""This hub's verification keys and revoked clients, as a token verifier needs them:
in memory, read again from the store every few seconds.

Checking revocation must cost nothing per request, so the set of revoked client ids
is held here and refreshed every ``store_refresh_interval``: a client revoked on one
replica is refused by every replica within that time (at once on the replica that
revoked it, through ``mark_revoked``). A kid not in memory is looked up in the store
straight away (one primary-key read), so a key created by another replica verifies
from its first token.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime

from sqlalchemy.exc import SQLAlchemyError

from auth.config import Clock
from auth.keys import SigningKey
from auth.store import AuthStore

log = logging.getLogger("partnerhub.auth.own_keys")


class OwnKeys:
    def __init__(self, store: AuthStore, *, refresh_seconds: float, clock: Clock) -> None:
        self._store = store
        self._refresh_seconds = refresh_seconds
        self._clock = clock
        self._keys: dict[str, SigningKey] = {}
        self._revoked: frozenset[str] = frozenset()
        self._loaded = False
        self._next_refresh_at = float("-inf")
        self._lock = asyncio.Lock()

    async def key(self, kid: str) -> SigningKey | None:
        """The key named ``kid`` if it may still verify now; None otherwise."""
        await self._fresh()
        key = self._keys.get(kid)
        if key is None:
            key = await self._store.signing_key(kid)
            if key is not None:
                self._keys = {**self._keys, kid: key}
        now = datetime.fromtimestamp(self._clock(), UTC)
        return key if key is not None and key.usable_at(now) else None

    async def is_revoked(self, client_id: str) -> bool:
        await self._fresh()
        return client_id in self._revoked

    def mark_revoked(self, client_id: str) -> None:
        self._revoked = self._revoked | {client_id}

    def forget_keys(self) -> None:
        """Read the keys again on next use (after a rotation or retirement here)."""
        self._next_refresh_at = float("-inf")

    async def _fresh(self) -> None:
        if self._clock() < self._next_refresh_at:
            return
        async with self._lock:
            if self._clock() < self._next_refresh_at:
                return
            try:
                keys = await self._store.verification_keys()
                revoked = await self._store.revoked_client_ids()
            except (SQLAlchemyError, OSError) as error:
                if not self._loaded:
                    raise
                log.warning("could not refresh keys and revocations (%s)", type(error).__name__)
            else:
                self._keys = {key.kid: key for key in keys}
                self._revoked = revoked | self._revoked
                self._loaded = True
            self._next_refresh_at = self._clock() + self._refresh_seconds
