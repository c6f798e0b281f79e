"""People sign in with the authorization code grant and PKCE (RFC 6749 4.1, RFC 7636):
the form, the code exchange, refresh rotation, sign-out, and the refusals, on SQLite and
PostgreSQL."""

from __future__ import annotations

import logging

import httpx
import pytest
from sqlalchemy import select

from auth.principal import Scope
from auth.service import AuthService
from auth.signin_tables import signin_metadata
from auth.users import HubUser
from tests.auth.signin import (
    CONSOLE_CALLBACK,
    PASSWORD,
    authorize_params,
    exchange,
    hidden_fields,
    pkce,
    post_form,
    redirect_answer,
    refresh,
    sign_in,
)
from tests.auth.support import MovableClock, bearer, decode_unverified

EMAIL = "ana@birch.example"


@pytest.fixture
async def ana(service: AuthService) -> HubUser:
    """A person at Birch who reads the graph."""
    return await service.add_user("birch", EMAIL, PASSWORD, [Scope.GRAPH_READ], org_kind="CDMO")


async def test_a_person_signs_in_and_acts_for_their_organization(
    http: httpx.AsyncClient, ana: HubUser
) -> None:
    pair = pkce()
    code = await sign_in(http, EMAIL, pair)
    response = await exchange(http, code, pair.verifier)

    assert response.status_code == 200, response.text
    tokens = response.json()
    assert response.headers["cache-control"] == "no-store"
    assert tokens["token_type"] == "Bearer" and tokens["scope"] == "graph:read"
    assert tokens["refresh_token"]
    claims = decode_unverified(tokens["access_token"]).claims
    assert claims["sub"] == ana.user_id and claims["client_id"] == "console"
    whoami = await http.get("/whoami", headers=bearer(tokens["access_token"]))
    assert whoami.status_code == 200
    assert whoami.json()["org_id"] == "birch" and whoami.json()["scopes"] == ["graph:read"]
    ingest = await http.post("/ingest", headers=bearer(tokens["access_token"]))
    assert ingest.status_code == 403, "only the scopes the person holds"


async def test_refresh_tokens_rotate_and_a_reused_one_ends_the_session(
    http: httpx.AsyncClient, ana: HubUser
) -> None:
    pair = pkce()
    first = (await exchange(http, await sign_in(http, EMAIL, pair), pair.verifier)).json()

    rotated = await refresh(http, first["refresh_token"])
    assert rotated.status_code == 200, rotated.text
    second = rotated.json()
    assert second["refresh_token"] != first["refresh_token"]
    assert (await http.get("/whoami", headers=bearer(second["access_token"]))).status_code == 200

    replayed = await refresh(http, first["refresh_token"])
    after_theft = await refresh(http, second["refresh_token"])
    assert replayed.json()["error"] == "invalid_grant"
    assert after_theft.json()["error"] == "invalid_grant", "the whole session was revoked"


async def test_revoking_the_refresh_token_signs_out(http: httpx.AsyncClient, ana: HubUser) -> None:
    pair = pkce()
    tokens = (await exchange(http, await sign_in(http, EMAIL, pair), pair.verifier)).json()

    revoked = await http.post(
        "/oauth/revoke", data={"token": tokens["refresh_token"], "client_id": "console"}
    )
    again = await http.post("/oauth/revoke", data={"token": "unknown", "client_id": "console"})
    refreshed = await refresh(http, tokens["refresh_token"])

    assert revoked.status_code == 200 and again.status_code == 200
    assert refreshed.status_code == 400 and refreshed.json()["error"] == "invalid_grant"


async def test_a_wrong_verifier_is_invalid_grant_and_burns_the_code(
    http: httpx.AsyncClient, ana: HubUser
) -> None:
    pair = pkce()
    code = await sign_in(http, EMAIL, pair)

    wrong = await exchange(http, code, pkce().verifier)
    right_too_late = await exchange(http, code, pair.verifier)

    assert (wrong.status_code, wrong.json()["error"]) == (400, "invalid_grant")
    assert right_too_late.json()["error"] == "invalid_grant"


async def test_a_code_is_good_once_and_its_reuse_ends_the_session(
    http: httpx.AsyncClient, ana: HubUser
) -> None:
    pair = pkce()
    code = await sign_in(http, EMAIL, pair)
    first = await exchange(http, code, pair.verifier)
    reused = await exchange(http, code, pair.verifier)

    assert first.status_code == 200
    assert (reused.status_code, reused.json()["error"]) == (400, "invalid_grant")
    assert (await refresh(http, first.json()["refresh_token"])).json()["error"] == "invalid_grant"


async def test_a_code_expires_after_a_minute(
    http: httpx.AsyncClient, ana: HubUser, clock: MovableClock
) -> None:
    pair = pkce()
    code = await sign_in(http, EMAIL, pair)
    clock.advance(61)

    response = await exchange(http, code, pair.verifier)

    assert (response.status_code, response.json()["error"]) == (400, "invalid_grant")


async def test_a_code_is_bound_to_its_client_and_redirect_uri(
    http: httpx.AsyncClient, service: AuthService, ana: HubUser
) -> None:
    app = await service.add_public_client(["http://127.0.0.1:5173/callback"])
    pair = pkce()
    code = await sign_in(http, EMAIL, pair)
    other_client = await exchange(
        http, code, pair.verifier, client_id=app.client_id, redirect_uri=app.redirect_uris[0]
    )
    code = await sign_in(http, EMAIL, pair)
    other_redirect = await exchange(http, code, pair.verifier, redirect_uri=CONSOLE_CALLBACK + "x")
    unknown_client = await exchange(http, "code", pair.verifier, client_id="nobody")

    assert other_client.json()["error"] == "invalid_grant"
    assert other_redirect.json()["error"] == "invalid_grant"
    assert (unknown_client.status_code, unknown_client.json()["error"]) == (401, "invalid_client")


async def test_a_registered_public_client_signs_people_in(
    http: httpx.AsyncClient, service: AuthService, ana: HubUser
) -> None:
    app = await service.add_public_client(["http://127.0.0.1:5173/callback"])
    pair = pkce()
    code = await sign_in(
        http, EMAIL, pair, client_id=app.client_id, redirect_uri=app.redirect_uris[0]
    )
    response = await exchange(
        http, code, pair.verifier, client_id=app.client_id, redirect_uri=app.redirect_uris[0]
    )

    assert response.status_code == 200, response.text
    assert decode_unverified(response.json()["access_token"]).claims["client_id"] == app.client_id


@pytest.mark.parametrize(
    "overrides",
    [
        {"redirect_uri": "https://evil.example/callback"},
        {"redirect_uri": CONSOLE_CALLBACK + "/more"},
        {"redirect_uri": None},
        {"client_id": "nobody"},
    ],
    ids=["other-host", "prefix-match", "missing", "unknown-client"],
)
async def test_an_unregistered_redirect_or_client_gets_a_page_never_a_redirect(
    http: httpx.AsyncClient, overrides: dict[str, str | None]
) -> None:
    response = await http.get("/oauth/authorize", params=authorize_params(pkce(), **overrides))

    assert response.status_code == 400
    assert "location" not in response.headers
    assert "cannot be served" in response.text


@pytest.mark.parametrize(
    ("overrides", "error"),
    [
        ({"code_challenge_method": "plain"}, "invalid_request"),
        ({"code_challenge_method": None}, "invalid_request"),
        ({"code_challenge": None}, "invalid_request"),
        ({"state": None}, "invalid_request"),
        ({"response_type": "token"}, "unsupported_response_type"),
        ({"scope": "graph:write"}, "invalid_scope"),
    ],
    ids=["plain-pkce", "no-method", "no-challenge", "no-state", "implicit", "unknown-scope"],
)
async def test_a_bad_request_goes_back_to_the_client_with_the_rfc_error(
    http: httpx.AsyncClient, overrides: dict[str, str | None], error: str
) -> None:
    params = authorize_params(pkce(), **overrides)
    answer = redirect_answer(await http.get("/oauth/authorize", params=params))

    assert answer["error"] == error
    assert answer.get("state") == params.get("state")
    assert "code" not in answer


async def test_the_form_is_plain_html_from_the_hub_only(http: httpx.AsyncClient) -> None:
    page = await http.get("/oauth/authorize", params=authorize_params(pkce()))

    assert page.headers["content-type"].startswith("text/html")
    assert "default-src 'none'" in page.headers["content-security-policy"]
    for loaded in ("<script", "<link", "<style", "src=", "http://", "https://evil"):
        assert loaded not in page.text.lower()
    assert 'form method="post" action="/oauth/authorize"' in page.text


async def test_a_form_without_its_csrf_cookie_is_refused(
    http: httpx.AsyncClient, ana: HubUser
) -> None:
    page = await http.get("/oauth/authorize", params=authorize_params(pkce()))
    fields = hidden_fields(page.text)
    http.cookies.clear()

    response = await http.post(
        "/oauth/authorize", data={**fields, "email": EMAIL, "password": PASSWORD}
    )

    assert response.status_code == 403
    assert "location" not in response.headers


async def test_wrong_password_and_unknown_email_look_the_same(
    http: httpx.AsyncClient, ana: HubUser, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    params = authorize_params(pkce())
    wrong = await post_form(http, params, EMAIL, "not the password at all")
    unknown = await post_form(http, params, "nobody@birch.example", "not the password at all")

    assert wrong.status_code == unknown.status_code == 400
    for response in (wrong, unknown):
        assert "The e-mail address or the password is not right." in response.text
        assert "location" not in response.headers
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert f"sign-in refused for {ana.user_id}" in logged
    assert "not the password at all" not in logged


async def test_a_disabled_user_can_neither_sign_in_nor_refresh(
    http: httpx.AsyncClient, service: AuthService, ana: HubUser
) -> None:
    pair = pkce()
    tokens = (await exchange(http, await sign_in(http, EMAIL, pair), pair.verifier)).json()

    assert await service.disable_user(EMAIL) is not None
    refused = await post_form(http, authorize_params(pkce()), EMAIL, PASSWORD)
    refreshed = await refresh(http, tokens["refresh_token"])

    assert refused.status_code == 400
    assert refreshed.json()["error"] == "invalid_grant"


async def test_sessions_end_when_idle_and_at_their_lifetime(
    http: httpx.AsyncClient, ana: HubUser, clock: MovableClock
) -> None:
    pair = pkce()
    tokens = (await exchange(http, await sign_in(http, EMAIL, pair), pair.verifier)).json()
    refreshed = 0
    for _ in range(16):  # kept alive every 50 minutes: within the idle hour
        clock.advance(50 * 60)
        answer = await refresh(http, tokens["refresh_token"])
        if answer.status_code != 200:
            break
        tokens, refreshed = answer.json(), refreshed + 1
    assert answer.json()["error"] == "invalid_grant"
    assert refreshed == 14, "alive for 14 x 50 minutes, ended at the 12-hour lifetime"

    pair = pkce()
    idle = (await exchange(http, await sign_in(http, EMAIL, pair), pair.verifier)).json()
    clock.advance(61 * 60)
    assert (await refresh(http, idle["refresh_token"])).json()["error"] == "invalid_grant"


async def test_no_password_in_the_logs_or_in_the_database(
    http: httpx.AsyncClient,
    service: AuthService,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)  # every logger: SQL drivers and authlib included
    await service.add_user("birch", EMAIL, PASSWORD, ["graph:read"])
    pair = pkce()
    code = await sign_in(http, EMAIL, pair)
    tokens = (await exchange(http, code, pair.verifier)).json()
    await refresh(http, tokens["refresh_token"])

    logged = "\n".join(
        f"{record.getMessage()} {record.args!r} {record.msg}" for record in caplog.records
    )
    stored = []
    async with service.store.engine.connect() as conn:
        for table in signin_metadata.sorted_tables:
            stored += [repr(tuple(row)) for row in (await conn.execute(select(table))).all()]
    dumped = "\n".join(stored)
    assert "argon2id" in dumped, "the hash is there"
    for secret in (PASSWORD, code, tokens["refresh_token"], pair.verifier):
        assert secret not in logged
        assert secret not in dumped


async def test_revoking_a_public_client_ends_its_tokens_and_refreshes(
    http: httpx.AsyncClient, service: AuthService, ana: HubUser
) -> None:
    app = await service.add_public_client(["http://127.0.0.1:5173/callback"])
    pair = pkce()
    where = {"client_id": app.client_id, "redirect_uri": app.redirect_uris[0]}
    code = await sign_in(http, EMAIL, pair, **where)
    tokens = (await exchange(http, code, pair.verifier, **where)).json()

    assert await service.revoke_client(app.client_id)
    whoami = await http.get("/whoami", headers=bearer(tokens["access_token"]))
    refreshed = await refresh(http, tokens["refresh_token"], client_id=app.client_id)
    page = await http.get("/oauth/authorize", params=authorize_params(pkce(), **where))

    assert whoami.status_code == 401
    assert (refreshed.status_code, refreshed.json()["error"]) == (401, "invalid_client")
    assert page.status_code == 400
    assert app.client_id in await service.store.revoked_client_ids(), "other replicas hear of it"
