"""Typed values of one row to the partnership lifecycle's records.

The asserting party (the sponsor of a transfer, the vendor of a change, the auditor,
the inspected organization) is the row's value when the profile maps one, else the
organization that pushed the file: what ``graph.trust`` accepts from that pusher.
Lot numbers and product codes become node ids under their owner: a transfer's PPQ
lots are the receiving vendor's lots, its product and a change's are the sponsor's.
"""

from __future__ import annotations

from connectors.csv.records import Builder, Values, batch_id
from graph.ids import NodeKind, make_id
from graph.lifecycle import (
    Audit,
    AuditFinding,
    ChangeControl,
    Inspection,
    Milestone,
    Specification,
    TechTransfer,
    TransferDocument,
    TransferRisk,
)
from graph.model import Provenance


def _count(value: float | None) -> float | int | None:
    """A count read as a number: 3.0 is 3, 2.5 stays for the model to refuse."""
    return int(value) if value is not None and value.is_integer() else value


def specification(values: Values, org: str, provenance: Provenance) -> Specification:
    return Specification(
        sponsor=values.get("sponsor") or org,
        product_code=values["product"],
        test=values["test"],
        version=values["version"],
        spec_low=values.get("spec_low"),
        spec_high=values.get("spec_high"),
        unit=values.get("unit"),
        effective_from=values.get("effective_from"),
        effective_to=values.get("effective_to"),
        provenance=provenance,
    )


def tech_transfer(values: Values, org: str, provenance: Provenance) -> TechTransfer:
    sponsor, vendor = values.get("sponsor") or org, values["vendor"]
    product = values.get("product")
    return TechTransfer(
        sponsor=sponsor,
        vendor=vendor,
        transfer_id=values["transfer_id"],
        title=values.get("title"),
        product_id=make_id(NodeKind.PRODUCT, sponsor, product) if product else None,
        site_code=values.get("site_code"),
        phase=values.get("phase"),
        started_on=values.get("started_on"),
        target_on=values.get("target_on"),
        completed_on=values.get("completed_on"),
        ppq_protocol_approved_on=values.get("ppq_protocol_approved_on"),
        ppq_lots_planned=_count(values.get("ppq_lots_planned")),
        ppq_batch_ids=tuple(batch_id(vendor, lot) for lot in values.get("ppq_batches") or ()),
        provenance=provenance,
    )


def _transfer_key(values: Values, org: str) -> dict[str, str]:
    return {
        "sponsor": values.get("sponsor") or org,
        "vendor": values["vendor"],
        "transfer_id": values["transfer_id"],
    }


def milestone(values: Values, org: str, provenance: Provenance) -> Milestone:
    return Milestone(
        **_transfer_key(values, org),
        milestone_id=values["milestone_id"],
        name=values.get("name"),
        planned_on=values.get("planned_on"),
        done_on=values.get("done_on"),
        status=values.get("status"),
        owner_org=values.get("owner_org"),
        provenance=provenance,
    )


def transfer_document(values: Values, org: str, provenance: Provenance) -> TransferDocument:
    return TransferDocument(
        **_transfer_key(values, org),
        document_id=values["document_id"],
        title=values.get("title"),
        kind=values.get("kind"),
        version=values.get("version"),
        checksum=values.get("checksum"),
        reference=values.get("reference"),
        sent_on=values.get("sent_on"),
        provenance=provenance,
    )


def transfer_risk(values: Values, org: str, provenance: Provenance) -> TransferRisk:
    return TransferRisk(
        **_transfer_key(values, org),
        risk_id=values["risk_id"],
        description=values.get("description"),
        severity=values.get("severity"),
        likelihood=values.get("likelihood"),
        mitigation=values.get("mitigation"),
        status=values.get("status"),
        provenance=provenance,
    )


def change_control(values: Values, org: str, provenance: Provenance) -> ChangeControl:
    sponsor = values["sponsor"]
    product = values.get("product")
    return ChangeControl(
        vendor=values.get("vendor") or org,
        sponsor=sponsor,
        change_id=values["change_id"],
        title=values.get("title"),
        kind=values.get("kind"),
        classification=values.get("classification"),
        site_code=values.get("site_code"),
        product_id=make_id(NodeKind.PRODUCT, sponsor, product) if product else None,
        opened_on=values.get("opened_on"),
        sponsor_approved_on=values.get("sponsor_approved_on"),
        implemented_on=values.get("implemented_on"),
        status=values.get("status"),
        provenance=provenance,
    )


def audit(values: Values, org: str, provenance: Provenance) -> Audit:
    return Audit(
        auditor=values.get("auditor") or org,
        vendor=values["vendor"],
        audit_id=values["audit_id"],
        site_code=values.get("site_code"),
        audit_type=values.get("audit_type"),
        started_on=values.get("started_on"),
        ended_on=values.get("ended_on"),
        outcome=values.get("outcome"),
        provenance=provenance,
    )


def audit_finding(values: Values, org: str, provenance: Provenance) -> AuditFinding:
    return AuditFinding(
        auditor=values.get("auditor") or org,
        vendor=values["vendor"],
        audit_id=values["audit_id"],
        finding_id=values["finding_id"],
        criticality=values.get("criticality"),
        description=values.get("description"),
        capa_id=values.get("capa_id"),
        capa_due_on=values.get("capa_due_on"),
        capa_status=values.get("capa_status"),
        capa_closed_on=values.get("capa_closed_on"),
        provenance=provenance,
    )


def inspection(values: Values, org: str, provenance: Provenance) -> Inspection:
    return Inspection(
        org=values.get("org") or org,
        site_code=values["site_code"],
        agency=values["agency"],
        started_on=values["started_on"],
        ended_on=values.get("ended_on"),
        outcome=values.get("outcome"),
        observations=_count(values.get("observations")),
        reference=values.get("reference"),
        provenance=provenance,
    )


LIFECYCLE_BUILDERS: dict[str, Builder] = {
    "Specification": specification,
    "TechTransfer": tech_transfer,
    "Milestone": milestone,
    "TransferDocument": transfer_document,
    "TransferRisk": transfer_risk,
    "ChangeControl": change_control,
    "Audit": audit,
    "AuditFinding": audit_finding,
    "Inspection": inspection,
}
