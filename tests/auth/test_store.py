"""The SQL side: secrets kept only as salted hashes, clients, keys."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from auth.principal import Scope
from auth.service import AuthService
from auth.store import ClientExists, IssuedClient, oauth_clients, signing_keys
from hub.records.database import migrate
from tests.auth.support import MovableClock


async def test_secrets_are_stored_hashed(service: AuthService, birch: IssuedClient) -> None:
    async with service.store.engine.connect() as conn:
        rows = (await conn.execute(select(oauth_clients))).mappings().all()

    assert len(rows) == 1
    stored = rows[0]["secret_hash"]
    assert stored.startswith("scrypt$")
    for value in rows[0].values():
        assert birch.secret not in str(value)
    assert birch.secret not in repr(birch) + repr(birch.client)
    assert stored not in repr(birch.client)


async def test_two_clients_with_one_secret_would_still_hash_differently(
    service: AuthService,
) -> None:
    from auth.secret_hash import hash_secret, verify_secret

    first, second = hash_secret("same"), hash_secret("same")

    assert first != second  # per-secret salt
    assert verify_secret("same", first) and verify_secret("same", second)
    assert not verify_secret("Same", first)
    assert not verify_secret("same", "scrypt$nonsense")


async def test_authenticate(service: AuthService, birch: IssuedClient) -> None:
    store = service.store

    assert (await store.authenticate("birch-mes", birch.secret)) == birch.client
    assert await store.authenticate("birch-mes", birch.secret[:-1]) is None
    assert await store.authenticate("nobody", birch.secret) is None
    await store.revoke_client("birch-mes")
    assert await store.authenticate("birch-mes", birch.secret) is None


async def test_list_and_revoke(
    service: AuthService, birch: IssuedClient, reader: IssuedClient
) -> None:
    store = service.store

    assert [c.client_id for c in await store.list_clients()] == ["birch-mes", "northwind-bi"]
    assert await store.revoke_client("birch-mes")
    assert not await store.revoke_client("birch-mes")  # already
    assert not await store.revoke_client("nobody")
    assert [c.client_id for c in await store.list_clients(include_revoked=False)] == [
        "northwind-bi"
    ]
    revoked = await store.get_client("birch-mes")
    assert revoked is not None and revoked.revoked
    assert await store.revoked_client_ids() == {"birch-mes"}


async def test_add_client_checks_its_input(service: AuthService, birch: IssuedClient) -> None:
    store = service.store

    with pytest.raises(ClientExists):
        await store.add_client("birch", [Scope.GRAPH_READ], client_id="birch-mes")
    with pytest.raises(ValueError, match="graph:write"):
        await store.add_client("birch", ["graph:write"])
    with pytest.raises(ValueError, match="slug"):
        await store.add_client("Birch Ltd", [Scope.GRAPH_READ])
    with pytest.raises(ValueError, match="at least one scope"):
        await store.add_client("birch", [])
    with pytest.raises(ValueError, match="org kind"):  # PostgreSQL would refuse 33 characters
        await store.add_client("birch", [Scope.GRAPH_READ], org_kind="C" * 33)
    generated = await store.add_client("birch", [Scope.GRAPH_READ])
    assert generated.client.client_id.startswith("birch-")
    assert generated.secret != birch.secret


async def test_times_come_back_as_the_same_utc_instants(
    service: AuthService, clock: MovableClock, birch: IssuedClient
) -> None:
    clock.advance(3600)
    await service.store.revoke_client("birch-mes")
    stored = await service.store.get_client("birch-mes")

    assert stored is not None
    assert stored.created_at == birch.client.created_at
    assert stored.revoked_at == datetime.fromtimestamp(clock.now, UTC)
    assert stored.created_at.utcoffset() == stored.revoked_at.utcoffset() == timedelta(0)


async def test_the_signing_key_is_made_once_and_kept(service: AuthService) -> None:
    first = await service.store.current_signing_key()
    again = await service.store.current_signing_key()

    assert first == again
    assert first.algorithm == "RS256"
    assert first.private_key().as_dict(private=False)["n"]
    async with service.store.engine.connect() as conn:
        assert len((await conn.execute(select(signing_keys))).all()) == 1
    jwks = await service.store.public_jwks()
    assert [key["kid"] for key in jwks["keys"]] == [first.kid]
    assert "d" not in jwks["keys"][0]
    assert first.private_jwk not in repr(first)


async def test_es256_keys_can_be_chosen(database_url: str) -> None:
    from tests.auth.support import hub_config

    service = AuthService.from_url(
        database_url, hub_config(signing_algorithm="ES256"), migrate=migrate
    )
    await service.setup()
    try:
        key = await service.store.current_signing_key()
        assert key.algorithm == "ES256"
        assert (await service.store.public_jwks())["keys"][0]["crv"] == "P-256"
    finally:
        await service.close()
