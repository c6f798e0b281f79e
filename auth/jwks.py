"""Another issuer's published signing keys: fetched with httpx, kept for a while.

The set is fetched when first needed and again once its time to live has passed. A
token naming a kid the set lacks forces one early fetch (the issuer may have rotated
its keys): at most one fetch per verification, and at most one forced fetch per
cooldown, so tokens with made-up kids cannot make the hub hammer the identity
provider. A failed fetch keeps the keys already known, and is tried again after the
cooldown.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta
from typing import Any

import httpx
from joserfc.errors import JoseError
from joserfc.jwk import Key, import_key

from auth.config import Clock

log = logging.getLogger("partnerhub.auth.jwks")

MAX_JWKS_BYTES = 512 * 1024
# Only asymmetric keys: a JWKS offering an "oct" (HMAC) key is ignored, never trusted.
_ASYMMETRIC_KEY_TYPES = frozenset({"RSA", "EC", "OKP"})
_PRIVATE_MEMBERS = frozenset({"d", "p", "q", "dp", "dq", "qi", "oth", "k"})


class RemoteKeySet:
    def __init__(
        self,
        url: str,
        http: httpx.AsyncClient,
        *,
        ttl: timedelta,
        cooldown: timedelta,
        clock: Clock,
    ) -> None:
        self.url = url
        self._http = http
        self._ttl = ttl.total_seconds()
        self._cooldown = cooldown.total_seconds()
        self._clock = clock
        self._keys: dict[str, Key] = {}
        self._next_fetch_at = float("-inf")
        self._last_forced_at = float("-inf")
        self._generation = 0  # bumped by every fetch attempt, so waiters do not refetch
        self._lock = asyncio.Lock()

    async def get(self, kid: str) -> Key | None:
        """The key named ``kid``, or None if the issuer does not publish it."""
        fetched = False
        if self._clock() >= self._next_fetch_at:
            fetched = await self._refresh(self._generation)
        key = self._keys.get(kid)
        if key is None and not fetched and self._clock() - self._last_forced_at >= self._cooldown:
            self._last_forced_at = self._clock()
            await self._refresh(self._generation)
            key = self._keys.get(kid)
        return key

    async def _refresh(self, seen_generation: int) -> bool:
        """Fetch the set unless another caller just did; whether a fetch was tried."""
        async with self._lock:
            if self._generation != seen_generation:
                return False  # fetched while this caller waited for the lock
            self._generation += 1
            try:
                self._keys = await self._fetch()
            except (httpx.HTTPError, ValueError) as error:
                log.warning(
                    "could not fetch the JWKS at %s (%s); keeping %d known key(s)",
                    self.url,
                    type(error).__name__,
                    len(self._keys),
                )
                self._next_fetch_at = self._clock() + self._cooldown
                return True
            self._next_fetch_at = self._clock() + self._ttl
            return True

    async def _fetch(self) -> dict[str, Key]:
        response = await self._http.get(self.url, headers={"Accept": "application/json"})
        response.raise_for_status()
        if len(response.content) > MAX_JWKS_BYTES:
            raise ValueError("JWKS too large")
        document = response.json()
        if not isinstance(document, dict) or not isinstance(document.get("keys"), list):
            raise ValueError("not a JWK Set")
        keys: dict[str, Key] = {}
        for jwk in document["keys"]:
            imported = _public_signing_key(jwk)
            if imported is not None:
                keys[imported[0]] = imported[1]
        return keys


def _public_signing_key(jwk: Any) -> tuple[str, Key] | None:
    if not isinstance(jwk, dict):
        return None
    kid = jwk.get("kid")
    if not isinstance(kid, str) or not kid or jwk.get("kty") not in _ASYMMETRIC_KEY_TYPES:
        return None
    if jwk.get("use", "sig") != "sig":
        return None
    public = {name: value for name, value in jwk.items() if name not in _PRIVATE_MEMBERS}
    try:
        return kid, import_key(public)
    except (JoseError, ValueError, TypeError):
        return None
