"""Trying a profile on a sample file before any partner data is ingested with it.

``preview`` runs the named connector with the profile over the sample, as an
ingestion would, and keeps what someone writing the profile needs to see: the first
records it maps to, how many of each kind, and every rejection with its line and
column. ``partnerhub profile check PROFILE SAMPLE`` shows this as a table.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from connectors.base import ParseContext, PayloadError
from connectors.csv.connector import CSV_CONNECTORS
from connectors.csv.profile import ProfileError, load_profile
from graph.intake import RecordRejection, RecordWarning
from graph.model import Edge, NodeRecord, Record

PREVIEW_INGESTION = "profile-preview"


@dataclass(frozen=True, slots=True)
class PreviewRecord:
    """One mapped record as a table row: where it came from, what it is, what it says."""

    location: str
    kind: str  # node kind ("Batch") or edge kind ("CONSUMED")
    id: str  # the node id, or "source -> target" for an edge
    properties: dict[str, object]


@dataclass(slots=True)
class PreviewReport:
    connector: str
    profile_path: Path
    sample_path: Path
    records: list[PreviewRecord] = field(default_factory=list)  # the first ``limit``
    record_counts: Counter[str] = field(default_factory=Counter)  # all mapped, by kind
    rejections: list[RecordRejection] = field(default_factory=list)  # all of them
    warnings: list[RecordWarning] = field(default_factory=list)  # records kept, something unread
    payload_error: PayloadError | None = None  # the sample as a whole was unreadable

    @property
    def record_total(self) -> int:
        return sum(self.record_counts.values())

    @property
    def ok(self) -> bool:
        """Would an ingestion of the sample land whole?"""
        return self.payload_error is None and not self.rejections


def preview(
    profile_path: Path, sample_path: Path, connector_name: str, org: str, limit: int = 20
) -> PreviewReport:
    """The sample through the profile. ProfileError when the profile (or its fit with
    the connector) is wrong, ValueError for an unknown connector name, OSError when a
    file cannot be opened; trouble with the sample's content is in the report."""
    connector_type = CSV_CONNECTORS.get(connector_name)
    if connector_type is None:
        known = ", ".join(sorted(CSV_CONNECTORS))
        raise ValueError(f"{connector_name!r} is not a profile connector (known: {known})")
    profile = load_profile(profile_path)
    try:
        connector = connector_type.for_profile(profile)
    except ProfileError as error:
        raise ProfileError(error.problems, str(profile_path)) from None
    report = PreviewReport(connector_name, profile_path, sample_path)
    context = ParseContext(PREVIEW_INGESTION, connector_name, org, sample_path.name)
    with sample_path.open("rb") as payload:
        try:
            for outcome in connector.parse(payload, context):
                if isinstance(outcome, RecordRejection):
                    report.rejections.append(outcome)
                    continue
                if isinstance(outcome, RecordWarning):
                    report.warnings.append(outcome)
                    continue
                if not isinstance(outcome, NodeRecord | Edge):
                    continue  # a note for the hub's database: no record to show
                report.record_counts[_kind(outcome)] += 1
                if len(report.records) < limit:
                    report.records.append(_row(outcome))
        except PayloadError as error:
            report.payload_error = error
    return report


def _kind(record: Record) -> str:
    return str(record.kind) if isinstance(record, Edge) else str(record.KIND)


def _row(record: Record) -> PreviewRecord:
    location = record.provenance.location if record.provenance else ""
    if isinstance(record, NodeRecord):
        return PreviewRecord(location, _kind(record), record.id, record.properties())
    return PreviewRecord(
        location, _kind(record), f"{record.source} -> {record.target}", record.properties()
    )
