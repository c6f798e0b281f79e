"""What the hub keeps for alerts beyond websockets, on SQLite and on a real PostgreSQL:
the last compliance verdict per lot and audience outlives the process, the outbox holds
one delivery per (target, alert), and the operator's commands show a webhook's secret
once and never again."""

from __future__ import annotations

import json
import logging
from datetime import timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from graph.quality.compliance import GapReason
from graph.visibility import EVERYTHING, Visibility
from hub.cli import app
from hub.records import alert_targets
from hub.records.alert_targets import TargetError
from hub.records.audit import Actor
from hub.records.ledger import Ledger
from hub.records.outbox import DeliveryStatus, Outbox, Queued
from hub.records.verdicts import StoredVerdicts

OPERATOR = Actor("operator", "test")
LOT = "batch:birch/BT-25-070"
EXPIRED = frozenset({GapReason.AGREEMENT_EXPIRED})
EXPIRED_TWICE = frozenset({GapReason.AGREEMENT_EXPIRED, GapReason.QUALIFICATION_EXPIRED})
NORTHWIND, BIRCH = Visibility.for_org("northwind"), Visibility.for_org("birch")


async def test_a_verdict_rings_when_it_changes_and_is_remembered_across_restarts(
    ledger: Ledger,
) -> None:
    memory = StoredVerdicts(ledger.engine)

    assert await memory.changed(NORTHWIND, {LOT: EXPIRED}) == {LOT}
    assert await memory.changed(NORTHWIND, {LOT: EXPIRED}) == set()
    restarted = StoredVerdicts(ledger.engine)  # a new process over the same database
    assert await restarted.changed(NORTHWIND, {LOT: EXPIRED}) == set()
    # Each audience has its own last verdict.
    assert await restarted.changed(BIRCH, {LOT: EXPIRED}) == {LOT}
    assert await restarted.changed(EVERYTHING, {LOT: EXPIRED}) == {LOT}
    assert await restarted.changed(NORTHWIND, {LOT: EXPIRED_TWICE}) == {LOT}
    assert await restarted.changed(NORTHWIND, {LOT: frozenset()}) == {LOT}  # compliant now
    assert await restarted.changed(NORTHWIND, {LOT: EXPIRED}) == {LOT}  # and not again
    assert await restarted.changed(BIRCH, {LOT: EXPIRED}) == set()


async def test_the_outbox_keeps_one_delivery_per_target_and_alert(ledger: Ledger) -> None:
    outbox = Outbox(ledger.engine)
    first = Queued("wh_1", "webhook", "alert:aa", '{"n": 1}')

    assert await outbox.enqueue([first, first]) == 1
    assert await outbox.enqueue([first, Queued("wh_2", "webhook", "alert:aa", "{}")]) == 1
    taken = await outbox.take_due(10, timedelta(minutes=1))
    assert sorted(d.target_id for d in taken) == ["wh_1", "wh_2"]
    assert await outbox.take_due(10, timedelta(minutes=1)) == [], "taken: not due again"
    await outbox.failed(taken[0], 400, "HTTP 400")
    [logged] = await outbox.log(target_id=taken[0].target_id)
    assert logged.status is DeliveryStatus.FAILED and logged.attempts == 1


async def test_a_webhook_must_be_http_s_and_plain_http_only_when_allowed(ledger: Ledger) -> None:
    engine = ledger.engine
    for url in ("ftp://birch.example/hook", "/hook", "https://user:pw@birch.example/hook"):
        with pytest.raises(TargetError):
            await alert_targets.add_webhook(engine, "birch", url, None, OPERATOR)
    with pytest.raises(TargetError, match="HUB_WEBHOOKS_ALLOW_HTTP"):
        await alert_targets.add_webhook(engine, "birch", "http://birch.example/h", None, OPERATOR)
    with pytest.raises(TargetError, match="RUN_RULE"):
        await alert_targets.add_webhook(engine, "birch", "https://b.example/", ["OOS"], OPERATOR)
    with pytest.raises(TargetError, match="organization"):
        await alert_targets.add_webhook(engine, "Birch Ltd", "https://b.example/", None, OPERATOR)
    with pytest.raises(TargetError, match="e-mail"):
        await alert_targets.add_email(engine, "birch", "qa at birch", None, OPERATOR)
    added = await alert_targets.add_webhook(
        engine, "birch", "http://10.0.0.5/hook", None, OPERATOR, allow_http=True
    )
    assert added.secret is not None and added.secret not in repr(added)


def test_the_cli_shows_a_webhooks_secret_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("HUB_DATABASE", f"sqlite:///{tmp_path / 'cli.sqlite'}")
    runner = CliRunner()
    refused = runner.invoke(app, ["webhooks", "add", "--org", "elm", "--url", "http://x.test/h"])
    assert refused.exit_code == 1 and "plain http" in refused.output

    with caplog.at_level(logging.DEBUG):
        added = runner.invoke(
            app,
            ["webhooks", "add", "--org", "elm", "--url", "https://lims.elm.example/hooks",
             "--kind", "OUT_OF_SPECIFICATION", "--kind", "deviation", "--json"],
        )  # fmt: skip
        assert added.exit_code == 0, added.output
        webhook = json.loads(added.output)
        listed = runner.invoke(app, ["webhooks", "list", "--org", "elm", "--json"])
        log = runner.invoke(app, ["webhooks", "deliveries", "--webhook", webhook["id"]])
        audit = runner.invoke(app, ["audit", "list", "--json"])
        email = runner.invoke(
            app, ["alerts", "email", "add", "--org", "elm", "--to", "qa@elm.example"]
        )
        removed = runner.invoke(app, ["webhooks", "remove", webhook["id"]])

    secret = webhook["secret"]
    assert secret.startswith("whsec_") and len(secret) > 30
    assert json.loads(listed.output) == [{k: v for k, v in webhook.items() if k != "secret"}]
    assert webhook["kinds"] == ["DEVIATION", "OUT_OF_SPECIFICATION"]
    assert log.exit_code == 0 and email.exit_code == 0 and "em_" in email.output
    assert removed.exit_code == 0
    for output in (listed.output, log.output, audit.output, email.output, caplog.text):
        assert secret not in output
    assert "webhook.add" in audit.output
