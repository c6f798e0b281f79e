"""The alert bus: chunks written by this process's workers in, alerts to subscribers out.

The ingest workers hand every chunk they have written to ``AlertBus.on_chunk`` (their
``on_chunk`` hook). That call never waits for the store: it keeps the chunk in a short
bounded line and returns, so ingestion runs at the same pace whether anyone listens or
not, and with no listener at all (no subscriber, no standing audiences) it does nothing.
One task (``run``) then detects the alerts (``graph.quality.alerts``) once per distinct
audience, the visibility of the subscribers and the kinds they listen to, and puts each
alert in the queue of every subscriber of that audience that asked for its kind.

**Standing audiences.** Some listen without a socket: the webhooks and e-mail addresses
an organization registered (``hub.notify``). The bus is given them as
``StandingAudiences``: it asks, per chunk, which (visibility, kinds) they make up,
detects for those too, whether or not a websocket is open, and hands them what was
found. They are read per chunk, so a registration made by another process (the CLI)
counts from the next chunk on.

Nothing blocks on a slow reader: each subscriber's queue holds at most ``queue_size``
alerts, and beyond that the oldest is dropped. The drop is counted (the subscriber's
next alert says how many it missed; ``partnerhub_alerts_dropped_total``) and logged as
a warning, the first time and then every ``WARN_EVERY`` drops. The same holds for
chunks waiting to be looked at (``pending_chunks``), which only a store far slower
than the workers would fill.

**Several processes.** Alone (the embedded SQLite database), the bus hands what it
detects straight to this process's subscribers. With an ``AlertRelay`` (the hub's, on a
PostgreSQL database shared by several hub processes: ``hub.cluster.relay``) it detects,
in the process whose worker applied the chunk, for the audiences listening on any
process (``relay.audiences``), hands the relay what it found (``publish``: logged
durably, each process told), and its own subscribers hear it, like every other
process's, from the relay (``dispatch``). The audience decision stays here: an alert is
detected for a visibility, and given only to subscribers holding that visibility.

**Repeats.** An ingestion whose worker died mid-way is applied again by another
worker, and its chunks raise their OUT_OF_SPECIFICATION and RUN_RULE alerts again, with
the same ``Alert.id`` (kind, subject, ingestion); a result pushed twice in two
ingestions is two alerts with two ids. A subscriber is given each alert id once (it
keeps the last ``SEEN_IDS`` ids it was given), so such repeats do not reach it twice. A deviation rings only for the ingestion that
first asserts it, and a lot's COMPLIANCE_GAP only when its verdict changes for the
audience (the last verdict is kept by the ``VerdictMemory`` given, in the database in
the hub), so re-sending lots raises no flood. The standing audiences' outbox keeps one
delivery per (target, alert id).
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Protocol

from prometheus_client import CollectorRegistry, Counter, Gauge

from graph.model import Record
from graph.quality.alerts import (
    ALL_KINDS,
    Alert,
    AlertDetector,
    AlertKind,
    Chunk,
    RememberedVerdicts,
    VerdictMemory,
)
from graph.store import GraphStore, StoreUnavailable
from graph.visibility import Visibility

log = logging.getLogger("partnerhub.alerts")


class Ingestion(Protocol):
    """What the bus needs of the ingestion a chunk belongs to (the hub's ledger record)."""

    @property
    def id(self) -> str: ...


class StandingAudiences(Protocol):
    """Listeners that hold no socket (the hub's webhooks and e-mail addresses)."""

    async def current(self) -> Mapping[Visibility, frozenset[AlertKind]]:
        """The audiences registered now, and the kinds each listens to."""
        ...

    async def accept(self, found: Mapping[Visibility, Sequence[Alert]]) -> None:
        """Take the alerts detected for each audience (to send them, durably)."""
        ...


class AlertRelay(Protocol):
    """Carries alerts to the subscribers of every hub process sharing one database."""

    async def audiences(self) -> Mapping[Visibility, frozenset[AlertKind]]:
        """The audiences with a subscriber on any process, and the kinds each listens to."""
        ...

    async def publish(self, found: Mapping[Visibility, Sequence[Alert]]) -> None:
        """Record the alerts detected for each audience, for every process to dispatch."""
        ...


WARN_EVERY = 100  # after the first, one warning per this many drops
SEEN_IDS = 10_000  # alert ids a subscriber remembers, to be given each once


@dataclass(frozen=True, slots=True)
class Notice:
    """An alert as one subscriber receives it."""

    alert: Alert
    missed: int  # alerts dropped for this subscriber just before this one


class Subscriber:
    """One subscription's queue: bounded, dropping the oldest when full."""

    def __init__(
        self, visibility: Visibility, kinds: frozenset[AlertKind], queue_size: int
    ) -> None:
        self.visibility = visibility
        self.kinds = kinds
        self._queue: deque[Alert] = deque()
        self._size = queue_size
        self._ready = asyncio.Event()
        self._missed = 0  # since the last alert taken
        self.dropped = 0  # over the subscription's life
        self._seen: set[str] = set()
        self._seen_order: deque[str] = deque()

    def first_time(self, alert: Alert) -> bool:
        """Whether the alert's id is new to this subscriber (and note it as seen)."""
        if alert.id in self._seen:
            return False
        self._seen.add(alert.id)
        self._seen_order.append(alert.id)
        if len(self._seen_order) > SEEN_IDS:
            self._seen.discard(self._seen_order.popleft())
        return True

    def offer(self, alert: Alert) -> bool:
        """Queue the alert; False when the oldest waiting one had to make room."""
        full = len(self._queue) >= self._size
        if full:
            self._queue.popleft()
            self._missed += 1
            self.dropped += 1
            if self.dropped == 1 or self.dropped % WARN_EVERY == 0:
                log.warning(
                    "an alert subscriber of %r reads too slowly: %d alert(s) dropped so far "
                    "(queue of %d)",
                    self.visibility.org or "the operator",
                    self.dropped,
                    self._size,
                )
        self._queue.append(alert)
        self._ready.set()
        return not full

    async def next(self) -> Notice:
        while not self._queue:
            self._ready.clear()
            await self._ready.wait()
        missed, self._missed = self._missed, 0
        return Notice(self._queue.popleft(), missed)

    def __aiter__(self) -> AsyncIterator[Notice]:
        return self._notices()

    async def _notices(self) -> AsyncIterator[Notice]:
        while True:
            yield await self.next()


class AlertBus:
    def __init__(
        self,
        *,
        queue_size: int = 1000,
        pending_chunks: int = 64,
        registry: CollectorRegistry | None = None,
        standing: StandingAudiences | None = None,
        verdicts: VerdictMemory | None = None,
        relay: AlertRelay | None = None,
    ) -> None:
        self.queue_size = queue_size
        self.standing = standing
        self.relay = relay
        # Set when this process's subscriptions change (the relay says who listens here).
        self.audiences_changed = asyncio.Event()
        self.verdicts = verdicts if verdicts is not None else RememberedVerdicts()
        self._subscribers: set[Subscriber] = set()
        self._pending: deque[Chunk] = deque()
        self._pending_limit = pending_chunks
        self._ready = asyncio.Event()
        self.chunks_dropped = 0
        registry = registry if registry is not None else CollectorRegistry()
        self._delivered = Counter(
            "partnerhub_alerts_delivered",
            "Alerts put in subscribers' queues, by kind.",
            ["kind"],
            registry=registry,
        )
        self._dropped = Counter(
            "partnerhub_alerts_dropped",
            "Alerts dropped because a subscriber read too slowly, or chunks dropped "
            "before detection because it fell behind.",
            ["reason"],
            registry=registry,
        )
        Gauge(
            "partnerhub_alert_subscriptions",
            "Alert subscriptions open on this process.",
            registry=registry,
        ).set_function(lambda: len(self._subscribers))

    @property
    def subscribers(self) -> int:
        return len(self._subscribers)

    def local_audiences(self) -> dict[Visibility, frozenset[AlertKind]]:
        """The audiences of this process's subscribers, and the kinds each listens to."""
        audiences: dict[Visibility, frozenset[AlertKind]] = {}
        for subscriber in self._subscribers:
            audiences[subscriber.visibility] = (
                audiences.get(subscriber.visibility, frozenset()) | subscriber.kinds
            )
        return audiences

    @asynccontextmanager
    async def subscribe(
        self, visibility: Visibility, kinds: Iterable[AlertKind] | None = None
    ) -> AsyncIterator[Subscriber]:
        """A subscription for as long as the block runs; ``kinds`` None: every kind."""
        subscriber = Subscriber(
            visibility, ALL_KINDS if kinds is None else frozenset(kinds), self.queue_size
        )
        self._subscribers.add(subscriber)
        self.audiences_changed.set()
        try:
            yield subscriber
        finally:
            self._subscribers.discard(subscriber)
            self.audiences_changed.set()

    async def on_chunk(self, received: Ingestion, records: list[Record]) -> None:
        """The workers' ``on_chunk`` hook: note the chunk for detection, never wait."""
        if not self._subscribers and self.standing is None and self.relay is None:
            return
        chunk = Chunk.of(received.id, records)
        if chunk.empty:
            return
        if len(self._pending) >= self._pending_limit:
            dropped = self._pending.popleft()
            self.chunks_dropped += 1
            self._dropped.labels("detection_behind").inc()
            log.warning(
                "alert detection is behind: dropped a chunk of ingestion %s unexamined (%d so far)",
                dropped.ingestion_id,
                self.chunks_dropped,
            )
        self._pending.append(chunk)
        self._ready.set()

    async def run(self, store: GraphStore) -> None:
        """Detect alerts in the chunks noted, as ``store`` holds them, and deliver them,
        until cancelled."""
        detector = AlertDetector(store, self.verdicts)
        while True:
            while not self._pending:
                self._ready.clear()
                await self._ready.wait()
            await self.deliver(self._pending.popleft(), detector)

    async def deliver(self, chunk: Chunk, detector: AlertDetector) -> None:
        subscribers = list(self._subscribers)
        local = self.local_audiences()
        audiences = dict(local)
        standing = await self._standing_audiences(chunk)
        for visibility, kinds in standing.items():
            audiences[visibility] = audiences.get(visibility, frozenset()) | kinds
        relayed = await self._relayed_audiences(chunk, local)
        for visibility, kinds in relayed.items():
            audiences[visibility] = audiences.get(visibility, frozenset()) | kinds
        if not audiences:
            return
        try:
            found = await detector.detect(chunk, audiences)
        except StoreUnavailable as error:
            log.warning(
                "no alerts for a chunk of %s: the store is down: %s", chunk.ingestion_id, error
            )
            return
        except Exception:  # a bug must not stop alerts for every later chunk
            log.exception("alert detection failed for a chunk of %s", chunk.ingestion_id)
            return
        if self.relay is None:
            for visibility, alerts in found.items():
                self.dispatch(visibility, alerts, subscribers)
        elif any(found.get(visibility) for visibility in relayed):
            try:
                await self.relay.publish(
                    {
                        visibility: [a for a in found.get(visibility, ()) if a.kind in kinds]
                        for visibility, kinds in relayed.items()
                    }
                )
            except Exception:  # the database down, or a bug: log it, keep the bus running
                log.exception(
                    "alerts of a chunk of %s could not be passed to the hub's other processes",
                    chunk.ingestion_id,
                )
        if self.standing is not None and standing:
            try:
                await self.standing.accept(
                    {visibility: found.get(visibility, []) for visibility in standing}
                )
            except Exception:  # the database down, or a bug: log it, keep the bus running
                log.exception(
                    "alerts of a chunk of %s could not be queued for webhooks and e-mail",
                    chunk.ingestion_id,
                )

    def dispatch(
        self,
        visibility: Visibility,
        alerts: Iterable[Alert],
        subscribers: Iterable[Subscriber] | None = None,
    ) -> int:
        """Give alerts detected for ``visibility`` to this process's subscribers holding it
        and listening to their kind, each alert id once per subscriber; how many were given."""
        given = 0
        chosen = [
            s
            for s in (self._subscribers if subscribers is None else subscribers)
            if s.visibility == visibility
        ]
        for alert in alerts:
            for subscriber in chosen:
                if alert.kind in subscriber.kinds and subscriber.first_time(alert):
                    given += 1
                    self._delivered.labels(alert.kind.value).inc()
                    if not subscriber.offer(alert):
                        self._dropped.labels("slow_subscriber").inc()
        return given

    async def _relayed_audiences(
        self, chunk: Chunk, local: Mapping[Visibility, frozenset[AlertKind]]
    ) -> dict[Visibility, frozenset[AlertKind]]:
        """With a relay: every process's audiences (this one's even if the database
        cannot say); without: none."""
        if self.relay is None:
            return {}
        audiences = dict(local)
        try:
            remote = await self.relay.audiences()
        except Exception:
            log.exception(
                "alerts of a chunk of %s for this process's subscribers only: the other "
                "processes' could not be read",
                chunk.ingestion_id,
            )
            remote = {}
        for visibility, kinds in remote.items():
            audiences[visibility] = audiences.get(visibility, frozenset()) | kinds
        return audiences

    async def _standing_audiences(self, chunk: Chunk) -> Mapping[Visibility, frozenset[AlertKind]]:
        if self.standing is None:
            return {}
        try:
            return await self.standing.current()
        except Exception:
            log.exception(
                "no webhook or e-mail alerts for a chunk of %s: their registrations could "
                "not be read",
                chunk.ingestion_id,
            )
            return {}
