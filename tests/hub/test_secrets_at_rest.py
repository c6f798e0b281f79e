"""The hub with a key-encryption key: a production hub refuses to start without one,
and no secret it holds (the KEK, a client's secret, a private signing key) reaches a
log record or ``/metrics``."""

from __future__ import annotations

import base64
import logging
import os
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from auth.service import AuthService
from graph.sql.store import SqlGraphStore
from hub.app import create_app
from hub.cli import app as cli
from hub.sealing.at_rest import UnsafeConfiguration
from hub.settings import Settings
from tests.auth.test_logging import everything_logged


def _kek() -> str:
    return base64.b64encode(os.urandom(32)).decode()


def test_a_production_hub_needs_a_key_encryption_key(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    database = f"sqlite:///{tmp_path / 'ledger.sqlite'}"
    with pytest.raises(UnsafeConfiguration, match="HUB_KEY_ENCRYPTION_KEY"):
        create_app(Settings(env="production", database=database))
    create_app(Settings(env="production", database=database, key_encryption_key=_kek()))  # type: ignore[arg-type]

    caplog.set_level(logging.WARNING, logger="partnerhub.sealing")
    create_app(Settings(database=database))  # development: runs, and says so
    assert "signing keys are stored unencrypted" in caplog.text

    bad = "c2hvcnQ="  # base64 of 5 bytes
    with pytest.raises(ValueError, match="HUB_KEY_ENCRYPTION_KEY must decode to 32") as raised:
        create_app(Settings(database=database, key_encryption_key=bad))  # type: ignore[arg-type]
    assert bad not in str(raised.value)


async def test_no_secret_reaches_the_logs_or_metrics(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    kek = _kek()
    settings = Settings(
        database=f"sqlite:///{tmp_path / 'ledger.sqlite'}",
        key_encryption_key=kek,  # type: ignore[arg-type]
        metrics_public=True,
        log_level="DEBUG",
    )
    store = SqlGraphStore(f"sqlite+aiosqlite:///{tmp_path / 'graph.sqlite'}")
    await store.setup()
    caplog.set_level(logging.DEBUG)
    app = create_app(settings, store=store)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(  # over https, as OAuth wants
            transport=httpx.ASGITransport(app=app), base_url="https://hub.test"
        ) as http,
    ):
        auth: AuthService = app.state.auth
        issued = await auth.add_client("birch", ["graph:read"])
        secret = issued.secret
        good = await http.post(
            "/oauth/token",
            data={"grant_type": "client_credentials"},
            auth=(issued.client.client_id, secret),
        )
        wrong = await http.post(
            "/oauth/token",
            data={"grant_type": "client_credentials"},
            auth=(issued.client.client_id, secret[::-1]),
        )
        misplaced = await http.post(
            "/oauth/token", data={"grant_type": "client_credentials"}, auth=(secret, secret)
        )
        token = good.json()["access_token"]
        asked = await http.post(
            "/graphql",
            json={"query": "{ organizations { nodes { id } } }"},
            headers={"authorization": f"Bearer {token}"},
        )
        metrics = await http.get("/metrics")
        private_d = (
            (await auth.store.current_signing_key()).private_key().as_dict(private=True)["d"]
        )
    await store.close()

    assert (good.status_code, wrong.status_code, misplaced.status_code) == (200, 401, 401)
    assert asked.status_code == 200 and metrics.status_code == 200
    assert "partnerhub_http_requests_total" in metrics.text  # the metrics were served
    logged = everything_logged(caplog)
    assert len(caplog.records) > 5  # the hub did log, at DEBUG
    raw_kek = base64.b64decode(kek)
    for value in (kek, raw_kek.hex(), secret, secret[::-1], private_d, token):
        assert value not in logged
        assert value not in metrics.text


def test_keys_rewrap_moves_every_key_to_the_new_kek(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HUB_DATABASE", f"sqlite:///{tmp_path / 'ledger.sqlite'}")
    runner = CliRunner()
    assert runner.invoke(cli, ["keys", "rotate"]).exit_code == 0  # a plaintext key
    refused = runner.invoke(cli, ["keys", "rewrap"])
    assert refused.exit_code == 2 and "HUB_KEY_ENCRYPTION_KEY" in refused.output

    old, new = _kek(), _kek()
    monkeypatch.setenv("HUB_KEY_ENCRYPTION_KEY", old)
    first = runner.invoke(cli, ["keys", "rewrap"])
    assert runner.invoke(cli, ["keys", "rotate"]).exit_code == 0  # a second key, sealed
    monkeypatch.setenv("HUB_KEY_ENCRYPTION_KEY", new)
    monkeypatch.setenv("HUB_PREVIOUS_KEY_ENCRYPTION_KEYS", old)
    second = runner.invoke(cli, ["keys", "rewrap"])
    monkeypatch.delenv("HUB_PREVIOUS_KEY_ENCRYPTION_KEYS")
    alone = runner.invoke(cli, ["keys", "rewrap"])  # the old KEK is no longer needed

    new_id = Settings().key_ring().current.kek_id  # type: ignore[union-attr]
    assert first.exit_code == 0 and "1 signing key(s) sealed" in first.output
    assert second.exit_code == 0, second.output
    assert f"2 signing key(s) sealed under key-encryption key {new_id}" in second.output
    assert alone.exit_code == 0 and "2 signing key(s)" in alone.output
    for answer in (first, second, alone):
        assert old not in answer.output and new not in answer.output
