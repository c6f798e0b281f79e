"""The lifecycle's alerts on both stores: an overdue milestone or CAPA, a change
implemented without approval, an adverse inspection, each for whoever may read it and
never for another sponsor.

Sponsor s1 has an agreement with vendor m1, sponsor s2 one with vendor m2.
"""

from __future__ import annotations

from datetime import date

from graph.ids import NodeKind, make_id
from graph.lifecycle import (
    Agency,
    AuditFinding,
    CapaStatus,
    ChangeControl,
    Inspection,
    InspectionOutcome,
    Milestone,
)
from graph.model import (
    Activity,
    AgreementStatus,
    ChangeClass,
    Product,
    Provenance,
    QualityAgreement,
    Record,
)
from graph.quality.alerts import ALL_KINDS, AlertDetector, AlertKind, Chunk
from graph.store import GraphStore
from graph.visibility import EVERYTHING, Visibility

ORGS = ("s1", "s2", "m1", "m2")
LONG_AGO = date(2020, 1, 31)
P1 = make_id(NodeKind.PRODUCT, "s1", "P1")


def network(**clause: ChangeClass) -> list[Record]:
    return [
        Product(sponsor="s1", code="P1"),
        Product(sponsor="s2", code="P2"),
        QualityAgreement(
            agreement_id="QA1", version="1", sponsor="s1", vendor="m1", product_ids=(P1,),
            activities=(Activity.MANUFACTURE,), effective_from=date(2019, 1, 1),
            status=AgreementStatus.EFFECTIVE, **clause,
        ),
        QualityAgreement(
            agreement_id="QA2", version="1", sponsor="s2", vendor="m2",
            product_ids=(make_id(NodeKind.PRODUCT, "s2", "P2"),),
            activities=(Activity.MANUFACTURE,), effective_from=date(2019, 1, 1),
            status=AgreementStatus.EFFECTIVE,
        ),
    ]  # fmt: skip


async def who_hears(
    store: GraphStore, records: list[Record], *, setting: list[Record] | None = None
) -> dict[AlertKind, set[str]]:
    """Write ``setting`` and then ``records`` (one ingestion); who hears of what."""
    provenance = Provenance(ingestion_id="ING-1", connector="test")
    await store.upsert(
        [r.model_copy(update={"provenance": provenance}) for r in [*(setting or []), *records]]
    )
    audiences = {Visibility.for_org(org): ALL_KINDS for org in ORGS} | {EVERYTHING: ALL_KINDS}
    found = await AlertDetector(store).detect(Chunk.of("ING-1", records), audiences)
    heard: dict[AlertKind, set[str]] = {}
    for visibility, alerts in found.items():
        for alert in alerts:
            heard.setdefault(alert.kind, set()).add(visibility.org or "operator")
    return heard


async def test_an_overdue_milestone_reaches_the_sponsor_and_the_vendor(store: GraphStore) -> None:
    late = Milestone(
        sponsor="s1", vendor="m1", transfer_id="TT1", milestone_id="M1", name="PPQ report",
        planned_on=LONG_AGO,
    )  # fmt: skip
    done = late.model_copy(update={"milestone_id": "M2", "done_on": LONG_AGO})
    not_yet = late.model_copy(update={"milestone_id": "M3", "planned_on": date(2999, 1, 1)})

    heard = await who_hears(store, [late, done, not_yet], setting=network())

    assert heard == {AlertKind.MILESTONE_OVERDUE: {"s1", "m1", "operator"}}


async def test_an_overdue_capa_reaches_the_auditor_and_the_audited(store: GraphStore) -> None:
    overdue = AuditFinding(
        auditor="s1", vendor="m1", audit_id="AU1", finding_id="F1", capa_id="CAPA-9",
        capa_due_on=LONG_AGO,
    )  # fmt: skip
    closed = overdue.model_copy(update={"finding_id": "F2", "capa_status": CapaStatus.CLOSED})

    heard = await who_hears(store, [overdue, closed], setting=network())

    assert heard == {AlertKind.CAPA_OVERDUE: {"s1", "m1", "operator"}}


def change(**more: object) -> ChangeControl:
    fields: dict[str, object] = {
        "vendor": "m1",
        "sponsor": "s1",
        "change_id": "C1",
        "classification": ChangeClass.MAJOR,
        "opened_on": date(2025, 1, 10),
        "implemented_on": date(2025, 3, 1),
    }
    return ChangeControl(**{**fields, **more})


async def test_an_unapproved_change_reaches_the_vendor_and_its_sponsor(store: GraphStore) -> None:
    heard = await who_hears(store, [change()], setting=network())

    assert heard == {AlertKind.UNAPPROVED_CHANGE: {"s1", "m1", "operator"}}


async def test_a_change_approved_in_time_or_minor_rings_no_bell(store: GraphStore) -> None:
    records: list[Record] = [
        change(change_id="OK", sponsor_approved_on=date(2025, 2, 1)),
        change(change_id="SMALL", classification=ChangeClass.MINOR),
    ]

    assert await who_hears(store, records, setting=network()) == {}


async def test_the_sponsors_clause_decides_whether_a_minor_change_needed_approval(
    store: GraphStore,
) -> None:
    minor = change(change_id="SMALL", classification=ChangeClass.MINOR)

    heard = await who_hears(store, [minor], setting=network(change_approval_from=ChangeClass.MINOR))

    assert heard == {AlertKind.UNAPPROVED_CHANGE: {"s1", "m1", "operator"}}


async def test_an_adverse_inspection_reaches_the_vendor_and_its_sponsors_only(
    store: GraphStore,
) -> None:
    oai = Inspection(
        org="m1", site_code="A", agency=Agency.FDA, started_on=date(2025, 5, 5),
        outcome=InspectionOutcome.OAI, observations=7,
    )  # fmt: skip
    fine = Inspection(
        org="m2", site_code="B", agency=Agency.MHRA, started_on=date(2025, 5, 5),
        outcome=InspectionOutcome.GMP_COMPLIANT,
    )  # fmt: skip

    heard = await who_hears(store, [oai, fine], setting=network())

    assert heard == {AlertKind.INSPECTION_OUTCOME: {"m1", "s1", "operator"}}


async def test_an_audience_hears_only_the_kinds_it_listens_to(store: GraphStore) -> None:
    provenance = Provenance(ingestion_id="ING-1", connector="test")
    await store.upsert([r.model_copy(update={"provenance": provenance}) for r in network()])
    await store.upsert([change(provenance=provenance)])

    found = await AlertDetector(store).detect(
        Chunk.of("ING-1", [change()]), {Visibility.for_org("s1"): frozenset({AlertKind.DEVIATION})}
    )

    assert found == {Visibility.for_org("s1"): []}
