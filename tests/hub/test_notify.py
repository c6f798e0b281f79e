"""Alerts reach webhooks and e-mail addresses, end to end: records pushed over HTTP into
a real hub (no websocket open), alerts POSTed to a real HTTP server, signed, and mailed
through a real SMTP server; each only to organizations that may read it, retried when
the receiver may yet take it, logged in the outbox. And no flood: a lot sent again with
the same gaps rings once."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import logging
import os
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import text

from graph.model import Batch, BatchStatus, Verdict
from graph.store import GraphStore
from hub.demo.story import demo_records
from hub.records import alert_targets
from hub.records.alert_targets import AlertTarget
from hub.records.audit import Actor
from hub.records.ledger import Ledger
from hub.records.outbox import Delivery, DeliveryStatus, Outbox
from tests.conftest import open_store
from tests.hub.receivers import SmtpServer, WebhookReceiver, smtp_server
from tests.hub.sockets import served
from tests.hub.test_alerts import NORTHWIND_BIRCH_LOT, Hub, assay, running_hub
from tests.tokens import TokenSource

OPERATOR = Actor("operator", "test")
SMTP_LOGIN, SMTP_PASSWORD = "hub-relay", "relay-password-not-for-logs"
MAIL_FROM = "alerts@hub.example"
# The test relay takes a login over plain SMTP: it listens on loopback only.
pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")


@dataclass
class NotifyingHub:
    hub: Hub
    receiver: WebhookReceiver
    receiver_url: str
    smtp: SmtpServer

    @property
    def outbox(self) -> Outbox:
        return Outbox(self.hub.app.state.ledger.engine)

    async def webhook(self, org: str, name: str, kinds: list[str] | None = None) -> AlertTarget:
        return await alert_targets.add_webhook(
            self.hub.app.state.ledger.engine,
            org,
            f"{self.receiver_url}/hook/{name}",
            kinds,
            OPERATOR,
            allow_http=True,
        )

    async def deliveries(
        self,
        target: AlertTarget,
        until: Callable[[list[Delivery]], bool],
        within: float = 20.0,
    ) -> list[Delivery]:
        """The target's delivery log (oldest first), once ``until`` holds for it."""
        deadline = time.monotonic() + within
        while True:
            log = list(reversed(await self.outbox.log(target_id=target.id)))
            if until(log):
                return log
            assert time.monotonic() < deadline, f"the delivery log of {target.id}: {log}"
            await asyncio.sleep(0.05)


def finished(count: int) -> Callable[[list[Delivery]], bool]:
    return lambda log: (
        len(log) >= count and all(d.status is not DeliveryStatus.PENDING for d in log)
    )


@pytest.fixture
async def sqlite_demo_store(
    tmp_path: Path, request: pytest.FixtureRequest
) -> AsyncIterator[GraphStore]:
    """The demo story in the embedded store: delivery does not depend on the store (both
    stores' detection is tested in tests/graph/test_alerts.py)."""
    store = await open_store("sqlite", tmp_path, request)
    await store.upsert(demo_records())
    try:
        yield store
    finally:
        await store.close()


@pytest.fixture
async def notifying(
    sqlite_demo_store: GraphStore, tmp_path: Path, tokens: TokenSource
) -> AsyncIterator[NotifyingHub]:
    receiver = WebhookReceiver()
    with smtp_server(SMTP_LOGIN, SMTP_PASSWORD) as smtp:
        async with (
            served(receiver.app()) as receiver_url,
            running_hub(
                sqlite_demo_store,
                tmp_path,
                tokens,
                webhooks_allow_http=True,
                notify_base_delay_seconds=0.1,
                notify_poll_seconds=0.05,
                smtp_host="127.0.0.1",
                smtp_port=smtp.port,
                smtp_starttls=False,
                smtp_username=SMTP_LOGIN,
                smtp_password=SMTP_PASSWORD,
                smtp_from=MAIL_FROM,
            ) as hub,
        ):
            yield NotifyingHub(hub, receiver, receiver_url, smtp)


def signed(body: bytes, secret: str) -> str:
    """What a receiver computes to check X-PartnerHub-Signature."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


async def test_an_oos_result_reaches_the_labs_webhook_signed_and_no_one_who_may_not_see_it(
    notifying: NotifyingHub,
) -> None:
    elm = await notifying.webhook("elm", "elm", ["OUT_OF_SPECIFICATION"])
    oakridge = await notifying.webhook("oakridge", "oakridge")  # another sponsor, every kind
    northwind = await notifying.webhook("northwind", "northwind", ["DEVIATION"])
    assert notifying.hub.app.state.alerts.subscribers == 0, "no websocket is open"

    ingestion = await notifying.hub.push(
        [assay("ELM-W-1", NORTHWIND_BIRCH_LOT, 93.1, Verdict.OOS)], org="elm"
    )
    [delivery] = await notifying.deliveries(elm, finished(1))

    assert delivery.status is DeliveryStatus.DELIVERED and delivery.attempts == 1
    [posted] = notifying.receiver.posted["elm"]
    assert elm.secret is not None
    assert posted.headers["x-partnerhub-signature"] == signed(posted.body, elm.secret)
    assert posted.headers["x-partnerhub-delivery"] == delivery.id
    assert abs(int(posted.headers["x-partnerhub-timestamp"]) - time.time()) < 60
    assert posted.headers["content-type"] == "application/json"
    alert = json.loads(posted.body)
    assert alert["kind"] == "OUT_OF_SPECIFICATION"
    assert alert["subject_id"] == "result:elm/ELM-W-1"
    assert alert["ingestion_id"] == ingestion
    assert alert["org"] == "elm"
    assert alert["alert_id"] == delivery.alert_id and alert["alert_id"].startswith("alert:")
    assert "93.1 %" in alert["message"] and alert["raised_at"]
    assert alert["batch_ids"] == [NORTHWIND_BIRCH_LOT]
    # Queued in the same step as Elm's: nothing for the other sponsor, nor for a
    # webhook that listens to deviations only.
    assert await notifying.outbox.log(target_id=oakridge.id) == []
    assert await notifying.outbox.log(target_id=northwind.id) == []
    assert set(notifying.receiver.posted) == {"elm"}


async def test_a_receiver_failing_twice_gets_the_alert_on_the_third_attempt(
    notifying: NotifyingHub, caplog: pytest.LogCaptureFixture
) -> None:
    notifying.receiver.answers["flaky"] = [500, 500]
    flaky = await notifying.webhook("northwind", "flaky", ["OUT_OF_SPECIFICATION"])

    with caplog.at_level(logging.DEBUG):
        await notifying.hub.push(
            [assay("ELM-W-2", NORTHWIND_BIRCH_LOT, 106.4, Verdict.OOS)], org="elm"
        )
        [delivery] = await notifying.deliveries(flaky, finished(1))

    assert delivery.status is DeliveryStatus.DELIVERED
    assert delivery.attempts == 3 and delivery.last_status == 200
    posted = notifying.receiver.posted["flaky"]
    assert len(posted) == 3
    assert {p.body for p in posted} == {posted[0].body}, "the same body each time"
    assert {p.headers["x-partnerhub-delivery"] for p in posted} == {delivery.id}
    assert "attempt 1 of" in caplog.text and "HTTP 500" in caplog.text
    assert flaky.secret is not None and flaky.secret not in caplog.text
    metrics = (await notifying.hub.http.get("/metrics")).text
    assert 'partnerhub_alert_notifications_total{channel="webhook",outcome="retried"} 2.0' in (
        metrics
    )
    assert 'partnerhub_alert_notifications_total{channel="webhook",outcome="delivered"} 1.0' in (
        metrics
    )


async def test_a_receiver_answering_400_fails_the_delivery_at_once(
    notifying: NotifyingHub,
) -> None:
    notifying.receiver.answers["picky"] = [400, 400, 400]
    picky = await notifying.webhook("northwind", "picky", ["OUT_OF_SPECIFICATION"])

    await notifying.hub.push([assay("ELM-W-3", NORTHWIND_BIRCH_LOT, 90.0, Verdict.OOS)], org="elm")
    [delivery] = await notifying.deliveries(picky, finished(1))
    await asyncio.sleep(0.5)  # longer than the retry delay: nothing more is sent

    assert delivery.status is DeliveryStatus.FAILED
    assert delivery.attempts == 1 and delivery.last_status == 400
    assert delivery.last_error == "HTTP 400"
    assert len(notifying.receiver.posted["picky"]) == 1


async def test_an_alert_arrives_by_e_mail(
    notifying: NotifyingHub, caplog: pytest.LogCaptureFixture
) -> None:
    address = "qa@northwind.example"
    target = await alert_targets.add_email(
        notifying.hub.app.state.ledger.engine,
        "northwind",
        address,
        ["OUT_OF_SPECIFICATION"],
        OPERATOR,
    )
    oakridge = await alert_targets.add_email(
        notifying.hub.app.state.ledger.engine, "oakridge", "qa@oakridge.example", None, OPERATOR
    )

    with caplog.at_level(logging.DEBUG):
        await notifying.hub.push(
            [assay("ELM-W-4", NORTHWIND_BIRCH_LOT, 93.9, Verdict.OOS)], org="elm"
        )
        [delivery] = await notifying.deliveries(target, finished(1))
        await notifying.smtp.mailbox.wait_for(1)

    assert delivery.status is DeliveryStatus.DELIVERED, delivery
    [(recipients, mail)] = notifying.smtp.mailbox.messages
    assert recipients == [address]
    assert mail["From"] == MAIL_FROM and mail["To"] == address
    assert "OUT_OF_SPECIFICATION" in mail["Subject"] and "result:elm/ELM-W-4" in mail["Subject"]
    text = mail.get_content()
    assert "93.9 %" in text and "95-105 %" in text
    assert delivery.alert_id in text and NORTHWIND_BIRCH_LOT in text
    assert await notifying.outbox.log(target_id=oakridge.id) == []
    assert SMTP_PASSWORD not in caplog.text


async def test_a_lot_sent_again_with_the_same_gaps_rings_once_and_a_change_of_gaps_rings(
    notifying: NotifyingHub,
) -> None:
    def tablets(made_on: date) -> Batch:
        return Batch(
            maker="birch", number="BT-25-071", material_code="B-FG-2050", site_code="CRK-1",
            status=BatchStatus.QUARANTINE, manufactured_on=made_on,
        )  # fmt: skip

    gaps = await notifying.webhook("northwind", "gaps", ["COMPLIANCE_GAP"])
    await notifying.hub.push([tablets(date(2025, 11, 3))], org="birch")  # agreement ended
    await notifying.deliveries(gaps, finished(1))
    await notifying.hub.push([tablets(date(2025, 11, 3))], org="birch")  # the same again
    # A correction: made later, when Birch's qualification had run out too.
    corrected = await notifying.hub.push([tablets(date(2026, 5, 4))], org="birch")
    # Alerts are detected in the order the pushes were applied: once the correction's is
    # queued, anything the repeat raised would be too.
    log = await notifying.deliveries(
        gaps,
        lambda log: finished(1)(log) and any(corrected in delivery.body for delivery in log),
    )

    assert len(log) == 2, [json.loads(delivery.body)["ingestion_id"] for delivery in log]
    first, second = (json.loads(posted.body) for posted in notifying.receiver.posted["gaps"])
    # After the agreement ended and after Birch's change went in unapproved (the story's).
    assert first["gap_reasons"] == ["AGREEMENT_EXPIRED", "UNAPPROVED_CHANGE"]
    assert second["ingestion_id"] == corrected
    assert set(second["gap_reasons"]) == {
        "AGREEMENT_EXPIRED",
        "QUALIFICATION_EXPIRED",
        "UNAPPROVED_CHANGE",
    }


async def test_a_websocket_and_a_webhook_of_one_organization_get_the_same_alert(
    notifying: NotifyingHub,
) -> None:
    hook = await notifying.webhook("northwind", "both", ["OUT_OF_SPECIFICATION"])
    async with notifying.hub.subscriber("northwind", ["OUT_OF_SPECIFICATION"]) as socket:
        await notifying.hub.push(
            [assay("ELM-W-5", NORTHWIND_BIRCH_LOT, 94.2, Verdict.OOS)], org="elm"
        )
        heard = await socket.alert()
    [delivery] = await notifying.deliveries(hook, finished(1))

    posted = json.loads(notifying.receiver.posted["both"][0].body)
    assert heard["alertId"] == delivery.alert_id == posted["alert_id"]
    assert heard["message"] == posted["message"] and heard["batchIds"] == posted["batch_ids"]


async def test_a_429_is_tried_again_no_sooner_than_retry_after_asks(
    notifying: NotifyingHub,
) -> None:
    notifying.receiver.answers["busy"] = [429]
    notifying.receiver.retry_after["busy"] = "2"
    busy = await notifying.webhook("northwind", "busy", ["OUT_OF_SPECIFICATION"])

    await notifying.hub.push([assay("ELM-W-6", NORTHWIND_BIRCH_LOT, 91.5, Verdict.OOS)], org="elm")
    [delivery] = await notifying.deliveries(busy, finished(1))

    assert delivery.status is DeliveryStatus.DELIVERED and delivery.attempts == 2
    first, second = notifying.receiver.posted["busy"]
    waited = int(second.headers["x-partnerhub-timestamp"]) - int(
        first.headers["x-partnerhub-timestamp"]
    )
    assert waited >= 2, "the backoff alone (0.1 s) would have sent it within a second"


async def test_webhook_secrets_are_sealed_at_rest_and_still_sign(
    sqlite_demo_store: GraphStore, tmp_path: Path, tokens: TokenSource
) -> None:
    kek = base64.b64encode(os.urandom(32)).decode()
    receiver = WebhookReceiver()
    async with served(receiver.app()) as receiver_url:
        before = Ledger(f"sqlite+aiosqlite:///{tmp_path / 'ledger.sqlite'}")
        await before.setup()
        older = await alert_targets.add_webhook(  # registered while the hub had no KEK
            before.engine, "elm", f"{receiver_url}/hook/older", None, OPERATOR, allow_http=True
        )
        await before.close()
        settings = {"key_encryption_key": kek, "webhooks_allow_http": True}
        async with running_hub(sqlite_demo_store, tmp_path, tokens, **settings) as hub:
            engine = hub.app.state.ledger.engine
            ring = hub.app.state.settings.key_ring()
            newer = await alert_targets.add_webhook(
                engine, "elm", f"{receiver_url}/hook/newer", None, OPERATOR,
                allow_http=True, key_ring=ring,
            )  # fmt: skip
            await hub.push([assay("ELM-S-1", NORTHWIND_BIRCH_LOT, 93.1, Verdict.OOS)], org="elm")
            outbox = Outbox(engine)
            deadline = time.monotonic() + 20
            while len(receiver.posted["older"]) + len(receiver.posted["newer"]) < 2:
                assert time.monotonic() < deadline, await outbox.log()
                await asyncio.sleep(0.05)
            async with engine.connect() as conn:
                stored = dict(
                    (await conn.execute(text("SELECT id, secret FROM alert_targets"))).all()
                )
            kek_ids = {t.id: t.secret_kek_id for t in await alert_targets.targets(engine)}

    for target in (older, newer):
        assert target.secret is not None
        [posted] = receiver.posted[target.address.rpartition("/")[2]]
        assert posted.headers["x-partnerhub-signature"] == signed(posted.body, target.secret)
        assert target.secret not in stored[target.id]  # sealed in the database
        assert kek_ids[target.id] == ring.current.kek_id
