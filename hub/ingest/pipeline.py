"""Applying one received payload to the graph: parse, check, then write in chunks.

The payload is already safe in the ledger when this runs (``hub.records.ledger``); a worker
(``hub.ingest.worker``) hands it here and records the outcome.

1. A first pass runs the connector over the whole payload and keeps only counts and
   rejections: a payload that cannot be read (or, under all-or-nothing, one with any
   rejected record) stops here and nothing of it reaches the graph.
2. A second pass streams the good records into the store in chunks, one transaction
   each, so memory stays flat for any payload size. Reading twice is what makes
   "nothing half-applied" hold without holding every record in memory. The second
   read does not parse again: it replays the outcomes the first pass spooled
   (``hub.ingest.spool``: pickled, in memory up to a bound and on disk past it), and
   only if spooling failed does the connector run again.
   Graph writes are idempotent, so applying the same payload again (after a crash, or
   in a replay) changes nothing that was already there.
   Between the two, the lifecycle records whose sense depends on the graph (a
   transfer's PPQ lots, an inspected organization) are judged against it
   (``hub.ingest.lifecycle_checks``); a refused one is a rejection like the
   connector's, and the second pass leaves it out.
3. Then what the payload took back of earlier ones is retracted in the store
   (``graph.retraction``), and its notes (``connectors.traces``: serials commissioned,
   containers packed, events stated) are kept for later payloads
   (``hub.records.traces``); both are idempotent too.

Before the first pass the connector says what the payload mentions (``mentions``), and
what earlier ingestions said of just that is read once, like the organizations'
registered identifiers, into the ``ParseContext``: both passes hear the same.

Connectors are synchronous generators; both passes run them in a worker thread so the
server keeps answering while a large payload is parsed. ``StoreUnavailable`` is left
to the caller: the payload is fine and should be applied later.
"""

from __future__ import annotations

import asyncio
import io
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping, Sequence
from contextlib import asynccontextmanager, closing
from dataclasses import asdict, dataclass, field
from datetime import datetime
from functools import partial
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncEngine

from connectors.base import Connector, Outcome, ParseContext, PayloadError
from connectors.registry import UnknownConnector, connector_named
from connectors.traces import NOTHING_HEARD, Heard, Mentions, Note
from graph.intake import RecordRejection, RecordWarning
from graph.loading import DEFAULT_CHUNK
from graph.model import Edge, NodeRecord, Record
from graph.retraction import Retraction
from graph.store import GraphStore, StoreUnavailable
from hub.ingest.lifecycle_checks import Needs, from_payload, verdicts, without_refused
from hub.ingest.ownership import owned_by
from hub.ingest.spool import Spool
from hub.records import identifiers
from hub.records.database import DATABASE_ERRORS, unavailable
from hub.records.ledger import Delivery, IngestionStatus, Received
from hub.records.traces import TraceIndex
from hub.telemetry.tracing import tracer

MAX_REPORTED_REJECTIONS = 10_000  # the count is always exact; the list stops here

# Hears each chunk of records as it lands (alerts, progress); awaited before the next.
ChunkListener = Callable[[Received, list[Record]], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class IngestError:
    kind: str  # unknown_connector | bad_options | unreadable | internal
    location: str
    message: str


@dataclass(slots=True)
class IngestReport:
    ingestion_id: str
    connector: str
    org: str
    status: IngestionStatus
    records: int = 0  # good records the payload holds
    applied: int = 0  # of those, written to the graph
    rejected: int = 0
    rejections: list[RecordRejection] = field(default_factory=list)
    warned: int = 0  # records kept with something left unread; never counted as rejected
    warnings: list[RecordWarning] = field(default_factory=list)
    retracted: int = 0  # edges of earlier ingestions some of whose assertions it took back
    error: IngestError | None = None

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["status"] = self.status.value
        return data

    @classmethod
    def refused(cls, received: Received, error: IngestError) -> IngestReport:
        return cls(
            received.id, received.connector, received.org, IngestionStatus.REJECTED, error=error
        )


def reader_for(connector: str, options: Mapping[str, Any]) -> Connector | IngestError:
    """The connector configured with ``options``, or why it cannot be (checked before
    a payload is queued, so the sender hears about a typo at once)."""
    try:
        return connector_named(connector).with_options(dict(options))
    except UnknownConnector as error:
        return IngestError("unknown_connector", "connector", str(error))
    except PayloadError as error:
        return IngestError("bad_options", error.location, error.message)


def refusal_report(delivery: Delivery, error: IngestError) -> dict[str, Any]:
    """The report of a delivery refused before reading (the ledger adds its id)."""
    report = IngestReport("", delivery.connector, delivery.org, IngestionStatus.REJECTED)
    report.error = error
    return report.to_json()


# The organizations' registered identifiers, read per ingestion.
Registry = Callable[[], Awaitable[identifiers.ForConnectors]]


async def _none_registered() -> identifiers.ForConnectors:
    return identifiers.NONE_REGISTERED


class Traces(Protocol):
    """Where notes are kept between ingestions (``hub.records.traces.TraceIndex``)."""

    async def heard(self, mentions: Mentions, before: datetime) -> Heard: ...

    async def keep(self, received: Received, notes: Sequence[Note]) -> None: ...


class NoTraces:
    """A pipeline without the hub's database: nothing heard, nothing kept."""

    async def heard(self, mentions: Mentions, before: datetime) -> Heard:
        return NOTHING_HEARD

    async def keep(self, received: Received, notes: Sequence[Note]) -> None:
        return None


class IngestPipeline:
    def __init__(
        self,
        store: GraphStore,
        chunk_size: int = DEFAULT_CHUNK,
        registry: Registry = _none_registered,
        traces: Traces | None = None,
    ) -> None:
        self.store = store
        self.chunk_size = chunk_size
        self.registry = registry
        self.traces: Traces = traces if traces is not None else NoTraces()
        self._store_ready = False

    @classmethod
    def with_registry(cls, store: GraphStore, database: AsyncEngine) -> IngestPipeline:
        """A pipeline whose connectors know the organizations' registered identifiers
        and what earlier payloads said of serials, containers and events."""
        return cls(
            store,
            registry=partial(identifiers.for_connectors, database),
            traces=TraceIndex(database),
        )

    async def _ready_store(self) -> None:
        # Tables, constraints and indexes, once per process: a fresh store is made ready
        # by its first ingestion, and one that was down at start-up when it returns.
        if not self._store_ready:
            await self.store.setup()
            self._store_ready = True

    async def apply(
        self, received: Received, payload: bytes, on_chunk: ChunkListener | None = None
    ) -> IngestReport:
        """Parse and write one ingestion; the report says what landed and what did not."""
        report = IngestReport(
            received.id, received.connector, received.org, IngestionStatus.RECEIVED
        )
        connector = reader_for(received.connector, received.options)
        if isinstance(connector, IngestError):
            return _refuse(report, connector)
        mentions = await asyncio.to_thread(connector.mentions, io.BytesIO(payload))
        async with _database_reachable():
            known = await self.registry()
            heard = await self.traces.heard(mentions, received.received_at)
        context = ParseContext(
            received.id,
            connector.name,
            received.org,
            received.filename,
            gs1_prefixes=known.gs1_prefixes,
            glns=known.glns,
            numbers=known.numbers,
            heard=heard,
        )

        outcomes: Callable[[], Iterator[Outcome]] = partial(
            _outcomes, connector, payload, context, received.owner_only, received.org
        )
        with closing(Spool()) as spool:
            needs = Needs()
            with tracer().start_as_current_span("ingest.survey") as span:
                try:
                    await asyncio.to_thread(_survey, outcomes(), report, needs, spool)
                except PayloadError as error:
                    return _refuse(report, IngestError("unreadable", error.location, error.message))
                span.set_attribute("partnerhub.ingestion.records", report.records)
                span.set_attribute("partnerhub.ingestion.rejected", report.rejected)
            if spool.usable:  # the later passes replay the survey's outcomes
                outcomes = spool.replay
            refused = {}
            if needs:
                await self._ready_store()
                in_payload = await asyncio.to_thread(from_payload, outcomes(), needs)
                registered = _registered(known)
                if received.owner_only:  # a partner pushing as itself: its client vouches for it
                    registered.add(received.org)
                refused = await verdicts(self.store, needs, in_payload, registered)
                for rejection in refused.values():
                    report.records -= 1
                    _count_rejection(report, rejection)
            if report.rejected and received.all_or_nothing:
                report.status = IngestionStatus.REJECTED
                return report

            await self._ready_store()
            notes: list[Note] = []
            good = without_refused(outcomes(), refused) if refused else outcomes()
            chunks = _good_chunks(good, self.chunk_size, notes)
            with tracer().start_as_current_span("ingest.write") as span:
                while chunk := await asyncio.to_thread(next, chunks, None):
                    await self.store.upsert(chunk)
                    report.applied += len(chunk)
                    if on_chunk is not None:
                        await on_chunk(received, chunk)
                retractions = [note for note in notes if isinstance(note, Retraction)]
                report.retracted = len(await self.store.retract(retractions))
                span.set_attribute("partnerhub.ingestion.applied", report.applied)
            async with _database_reachable():
                await self.traces.keep(received, notes)
            report.status = IngestionStatus.PARTIAL if report.rejected else IngestionStatus.APPLIED
            return report


@asynccontextmanager
async def _database_reachable() -> AsyncIterator[None]:
    """The hub's database being down is tried again later, like a graph store that is
    down: not the payload's fault. Any other database error is a bug, raised."""
    try:
        yield
    except DATABASE_ERRORS as error:
        if not unavailable(error):
            raise
        raise StoreUnavailable(f"the hub's database: {error}") from error


def _refuse(report: IngestReport, error: IngestError) -> IngestReport:
    report.status = IngestionStatus.REJECTED
    report.error = error
    return report


def _outcomes(
    connector: Connector,
    payload: bytes,
    context: ParseContext,
    owner_only: bool,
    org: str,
) -> Iterator[Outcome]:
    """What the connector makes of the payload, with ownership enforced if asked."""
    outcomes = connector.parse(io.BytesIO(payload), context)
    return owned_by(outcomes, org) if owner_only else outcomes


def _registered(known: identifiers.ForConnectors) -> set[str]:
    """The organizations the operator registered identifiers for."""
    return {*known.gs1_prefixes.values(), *known.glns.values(), *known.numbers.values()}


def _count_rejection(report: IngestReport, rejection: RecordRejection) -> None:
    report.rejected += 1
    if len(report.rejections) < MAX_REPORTED_REJECTIONS:
        report.rejections.append(rejection)


def _survey(outcomes: Iterator[Outcome], report: IngestReport, needs: Needs, spool: Spool) -> None:
    add, see = spool.add, needs.see
    for outcome in outcomes:  # records first: nearly every outcome is one
        add(outcome)
        if isinstance(outcome, NodeRecord):
            report.records += 1
            see(outcome)  # what it needs are records (transfers, inspections)
        elif isinstance(outcome, Edge):
            report.records += 1
        elif isinstance(outcome, RecordRejection):
            _count_rejection(report, outcome)
        elif isinstance(outcome, RecordWarning):
            report.warned += 1
            if len(report.warnings) < MAX_REPORTED_REJECTIONS:
                report.warnings.append(outcome)
    spool.finish()


def _good_chunks(
    outcomes: Iterator[Outcome], size: int, notes: list[Note]
) -> Iterator[list[Record]]:
    """The good records in chunks of ``size``; the notes on the way go to ``notes``."""
    chunk: list[Record] = []
    for outcome in outcomes:
        if isinstance(outcome, NodeRecord | Edge):
            chunk.append(outcome)
            if len(chunk) >= size:
                yield chunk
                chunk = []
        elif not isinstance(outcome, RecordRejection | RecordWarning):
            notes.append(outcome)
    if chunk:
        yield chunk
