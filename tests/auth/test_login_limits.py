"""The sign-in form refuses a flood of wrong passwords before argon2 runs: per account
and per address, with the form's message, HTTP 429 and Retry-After."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

import auth.users
from auth.login_limits import LoginLimits
from auth.principal import Scope
from auth.rate_limits import Rate
from auth.service import AuthService
from hub.records.database import migrate
from tests.auth.signin import PASSWORD, authorize_params, pkce, post_form, redirect_answer
from tests.auth.support import ISSUER, build_app, hub_config

EMAIL = "ana@birch.example"
ATTACKER = ("203.0.113.7", 40000)
ANA_AT_WORK = ("198.51.100.20", 40000)


@pytest.fixture
async def service(tmp_path: Path) -> AsyncIterator[AuthService]:
    # The limits live in memory, not in the database: SQLite alone is enough here.
    config = hub_config(login_limits=LoginLimits(signin_failures=Rate(3, 900)))
    opened = AuthService.from_url(
        f"sqlite+aiosqlite:///{tmp_path / 'auth.sqlite'}", config, migrate=migrate
    )
    await opened.setup()
    await opened.add_user("birch", EMAIL, PASSWORD, [Scope.GRAPH_READ], org_kind="CDMO")
    await opened.add_user("birch", "ben@birch.example", PASSWORD, [Scope.GRAPH_READ])
    yield opened
    await opened.close()


def client_from(service: AuthService, address: tuple[str, int]) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=build_app(service), client=address)
    return httpx.AsyncClient(transport=transport, base_url=ISSUER)


class PasswordChecks:
    """Counts the argon2 checks the sign-in form runs (and runs them)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.count = 0
        for name in ("verify_password", "spend_like_a_password_check"):
            monkeypatch.setattr(auth.users, name, self._counting(getattr(auth.users, name)))

    def _counting(self, check: Callable[..., Any]) -> Callable[..., Any]:
        def counted(*args: Any) -> Any:
            self.count += 1
            return check(*args)

        return counted


async def test_wrong_passwords_for_one_account_are_refused_before_argon2(
    service: AuthService, monkeypatch: pytest.MonkeyPatch
) -> None:
    checks = PasswordChecks(monkeypatch)
    async with client_from(service, ATTACKER) as attacker:
        params = authorize_params(pkce())
        answers = [await post_form(attacker, params, EMAIL, "wrong guess!") for _ in range(6)]
    checked_during_flood = checks.count
    async with client_from(service, ANA_AT_WORK) as ana:
        own = await post_form(ana, authorize_params(pkce()), EMAIL, PASSWORD)
        ben = await post_form(ana, authorize_params(pkce()), "ben@birch.example", PASSWORD)

    assert [answer.status_code for answer in answers] == [400, 400, 400, 429, 429, 429]
    assert checked_during_flood == 3, "the refused attempts ran no argon2"
    refused = answers[-1]
    assert "Too many sign-in attempts" in refused.text and "<form" in refused.text
    assert 0 < int(refused.headers["retry-after"]) <= 900
    assert own.status_code == 429, "the account rests for the window, whoever asks"
    assert "code" in redirect_answer(ben), "another account signs in from another address"
    counted = service.login_guard.limits.refusals
    assert (counted["signin_failures_address"], counted["signin_failures_account"]) == (3, 1)


async def test_wrong_passwords_from_one_address_are_refused_for_every_account(
    service: AuthService,
) -> None:
    emails = [f"guess{n}@birch.example" for n in range(4)] + [EMAIL]
    async with client_from(service, ATTACKER) as attacker:
        answers = [
            await post_form(attacker, authorize_params(pkce()), email, "wrong guess!")
            for email in emails
        ]
    async with client_from(service, ANA_AT_WORK) as ana:
        own = await post_form(ana, authorize_params(pkce()), EMAIL, PASSWORD)

    assert [answer.status_code for answer in answers] == [400, 400, 400, 429, 429]
    assert "code" in redirect_answer(own), "Ana was never guessed at: she signs in"
