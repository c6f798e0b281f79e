"""The pipeline's survey and apply passes over a payload's outcomes: the survey counts
records, rejections and warnings and keeps what the lifecycle checks need; the apply
pass chunks the good records and keeps the notes; both in the order given."""

from __future__ import annotations

from datetime import date

from connectors.base import Outcome
from graph.intake import RecordRejection, RecordWarning
from graph.lifecycle import Inspection
from graph.model import Batch, Edge, EdgeKind, Provenance, TestResult
from graph.retraction import Retraction
from hub.ingest.lifecycle_checks import Needs
from hub.ingest.pipeline import IngestReport, _good_chunks, _survey
from hub.ingest.spool import Spool
from hub.records.ledger import IngestionStatus

HERE = Provenance(ingestion_id="ing-1", connector="test", location="line 2")


def _outcomes() -> list[Outcome]:
    lot = Batch(maker="elm", number="B-1", provenance=HERE)
    result = TestResult(lab="elm", result_id="R-1", batch_id=lot.id, provenance=HERE)
    edge = Edge(source=lot.id, kind=EdgeKind.CONSUMED, target="batch:elm/B-0", provenance=HERE)
    inspection = Inspection(
        org="elm", site_code="S1", agency="FDA", started_on=date(2025, 1, 2), provenance=HERE
    )
    retraction = Retraction("ing-0", "line 3", "elm", HERE)
    return [
        lot,
        RecordRejection("line 3", "Batch ID", "required"),
        result,
        RecordWarning("line 4", "Unit", "no such word"),
        edge,
        retraction,
        inspection,
    ]


def test_the_survey_counts_each_kind_of_outcome_and_spools_them_all() -> None:
    outcomes = _outcomes()
    report = IngestReport("ing-1", "test", "elm", IngestionStatus.RECEIVED)
    needs, spool = Needs(), Spool()

    _survey(iter(outcomes), report, needs, spool)

    assert (report.records, report.rejected, report.warned) == (4, 1, 1)
    assert [r.field for r in report.rejections] == ["Batch ID"]
    assert [w.field for w in report.warnings] == ["Unit"]
    assert needs.inspections == [outcomes[-1]] and needs.transfers == []
    assert list(spool.replay()) == outcomes
    spool.close()


def test_the_apply_pass_chunks_the_good_records_in_order_and_keeps_the_notes() -> None:
    outcomes = _outcomes()
    notes: list[object] = []

    chunks = list(_good_chunks(iter(outcomes), 2, notes))  # type: ignore[arg-type]

    assert chunks == [[outcomes[0], outcomes[2]], [outcomes[4], outcomes[6]]]
    assert notes == [outcomes[5]]
