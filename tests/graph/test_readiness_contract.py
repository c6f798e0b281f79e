"""Inspection readiness on both stores: a small world where every check passes, and one
fact changed at a time to make each check warn or fail, with the evidence it names;
then who sees what."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta

import pytest

from graph.ids import NodeKind, make_id
from graph.lifecycle import (
    Agency,
    Audit,
    AuditFinding,
    ChangeControl,
    Inspection,
    InspectionOutcome,
    Milestone,
    Specification,
    TechTransfer,
)
from graph.model import (
    AgreementStatus,
    Deviation,
    NodeRecord,
    Organization,
    OrgKind,
    Product,
    Qualification,
    QualityAgreement,
    Record,
    Site,
    TestResult,
    ValidationStage,
)
from graph.quality.readiness import AuditTrailVerdict, CheckStatus, Readiness, readiness
from graph.store import GraphStore
from graph.visibility import EVERYTHING, Visibility
from tests.graph.builders import PROVENANCE, batch, lot

P = PROVENANCE
AS_OF = date(2025, 9, 1)
BIRCH = make_id(NodeKind.ORGANIZATION, "birch")
SITE = make_id(NodeKind.SITE, "birch", "IE1")
TABLET = make_id(NodeKind.PRODUCT, "northwind", "NW-TAB")
SPEC = make_id(NodeKind.SPECIFICATION, "northwind", "NW-TAB", "assay", "2")
AGREEMENT = make_id(NodeKind.QUALITY_AGREEMENT, "northwind", "QA-B", "1")
QUALIFICATION = make_id(NodeKind.QUALIFICATION, "northwind", "birch", "IE1")
AUDIT = make_id(NodeKind.AUDIT, "northwind", "birch", "A-25")
FINDING = make_id(NodeKind.AUDIT_FINDING, "northwind", "birch", "A-25", "F1")
TRANSFER = make_id(NodeKind.TECH_TRANSFER, "northwind", "birch", "TT-1")
MILESTONE = make_id(NodeKind.MILESTONE, "northwind", "birch", "TT-1", "M1")
INSPECTION = make_id(NodeKind.INSPECTION, "birch", "IE1", "MHRA", "2025-02-03")
DEVIATION = make_id(NodeKind.DEVIATION, "birch", "DEV-9")
CHANGE = make_id(NodeKind.CHANGE_CONTROL, "birch", "northwind", "CC-7")
OAK_AUDIT = make_id(NodeKind.AUDIT, "oakridge", "birch", "O-1")
PPQ_LOTS = [lot("birch", f"PPQ-{n}") for n in (1, 2, 3)]
# Steady assay around 100 (spec 95-105): in control and capable.
ASSAY = [100.0, 100.2, 99.9, 100.1, 100.0, 99.8, 100.1, 100.0, 99.9, 100.2]
TRAIL_HOLDS = AuditTrailVerdict(True, 2)
TT = {"sponsor": "northwind", "vendor": "birch", "transfer_id": "TT-1", "provenance": P}
AUDITED = {"auditor": "northwind", "vendor": "birch", "audit_id": "A-25", "provenance": P}


def world(assay: list[float] = ASSAY) -> dict[str, Record]:
    """Every check passes on AS_OF. Keyed by a short name, so a case can replace one."""
    records: dict[str, Record] = {
        "northwind": Organization(org_id="northwind", kind=OrgKind.SPONSOR, provenance=P),
        "oakridge": Organization(org_id="oakridge", kind=OrgKind.SPONSOR, provenance=P),
        "birch": Organization(org_id="birch", kind=OrgKind.CMO, provenance=P),
        "site": Site(org="birch", code="IE1", name="Cork", provenance=P),
        "spec": Specification(
            sponsor="northwind",
            product_code="NW-TAB",
            test="assay",
            version="2",
            spec_low=95,
            spec_high=105,
            effective_from=date(2025, 1, 1),
            provenance=P,
        ),
        "agreement": QualityAgreement(
            sponsor="northwind",
            agreement_id="QA-B",
            version="1",
            vendor="birch",
            product_ids=(TABLET,),
            site_ids=(SITE,),
            specification_ids=(SPEC,),
            effective_from=date(2024, 6, 1),
            status=AgreementStatus.EFFECTIVE,
            provenance=P,
        ),
        "qualification": Qualification(
            qualifier="northwind",
            vendor="birch",
            site_code="IE1",
            status="APPROVED",
            valid_until=date(2026, 12, 31),
            provenance=P,
        ),
        "audit": Audit(
            **AUDITED, site_code="IE1", started_on=date(2025, 3, 1), ended_on=date(2025, 3, 3)
        ),
        "finding": AuditFinding(
            **AUDITED,
            finding_id="F1",
            criticality="MINOR",
            capa_due_on=date(2025, 5, 1),
            capa_status="CLOSED",
            capa_closed_on=date(2025, 4, 20),
        ),
        "transfer": TechTransfer(
            **TT,
            product_id=TABLET,
            site_code="IE1",
            phase="COMPLETE",
            started_on=date(2024, 9, 1),
            ppq_protocol_approved_on=date(2024, 11, 1),
            ppq_lots_planned=3,
            ppq_batch_ids=tuple(PPQ_LOTS),
        ),
        "milestone": Milestone(
            **TT, milestone_id="M1", planned_on=date(2025, 2, 1), done_on=date(2025, 2, 1)
        ),
        "inspection": Inspection(
            org="birch",
            site_code="IE1",
            agency=Agency.MHRA,
            started_on=date(2025, 2, 3),
            outcome=InspectionOutcome.GMP_COMPLIANT,
            provenance=P,
        ),
    }
    for n in (1, 2, 3):
        records[f"ppq{n}"] = batch(
            "birch",
            f"PPQ-{n}",
            product_id=TABLET,
            site_code="IE1",
            status="RELEASED",
            manufactured_on=date(2024, 12, n),
            released_on=date(2025, 1, n),
            validation_stage=ValidationStage.PPQ,
        )
    for n, value in enumerate(assay, start=1):
        records[f"lot{n}"] = batch(
            "birch",
            f"C-{n}",
            product_id=TABLET,
            site_code="IE1",
            status="RELEASED",
            manufactured_on=date(2025, 2, 1) + timedelta(days=n - 1),
            validation_stage=ValidationStage.COMMERCIAL,
        )
        records[f"result{n}"] = TestResult(
            lab="birch",
            result_id=f"R-{n}",
            batch_id=lot("birch", f"C-{n}"),
            test="assay",
            value=value,
            unit="%",
            tested_on=date(2025, 2, 1) + timedelta(days=n - 1),
            provenance=P,
        )
    return records


def changed(name: str, **update: object) -> Callable[[dict[str, Record]], None]:
    def change(records: dict[str, Record]) -> None:
        record = records[name]
        assert isinstance(record, NodeRecord)
        records[name] = type(record).model_validate(
            {**record.model_dump(exclude={"record"}), **update}
        )

    return change


def added(name: str, record: Record) -> Callable[[dict[str, Record]], None]:
    def add(records: dict[str, Record]) -> None:
        records[name] = record

    return add


def removed(name: str) -> Callable[[dict[str, Record]], None]:
    def remove(records: dict[str, Record]) -> None:
        del records[name]

    return remove


async def judged(
    store: GraphStore,
    records: dict[str, Record],
    visibility: Visibility = EVERYTHING,
    audit_trail: AuditTrailVerdict | None = TRAIL_HOLDS,
    **asked: str | None,
) -> Readiness:
    await store.upsert(records.values())

    async def trail(org: str) -> AuditTrailVerdict:
        assert audit_trail is not None
        return audit_trail

    return await readiness(
        store,
        **({"vendor": BIRCH, "site": SITE, "product": TABLET} | asked),
        as_of=AS_OF,
        visibility=visibility,
        audit_trail=None if audit_trail is None else trail,
    )


def by_name(found: Readiness) -> dict[str, tuple[CheckStatus, list[str]]]:
    return {
        check.name: (check.status, [item.id for item in check.evidence]) for check in found.checks
    }


async def test_every_check_passes_with_its_evidence(store: GraphStore) -> None:
    found = await judged(store, world())
    checks = by_name(found)
    assert found.status is CheckStatus.PASS, [c for c in found.checks if c.status != "PASS"]
    assert checks["agreement"] == (CheckStatus.PASS, [AGREEMENT])
    assert checks["qualification"] == (CheckStatus.PASS, [QUALIFICATION])
    assert checks["last_audit"] == (CheckStatus.PASS, [AUDIT])
    assert checks["findings"] == (CheckStatus.PASS, [])
    assert checks["deviations"] == (CheckStatus.PASS, [])
    assert checks["changes"] == (CheckStatus.PASS, [])
    assert checks["ppq"] == (CheckStatus.PASS, [TRANSFER, *PPQ_LOTS])
    assert checks["milestones"] == (CheckStatus.PASS, [])
    assert checks["cpv"] == (CheckStatus.PASS, [SPEC])
    assert checks["inspections"] == (CheckStatus.PASS, [INSPECTION])
    assert checks["audit_trail"] == (CheckStatus.PASS, [])
    agreement = next(check for check in found.checks if check.name == "agreement")
    assert agreement.evidence[0].sources == (P.ref,)


LATE_DEVIATION = Deviation(
    org="birch",
    deviation_id="DEV-9",
    classification="MAJOR",
    status="OPEN",
    opened_on=date(2025, 7, 1),
    batch_ids=(lot("birch", "C-1"),),
    provenance=P,
)
UNAPPROVED = ChangeControl(
    vendor="birch",
    sponsor="northwind",
    change_id="CC-7",
    classification="MAJOR",
    site_code="IE1",
    product_id=TABLET,
    opened_on=date(2025, 5, 1),
    implemented_on=date(2025, 6, 1),
    provenance=P,
)
W, F = CheckStatus.WARN, CheckStatus.FAIL
CASES = {
    "agreement due for review": (
        changed("agreement", effective_from=date(2023, 1, 1)),
        "agreement",
        W,
        [AGREEMENT],
    ),
    "agreement expired": (
        changed("agreement", effective_to=date(2025, 6, 30)),
        "agreement",
        F,
        [],
    ),
    "qualification conditional": (
        changed("qualification", status="CONDITIONAL"),
        "qualification",
        W,
        [QUALIFICATION],
    ),
    "qualification expired": (
        changed("qualification", valid_until=date(2025, 8, 1)),
        "qualification",
        F,
        [QUALIFICATION],
    ),
    "audit over two years old": (
        changed("audit", started_on=date(2023, 5, 1), ended_on=date(2023, 5, 2)),
        "last_audit",
        W,
        [AUDIT],
    ),
    "no audit": (removed("audit"), "last_audit", F, []),
    "open major finding": (
        changed(
            "finding",
            criticality="MAJOR",
            capa_status="OPEN",
            capa_closed_on=None,
            capa_due_on=date(2025, 12, 1),
        ),
        "findings",
        W,
        [FINDING],
    ),
    "overdue CAPA": (
        changed("finding", capa_status="OPEN", capa_closed_on=None),
        "findings",
        F,
        [FINDING],
    ),
    "deviation open two months": (added("deviation", LATE_DEVIATION), "deviations", W, [DEVIATION]),
    "deviation opened last week": (
        added("deviation", LATE_DEVIATION.model_copy(update={"opened_on": date(2025, 8, 25)})),
        "deviations",
        CheckStatus.PASS,
        [],
    ),
    "change implemented unapproved": (added("change", UNAPPROVED), "changes", F, [CHANGE]),
    "PPQ under way": (
        changed("transfer", phase="VERIFICATION", ppq_lots_planned=4),
        "ppq",
        W,
        [TRANSFER, *PPQ_LOTS],
    ),
    "transfer complete without its PPQ": (
        changed("ppq3", status="QUARANTINE"),
        "ppq",
        F,
        [TRANSFER, *PPQ_LOTS[:2]],
    ),
    "milestone a week late": (
        changed("milestone", planned_on=date(2025, 8, 25), done_on=None),
        "milestones",
        W,
        [MILESTONE],
    ),
    "milestone two months late": (
        changed("milestone", planned_on=date(2025, 7, 1), done_on=None),
        "milestones",
        F,
        [MILESTONE],
    ),
    "inspection VAI": (changed("inspection", outcome="VAI"), "inspections", W, [INSPECTION]),
    "inspection OAI": (changed("inspection", outcome="OAI"), "inspections", F, [INSPECTION]),
}


@pytest.mark.parametrize("case", sorted(CASES))
async def test_one_fact_changed_makes_one_check_warn_or_fail(store: GraphStore, case: str) -> None:
    change, name, status, evidence = CASES[case]
    records = world()
    change(records)
    found = await judged(store, records)
    checks = by_name(found)
    assert checks[name] == (status, evidence)
    others = {other: checks[other][0] for other in checks if other != name}
    assert set(others.values()) == {CheckStatus.PASS}, others
    assert found.status is status


async def test_cpv_warns_on_a_run_rule_and_fails_on_a_poor_cpk(store: GraphStore) -> None:
    shifted = await judged(store, world([*ASSAY[:-1], 101.5]))
    status, evidence = by_name(shifted)["cpv"]
    assert status is CheckStatus.WARN
    assert evidence == [make_id(NodeKind.TEST_RESULT, "birch", f"R-{len(ASSAY)}"), SPEC]
    await store.wipe()
    spread = await judged(store, world([96.0, 104.0] * 5))
    assert by_name(spread)["cpv"][0] is CheckStatus.FAIL


@pytest.mark.parametrize(
    ("verdict", "status"),
    [
        (None, CheckStatus.WARN),
        (AuditTrailVerdict(False, 2, "entry 5 was changed after it was written"), F),
        (AuditTrailVerdict(False, 0, "cannot be read", available=False), W),
    ],
)
async def test_the_audit_trail_check(
    store: GraphStore, verdict: AuditTrailVerdict | None, status: CheckStatus
) -> None:
    found = await judged(store, world(), audit_trail=verdict)
    assert by_name(found)["audit_trail"][0] is status


async def test_another_sponsor_gets_no_evidence_of_the_first_ones_records(
    store: GraphStore,
) -> None:
    records = world()
    records["oak-audit"] = Audit(
        auditor="oakridge",
        vendor="birch",
        audit_id="O-1",
        site_code="IE1",
        started_on=date(2025, 6, 1),
        provenance=P,
    )
    oakridge = Visibility.for_org("oakridge")
    found = await judged(store, records, visibility=oakridge)
    evidence = {item.id for check in found.checks for item in check.evidence}
    assert evidence <= {INSPECTION}  # public: the agencies publish their outcomes
    assert by_name(found)["last_audit"] == (F, [])
    assert by_name(found)["audit_trail"] == (W, [])  # the hub is not even asked
    # Asked about the vendor alone, it sees its own audit, and the first sponsor's none.
    own = await readiness(store, vendor=BIRCH, as_of=AS_OF, visibility=oakridge)
    assert own.product is None
    assert by_name(own)["last_audit"] == (CheckStatus.PASS, [OAK_AUDIT])
    northwind = await readiness(
        store, vendor=BIRCH, as_of=AS_OF, visibility=Visibility.for_org("northwind")
    )
    assert by_name(northwind)["last_audit"] == (CheckStatus.PASS, [AUDIT])


async def test_a_cmo_reads_its_own_readiness_for_each_sponsor_product(store: GraphStore) -> None:
    oak_product = make_id(NodeKind.PRODUCT, "oakridge", "OK-1")
    records = world()
    records["oak-product"] = Product(sponsor="oakridge", code="OK-1", provenance=P)
    records["oak-agreement"] = QualityAgreement(
        sponsor="oakridge",
        agreement_id="OQ-1",
        version="1",
        vendor="birch",
        product_ids=(oak_product,),
        effective_from=date(2025, 1, 1),
        provenance=P,
    )
    birch = Visibility.for_org("birch")
    tablet = by_name(await judged(store, records, visibility=birch, site=None))
    assert tablet["agreement"] == (CheckStatus.PASS, [AGREEMENT])
    assert tablet["last_audit"] == (CheckStatus.PASS, [AUDIT])
    assert tablet["ppq"] == (CheckStatus.PASS, [TRANSFER, *PPQ_LOTS])
    oak = by_name(await judged(store, records, visibility=birch, product=oak_product))
    assert oak["agreement"][1] == [make_id(NodeKind.QUALITY_AGREEMENT, "oakridge", "OQ-1", "1")]
    assert oak["last_audit"] == (F, [])  # northwind's audit is no evidence for oakridge's product
    # Without a product: across its sponsors, the newest agreement in force.
    overall = by_name(await judged(store, records, visibility=birch, product=None))
    assert overall["agreement"][1] == [make_id(NodeKind.QUALITY_AGREEMENT, "oakridge", "OQ-1", "1")]
    assert overall["last_audit"] == (CheckStatus.PASS, [AUDIT])


async def test_a_product_alone_is_judged_at_its_one_vendor(store: GraphStore) -> None:
    found = await judged(store, world(), vendor=None, site=None)
    assert (found.vendor, found.product) == (BIRCH, TABLET)
    with pytest.raises(ValueError, match="name the vendor"):
        await readiness(
            store, product=TABLET, as_of=AS_OF, visibility=Visibility.for_org("oakridge")
        )


async def test_the_reads_do_not_grow_with_the_lots(
    store: GraphStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[str] = []
    for name in ("list_nodes", "get_nodes", "out_edges", "in_edges", "measurements", "walk"):
        original = getattr(store, name)

        def counted(*args: object, _name: str = name, _original=original, **kwargs: object):  # type: ignore[no-untyped-def]
            calls.append(_name)
            return _original(*args, **kwargs)

        monkeypatch.setattr(store, name, counted)
    await judged(store, world())
    few = list(calls)
    await store.wipe()
    calls.clear()
    await judged(store, world(ASSAY * 4))
    assert calls == few
    assert len(few) < 20
