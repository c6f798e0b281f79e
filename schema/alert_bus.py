"""The alert bus: chunks written by this process's workers in, alerts to subscribers out.

The ingest workers hand every chunk they have written to ``AlertBus.on_chunk`` (their
``on_chunk`` hook). That call never waits for the store: it keeps the chunk in a short
bounded line and returns, so ingestion runs at the same pace whether anyone listens or
not, and with no subscriber it does nothing at all. One task (``run``) then detects the
alerts (``graph.quality.alerts``) once per distinct audience, the visibility of the subscribers
and the kinds they listen to, and puts each alert in the queue of every subscriber of
that audience that asked for its kind.

Nothing blocks on a slow reader: each subscriber's queue holds at most ``queue_size``
alerts, and beyond that the oldest is dropped. The drop is counted (the subscriber's
next alert says how many it missed; ``partnerhub_alerts_dropped_total``) and logged as
a warning, the first time and then every ``WARN_EVERY`` drops. The same holds for
chunks waiting to be looked at (``pending_chunks``), which only a store far slower
than the workers would fill.

**One process.** Alerts are raised in the process whose worker applied the ingestion,
and only that process's subscribers hear them: with several hub processes sharing one
database, a subscriber connected to another process misses them. The fix is to carry
chunks (their ingestion id and the ids of the records that matter) between processes,
e.g. with PostgreSQL ``LISTEN``/``NOTIFY`` on the ledger's database: each process
listens and runs detection for its own subscribers. Until then, run one hub process
for subscribers, or route websockets to the process that runs the workers.

**At least once.** An ingestion whose worker died mid-way is applied again by another
worker, and its chunks raise their alerts again; a result pushed twice is two alerts
(a deviation only the first time, see ``graph.quality.alerts``). Subscribers that need exactly
once deduplicate on (kind, subject id, ingestion id).
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Protocol

from prometheus_client import CollectorRegistry, Counter, Gauge

from graph.model import Record
from graph.quality.alerts import ALL_KINDS, Alert, AlertDetector, AlertKind, Chunk
from graph.store import GraphStore, StoreUnavailable
from graph.visibility import Visibility

log = logging.getLogger("partnerhub.alerts")


class Ingestion(Protocol):
    """What the bus needs of the ingestion a chunk belongs to (the hub's ledger record)."""

    @property
    def id(self) -> str: ...


WARN_EVERY = 100  # after the first, one warning per this many drops


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
    ) -> None:
        self.queue_size = queue_size
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

    @asynccontextmanager
    async def subscribe(
        self, visibility: Visibility, kinds: Iterable[AlertKind] | None = None
    ) -> AsyncIterator[Subscriber]:
        """A subscription for as long as the block runs; ``kinds`` None: every kind."""
        subscriber = Subscriber(
            visibility, ALL_KINDS if kinds is None else frozenset(kinds), self.queue_size
        )
        self._subscribers.add(subscriber)
        try:
            yield subscriber
        finally:
            self._subscribers.discard(subscriber)

    async def on_chunk(self, received: Ingestion, records: list[Record]) -> None:
        """The workers' ``on_chunk`` hook: note the chunk for detection, never wait."""
        if not self._subscribers:
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
        detector = AlertDetector(store)
        while True:
            while not self._pending:
                self._ready.clear()
                await self._ready.wait()
            await self.deliver(self._pending.popleft(), detector)

    async def deliver(self, chunk: Chunk, detector: AlertDetector) -> None:
        subscribers = list(self._subscribers)
        audiences: dict[Visibility, frozenset[AlertKind]] = {}
        for subscriber in subscribers:
            audiences[subscriber.visibility] = (
                audiences.get(subscriber.visibility, frozenset()) | subscriber.kinds
            )
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
        for subscriber in subscribers:
            for alert in found.get(subscriber.visibility, ()):
                if alert.kind in subscriber.kinds:
                    self._delivered.labels(alert.kind.value).inc()
                    if not subscriber.offer(alert):
                        self._dropped.labels("slow_subscriber").inc()
