"""Alert detection on both stores: each organization is alerted about what it may read,
and only that."""

from __future__ import annotations

from datetime import date

from graph.model import (
    Batch,
    Deviation,
    DeviationClass,
    Provenance,
    Record,
    TestResult,
    Verdict,
)
from graph.quality.alerts import ALL_KINDS, AlertDetector, AlertKind, Chunk, out_of_specification
from graph.store import GraphStore
from graph.visibility import EVERYTHING, Visibility
from hub.demo.story import OAKRIDGE_BATCH_ID
from tests.graph.builders import shipped

ORGS = ("northwind", "oakridge", "birch", "cedar", "dogwood", "elm", "maple")


async def alerts_by_org(
    store: GraphStore, ingestion_id: str, records: list[Record]
) -> dict[str, set[tuple[AlertKind, str]]]:
    await store.upsert(
        [
            record.model_copy(
                update={"provenance": Provenance(ingestion_id=ingestion_id, connector="test")}
            )
            for record in records
        ]
    )
    audiences = {Visibility.for_org(org): ALL_KINDS for org in ORGS} | {EVERYTHING: ALL_KINDS}
    found = await AlertDetector(store).detect(Chunk.of(ingestion_id, records), audiences)
    return {
        visibility.org or "operator": {(alert.kind, alert.subject_id) for alert in alerts}
        for visibility, alerts in found.items()
    }


async def test_an_oos_result_on_a_sponsors_lot_reaches_its_parties_only(
    demo_store: GraphStore,
) -> None:
    result = TestResult(
        lab="elm", result_id="ELM-X-1", batch_id=OAKRIDGE_BATCH_ID, test="assay",
        value=90.0, spec_low=95.0, spec_high=105.0, verdict=Verdict.OOS,
    )  # fmt: skip

    # Birch sent Elm a sample of the lot: without that, Elm's result is only its claim
    # and reaches nobody else (graph.trust).
    found = await alerts_by_org(demo_store, "ING-X1", [shipped(OAKRIDGE_BATCH_ID, "elm"), result])

    expected = (AlertKind.OUT_OF_SPECIFICATION, result.id)
    assert {org for org, alerts in found.items() if expected in alerts} == {
        "oakridge", "birch", "elm", "operator",
    }  # fmt: skip


async def test_a_fabricated_oos_on_a_lot_never_sent_to_the_lab_alerts_no_one_else(
    demo_store: GraphStore,
) -> None:
    """A partner's OOS claim on a lot it never received reaches only itself and the
    operator: not the maker, not the sponsor (graph.trust)."""
    result = TestResult(
        lab="maple", result_id="FAKE-1", batch_id=OAKRIDGE_BATCH_ID, test="assay",
        value=12.0, spec_low=95.0, spec_high=105.0, verdict=Verdict.OOS,
    )  # fmt: skip

    found = await alerts_by_org(demo_store, "ING-FAKE", [result])

    expected = (AlertKind.OUT_OF_SPECIFICATION, result.id)
    assert {org for org, alerts in found.items() if expected in alerts} == {"maple", "operator"}


async def test_a_deviation_on_an_excipient_lot_reaches_the_sponsors_downstream(
    demo_store: GraphStore,
) -> None:
    deviation = Deviation(
        org="dogwood", deviation_id="DEV-DW-25-040", title="Bioburden above limit",
        classification=DeviationClass.MAJOR, opened_on=date(2025, 11, 1),
        batch_ids=("batch:dogwood/DW-S-41020",),  # the stearate lot both sponsors used
    )  # fmt: skip

    found = await alerts_by_org(demo_store, "ING-X2", [deviation])

    expected = (AlertKind.DEVIATION, deviation.id)
    assert {org for org, alerts in found.items() if expected in alerts} == {
        "dogwood", "northwind", "oakridge", "operator",
    }  # fmt: skip


async def test_a_compliance_verdict_reaches_the_sponsor_and_the_maker(
    demo_store: GraphStore,
) -> None:
    lot = Batch(
        maker="birch", number="BT-25-071", material_code="B-FG-2050", site_code="CRK-1",
        manufactured_on=date(2025, 11, 10),
    )  # fmt: skip

    found = await alerts_by_org(demo_store, "ING-X3", [lot])

    expected = (AlertKind.COMPLIANCE_GAP, lot.id)
    assert {org for org, alerts in found.items() if expected in alerts} == {
        "northwind", "birch", "operator",
    }  # fmt: skip


def test_out_of_specification_is_the_verdict_or_the_value_against_its_limits() -> None:
    def result(value: float | None, verdict: Verdict | None) -> TestResult:
        return TestResult(
            lab="elm", result_id="R", value=value, spec_low=95.0, spec_high=105.0, verdict=verdict
        )

    assert out_of_specification(result(None, Verdict.FAIL))
    assert out_of_specification(result(100.0, Verdict.OOS))
    assert out_of_specification(result(94.9, Verdict.PASS))
    assert out_of_specification(result(105.1, None))
    assert not out_of_specification(result(95.0, None))
    assert not out_of_specification(result(105.0, Verdict.PASS))
