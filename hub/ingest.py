"""The ingest path: ledger first, then parse, then the graph, then the report.

1. The payload is committed to the ledger before anything reads it.
2. A first pass runs the connector over the whole payload and keeps only counts and
   rejections: a payload that cannot be read (or, under all-or-nothing, one with any
   rejected record) stops here and nothing of it reaches the graph.
3. A second pass streams the good records into the store in chunks, one transaction
   each, so memory stays flat for any payload size. Parsing twice costs CPU, not
   memory, and is what makes "nothing half-applied" hold without holding every record.
4. The outcome and report go to the ledger with the payload.

Connectors are synchronous generators; both passes run them in a worker thread so the
server keeps answering while a large payload is parsed.
"""

from __future__ import annotations

import asyncio
import io
import logging
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from functools import partial
from typing import Any

from connectors.base import Connector, Outcome, ParseContext, PayloadError
from connectors.registry import UnknownConnector, connector_named
from graph.intake import RecordRejection
from graph.loading import DEFAULT_CHUNK
from graph.model import Record
from graph.store import GraphStore, StoreUnavailable
from hub.ledger import IngestionStatus, Ledger
from hub.ownership import owned_by

log = logging.getLogger("partnerhub.ingest")

MAX_REPORTED_REJECTIONS = 10_000  # the count is always exact; the list stops here


@dataclass(frozen=True, slots=True)
class IngestError:
    kind: str  # unknown_connector | bad_options | unreadable | store_unavailable | internal
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
    error: IngestError | None = None

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["status"] = self.status.value
        return data


@dataclass(frozen=True, slots=True)
class Submission:
    """One payload and what its sender said about it."""

    payload: bytes
    connector: str
    org: str
    submitted_by: str
    filename: str = ""
    media_type: str = ""
    options: dict[str, Any] = field(default_factory=dict)
    all_or_nothing: bool = False
    owner_only: bool = False  # refuse records about what another organization owns


class IngestPipeline:
    def __init__(self, ledger: Ledger, store: GraphStore, chunk_size: int = DEFAULT_CHUNK) -> None:
        self.ledger = ledger
        self.store = store
        self.chunk_size = chunk_size

    async def ingest(
        self, submission: Submission, on_applied: Callable[[int], None] | None = None
    ) -> IngestReport:
        """Ledger, parse, graph, report; ``on_applied`` hears each chunk's size as it lands."""
        received = await self.ledger.receive(
            submission.payload,
            connector=submission.connector,
            org=submission.org,
            submitted_by=submission.submitted_by,
            filename=submission.filename,
            media_type=submission.media_type,
            options=submission.options,
        )
        report = IngestReport(
            received.id, submission.connector, submission.org, IngestionStatus.RECEIVED
        )
        try:
            await self._apply(submission, report, on_applied or (lambda _: None))
        except Exception as error:  # the payload is safe in the ledger; say so, keep serving
            log.exception("ingestion %s failed", received.id)
            report.status = IngestionStatus.FAILED
            report.error = IngestError("internal", "", f"internal error ({type(error).__name__})")
        await self.ledger.finish(received.id, report.status, report.to_json())
        return report

    async def _apply(
        self, submission: Submission, report: IngestReport, on_applied: Callable[[int], None]
    ) -> None:
        try:
            connector = connector_named(submission.connector).with_options(submission.options)
        except UnknownConnector as error:
            return _refuse(report, IngestError("unknown_connector", "connector", str(error)))
        except PayloadError as error:
            return _refuse(report, IngestError("bad_options", error.location, error.message))
        context = ParseContext(
            report.ingestion_id, connector.name, submission.org, submission.filename
        )

        outcomes = partial(_outcomes, connector, submission, context)
        try:
            await asyncio.to_thread(_survey, outcomes(), report)
        except PayloadError as error:
            return _refuse(report, IngestError("unreadable", error.location, error.message))
        if report.rejected and submission.all_or_nothing:
            report.status = IngestionStatus.REJECTED
            return None

        chunks = _good_chunks(outcomes(), self.chunk_size)
        try:
            while chunk := await asyncio.to_thread(next, chunks, None):
                await self.store.upsert(chunk)
                report.applied += len(chunk)
                on_applied(len(chunk))
        except StoreUnavailable as error:
            report.status = IngestionStatus.FAILED
            report.error = IngestError("store_unavailable", "", str(error))
            return None
        report.status = IngestionStatus.PARTIAL if report.rejected else IngestionStatus.APPLIED
        return None


def _refuse(report: IngestReport, error: IngestError) -> None:
    report.status = IngestionStatus.REJECTED
    report.error = error


def _outcomes(
    connector: Connector, submission: Submission, context: ParseContext
) -> Iterator[Outcome]:
    """What the connector makes of the payload, with ownership enforced if asked."""
    outcomes = connector.parse(io.BytesIO(submission.payload), context)
    return owned_by(outcomes, submission.org) if submission.owner_only else outcomes


def _survey(outcomes: Iterator[Outcome], report: IngestReport) -> None:
    for outcome in outcomes:
        if isinstance(outcome, RecordRejection):
            report.rejected += 1
            if len(report.rejections) < MAX_REPORTED_REJECTIONS:
                report.rejections.append(outcome)
        else:
            report.records += 1


def _good_chunks(outcomes: Iterator[Outcome], size: int) -> Iterator[list[Record]]:
    chunk: list[Record] = []
    for outcome in outcomes:
        if isinstance(outcome, RecordRejection):
            continue
        chunk.append(outcome)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk
