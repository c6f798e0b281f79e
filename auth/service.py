"""Everything the hub holds for OAuth, in one object: configuration, store, token
endpoint and verifier. Operations that change keys or clients go through here, so
this process's verifier hears of them at once (other replicas within
``store_refresh_interval``).
"""

from __future__ import annotations

import httpx

from auth.config import AuthConfig, Clock, system_clock
from auth.keys import SigningKey
from auth.server import TokenEndpoint
from auth.store import AuthStore
from auth.verify import TokenVerifier


class AuthService:
    def __init__(
        self,
        config: AuthConfig,
        store: AuthStore,
        *,
        http: httpx.AsyncClient | None = None,
        clock: Clock = system_clock,
    ) -> None:
        self.config = config
        self.store = store
        self.token_endpoint = TokenEndpoint(config, store)
        self.verifier = TokenVerifier(config, store, http=http, clock=clock)

    @classmethod
    def from_url(
        cls,
        database_url: str,
        config: AuthConfig,
        *,
        http: httpx.AsyncClient | None = None,
        clock: Clock = system_clock,
    ) -> AuthService:
        """With a store (and engine) of its own, e.g. ``sqlite+aiosqlite:///var/hub.sqlite``."""
        return cls(
            config, AuthStore.from_url(database_url, config, clock=clock), http=http, clock=clock
        )

    async def setup(self) -> None:
        """Create the tables if missing."""
        await self.store.setup()

    async def close(self) -> None:
        await self.verifier.aclose()
        await self.store.close()

    async def revoke_client(self, client_id: str) -> bool:
        revoked = await self.store.revoke_client(client_id)
        self.verifier.forget_client(client_id)
        return revoked

    async def rotate_signing_key(self) -> SigningKey:
        key = await self.store.rotate_signing_key()
        self.verifier.own_keys.forget_keys()
        return key

    async def retire_signing_key(self, kid: str) -> bool:
        retired = await self.store.retire_signing_key(kid)
        self.verifier.own_keys.forget_keys()
        return retired
