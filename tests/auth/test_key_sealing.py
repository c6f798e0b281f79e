"""Signing keys sealed at rest (``auth.key_wrap``), on SQLite and PostgreSQL: the
database alone cannot sign; keys written before sealing keep working and are sealed on
the next start with a key-encryption key; the KEK can be rotated."""

from __future__ import annotations

import base64
import os

import pytest
from sqlalchemy import select, update

from auth.key_wrap import KeyEncryptionKey, KeyRing, KeyWrapError
from auth.service import AuthService
from auth.store import signing_keys
from hub.records.database import migrate
from tests.auth.support import (
    MovableClock,
    bearer,
    build_app,
    http_client,
    hub_config,
    request_token,
)


def _kek() -> KeyEncryptionKey:
    return KeyEncryptionKey(os.urandom(32))


def _service(database_url: str, clock: MovableClock, ring: KeyRing | None) -> AuthService:
    return AuthService.from_url(
        database_url, hub_config(key_ring=ring), clock=clock, migrate=migrate
    )


async def _rows(service: AuthService) -> dict[str, tuple[str | None, str]]:
    async with service.store.engine.connect() as conn:
        rows = await conn.execute(
            select(signing_keys.c.kid, signing_keys.c.kek_id, signing_keys.c.private_jwk)
        )
        return {kid: (kek_id, stored) for kid, kek_id, stored in rows}


async def _token_works(service: AuthService) -> bool:
    issued = await service.add_client("birch", ["graph:read"])
    async with http_client(build_app(service)) as http:
        token = await request_token(http, issued.client.client_id, issued.secret)
        assert token.status_code == 200, token.text
        answer = await http.get("/whoami", headers=bearer(token.json()["access_token"]))
    return answer.status_code == 200


async def test_a_sealed_key_signs_and_the_database_holds_no_private_key(
    database_url: str,
) -> None:
    clock, kek = MovableClock(), _kek()
    service = _service(database_url, clock, KeyRing(kek))
    await service.setup()
    try:
        assert await _token_works(service)
        key = await service.store.current_signing_key()
        rows = await _rows(service)
    finally:
        await service.close()

    private_d = key.private_key().as_dict(private=True)["d"]
    ((kek_id, stored),) = rows.values()
    assert kek_id == kek.kek_id
    assert private_d not in stored and '"d"' not in stored  # sealed: no JWK in clear

    # The same database without the KEK refuses, naming what to set, not just failing.
    bare = _service(database_url, clock, None)
    await bare.setup()
    try:
        with pytest.raises(KeyWrapError, match="HUB_KEY_ENCRYPTION_KEY is not set"):
            await bare.store.current_signing_key()
    finally:
        await bare.close()


async def test_plaintext_keys_are_sealed_on_the_next_start_and_a_kek_rotates(
    database_url: str,
) -> None:
    clock, first, second = MovableClock(), _kek(), _kek()
    plain = _service(database_url, clock, None)  # a hub from before sealing (or a dev hub)
    await plain.setup()
    try:
        assert await _token_works(plain)
        old = await plain.store.current_signing_key()
        assert (await _rows(plain))[old.kid][0] is None
    finally:
        await plain.close()

    sealed = _service(database_url, clock, KeyRing(first))
    await sealed.setup()  # the next start, with a KEK: sealed
    try:
        assert (await _rows(sealed))[old.kid][0] == first.kek_id
        assert (await sealed.store.current_signing_key()).private_jwk == old.private_jwk
        assert await _token_works(sealed)
    finally:
        await sealed.close()

    rotated = _service(database_url, clock, KeyRing(second, previous=(first,)))
    await rotated.setup()  # the new KEK, the old one still given: rewrapped
    try:
        assert await rotated.store.key_seals() == {second.kek_id: 1}
    finally:
        await rotated.close()

    only_new = _service(database_url, clock, KeyRing(second))  # the old KEK may go now
    only_old = _service(database_url, clock, KeyRing(first))
    await only_new.setup()
    try:
        assert (await only_new.store.current_signing_key()).kid == old.kid
        assert await _token_works(only_new)
    finally:
        await only_new.close()
    try:
        with pytest.raises(KeyWrapError, match=second.kek_id):
            await only_old.store.verification_keys()
    finally:
        await only_old.close()


async def test_a_sealed_key_moved_to_another_row_does_not_open(database_url: str) -> None:
    clock, kek = MovableClock(), _kek()
    service = _service(database_url, clock, KeyRing(kek))
    await service.setup()
    try:
        first = await service.store.current_signing_key()
        second = await service.store.rotate_signing_key()
        rows = await _rows(service)
        async with service.store.engine.begin() as conn:  # someone swaps the stored keys
            await conn.execute(
                update(signing_keys)
                .where(signing_keys.c.kid == first.kid)
                .values(private_jwk=rows[second.kid][1])
            )
        with pytest.raises(KeyWrapError, match=f"{first.kid} does not open"):
            await service.store.signing_key(first.kid)
    finally:
        await service.close()


def test_a_malformed_kek_is_refused_without_echoing_it() -> None:
    short = base64.b64encode(b"x" * 16).decode()
    with pytest.raises(ValueError, match="must decode to 32 bytes") as raised:
        KeyEncryptionKey.from_base64(short)
    assert short not in str(raised.value)
    with pytest.raises(ValueError, match="HUB_KEY_ENCRYPTION_KEY is not base64") as raised:
        KeyEncryptionKey.from_base64("not base64 at all!")
    assert "not base64 at all" not in str(raised.value)
    url_safe = base64.urlsafe_b64encode(b"\xfb" * 32).decode()
    assert KeyEncryptionKey.from_base64(url_safe).key == b"\xfb" * 32
    assert "key=" not in repr(KeyEncryptionKey(b"k" * 32))
