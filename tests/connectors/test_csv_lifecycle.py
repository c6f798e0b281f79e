"""qms.csv profiles for the partnership lifecycle: each shipped profile read over its
sample export, and bad rows rejected by line and column while good rows land."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import TypeVar

import pytest

from connectors.csv.connector import MesCsvConnector, QmsCsvConnector
from connectors.csv.profile import example_profile
from graph.ids import NodeKind, make_id
from graph.lifecycle import (
    Agency,
    Audit,
    AuditFinding,
    AuditOutcome,
    CapaStatus,
    ChangeControl,
    ChangeKind,
    ChangeStatus,
    Criticality,
    DocumentKind,
    Inspection,
    InspectionOutcome,
    Milestone,
    MilestoneStatus,
    RiskLevel,
    RiskStatus,
    Specification,
    TechTransfer,
    TransferDocument,
    TransferPhase,
    TransferRisk,
)
from graph.model import (
    Batch,
    ChangeClass,
    EdgeKind,
    NodeRecord,
    QualityAgreement,
    ValidationStage,
)
from tests.connectors.support import Parsed, parse_bytes

Node = TypeVar("Node", bound=NodeRecord)
FIXTURES = Path(__file__).parent / "fixtures"
TRANSFER = make_id(NodeKind.TECH_TRANSFER, "northwind", "birch", "TT-2025-01")


def read(profile: str, org: str = "northwind", payload: bytes | None = None) -> Parsed:
    data = payload if payload is not None else (FIXTURES / f"{profile}.csv").read_bytes()
    return parse_bytes(QmsCsvConnector.for_profile(example_profile(profile)), data, org=org)


def nodes(parsed: Parsed, kind: type[Node]) -> list[Node]:
    return [record for record in parsed.records if isinstance(record, kind)]


def edges_of(record: NodeRecord) -> set[tuple[EdgeKind, str]]:
    return {(edge.kind, edge.target) for edge in record.implied_edges()}


def test_specifications_carry_limits_and_the_days_they_are_in_force() -> None:
    parsed = read("qms_specifications")

    assert parsed.rejections == []
    specs = {(s.test, s.version): s for s in nodes(parsed, Specification)}
    assert len(specs) == 4
    old, new = specs[("Assay", "1")], specs[("Assay", "2")]
    assert (old.spec_low, old.spec_high, old.unit) == (95.0, 105.0, "%")
    assert old.effective_to == date(2025, 6, 30) and new.effective_to is None
    assert new.in_force_on(date(2025, 9, 1)) and not old.in_force_on(date(2025, 9, 1))
    assert new.id == make_id(NodeKind.SPECIFICATION, "northwind", "NW-TAB-101", "Assay", "2")
    assert specs[("Dissolution", "2")].spec_high is None  # a one-sided limit
    assert specs[("Water Content", "2")].spec_low is None
    assert (EdgeKind.SPECIFIES, make_id(NodeKind.PRODUCT, "northwind", "NW-TAB-101")) in edges_of(
        new
    )


def test_a_sponsors_transfers_name_the_vendor_site_product_and_ppq_lots() -> None:
    parsed = read("qms_tech_transfers")

    assert parsed.rejections == []
    transfers = {t.transfer_id: t for t in nodes(parsed, TechTransfer)}
    cork, api = transfers["TT-2025-01"], transfers["TT-2024-07"]
    assert cork.id == TRANSFER  # the pushing sponsor asserts it
    assert (cork.phase, cork.ppq_lots_planned) == (TransferPhase.VERIFICATION, 3)
    assert (cork.started_on, cork.target_on) == (date(2025, 2, 3), date(2025, 11, 30))
    assert cork.ppq_protocol_approved_on == date(2025, 8, 15) and cork.completed_on is None
    lots = (
        make_id(NodeKind.BATCH, "birch", "B-PPQ-01"),
        make_id(NodeKind.BATCH, "birch", "B-PPQ-02"),
    )
    assert cork.ppq_batch_ids == lots
    assert edges_of(cork) == {
        (EdgeKind.VERIFIED_BY, lots[0]),
        (EdgeKind.VERIFIED_BY, lots[1]),
        (EdgeKind.TRANSFERS, make_id(NodeKind.PRODUCT, "northwind", "NW-TAB-101")),
        (EdgeKind.TRANSFERRED_TO, make_id(NodeKind.SITE, "birch", "CRK-1")),
    }
    assert (api.vendor, api.phase, api.completed_on) == (
        "alder",
        TransferPhase.COMPLETE,
        date(2024, 12, 20),
    )
    assert api.ppq_batch_ids == () and api.site_code is None


def test_milestones_documents_and_risks_land_within_their_transfer() -> None:
    milestones = read("qms_transfer_milestones")
    documents = read("qms_transfer_documents")
    risks = read("qms_transfer_risks")

    assert milestones.rejections == documents.rejections == risks.rejections == []
    steps = {m.milestone_id: m for m in nodes(milestones, Milestone)}
    assert steps["M1"].status is MilestoneStatus.DONE and steps["M1"].owner_org == "northwind"
    assert steps["M3"].status is MilestoneStatus.IN_PROGRESS and steps["M3"].owner_org == "birch"
    assert steps["M3"].overdue_on(date(2025, 11, 15)) and not steps["M2"].overdue_on(
        date(2025, 11, 15)
    )
    docs = {d.document_id: d for d in nodes(documents, TransferDocument)}
    assert (docs["DOC-0051"].kind, docs["DOC-0051"].version) == (
        DocumentKind.ANALYTICAL_METHOD,
        "2.1",
    )
    assert docs["DOC-0042"].checksum == "sha256:9f2c4a1e"
    assert docs["DOC-0042"].reference == "dms://nw/DOC-0042"
    items = {r.risk_id: r for r in nodes(risks, TransferRisk)}
    assert (items["R-01"].severity, items["R-01"].likelihood) == (RiskLevel.HIGH, RiskLevel.MEDIUM)
    assert items["R-01"].status is RiskStatus.MITIGATED and items["R-02"].mitigation is None
    for part in [*steps.values(), *docs.values(), *items.values()]:
        assert edges_of(part) == {(EdgeKind.WITHIN, TRANSFER)}


def test_a_vendors_change_controls_name_the_sponsor_notified() -> None:
    parsed = read("qms_change_controls", org="birch")

    assert parsed.rejections == []
    changes = {c.change_id: c for c in nodes(parsed, ChangeControl)}
    press = changes["CC-2025-014"]
    assert press.id == make_id(NodeKind.CHANGE_CONTROL, "birch", "northwind", "CC-2025-014")
    assert (press.kind, press.classification) == (ChangeKind.EQUIPMENT, ChangeClass.MAJOR)
    assert press.sponsor_approved_on == date(2025, 3, 21) and press.approved_in_time()
    assert changes["CC-2025-031"].status is ChangeStatus.OPEN
    assert changes["CC-2025-022"].implemented_on == date(2025, 6, 2)
    assert edges_of(press) == {
        (EdgeKind.CONCERNS, make_id(NodeKind.SITE, "birch", "CRK-1")),
        (EdgeKind.CONCERNS, make_id(NodeKind.PRODUCT, "northwind", "NW-TAB-101")),
    }


def test_audits_and_findings_are_the_auditors() -> None:
    audits = read("qms_audits")
    findings = read("qms_audit_findings")

    assert audits.rejections == findings.rejections == []
    by_no = {a.audit_id: a for a in nodes(audits, Audit)}
    cork = by_no["AUD-2025-03"]
    assert (cork.auditor, cork.vendor, cork.outcome) == (
        "northwind",
        "birch",
        AuditOutcome.ACCEPTABLE_WITH_CONDITIONS,
    )
    assert edges_of(cork) == {(EdgeKind.CONCERNS, make_id(NodeKind.SITE, "birch", "CRK-1"))}
    assert edges_of(by_no["AUD-2025-07"]) == {
        (EdgeKind.CONCERNS, make_id(NodeKind.ORGANIZATION, "dogwood"))
    }
    found = {f.finding_id: f for f in nodes(findings, AuditFinding)}
    assert found["F1"].criticality is Criticality.MAJOR and found["F1"].open()
    assert found["F1"].capa_overdue_on(date(2025, 12, 2))
    assert found["F2"].capa_status is CapaStatus.CLOSED and not found["F2"].open()
    assert edges_of(found["F2"]) == {(EdgeKind.WITHIN, cork.id)}


def test_inspections_are_of_the_pushing_organizations_sites() -> None:
    parsed = read("qms_inspections", org="birch")

    assert parsed.rejections == []
    seen = {i.agency: i for i in nodes(parsed, Inspection)}
    fda = seen[Agency.FDA]
    assert (fda.org, fda.site_code, fda.started_on) == ("birch", "CRK-1", date(2024, 11, 4))
    assert (fda.outcome, fda.observations) == (InspectionOutcome.VAI, 2)
    assert seen[Agency.EMA].outcome is InspectionOutcome.GMP_COMPLIANT
    assert seen[Agency.EMA].reference == "IE/GMP/2025/118"
    assert edges_of(fda) == {(EdgeKind.CONCERNS, make_id(NodeKind.SITE, "birch", "CRK-1"))}


def test_an_mes_stage_column_gives_each_lot_its_validation_stage() -> None:
    header, *rows = (FIXTURES / "mes_batches.csv").read_text().splitlines()
    stages = ["process performance qualification", "Engineering Run", "", "commercial"]
    lines = [f"{header},Stage"] + [f"{row},{stages[i % 4]}" for i, row in enumerate(rows)]
    connector = MesCsvConnector.for_profile(example_profile("mes_batches"))

    parsed = parse_bytes(connector, "\n".join(lines).encode(), org="birch")

    assert parsed.rejections == []
    got = [b.validation_stage for b in nodes(parsed, Batch)]
    expected = [ValidationStage.PPQ, ValidationStage.ENGINEERING, None, ValidationStage.COMMERCIAL]
    assert got == [expected[i % 4] for i in range(len(rows))]


def test_the_mes_profile_reads_files_without_a_stage_column() -> None:
    connector = MesCsvConnector.for_profile(example_profile("mes_batches"))

    parsed = parse_bytes(connector, (FIXTURES / "mes_batches.csv").read_bytes(), org="birch")

    assert parsed.rejections == [] and nodes(parsed, Batch)
    assert all(b.validation_stage is None for b in nodes(parsed, Batch))


def _agreements(specifications: str, approval: str, products: str = "NW-API-101") -> Parsed:
    header, *rows = (FIXTURES / "qms_export.csv").read_text().splitlines()
    first = rows[0].replace("NW-API-101", products, 1)
    payload = (
        f'{header},Specifications,Change Approval From\n{first},"{specifications}",{approval}\n'
    )
    return read("qms_export", payload=payload.encode())


def test_an_agreement_names_its_specifications_by_test_and_version() -> None:
    parsed = _agreements("Assay/2; Dissolution/2", "Minor")

    assert parsed.rejections == []
    (agreement,) = nodes(parsed, QualityAgreement)
    specs = [
        make_id(NodeKind.SPECIFICATION, "northwind", "NW-API-101", t, "2")
        for t in ("Assay", "Dissolution")
    ]
    assert agreement.specification_ids == tuple(specs)
    assert agreement.change_approval_from is ChangeClass.MINOR
    assert {(EdgeKind.COVERS, spec) for spec in specs} <= edges_of(agreement)


def test_specifications_of_an_agreement_covering_two_products_are_refused() -> None:
    parsed = _agreements("Assay/2", "", products="NW-API-101;NW-API-202")

    assert nodes(parsed, QualityAgreement) == []
    (rejection,) = parsed.rejections
    assert rejection.location == "line 2"
    assert rejection.field.startswith("Specifications")
    assert "covers 2" in rejection.message


# Bad input: each row rejected naming its line and column; the good rows land.


def test_days_out_of_order_reject_the_row_naming_the_later_column() -> None:
    payload = (FIXTURES / "qms_tech_transfers.csv").read_text() + (
        "TT-2025-09,Birch Pharma Services,Backwards,NW-TAB-101,CRK-1,Kick-off,"
        "01-Sep-2025,01-Mar-2025,,,,\n"
    )

    parsed = read("qms_tech_transfers", payload=payload.encode())

    assert {t.transfer_id for t in nodes(parsed, TechTransfer)} == {"TT-2025-01", "TT-2024-07"}
    (rejection,) = parsed.rejections
    assert rejection.location == "line 4"
    assert rejection.field == "Target (target completion)"
    assert "before started_on" in rejection.message


def test_crossed_spec_limits_reject_the_row_naming_the_lower_limit() -> None:
    payload = (FIXTURES / "qms_specifications.csv").read_text() + (
        "NW-TAB-101,pH,1,8.0,6.5,,2025-07-01,\n"
    )

    parsed = read("qms_specifications", payload=payload.encode())

    assert len(nodes(parsed, Specification)) == 4
    (rejection,) = parsed.rejections
    assert (rejection.location, rejection.field) == (
        "line 6",
        "Lower Limit (lower specification limit)",
    )
    assert "above spec_high" in rejection.message


def test_an_unknown_status_word_rejects_the_row_naming_the_column() -> None:
    payload = (FIXTURES / "qms_inspections.csv").read_text() + (
        "CRK-1,US FDA,2025-10-01,2025-10-02,Warning Letter,5,\n"
    )

    parsed = read("qms_inspections", org="birch", payload=payload.encode())

    assert len(nodes(parsed, Inspection)) == 2
    (rejection,) = parsed.rejections
    assert (rejection.location, rejection.field) == ("line 4", "Outcome (inspection outcome)")
    assert "Warning Letter" in rejection.message


def test_a_missing_key_cell_rejects_the_row_naming_the_column() -> None:
    payload = (FIXTURES / "qms_change_controls.csv").read_text() + (
        ",Northwind Pharma,No number,Process Change,Minor,CRK-1,,01/10/2025,,,Closed\n"
    )

    parsed = read("qms_change_controls", org="birch", payload=payload.encode())

    assert len(nodes(parsed, ChangeControl)) == 3
    (rejection,) = parsed.rejections
    assert (rejection.location, rejection.field) == ("line 5", "CC No (change id)")
    assert "required" in rejection.message


@pytest.mark.parametrize(
    ("profile", "column"),
    [("qms_audit_findings", "Finding"), ("qms_transfer_milestones", "Milestone")],
)
def test_a_file_without_a_key_column_is_refused_naming_it(profile: str, column: str) -> None:
    from connectors.base import PayloadError

    header, *rows = (FIXTURES / f"{profile}.csv").read_text().splitlines()
    names = header.split(",")
    keep = [i for i, name in enumerate(names) if name != column]
    text = "\n".join(",".join(line.split(",")[i] for i in keep) for line in [header, *rows[:1]])

    with pytest.raises(PayloadError) as refused:
        read(profile, payload=text.encode())

    assert refused.value.location == "line 1" and repr(column) in refused.value.message
