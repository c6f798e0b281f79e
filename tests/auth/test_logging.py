"""Secrets and tokens never reach a log record, whatever the log level."""

from __future__ import annotations

import logging

import httpx
import pytest

from auth.service import AuthService
from auth.store import IssuedClient
from tests.auth.support import bearer, request_token


def everything_logged(caplog: pytest.LogCaptureFixture) -> str:
    parts = []
    for record in caplog.records:
        parts += [record.getMessage(), repr(record.args), record.exc_text or "", str(record.msg)]
    return "\n".join(parts)


async def test_no_secret_or_token_in_any_log_record(
    http: httpx.AsyncClient,
    service: AuthService,
    birch: IssuedClient,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)  # every logger, authlib's included

    tokens = []
    for post in (False, True):
        response = await request_token(http, birch.client.client_id, birch.secret, post=post)
        assert response.status_code == 200
        tokens.append(response.json()["access_token"])
    wrong = await request_token(http, birch.client.client_id, birch.secret[::-1])
    misplaced = await request_token(http, birch.secret, birch.secret, post=True)  # secret as id
    good = await http.get("/whoami", headers=bearer(tokens[0]))
    head, payload, signature = tokens[1].split(".")
    bad_token = f"{head}.{payload}.{signature[::-1]}"
    bad = await http.get("/whoami", headers=bearer(bad_token))

    assert (wrong.status_code, misplaced.status_code, good.status_code, bad.status_code) == (
        401,
        401,
        200,
        401,
    )
    key = await service.store.current_signing_key()
    stored = await service.store.get_client(birch.client.client_id)
    assert stored is not None
    logged = everything_logged(caplog)
    assert caplog.records, "expected the requests to be logged at all"
    assert "refused a bearer token" in logged
    private_exponent = key.private_key().as_dict(private=True)["d"]
    secret_digest = stored.secret_hash.split("$")[-1]
    needles = [birch.secret, birch.secret[::-1], bad_token, signature, *tokens]
    for needle in [*needles, private_exponent, secret_digest]:
        assert needle not in logged
    for token in tokens:
        assert token.split(".")[2] not in logged  # not even the signature part
