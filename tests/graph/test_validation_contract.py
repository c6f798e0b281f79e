"""Process validation by stage on both stores, over the readiness tests' world: each
stage passes, and one fact changed makes one of its checks warn or fail."""

from __future__ import annotations

from datetime import date

from graph.ids import NodeKind, make_id
from graph.model import Record, TestResult
from graph.quality.readiness import CheckStatus
from graph.quality.validation import Stage, StageReport, process_validation
from graph.store import GraphStore
from graph.visibility import EVERYTHING, Visibility
from tests.graph.builders import PROVENANCE, lot
from tests.graph.test_readiness_contract import (
    AS_OF,
    PPQ_LOTS,
    SITE,
    SPEC,
    TABLET,
    TRANSFER,
    changed,
    world,
)


def ppq_result(n: int, value: float, test: str = "assay") -> TestResult:
    return TestResult(
        lab="birch",
        result_id=f"PPQ-R-{n}-{test}",
        batch_id=lot("birch", f"PPQ-{n}"),
        test=test,
        value=value,
        tested_on=date(2025, 1, 5),
        provenance=PROVENANCE,
    )


def with_ppq_results(*values: float) -> dict[str, Record]:
    records = world()
    for n, value in enumerate(values, start=1):
        records[f"ppq-result{n}"] = ppq_result(n, value)
    return records


async def stages(
    store: GraphStore, records: dict[str, Record], visibility: Visibility = EVERYTHING
) -> dict[Stage, StageReport]:
    await store.upsert(records.values())
    reports = await process_validation(
        store, product=TABLET, site=SITE, as_of=AS_OF, visibility=visibility
    )
    return {report.stage: report for report in reports}


def checks(report: StageReport) -> dict[str, tuple[CheckStatus, list[str]]]:
    return {c.name: (c.status, [e.id for e in c.evidence]) for c in report.checks}


async def test_every_stage_passes_with_its_evidence(store: GraphStore) -> None:
    found = await stages(store, with_ppq_results(100.1, 99.7, 100.4))
    assert [report.status for report in found.values()] == [CheckStatus.PASS] * 3
    assert checks(found[Stage.STAGE_1_PROCESS_DESIGN]) == {
        "specifications": (CheckStatus.PASS, [SPEC])
    }
    assert checks(found[Stage.STAGE_2_PROCESS_QUALIFICATION]) == {
        "ppq_protocol": (CheckStatus.PASS, [TRANSFER]),
        "ppq_lots": (CheckStatus.PASS, PPQ_LOTS),
        "ppq_results": (CheckStatus.PASS, [SPEC]),
    }
    assert checks(found[Stage.STAGE_3_CONTINUED_VERIFICATION]) == {
        "cpv": (CheckStatus.PASS, [SPEC])
    }


async def test_a_measured_test_without_a_specification_fails_stage_1(store: GraphStore) -> None:
    records = with_ppq_results(100.1, 99.7, 100.4)
    records["dissolution"] = ppq_result(1, 85.0, test="dissolution")
    stage = (await stages(store, records))[Stage.STAGE_1_PROCESS_DESIGN]
    assert stage.status is CheckStatus.FAIL
    (check,) = stage.checks
    assert check.message.endswith(": dissolution")
    assert [e.id for e in check.evidence] == [SPEC]  # assay's is in force


async def test_stage_2_fails_on_a_result_out_of_specification_and_an_unapproved_protocol(
    store: GraphStore,
) -> None:
    records = with_ppq_results(100.1, 94.2, 100.4)
    changed("transfer", ppq_protocol_approved_on=None)(records)
    stage = checks((await stages(store, records))[Stage.STAGE_2_PROCESS_QUALIFICATION])
    outside = make_id(NodeKind.TEST_RESULT, "birch", "PPQ-R-2-assay")
    assert stage["ppq_results"] == (CheckStatus.FAIL, [outside, SPEC])
    assert stage["ppq_protocol"] == (CheckStatus.FAIL, [TRANSFER])


async def test_stage_2_warns_while_ppq_lots_are_unreleased_or_untested(store: GraphStore) -> None:
    records = world()
    changed("transfer", phase="VERIFICATION")(records)
    changed("ppq3", status="QUARANTINE")(records)
    stage = checks((await stages(store, records))[Stage.STAGE_2_PROCESS_QUALIFICATION])
    assert stage["ppq_lots"] == (CheckStatus.WARN, PPQ_LOTS[:2])
    assert stage["ppq_results"] == (CheckStatus.WARN, [])


async def test_another_sponsor_reads_nothing_of_the_product(store: GraphStore) -> None:
    found = await stages(
        store, with_ppq_results(100.1, 99.7, 100.4), visibility=Visibility.for_org("oakridge")
    )
    evidence = [e for report in found.values() for c in report.checks for e in c.evidence]
    assert evidence == []
