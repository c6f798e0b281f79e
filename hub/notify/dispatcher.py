"""The hub's sender of queued alert notifications: takes what the outbox says is due,
sends it by its channel, and writes down how it went.

A delivery that may yet go through (``Attempt.retriable``) waits ``base_delay`` after
its first failed attempt, then twice as long after each further one (at most
``max_delay``), until ``max_attempts`` attempts have been made; then it is FAILED and
stays in the log with the last answer or error. Deliveries due at once are sent side
by side, so one slow receiver does not hold the others up. Outcomes are counted by
channel (``partnerhub_alert_notifications_total``).

The loop sleeps until the sink queues something (``wake``) or ``poll`` passes (which
also finds retries coming due, and work queued by another hub process).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx
from prometheus_client import CollectorRegistry, Counter
from sqlalchemy.ext.asyncio import AsyncEngine

from auth.key_wrap import KeyRing, KeyWrapError
from hub.notify import email, webhook
from hub.notify.attempt import Attempt
from hub.notify.email import SmtpRelay
from hub.records import alert_targets
from hub.records.alert_targets import AlertTarget, Channel
from hub.records.database import DATABASE_ERRORS
from hub.records.outbox import Delivery, Outbox

log = logging.getLogger("partnerhub.notify")


@dataclass(frozen=True, slots=True)
class DeliveryPolicy:
    max_attempts: int = 8
    base_delay: timedelta = timedelta(seconds=10)
    max_delay: timedelta = timedelta(hours=1)
    timeout: float = 10.0  # one attempt, seconds
    poll: float = 1.0  # seconds between looks at the outbox when nothing wakes it
    batch: int = 20  # deliveries sent side by side

    def delay_after(self, attempts: int) -> timedelta:
        """The wait before the next attempt, after ``attempts`` failed ones."""
        doubled: timedelta = self.base_delay * 2 ** (attempts - 1)
        return min(doubled, self.max_delay)

    @property
    def lease(self) -> timedelta:
        """How long a taken delivery is left alone: longer than any attempt lasts."""
        return timedelta(seconds=self.timeout * 3 + 30)


class Dispatcher:
    def __init__(
        self,
        engine: AsyncEngine,
        policy: DeliveryPolicy,
        relay: SmtpRelay | None,
        registry: CollectorRegistry | None = None,
        key_ring: KeyRing | None = None,
    ) -> None:
        self.engine = engine
        self.key_ring = key_ring  # opens sealed webhook secrets (hub.records.alert_targets)
        self.outbox = Outbox(engine)
        self.policy = policy
        self.relay = relay
        self._ready = asyncio.Event()
        self._outcomes = Counter(
            "partnerhub_alert_notifications",
            "Attempts to deliver alerts to webhooks and e-mail, by channel and outcome "
            "(delivered, retried: will be tried again, failed: given up).",
            ["channel", "outcome"],
            registry=registry if registry is not None else CollectorRegistry(),
        )

    def wake(self) -> None:
        self._ready.set()

    async def run(self) -> None:
        """Send due deliveries until cancelled."""
        if self.key_ring is not None:
            try:  # secrets from before sealing, or under a previous KEK
                await alert_targets.seal_webhook_secrets(self.engine, self.key_ring)
            except DATABASE_ERRORS as error:
                log.warning(
                    "webhook secrets not sealed yet: the database is unreachable: %s", error
                )
        async with webhook.client(self.policy.timeout) as http:
            while True:
                self._ready.clear()
                try:
                    sent = await self.send_due(http)
                except DATABASE_ERRORS as error:
                    log.warning("alert notifications wait: the database is unreachable: %s", error)
                    sent = 0
                if sent < self.policy.batch:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._ready.wait(), self.policy.poll)

    async def send_due(self, http: httpx.AsyncClient) -> int:
        """Send one batch of due deliveries; how many were taken."""
        due = await self.outbox.take_due(self.policy.batch, self.policy.lease)
        if not due:
            return 0
        targets = await alert_targets.by_ids(self.engine, {d.target_id for d in due})
        await asyncio.gather(*(self._send(http, targets.get(d.target_id), d) for d in due))
        return len(due)

    async def _send(
        self, http: httpx.AsyncClient, target: AlertTarget | None, delivery: Delivery
    ) -> None:
        if target is None:
            attempt = Attempt.refused("the target was removed")
        elif target.channel is Channel.WEBHOOK:
            try:
                secret = target.signing_secret(self.key_ring)
            except KeyWrapError as error:  # a configuration to mend: tried again later
                attempt = Attempt.retry(str(error))
            else:
                assert secret is not None, "a webhook has a secret from its registration"
                attempt = await webhook.send(http, target, delivery, secret)
        else:
            attempt = await email.send(self.relay, target, delivery)
        await self._record(delivery, attempt)

    async def _record(self, delivery: Delivery, attempt: Attempt) -> None:
        made = delivery.attempts + 1
        where = f"{delivery.id} ({delivery.alert_id} to {delivery.target_id})"
        if attempt.delivered:
            await self.outbox.delivered(delivery, attempt.code)
            outcome = "delivered"
            log.info("delivered %s on attempt %d", where, made)
        elif attempt.retriable and made < self.policy.max_attempts:
            wait = self.policy.delay_after(made)
            if attempt.retry_after is not None:  # as asked, within the longest wait
                wait = max(wait, min(timedelta(seconds=attempt.retry_after), self.policy.max_delay))
            at = datetime.now(UTC) + wait
            await self.outbox.retry_at(delivery, attempt.code, attempt.error, at)
            outcome = "retried"
            log.warning(
                "attempt %d of %s failed (%s); next at %s",
                made,
                where,
                attempt.error,
                at.isoformat(timespec="seconds"),
            )
        else:
            await self.outbox.failed(delivery, attempt.code, attempt.error)
            outcome = "failed"
            log.warning("gave up %s after %d attempt(s): %s", where, made, attempt.error)
        self._outcomes.labels(delivery.channel, outcome).inc()
