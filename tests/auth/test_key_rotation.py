"""Signing key rotation: old tokens verify until their key retires, and not after."""

from __future__ import annotations

import httpx

from auth.service import AuthService
from auth.store import IssuedClient
from tests.auth.support import (
    MovableClock,
    bearer,
    challenge,
    decode_unverified,
    request_token,
)


async def token_for(http: httpx.AsyncClient, client: IssuedClient) -> str:
    response = await request_token(http, client.client.client_id, client.secret)
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])


async def published_kids(http: httpx.AsyncClient) -> set[str]:
    return {key["kid"] for key in (await http.get("/.well-known/jwks.json")).json()["keys"]}


async def test_rotation_keeps_old_tokens_valid_until_the_old_key_retires(
    http: httpx.AsyncClient, service: AuthService, birch: IssuedClient, clock: MovableClock
) -> None:
    before = await token_for(http, birch)
    old_kid = decode_unverified(before).header["kid"]

    new_key = await service.rotate_signing_key()
    after = await token_for(http, birch)

    # Both keys published, both tokens good; new tokens come from the new key.
    assert decode_unverified(after).header["kid"] == new_key.kid != old_kid
    assert await published_kids(http) == {old_kid, new_key.kid}
    for token in (before, after):
        assert (await http.get("/whoami", headers=bearer(token))).status_code == 200

    # Just before retirement (rotation + 15 min lifetime + 30 s leeway) the old token
    # is still within its own exp + leeway, and accepted.
    clock.advance(15 * 60 + 25)
    assert (await http.get("/whoami", headers=bearer(before))).status_code == 200

    clock.advance(10)  # past retirement
    response = await http.get("/whoami", headers=bearer(before))
    assert response.status_code == 401
    assert (
        challenge(response)["error_description"] == "the token's signing key is unknown or retired"
    )
    assert await published_kids(http) == {new_key.kid}


async def test_a_compromised_key_is_retired_at_once(
    http: httpx.AsyncClient, service: AuthService, birch: IssuedClient
) -> None:
    token = await token_for(http, birch)
    kid = decode_unverified(token).header["kid"]

    assert await service.retire_signing_key(kid)

    response = await http.get("/whoami", headers=bearer(token))
    assert response.status_code == 401
    assert (
        challenge(response)["error_description"] == "the token's signing key is unknown or retired"
    )
    assert kid not in await published_kids(http)
    # The next token request brings a fresh key, and its token is good.
    fresh = await token_for(http, birch)
    assert decode_unverified(fresh).header["kid"] != kid
    assert (await http.get("/whoami", headers=bearer(fresh))).status_code == 200


async def test_a_key_made_by_another_replica_verifies_from_its_first_token(
    http: httpx.AsyncClient, service: AuthService, birch: IssuedClient
) -> None:
    assert (
        await http.get("/whoami", headers=bearer(await token_for(http, birch)))
    ).status_code == 200

    await service.store.rotate_signing_key()  # as another replica would: this verifier is not told

    response = await http.get("/whoami", headers=bearer(await token_for(http, birch)))
    assert response.status_code == 200, response.text


async def test_rotating_twice_keeps_every_unexpired_key(
    http: httpx.AsyncClient, service: AuthService, clock: MovableClock
) -> None:
    first = await service.store.current_signing_key()
    clock.advance(60)
    second = await service.rotate_signing_key()
    clock.advance(60)
    third = await service.rotate_signing_key()

    assert await published_kids(http) == {first.kid, second.kid, third.kid}
    # first's retirement was fixed at the first rotation, not pushed back by the second.
    clock.advance(15 * 60 + 30 - 60 + 1)
    assert await published_kids(http) == {second.kid, third.kid}
