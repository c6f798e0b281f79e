"""Everything the hub holds for OAuth, in one object: configuration, store, token,
authorization and revocation endpoints, people's sign-in stores, and the verifier.
Operations that change keys, clients or users go through here, so
this process's verifier hears of them at once (other replicas within
``store_refresh_interval``), and each is told to ``on_change`` (the hub's audit trail)
with who made it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Any

import httpx

from auth.authorize import AuthorizationEndpoint
from auth.config import AuthConfig, Clock, system_clock
from auth.keys import SigningKey
from auth.login_limits import LoginGuard
from auth.oidc_login import OidcLogin
from auth.person_grants import PersonGrants
from auth.principal import LOCAL_OPERATOR, Principal, Scope
from auth.public_clients import PublicClient, PublicClientStore
from auth.revocation import RevocationEndpoint
from auth.server import TokenEndpoint
from auth.signin_sessions import SigninSessions
from auth.store import AuthStore, IssuedClient, SchemaMigrator
from auth.users import HubUser, UserStore
from auth.verify import TokenVerifier

# (who, action, target, outcome, detail), e.g. (operator, "client.added", "birch-1a2b", ...)
ChangeListener = Callable[[Principal, str, str, str, Mapping[str, Any]], Awaitable[None]]


async def _ignore(*_: object) -> None:
    return None


class AuthService:
    def __init__(
        self,
        config: AuthConfig,
        store: AuthStore,
        *,
        http: httpx.AsyncClient | None = None,
        clock: Clock = system_clock,
        on_change: ChangeListener = _ignore,
    ) -> None:
        self.config = config
        self.store = store
        self.on_change = on_change
        self.users = UserStore(store.engine, clock)
        self.public_clients = PublicClientStore(store.engine, config, clock)
        self.sessions = SigninSessions(store.engine, config, clock)
        # One guard for the token endpoint and the sign-in form: its counts are this
        # process's (``auth.login_limits``), and /metrics reads its refusals.
        self.login_guard = LoginGuard(config.login_limits)
        people = PersonGrants(config, store, self.public_clients, self.users, self.sessions)
        self.token_endpoint = TokenEndpoint(config, store, people, self.login_guard)
        self.authorization_endpoint = AuthorizationEndpoint(
            config, self.public_clients, self.users, self.sessions, self.login_guard
        )
        self.revocation_endpoint = RevocationEndpoint(self.public_clients, self.sessions)
        self.verifier = TokenVerifier(config, store, http=http, clock=clock)
        self.oidc_login = OidcLogin(config, self.authorization_endpoint, self.verifier.http, clock)

    @classmethod
    def from_url(
        cls,
        database_url: str,
        config: AuthConfig,
        *,
        migrate: SchemaMigrator,
        http: httpx.AsyncClient | None = None,
        clock: Clock = system_clock,
        on_change: ChangeListener = _ignore,
    ) -> AuthService:
        """With a store (and engine) of its own, e.g. ``sqlite+aiosqlite:///var/hub.sqlite``."""
        return cls(
            config,
            AuthStore.from_url(database_url, config, migrate=migrate, clock=clock),
            http=http,
            clock=clock,
            on_change=on_change,
        )

    async def setup(self) -> None:
        """Create the tables if missing."""
        await self.store.setup()

    async def close(self) -> None:
        await self.verifier.aclose()
        await self.store.close()

    async def add_client(
        self,
        org_id: str,
        scopes: Iterable[Scope | str],
        *,
        org_kind: str | None = None,
        by: Principal = LOCAL_OPERATOR,
    ) -> IssuedClient:
        issued = await self.store.add_client(org_id, scopes, org_kind=org_kind)
        client = issued.client
        detail = {
            "org": org_id,
            "org_kind": org_kind,
            "scopes": sorted(scope.value for scope in client.scopes),
        }
        await self.on_change(by, "client.added", client.client_id, "added", detail)
        return issued

    async def revoke_client(self, client_id: str, *, by: Principal = LOCAL_OPERATOR) -> bool:
        # A partner's system, or an app people sign in to (its refreshes stop at once).
        revoked = await self.store.revoke_client(client_id) or await self.public_clients.revoke(
            client_id
        )
        self.verifier.forget_client(client_id)
        outcome = "revoked" if revoked else "not found"
        await self.on_change(by, "client.revoked", client_id, outcome, {})
        return revoked

    async def add_user(
        self,
        org_id: str,
        email: str,
        password: str,
        scopes: Iterable[Scope | str],
        *,
        org_kind: str | None = None,
        by: Principal = LOCAL_OPERATOR,
    ) -> HubUser:
        user = await self.users.add(org_id, email, password, scopes, org_kind=org_kind)
        detail = {"org": org_id, "scopes": sorted(scope.value for scope in user.scopes)}
        await self.on_change(by, "user.added", user.user_id, "added", detail)
        return user

    async def disable_user(self, email: str, *, by: Principal = LOCAL_OPERATOR) -> HubUser | None:
        """No more sign-ins, and every session of the user ends (no more refreshes)."""
        user = await self.users.disable(email)
        if user is not None:
            await self.sessions.revoke_user(user.user_id)
        target = user.user_id if user is not None else "(unknown user)"
        await self.on_change(by, "user.disabled", target, "disabled" if user else "not found", {})
        return user

    async def add_public_client(
        self, redirect_uris: Iterable[str], *, by: Principal = LOCAL_OPERATOR
    ) -> PublicClient:
        client = await self.public_clients.add(redirect_uris)
        detail = {"redirect_uris": list(client.redirect_uris)}
        await self.on_change(by, "client.added", client.client_id, "added", detail)
        return client

    async def rotate_signing_key(self, *, by: Principal = LOCAL_OPERATOR) -> SigningKey:
        key = await self.store.rotate_signing_key()
        self.verifier.own_keys.forget_keys()
        await self.on_change(by, "key.rotated", key.kid, "rotated", {})
        return key

    async def retire_signing_key(self, kid: str, *, by: Principal = LOCAL_OPERATOR) -> bool:
        retired = await self.store.retire_signing_key(kid)
        self.verifier.own_keys.forget_keys()
        await self.on_change(by, "key.retired", kid, "retired" if retired else "not found", {})
        return retired
