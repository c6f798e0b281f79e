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

from auth.service import AuthService
from graph.sql.store import SqlGraphStore
from hub.app import create_app
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
