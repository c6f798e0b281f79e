"""Workers that drain the ledger's queue into the graph store.

Each hub process runs a few (``HUB_INGEST_WORKERS``). A worker claims one ingestion at
a time (``Ledger.claim``), renews its lease while applying it, and records the outcome
only while it still holds the claim. When the graph store is down it gives the
ingestion back with a growing delay; when the database is down it waits and tries
again. Nothing here decides *whether* a payload is kept: that was settled, and
acknowledged, when the ledger committed it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import random
import secrets
import socket
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta

from opentelemetry import trace
from opentelemetry.trace import SpanKind

from graph.store import StoreUnavailable
from hub.ingest.pipeline import ChunkListener, IngestError, IngestPipeline, IngestReport
from hub.records.audit import Actor
from hub.records.database import DATABASE_ERRORS, unavailable
from hub.records.ledger import FINISHED, IngestionStatus, Ledger, Received
from hub.telemetry.tracing import continued, tracer

log = logging.getLogger("partnerhub.worker")
_STATUS = "partnerhub.ingestion.status"  # of the apply span: what the worker recorded

FinishListener = Callable[[Received, IngestReport], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class QueuePolicy:
    lease: timedelta = timedelta(seconds=60)  # a dead worker's claim is taken over after this
    poll: float = 1.0  # seconds between looks at the queue when nothing woke the worker
    retry_first: float = 1.0  # seconds before the first retry while the store is down
    retry_max: float = 60.0

    def retry_delay(self, attempts: int) -> timedelta:
        # Exponential, capped, with jitter so many waiting ingestions do not retry in step.
        ceiling = min(self.retry_max, self.retry_first * 2 ** max(attempts - 1, 0))
        return timedelta(seconds=ceiling * random.uniform(0.5, 1.0))


def worker_name() -> str:
    return f"{socket.gethostname()[:32]}-{os.getpid()}-{secrets.token_hex(3)}"


@dataclass
class Completions:
    """Lets a request wait for the ingestion it queued (``?wait=``) without polling hard."""

    _events: dict[str, asyncio.Event] = field(default_factory=dict)

    def expect(self, ingestion_id: str) -> asyncio.Event:
        return self._events.setdefault(ingestion_id, asyncio.Event())

    def done(self, ingestion_id: str) -> None:
        if event := self._events.pop(ingestion_id, None):
            event.set()

    def forget(self, ingestion_id: str) -> None:
        self._events.pop(ingestion_id, None)

    async def wait(self, ledger: Ledger, ingestion_id: str, seconds: float) -> Received | None:
        """The ingestion once finished, or as it stands when ``seconds`` run out.

        A worker of another hub process may apply it, so the ledger is asked too."""
        event = self.expect(ingestion_id)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        try:
            while True:
                await _wait(event, max(0.0, min(0.5, deadline - loop.time())))
                found = await ledger.get(ingestion_id)
                if found is None or found.status in FINISHED or loop.time() >= deadline:
                    return found
        finally:
            self.forget(ingestion_id)


class IngestWorker:
    def __init__(
        self,
        ledger: Ledger,
        pipeline: IngestPipeline,
        policy: QueuePolicy | None = None,
        *,
        name: str | None = None,
        wake: asyncio.Event | None = None,
        on_chunk: ChunkListener | None = None,
        on_finish: FinishListener | None = None,
    ) -> None:
        self.ledger = ledger
        self.pipeline = pipeline
        self.policy = policy or QueuePolicy()
        self.name = name or worker_name()
        self.actor = Actor("partnerhub", f"worker:{self.name}")
        self.wake = wake or asyncio.Event()
        self.on_chunk = on_chunk
        self.on_finish = on_finish

    async def run(self) -> None:
        """Apply queued ingestions until cancelled."""
        outage = 0
        while True:
            try:
                asked = time.time_ns()
                job = await self.ledger.claim(self.name, self.policy.lease)
                outage = 0
            except DATABASE_ERRORS as error:
                outage += 1
                if unavailable(error):
                    log.warning("database unavailable, worker %s waits: %s", self.name, error)
                else:  # a bug in the queue itself: say so, and keep the worker alive
                    log.exception("worker %s could not claim an ingestion", self.name)
                await asyncio.sleep(self.policy.retry_delay(outage).total_seconds())
                continue
            if job is None:
                await self._idle()
                continue
            self._trace_claim(job, asked)
            try:
                await self.process(job)
            except DATABASE_ERRORS as error:
                if not unavailable(error):
                    await self._fail(job, error)
                    continue
                # The outcome could not be recorded; the lease runs out and the
                # ingestion is applied again (harmlessly) by whoever claims it next.
                log.warning("database lost while finishing %s: %s", job.id, error)
            except Exception as error:  # a bug around the pipeline: fail it, keep serving
                await self._fail(job, error)

    async def drain(self) -> int:
        """Apply everything ready now, then return how many were processed (CLI, tests)."""
        processed = 0
        while True:
            asked = time.time_ns()
            if (job := await self.ledger.claim(self.name, self.policy.lease)) is None:
                break
            self._trace_claim(job, asked)
            await self.process(job)
            processed += 1
        return processed

    def _trace_claim(self, job: Received, asked: int) -> None:
        """A span for the claim, in the push's trace, made once the claim found work:
        the idle polls that found none would be a trace a second per worker."""
        span = tracer().start_span(
            "ingest.claim",
            context=continued(job.traceparent),
            kind=SpanKind.CONSUMER,
            attributes=self._attributes(job),
            start_time=asked,
        )
        span.end()

    def _attributes(self, job: Received) -> dict[str, str | int]:
        return {
            "partnerhub.ingestion.id": job.id,
            "partnerhub.ingestion.connector": job.connector,
            "partnerhub.ingestion.org": job.org,
            "partnerhub.ingestion.attempts": job.attempts,
            "partnerhub.worker": self.name,
        }

    async def process(self, job: Received) -> IngestReport | None:
        """Apply one claimed ingestion and record the outcome; None if it was deferred.

        In the push's trace (``hub.telemetry.tracing``): its span and the store calls
        under it say where an ingestion's time went."""
        with tracer().start_as_current_span(
            "ingest.apply",
            context=continued(job.traceparent),
            kind=SpanKind.CONSUMER,
            attributes=self._attributes(job),
        ):
            return await self._apply(job)

    async def _apply(self, job: Received) -> IngestReport | None:
        payload = await self.ledger.payload(job.id)
        assert payload is not None, f"claimed ingestion {job.id} has no payload"
        heartbeat = asyncio.create_task(self._keep_claim(job.id))
        try:
            report = await self.pipeline.apply(job, payload, self.on_chunk)
        except StoreUnavailable as error:
            delay = self.policy.retry_delay(job.attempts)
            log.warning(
                "a store is unavailable, %s retries in %.1fs: %s",
                job.id,
                delay.total_seconds(),
                error,
            )
            trace.get_current_span().set_attribute(_STATUS, "deferred")
            await self.ledger.defer(job.id, self.name, delay, str(error), self.actor)
            return None
        except Exception as error:  # a bug, not the payload: keep it, say so, keep serving
            log.exception("ingestion %s failed", job.id)
            report = _failed(job, error)
        finally:
            heartbeat.cancel()
        # Before the outcome is recorded: once it is, the push's answer may end the trace.
        trace.get_current_span().set_attribute(_STATUS, report.status.value)
        if await self.ledger.finish(job.id, self.name, report.status, report.to_json(), self.actor):
            if self.on_finish is not None:
                await self.on_finish(job, report)
        else:
            log.warning("lost the claim on %s before finishing; another worker applies it", job.id)
        return report

    async def _fail(self, job: Received, error: BaseException) -> None:
        """Record ``job`` as FAILED after a bug outside the pipeline (reading its payload,
        recording its outcome): a bug is not retried, and its traceback is in the log.
        The payload stays in the ledger, to be replayed once the bug is fixed."""
        log.error("ingestion %s failed", job.id, exc_info=error)
        report = _failed(job, error)
        try:
            await self.ledger.finish(job.id, self.name, report.status, report.to_json(), self.actor)
        except DATABASE_ERRORS:
            log.exception("could not record ingestion %s as failed; its lease runs out", job.id)

    async def _keep_claim(self, ingestion_id: str) -> None:
        interval = self.policy.lease.total_seconds() / 3
        while True:
            await asyncio.sleep(interval)
            try:
                if not await self.ledger.renew(ingestion_id, self.name, self.policy.lease):
                    return
            except DATABASE_ERRORS as error:
                log.warning("could not renew the claim on %s: %s", ingestion_id, error)

    async def _idle(self) -> None:
        await _wait(self.wake, self.policy.poll)
        self.wake.clear()


def _failed(job: Received, error: BaseException) -> IngestReport:
    report = IngestReport(job.id, job.connector, job.org, IngestionStatus.FAILED)
    report.error = IngestError("internal", "", f"internal error ({type(error).__name__})")
    return report


async def _wait(event: asyncio.Event, seconds: float) -> None:
    """Until ``event`` is set or ``seconds`` pass. Not ``asyncio.wait_for``: on Python
    3.11 it can swallow a cancellation that arrives as the event is set, and a worker
    that misses its cancellation never stops (the hub's shutdown then hangs)."""
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(seconds):
            await event.wait()
