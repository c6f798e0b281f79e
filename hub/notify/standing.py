"""The registered webhooks and e-mail addresses as the alert bus's standing audiences.

Each target listens as its organization (``Visibility.for_org``, exactly the scoping of
that organization's websocket subscriptions) to the kinds it named. The registrations
are read per chunk (one small indexed read, off the ingestion path), so a target the
CLI adds or removes counts from the next chunk on, in every hub process. What the bus
found for an audience is queued in the outbox, one delivery per (target, alert), and
the dispatcher is woken to send it at once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence

from sqlalchemy.ext.asyncio import AsyncEngine

from graph.quality.alerts import Alert, AlertKind
from graph.visibility import Visibility
from hub.notify.payload import AlertPayload
from hub.records import alert_targets
from hub.records.database import DATABASE_ERRORS, unavailable
from hub.records.outbox import Outbox, Queued

log = logging.getLogger("partnerhub.notify")


class StandingTargets:
    """A ``schema.alert_bus.StandingAudiences`` over the database's alert targets."""

    def __init__(self, engine: AsyncEngine, outbox: Outbox, wake: Callable[[], None]) -> None:
        self.engine = engine
        self.outbox = outbox
        self.wake = wake

    async def current(self) -> Mapping[Visibility, frozenset[AlertKind]]:
        try:
            targets = await alert_targets.targets(self.engine)
        except DATABASE_ERRORS as error:
            if not unavailable(error):
                raise
            log.warning("no webhook or e-mail alerts: the database is unreachable: %s", error)
            return {}
        audiences: dict[Visibility, frozenset[AlertKind]] = {}
        for target in targets:
            audiences[target.visibility] = audiences.get(target.visibility, frozenset()) | (
                target.kinds
            )
        return audiences

    async def accept(self, found: Mapping[Visibility, Sequence[Alert]]) -> None:
        if not any(found.values()):
            return
        queued = [
            Queued(
                target.id, target.channel.value, alert.id, AlertPayload.of(alert, target.org).body()
            )
            for target in await alert_targets.targets(self.engine)
            for alert in found.get(target.visibility, ())
            if alert.kind in target.kinds
        ]
        added = await self.outbox.enqueue(queued)
        if added:
            log.info("queued %d alert notification(s)", added)
            self.wake()
