"""Hostile and broken tokens on a protected route: each one a 401 with an RFC 6750
challenge naming why, and never the protected answer."""

from __future__ import annotations

import base64
import hmac
import json

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from joserfc.jwk import ECKey, RSAKey

from auth.service import AuthService
from auth.store import IssuedClient
from tests.auth.support import (
    MovableClock,
    bearer,
    challenge,
    decode_unverified,
    encode_json,
    forge,
    own_claims,
    request_token,
    sign_with,
)


async def refused(http: httpx.AsyncClient, token: str) -> str:
    """Call the protected route with ``token``; assert a proper 401; the reason given."""
    response = await http.get("/whoami", headers=bearer(token))
    assert response.status_code == 401, response.text
    params = challenge(response)
    assert params["realm"] == "partnerhub"
    assert params["error"] == "invalid_token"
    assert response.json()["error"] == "invalid_token"
    assert token not in response.headers["www-authenticate"]
    return params["error_description"]


async def own_token(
    service: AuthService, client: IssuedClient, clock: MovableClock, **overrides: object
) -> str:
    """A token signed with the hub's own current key, with any claims changed."""
    key = await service.store.current_signing_key()
    header = {"alg": "RS256", "typ": "at+jwt", "kid": key.kid}
    claims = own_claims(client.client.client_id, client.client.org_id, clock(), **overrides)
    return sign_with(key.private_key(), header, claims)


async def test_a_hand_signed_token_with_good_claims_is_accepted(
    http: httpx.AsyncClient, service: AuthService, birch: IssuedClient, clock: MovableClock
) -> None:
    # The control for every test below: the forging helpers themselves make valid tokens.
    response = await http.get("/whoami", headers=bearer(await own_token(service, birch, clock)))

    assert response.status_code == 200, response.text


async def test_no_token_is_a_challenge_without_error_code(http: httpx.AsyncClient) -> None:
    for headers in ({}, {"Authorization": "Basic YTpi"}):
        response = await http.get("/whoami", headers=headers)

        assert response.status_code == 401
        assert response.headers["www-authenticate"] == 'Bearer realm="partnerhub"'


async def test_public_paths_need_no_token(http: httpx.AsyncClient) -> None:
    assert (await http.get("/healthz")).status_code == 200
    assert (await http.get("/.well-known/jwks.json")).status_code == 200
    assert (await http.get("/.well-known/oauth-authorization-server")).status_code == 200


async def test_expired(
    http: httpx.AsyncClient, service: AuthService, birch: IssuedClient, clock: MovableClock
) -> None:
    # Past exp by more than the 30 s leeway; within the leeway it is still accepted.
    stale = await own_token(service, birch, clock, iat=int(clock()) - 1000, exp=int(clock()) - 31)
    lenient = await own_token(service, birch, clock, iat=int(clock()) - 1000, exp=int(clock()) - 20)

    assert await refused(http, stale) == "the token has expired"
    assert (await http.get("/whoami", headers=bearer(lenient))).status_code == 200


async def test_expired_by_the_passing_of_time(
    http: httpx.AsyncClient, birch: IssuedClient, clock: MovableClock, service: AuthService
) -> None:
    token = (await request_token(http, birch.client.client_id, birch.secret)).json()["access_token"]
    assert (await http.get("/whoami", headers=bearer(token))).status_code == 200
    # The issuer stamps real time (authlib), the verifier reads the test's clock, which
    # started before the fixtures ran: move it past the token's own expiry and leeway.
    expires = json.loads(base64.urlsafe_b64decode(token.split(".")[1] + "=="))["exp"]

    clock.now = expires + service.config.clock_leeway.total_seconds() + 1

    assert await refused(http, token) == "the token has expired"


async def test_not_yet_valid(
    http: httpx.AsyncClient, service: AuthService, birch: IssuedClient, clock: MovableClock
) -> None:
    token = await own_token(service, birch, clock, nbf=int(clock()) + 120)

    assert await refused(http, token) == "the token is not valid yet"


async def test_valid_once_its_not_before_has_passed(
    http: httpx.AsyncClient, service: AuthService, birch: IssuedClient, clock: MovableClock
) -> None:
    """One verifier, one token, refused then accepted: the claims are checked against
    the clock at each request, not at the first (the verifier keeps its claims check)."""
    token = await own_token(service, birch, clock, nbf=int(clock()) + 120)
    assert await refused(http, token) == "the token is not valid yet"

    clock.now = clock() + 121

    assert (await http.get("/whoami", headers=bearer(token))).status_code == 200


async def test_issued_in_the_future(
    http: httpx.AsyncClient, service: AuthService, birch: IssuedClient, clock: MovableClock
) -> None:
    token = await own_token(service, birch, clock, iat=int(clock()) + 120)

    assert await refused(http, token) == "the token was issued in the future"


async def test_wrong_issuer(
    http: httpx.AsyncClient, service: AuthService, birch: IssuedClient, clock: MovableClock
) -> None:
    # Signed with the hub's own key even, but naming another issuer.
    token = await own_token(service, birch, clock, iss="https://evil.example")

    assert await refused(http, token) == "the token's issuer is not trusted"


@pytest.mark.parametrize("audience", ["https://other.example/api", ["https://other.example/api"]])
async def test_wrong_audience(
    http: httpx.AsyncClient,
    service: AuthService,
    birch: IssuedClient,
    clock: MovableClock,
    audience: object,
) -> None:
    token = await own_token(service, birch, clock, aud=audience)

    assert await refused(http, token) == "the token is meant for another audience"


async def test_missing_claims(
    http: httpx.AsyncClient, service: AuthService, birch: IssuedClient, clock: MovableClock
) -> None:
    token = await own_token(service, birch, clock, exp=None)

    assert await refused(http, token) == "the token lacks required claims: exp"


@pytest.mark.parametrize("bad", ["tomorrow", float("nan"), True, [1]])
async def test_times_that_are_not_dates(
    http: httpx.AsyncClient,
    service: AuthService,
    birch: IssuedClient,
    clock: MovableClock,
    bad: object,
) -> None:
    token = await own_token(service, birch, clock, exp=bad)

    assert await refused(http, token) == "the token's exp claim is not a date"


async def test_alg_none(
    http: httpx.AsyncClient, service: AuthService, birch: IssuedClient, clock: MovableClock
) -> None:
    kid = (await service.store.current_signing_key()).kid
    claims = own_claims("birch-mes", "birch", clock())
    for alg in ("none", "None", "NONE"):
        header = {"alg": alg, "typ": "at+jwt", "kid": kid}
        unsigned = f"{encode_json(header)}.{encode_json(claims)}."

        assert await refused(http, unsigned) == "the token's signing algorithm is not accepted"


async def test_hs256_signed_with_the_public_key(
    http: httpx.AsyncClient, service: AuthService, birch: IssuedClient, clock: MovableClock
) -> None:
    """Algorithm confusion: HMAC keyed with the published public key, in every form
    an attacker might guess the verifier uses."""
    key = await service.store.current_signing_key()
    public = key.public_key()
    assert isinstance(public, RSAKey)
    pem = public.as_pem(private=False)
    der = serialization.load_pem_public_key(pem).public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    modulus = str(public.as_dict()["n"]).encode()
    claims = own_claims("birch-mes", "birch", clock())
    for secret in (pem, pem.strip(), der, modulus):
        for alg, digest in (("HS256", "sha256"), ("HS512", "sha512")):
            header = {"alg": alg, "typ": "at+jwt", "kid": key.kid}

            def hmac_sign(data: bytes, secret: bytes = secret, digest: str = digest) -> bytes:
                return hmac.new(secret, data, digest).digest()

            token = forge(header, claims, hmac_sign)

            assert await refused(http, token) == "the token's signing algorithm is not accepted"


async def test_another_asymmetric_algorithm_on_our_key(
    http: httpx.AsyncClient, service: AuthService, birch: IssuedClient, clock: MovableClock
) -> None:
    key = await service.store.current_signing_key()
    header = {"alg": "PS256", "typ": "at+jwt", "kid": key.kid}
    unlabelled = key.private_key().as_dict(private=True)
    del unlabelled["alg"]  # so the signing library lets the attacker use it for PS256
    token = sign_with(
        RSAKey.import_key(unlabelled), header, own_claims("birch-mes", "birch", clock())
    )

    assert await refused(http, token) == "the token's algorithm does not match its key"


async def test_unknown_kid(
    http: httpx.AsyncClient, service: AuthService, birch: IssuedClient, clock: MovableClock
) -> None:
    # A well-made token from a key the hub never had.
    stranger = RSAKey.generate_key(2048, {"alg": "RS256"}, auto_kid=True)
    header = {"alg": "RS256", "typ": "at+jwt", "kid": stranger.kid}
    token = sign_with(stranger, header, own_claims("birch-mes", "birch", clock()))

    assert await refused(http, token) == "the token's signing key is unknown or retired"


async def test_our_kid_on_a_strangers_signature(
    http: httpx.AsyncClient, service: AuthService, birch: IssuedClient, clock: MovableClock
) -> None:
    kid = (await service.store.current_signing_key()).kid
    stranger = RSAKey.generate_key(3072, {"alg": "RS256"})
    header = {"alg": "RS256", "typ": "at+jwt", "kid": kid}
    token = sign_with(stranger, header, own_claims("birch-mes", "birch", clock()))

    assert await refused(http, token) == "the token's signature does not verify"


async def test_missing_kid(
    http: httpx.AsyncClient, service: AuthService, birch: IssuedClient, clock: MovableClock
) -> None:
    key = await service.store.current_signing_key()
    token = sign_with(
        key.private_key(),
        {"alg": "RS256", "typ": "at+jwt"},
        own_claims("birch-mes", "birch", clock()),
    )

    assert await refused(http, token) == "the token does not name its signing key (kid)"


async def test_tampered_payload(http: httpx.AsyncClient, birch: IssuedClient) -> None:
    token = (await request_token(http, birch.client.client_id, birch.secret)).json()["access_token"]
    header, _, signature = token.split(".")
    claims = decode_unverified(token).claims
    claims["partnerhub_org"] = "northwind"  # become the sponsor
    claims["scope"] = "admin"
    tampered = f"{header}.{encode_json(claims)}.{signature}"

    assert await refused(http, tampered) == "the token's signature does not verify"


async def test_tampered_signature(http: httpx.AsyncClient, birch: IssuedClient) -> None:
    token = (await request_token(http, birch.client.client_id, birch.secret)).json()["access_token"]
    head, payload, signature = token.split(".")
    flipped = signature[:10] + ("A" if signature[10] != "A" else "B") + signature[11:]

    assert (
        await refused(http, f"{head}.{payload}.{flipped}")
        == "the token's signature does not verify"
    )


@pytest.mark.parametrize("typ", [None, "JWT", "jwt", "at+jwt+evil", "id_token+jwt"])
async def test_wrong_typ(
    http: httpx.AsyncClient,
    service: AuthService,
    birch: IssuedClient,
    clock: MovableClock,
    typ: str | None,
) -> None:
    key = await service.store.current_signing_key()
    header = {"alg": "RS256", "kid": key.kid} | ({"typ": typ} if typ else {})
    token = sign_with(key.private_key(), header, own_claims("birch-mes", "birch", clock()))

    assert await refused(http, token) == "the token is not a JWT access token (typ must be at+jwt)"


async def test_typ_with_media_type_prefix_is_accepted(
    http: httpx.AsyncClient, service: AuthService, birch: IssuedClient, clock: MovableClock
) -> None:
    key = await service.store.current_signing_key()
    header = {"alg": "RS256", "typ": "application/at+jwt", "kid": key.kid}
    token = sign_with(key.private_key(), header, own_claims("birch-mes", "birch", clock()))

    assert (await http.get("/whoami", headers=bearer(token))).status_code == 200


async def test_revoked_client(
    http: httpx.AsyncClient, service: AuthService, birch: IssuedClient
) -> None:
    token = (await request_token(http, birch.client.client_id, birch.secret)).json()["access_token"]
    assert (await http.get("/whoami", headers=bearer(token))).status_code == 200

    await service.revoke_client(birch.client.client_id)

    assert await refused(http, token) == "the token's client has been revoked"


async def test_revocation_reaches_another_replica_within_the_refresh_interval(
    http: httpx.AsyncClient, service: AuthService, birch: IssuedClient, clock: MovableClock
) -> None:
    from auth.verify import TokenVerifier

    token = (await request_token(http, birch.client.client_id, birch.secret)).json()["access_token"]
    replica = TokenVerifier(service.config, service.store, clock=clock)
    assert (await replica.verify(token)).org_id == "birch"

    await service.store.revoke_client(birch.client.client_id)  # revoked elsewhere
    assert (await replica.verify(token)).org_id == "birch"  # not heard of yet
    clock.advance(service.config.store_refresh_interval.total_seconds())

    with pytest.raises(Exception, match="revoked"):
        await replica.verify(token)
    await replica.aclose()


@pytest.mark.parametrize(
    "token",
    ["", "abc", "a.b", "a.b.c", "a.b.c.d", "ünïcode.x.y", "x" * 9000, "eyJhbGciOiJSUzI1NiJ9.e30."],
    ids=["empty", "one part", "two parts", "junk", "four parts", "non-ascii", "huge", "no typ"],
)
async def test_garbage(http: httpx.AsyncClient, token: str) -> None:
    response = await http.get("/whoami", headers=[(b"Authorization", f"Bearer {token}".encode())])
    if token == "":
        assert response.status_code == 400  # "Bearer" with nothing after it: invalid_request
        assert challenge(response)["error"] == "invalid_request"
        return
    assert response.status_code == 401
    assert challenge(response)["error"] == "invalid_token"


async def test_ec_key_claiming_rs256(
    http: httpx.AsyncClient, service: AuthService, birch: IssuedClient, clock: MovableClock
) -> None:
    # ES256-signed, labelled RS256, with a kid the hub does not have: refused before
    # any signature check.
    ec = ECKey.generate_key("P-256", {"alg": "ES256"}, auto_kid=True)
    token = sign_with(
        ec,
        {"alg": "ES256", "typ": "at+jwt", "kid": ec.kid},
        own_claims("birch-mes", "birch", clock()),
    )

    assert await refused(http, token) == "the token's signing key is unknown or retired"


async def test_missing_scope_is_403_insufficient_scope(
    http: httpx.AsyncClient, reader: IssuedClient
) -> None:
    token = (await request_token(http, reader.client.client_id, reader.secret)).json()[
        "access_token"
    ]

    response = await http.post("/ingest", headers=bearer(token))

    assert response.status_code == 403
    params = challenge(response)
    assert params["error"] == "insufficient_scope"
    assert params["scope"] == "ingest:write"
    assert response.json()["error"] == "insufficient_scope"


async def test_missing_scope_raised_inside_an_endpoint_is_403(
    http: httpx.AsyncClient, service: AuthService, clock: MovableClock
) -> None:
    pusher = await service.store.add_client("cedar", ["ingest:write"], client_id="cedar-push")
    token = (await request_token(http, pusher.client.client_id, pusher.secret)).json()[
        "access_token"
    ]

    response = await http.get("/whoami", headers=bearer(token))  # needs graph:read

    assert response.status_code == 403
    assert challenge(response)["scope"] == "graph:read"


async def test_admin_holds_every_scope(http: httpx.AsyncClient, service: AuthService) -> None:
    operator = await service.store.add_client("northwind", ["admin"], client_id="operator")
    token = (await request_token(http, operator.client.client_id, operator.secret)).json()[
        "access_token"
    ]

    assert (await http.post("/ingest", headers=bearer(token))).status_code == 200


async def test_a_remembered_signature_vouches_for_those_exact_bytes_only(
    http: httpx.AsyncClient, service: AuthService, birch: IssuedClient
) -> None:
    """The verifier remembers tokens whose signature verified (auth.verify): a token
    used once must not let an edited copy through, nor outlive its key's retirement."""
    token = (await request_token(http, birch.client.client_id, birch.secret)).json()["access_token"]
    assert (await http.get("/whoami", headers=bearer(token))).status_code == 200
    header, _, signature = token.split(".")
    claims = decode_unverified(token).claims
    claims["scope"] = "admin"
    assert (
        await refused(http, f"{header}.{encode_json(claims)}.{signature}")
        == "the token's signature does not verify"
    )
    assert (await http.get("/whoami", headers=bearer(token))).status_code == 200

    assert await service.retire_signing_key(decode_unverified(token).header["kid"])

    assert await refused(http, token) == "the token's signing key is unknown or retired"
