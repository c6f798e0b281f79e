"""The demo story as the partners' own exports, each in the format its systems write.

``partnerhub demo`` pushes these through the ingest path (ledger, worker, connectors,
ownership checks), so a newcomer sees the real flow; ``tests/hub/test_demo_exports.py``
checks that they land as exactly the graph of ``hub.demo.story``. They are made from
the story's records, so the two cannot drift apart:

- the operator: the partner directory agreed at onboarding (organizations, sites,
  products, and each partner's item codes with the sponsor product they are), as
  ``canonical.jsonl``, and the partners' GS1 keys and FDA FEI numbers, registered;
- each sponsor: its QMS export (``qms.csv``): quality agreements (with the
  specifications they bind, as test/version) and the qualifications of its vendors;
  sent after its specification register, so that an agreement names known ones;
- the API maker (Alder): its MES's B2MML material lots (``mes.b2mml``);
- the packager (Cedar): its shipments to distributors as DSCSA-style EPCIS 1.2
  shipping events (``supply.epcis``), lots named by LGTIN under its GS1 prefix;
- every other maker: its ERP's goods-receipt log (a received lot tied to the
  supplier's), MES batch export (with the input lots consumed and, where the MES
  records it, each lot's validation stage) and dispatch log (``mes.csv``);
- each vendor: its QMS export (``qms.csv``), record types told apart by "Record
  Type": its deviations, its change controls as notified to a sponsor, and the
  agencies' inspections of its sites; sent after its lots, which deviations name;
- each sponsor, once the PPQ lots are in: its lifecycle registers (``qms.csv``), one
  file each for the tech transfers, their milestones, documents and risk items, and
  one for its audits with their findings (a finding pushed in a file of its own
  names its audit as a placeholder, whose key would say it concerns the vendor
  rather than the audited site);
- the lab (Elm): its LIMS result export with the specification limits and verdicts
  of its certificates of analysis (``lims.csv``; AnIML and ASM carry no
  specification, so a lab's release results come from its LIMS).
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any, TypeVar
from xml.sax.saxutils import escape

from connectors.epcis.gs1 import check_digit
from graph.ids import parse_id
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
from graph.model import (
    Batch,
    Deviation,
    Edge,
    EdgeKind,
    Material,
    NodeRecord,
    Organization,
    Product,
    Qualification,
    QualityAgreement,
    Record,
    Site,
    TestResult,
)
from hub.demo.generator import canonical_lines
from hub.demo.story import CEDAR_GS1_PREFIX
from hub.records.identifiers import Scheme

OPERATOR = "operator"
R = TypeVar("R", bound=Record)


@dataclass(frozen=True, slots=True)
class Export:
    """One file a partner sends, and how it asks for it to be read."""

    org: str
    connector: str
    filename: str
    payload: bytes = field(repr=False)
    options: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Identifier:
    """A GS1 key or FEI number the operator registers for an organization."""

    org: str
    scheme: Scheme
    value: str


# Where the distributors receive: GS1's example company prefixes and a location
# reference (SGLN parts), so that no real company's keys appear.
DISTRIBUTOR_LOCATIONS = {"maple": ("0614142", "00001"), "spruce": ("0614143", "00001")}


def gln_of(org: str) -> str:
    prefix, location = DISTRIBUTOR_LOCATIONS[org]
    return prefix + location + check_digit(prefix + location)


def lgtin_class(gtin: str, prefix: str, lot: str) -> str:
    """The EPC class of lot ``lot`` of ``gtin``: indicator digit and item reference after
    the company prefix (GS1 Tag Data Standard, LGTIN)."""
    reference = gtin[0] + gtin[1 + len(prefix) : 13]
    return f"urn:epc:class:lgtin:{prefix}.{reference}.{lot}"


def demo_identifiers(records: Iterable[Record]) -> list[Identifier]:
    found = [Identifier("cedar", Scheme.GS1_PREFIX, CEDAR_GS1_PREFIX)]
    found += [Identifier(org, Scheme.GLN, gln_of(org)) for org in DISTRIBUTOR_LOCATIONS]
    found += [
        Identifier(record.org, Scheme.FEI, record.fei_number)
        for record in records
        if isinstance(record, Site) and record.fei_number
    ]
    return found


class _Story:
    """The story's records, grouped by who sends them and in which export."""

    def __init__(self, records: Sequence[Record]) -> None:
        self.records = records
        self.batches = {r.id: r for r in records if isinstance(r, Batch)}
        self.orgs = {r.org_id: r for r in records if isinstance(r, Organization)}
        self.out: dict[tuple[EdgeKind, str], list[Edge]] = defaultdict(list)
        for record in records:
            if isinstance(record, Edge):
                self.out[record.kind, record.source].append(record)

    def of_type(self, kind: type[R]) -> list[R]:
        return [record for record in self.records if isinstance(record, kind)]

    def lots_of(self, maker: str) -> list[Batch]:
        return [batch for batch in self.batches.values() if batch.maker == maker]

    def edges(self, kind: EdgeKind, source: str) -> list[Edge]:
        return self.out.get((kind, source), [])


def demo_exports(records: Sequence[Record]) -> list[Export]:
    """Every partner's files for ``records`` (the demo story), in the order they are sent:
    master data first, so that a lot's item and site are known when it arrives."""
    story = _Story(records)
    exports = [_directory(story)]
    sponsors = sorted({r.sponsor for r in story.of_type(QualityAgreement)})
    for sponsor in sponsors:
        specifications = [s for s in story.of_type(Specification) if s.sponsor == sponsor]
        if specifications:  # before the agreements that name them
            exports.append(_specifications(sponsor, specifications))
        exports.append(_qms(story, sponsor))
    for org in sorted({batch.maker for batch in story.batches.values()}):
        exports += _maker_exports(story, org)
    vendors = {r.org for r in story.of_type(Deviation)} | {r.org for r in story.of_type(Inspection)}
    vendors |= {r.vendor for r in story.of_type(ChangeControl)}
    for org in sorted(vendors):  # after the lots their deviations name
        exports.append(_vendor_qms(story, org))
    for sponsor in sponsors:  # after the PPQ lots the transfers name
        exports += _lifecycle_exports(story, sponsor)
    for lab in sorted({r.lab for r in story.of_type(TestResult)}):
        exports.append(_lims_results(story, lab))
    return exports


# -- the operator's directory --------------------------------------------------------


def _directory(story: _Story) -> Export:
    master = [r for r in story.records if isinstance(r, Organization | Site | Product | Material)]
    payload = "".join(canonical_lines(master)).encode()
    return Export(OPERATOR, "canonical.jsonl", "directory.jsonl", payload)


# -- a sponsor's QMS -----------------------------------------------------------------


def _qms(story: _Story, sponsor: str) -> Export:
    rows: list[dict[str, str]] = []
    for agreement in story.of_type(QualityAgreement):
        if agreement.sponsor == sponsor:
            rows.append(
                {
                    "Record Type": "Quality Agreement",
                    "Record ID": agreement.agreement_id,
                    "Version": agreement.version,
                    "Vendor": agreement.vendor,
                    "Products": ";".join(parse_id(p).parts[-1] for p in agreement.product_ids),
                    "Sites": ";".join(parse_id(s).parts[-1] for s in agreement.site_ids),
                    "Activities": ";".join(a.value for a in agreement.activities),
                    "Effective From": _day(agreement.effective_from),
                    "Effective To": _day(agreement.effective_to),
                    "Status": _value(agreement.status),
                    "Specifications": ";".join(
                        "/".join(parse_id(spec).parts[2:]) for spec in agreement.specification_ids
                    ),
                    "Change Approval From": _value(agreement.change_approval_from),
                }
            )
    for qualification in story.of_type(Qualification):
        if qualification.qualifier == sponsor:
            rows.append(
                {
                    "Record Type": "Supplier Qualification",
                    "Vendor": qualification.vendor,
                    "Site": qualification.site_code or "",
                    "Status": _value(qualification.status),
                    "Valid Until": _day(qualification.valid_until),
                    "Last Audit": _day(qualification.last_audit_on),
                }
            )
    profile = _profile(
        f"{sponsor} QMS export: quality agreements and supplier qualifications",
        {
            "kind": "QualityAgreement",
            "when": {"column": "Record Type", "equals": "Quality Agreement"},
            "fields": {
                "agreement_id": "Record ID",
                "version": "Version",
                "sponsor": {"value": sponsor},
                "vendor": "Vendor",
                "products": "Products",
                "sites": "Sites",
                "activities": "Activities",
                "effective_from": "Effective From",
                "effective_to": "Effective To",
                "status": "Status",
                # "test/version" of the agreement's one product
                "specifications": {"column": "Specifications", "optional": True},
                "change_approval_from": {"column": "Change Approval From", "optional": True},
            },
        },
        {
            "kind": "Qualification",
            "when": {"column": "Record Type", "equals": "Supplier Qualification"},
            "fields": {
                "vendor": "Vendor",
                "site_code": "Site",
                "status": "Status",
                "valid_until": "Valid Until",
                "last_audit_on": "Last Audit",
            },
        },
    )
    return _csv_export(sponsor, "qms.csv", f"{sponsor}-qms.csv", rows, profile)


# -- a maker's ERP, MES and QMS ------------------------------------------------------


def _maker_exports(story: _Story, org: str) -> list[Export]:
    lots = story.lots_of(org)
    received = [lot for lot in lots if story.edges(EdgeKind.SAME_LOT, lot.id)]
    made = [lot for lot in lots if lot not in received]
    shipped = [edge for lot in lots for edge in story.edges(EdgeKind.SHIPPED_TO, lot.id)]
    exports = []
    if received:
        exports.append(_receiving_log(story, org, received))
    if made and org == "alder":
        exports.append(_b2mml_lots(org, made))
    elif made:
        exports.append(_batch_export(story, org, made))
    if shipped and org == "cedar":
        exports.append(_epcis_shipping(story, org, shipped))
    elif shipped:
        exports.append(_dispatch_log(org, shipped))
    return exports


def _lot_columns(lot: Batch) -> dict[str, str]:
    return {
        "Lot": lot.number,
        "Item": lot.material_code or "",
        "Site": lot.site_code or "",
        "Status": _value(lot.status),
        "Mfg Date": _day(lot.manufactured_on),
        "Release Date": _day(lot.released_on),
        "Qty": _number(lot.quantity),
        "UoM": lot.unit or "",
    }


_LOT_FIELDS = {
    "number": "Lot",
    "material_code": "Item",
    "site_code": "Site",
    "status": "Status",
    "manufactured_on": "Mfg Date",
    "released_on": "Release Date",
    "quantity": "Qty",
    "unit": "UoM",
}


def _receiving_log(story: _Story, org: str, lots: list[Batch]) -> Export:
    rows = []
    for lot in lots:
        (same,) = story.edges(EdgeKind.SAME_LOT, lot.id)
        supplier = parse_id(same.target)
        rows.append(
            {
                **_lot_columns(lot),
                "Supplier": supplier.parts[0],
                "Supplier Lot": supplier.parts[1],
            }
        )
    profile = _profile(
        f"{org} goods-receipt log",
        {
            "kind": "Batch",
            "fields": _LOT_FIELDS,
            "received_from": {"supplier": "Supplier", "lot": "Supplier Lot"},
        },
    )
    return _csv_export(org, "mes.csv", f"{org}-goods-receipts.csv", rows, profile)


def _batch_export(story: _Story, org: str, lots: list[Batch]) -> Export:
    inputs = {lot.id: story.edges(EdgeKind.CONSUMED, lot.id) for lot in lots}
    slots = max(len(edges) for edges in inputs.values())
    staged = any(lot.validation_stage for lot in lots)
    rows = []
    for lot in lots:
        row = _lot_columns(lot)
        if staged:
            row["Stage"] = _value(lot.validation_stage)
        for index, edge in enumerate(inputs[lot.id], start=1):
            row[f"Input Lot {index}"] = parse_id(edge.target).parts[1]
            row[f"Input Qty {index}"] = _number(edge.quantity)
            row[f"Input UoM {index}"] = edge.unit or ""
        rows.append(row)
    profile = _profile(
        f"{org} MES batch export with the input lots consumed",
        {
            "kind": "Batch",
            "fields": {
                **_LOT_FIELDS,
                **({"validation_stage": {"column": "Stage", "optional": True}} if staged else {}),
            },
            "inputs": [
                {
                    "number": {"column": f"Input Lot {n}", "optional": True},
                    "quantity": {"column": f"Input Qty {n}", "optional": True},
                    "unit": {"column": f"Input UoM {n}", "optional": True},
                }
                for n in range(1, slots + 1)
            ],
        },
    )
    return _csv_export(org, "mes.csv", f"{org}-batches.csv", rows, profile)


def _dispatch_log(org: str, shipped: list[Edge]) -> Export:
    rows = [
        {
            "Lot": parse_id(edge.source).parts[1],
            "Ship To": parse_id(edge.target).parts[0],
            "Ship Date": _day(edge.occurred_on),
            "Qty": _number(edge.quantity),
            "UoM": edge.unit or "",
        }
        for edge in shipped
    ]
    profile = _profile(
        f"{org} dispatch log: one row per delivery of a lot",
        {
            "kind": "Batch",
            "fields": {"number": "Lot"},
            "shipped_to": {
                "to": "Ship To",
                "on": "Ship Date",
                "quantity": "Qty",
                "unit": "UoM",
            },
        },
    )
    return _csv_export(org, "mes.csv", f"{org}-dispatches.csv", rows, profile)


def _vendor_qms(story: _Story, org: str) -> Export:
    """A vendor's QMS export, its record types told apart by "Record Type": its
    deviations, its changes as notified to each sponsor, and the agencies' inspections
    of its sites."""
    rows: list[dict[str, str]] = []
    kinds: list[dict[str, Any]] = []
    deviations = [d for d in story.of_type(Deviation) if d.org == org]
    rows += [
        {
            "Record Type": "Deviation",
            "Record ID": deviation.deviation_id,
            "Title": deviation.title or "",
            "Classification": _value(deviation.classification),
            "Status": _value(deviation.status),
            "Opened": _day(deviation.opened_on),
            "Closed": _day(deviation.closed_on),
            "Affected Lots": ";".join(parse_id(b).parts[1] for b in deviation.batch_ids),
        }
        for deviation in deviations
    ]
    if deviations:
        kinds.append(
            {
                "kind": "Deviation",
                "when": {"column": "Record Type", "equals": "Deviation"},
                "fields": {
                    "deviation_id": "Record ID",
                    "title": "Title",
                    "classification": "Classification",
                    "status": "Status",
                    "opened_on": "Opened",
                    "closed_on": "Closed",
                    "batches": "Affected Lots",
                },
            }
        )
    changes = [c for c in story.of_type(ChangeControl) if c.vendor == org]
    rows += [
        {
            "Record Type": "Change Control",
            "Record ID": change.change_id,
            "Title": change.title or "",
            "Classification": _value(change.classification),
            "Status": _value(change.status),
            "Opened": _day(change.opened_on),
            "Customer": change.sponsor,
            "Change Type": _value(change.kind),
            "Site": change.site_code or "",
            "Product": parse_id(change.product_id).parts[-1] if change.product_id else "",
            "Customer Approval": _day(change.sponsor_approved_on),
            "Implemented": _day(change.implemented_on),
        }
        for change in changes
    ]
    if changes:
        kinds.append(
            {
                "kind": "ChangeControl",
                "when": {"column": "Record Type", "equals": "Change Control"},
                "fields": {
                    "sponsor": "Customer",
                    "change_id": "Record ID",
                    "title": "Title",
                    "kind": "Change Type",
                    "classification": "Classification",
                    "site_code": "Site",
                    "product": "Product",  # the customer's product code
                    "opened_on": "Opened",
                    "sponsor_approved_on": "Customer Approval",
                    "implemented_on": "Implemented",
                    "status": "Status",
                },
            }
        )
    inspections = [i for i in story.of_type(Inspection) if i.org == org]
    rows += [
        {
            "Record Type": "Inspection",
            "Site": inspection.site_code,
            "Agency": _value(inspection.agency),
            "Opened": _day(inspection.started_on),
            "Closed": _day(inspection.ended_on),
            "Outcome": _value(inspection.outcome),
            "Observations": _number(inspection.observations),
            "Reference": inspection.reference or "",
        }
        for inspection in inspections
    ]
    if inspections:
        kinds.append(
            {
                "kind": "Inspection",
                "when": {"column": "Record Type", "equals": "Inspection"},
                "fields": {
                    "site_code": "Site",
                    "agency": "Agency",
                    "started_on": "Opened",
                    "ended_on": "Closed",
                    "outcome": "Outcome",
                    "observations": "Observations",
                    "reference": "Reference",
                },
            }
        )
    described = ", ".join(
        name
        for name, found in (
            ("deviations", deviations),
            ("change controls", changes),
            ("inspections", inspections),
        )
        if found
    )
    profile = _profile(f"{org} QMS export: {described}", *kinds)
    return _csv_export(org, "qms.csv", f"{org}-qms.csv", rows, profile)


# -- a sponsor's lifecycle registers -------------------------------------------------


def _specifications(sponsor: str, specifications: list[Specification]) -> Export:
    rows = [
        {
            "Product": spec.product_code,
            "Test": spec.test,
            "Spec Version": spec.version,
            "Lower Limit": _number(spec.spec_low),
            "Upper Limit": _number(spec.spec_high),
            "Unit": spec.unit or "",
            "Effective": _day(spec.effective_from),
            "Superseded": _day(spec.effective_to),
        }
        for spec in specifications
    ]
    profile = _profile(
        f"{sponsor} specification register (limits per test and version)",
        {
            "kind": "Specification",
            "fields": {
                "product": "Product",
                "test": "Test",
                "version": "Spec Version",
                "spec_low": "Lower Limit",
                "spec_high": "Upper Limit",
                "unit": "Unit",
                "effective_from": "Effective",
                "effective_to": "Superseded",
            },
        },
    )
    return _csv_export(sponsor, "qms.csv", f"{sponsor}-specifications.csv", rows, profile)


def _lifecycle_exports(story: _Story, sponsor: str) -> list[Export]:
    """The sponsor's transfer tracker and the transfer's plan, package log and risk
    assessment, one register each; and its audit programme with the findings, told
    apart by "Record Type" (in one file, so that the findings' audit is a record of
    the same push and not a placeholder concerning the whole vendor)."""
    files = [
        ("tech-transfers", "tech-transfer tracker", [_TRANSFERS]),
        ("transfer-milestones", "tech-transfer milestones", [_MILESTONES]),
        ("transfer-documents", "transfer package log (documents stay in its DMS)", [_DOCUMENTS]),
        ("transfer-risks", "transfer risk assessment", [_RISKS]),
        ("audits", "supplier audits and their findings with CAPAs", [_AUDITS, _FINDINGS]),
    ]
    exports = []
    for name, description, registers in files:
        rows: list[dict[str, str]] = []
        kinds: list[dict[str, Any]] = []
        for register in registers:
            records = [r for r in story.of_type(register.kind) if register.sponsor(r) == sponsor]
            if not records:
                continue
            typed = len(registers) > 1
            rows += [
                ({"Record Type": register.label} if typed else {}) | register.row(record)
                for record in records
            ]
            kinds.append(
                {"kind": register.kind.__name__}
                | ({"when": {"column": "Record Type", "equals": register.label}} if typed else {})
                | {"fields": register.fields}
            )
        if rows:
            profile = _profile(f"{sponsor} {description}", *kinds)
            filename = f"{sponsor}-{name}.csv"
            exports.append(_csv_export(sponsor, "qms.csv", filename, rows, profile))
    return exports


@dataclass(frozen=True, slots=True)
class _Register:
    """One lifecycle register of a sponsor's QMS: a row per record of ``kind``, a column
    per field (``fields``: profile field -> column), the cells as ``cells`` writes them."""

    label: str  # its "Record Type" where it shares a file
    kind: type[NodeRecord]
    fields: dict[str, str]
    cells: Callable[[Any], dict[str, str]] = field(repr=False)

    def sponsor(self, record: NodeRecord) -> str:
        return str(parse_id(record.id).parts[0])  # the sponsor, or the auditor

    def row(self, record: NodeRecord) -> dict[str, str]:
        cells = self.cells(record)
        return {column: cells[name] for name, column in self.fields.items()}


_TRANSFERS = _Register(
    "Tech Transfer",
    TechTransfer,
    {
        "vendor": "Vendor",
        "transfer_id": "Transfer ID",
        "title": "Title",
        "product": "Product",
        "site_code": "Receiving Site",
        "phase": "Phase",
        "started_on": "Start",
        "target_on": "Target",
        "completed_on": "Completed",
        "ppq_protocol_approved_on": "PPQ Protocol Approved",
        "ppq_lots_planned": "PPQ Lots Planned",
        "ppq_batches": "PPQ Lots",  # the receiving vendor's lot numbers
    },
    lambda t: {
        "vendor": t.vendor,
        "transfer_id": t.transfer_id,
        "title": t.title or "",
        "product": parse_id(t.product_id).parts[-1] if t.product_id else "",
        "site_code": t.site_code or "",
        "phase": _value(t.phase),
        "started_on": _day(t.started_on),
        "target_on": _day(t.target_on),
        "completed_on": _day(t.completed_on),
        "ppq_protocol_approved_on": _day(t.ppq_protocol_approved_on),
        "ppq_lots_planned": _number(t.ppq_lots_planned),
        "ppq_batches": ";".join(parse_id(lot).parts[-1] for lot in t.ppq_batch_ids),
    },
)
_PART = {"vendor": "Vendor", "transfer_id": "Transfer ID"}


def _part_cells(part: Milestone | TransferDocument | TransferRisk) -> dict[str, str]:
    return {"vendor": part.vendor, "transfer_id": part.transfer_id}


_MILESTONES = _Register(
    "Milestone",
    Milestone,
    {
        **_PART,
        "milestone_id": "Milestone",
        "name": "Name",
        "planned_on": "Planned",
        "done_on": "Done",
        "status": "Status",
        "owner_org": "Owner",
    },
    lambda m: {
        **_part_cells(m),
        "milestone_id": m.milestone_id,
        "name": m.name or "",
        "planned_on": _day(m.planned_on),
        "done_on": _day(m.done_on),
        "status": _value(m.status),
        "owner_org": m.owner_org or "",
    },
)
_DOCUMENTS = _Register(
    "Transfer Document",
    TransferDocument,
    {
        **_PART,
        "document_id": "Doc No",
        "title": "Title",
        "kind": "Type",
        "version": "Rev",
        "checksum": "SHA-256",
        "reference": "DMS Link",
        "sent_on": "Sent",
    },
    lambda d: {
        **_part_cells(d),
        "document_id": d.document_id,
        "title": d.title or "",
        "kind": _value(d.kind),
        "version": d.version or "",
        "checksum": d.checksum or "",
        "reference": d.reference or "",
        "sent_on": _day(d.sent_on),
    },
)
_RISKS = _Register(
    "Transfer Risk",
    TransferRisk,
    {
        **_PART,
        "risk_id": "Risk ID",
        "description": "Failure Mode",
        "severity": "Severity",
        "likelihood": "Occurrence",
        "mitigation": "Mitigation",
        "status": "Status",
    },
    lambda r: {
        **_part_cells(r),
        "risk_id": r.risk_id,
        "description": r.description or "",
        "severity": _value(r.severity),
        "likelihood": _value(r.likelihood),
        "mitigation": r.mitigation or "",
        "status": _value(r.status),
    },
)
_AUDITS = _Register(
    "Audit",
    Audit,
    {
        "vendor": "Supplier",
        "audit_id": "Audit No",
        "site_code": "Site",
        "audit_type": "Type",
        "started_on": "From",
        "ended_on": "To",
        "outcome": "Result",
    },
    lambda a: {
        "vendor": a.vendor,
        "audit_id": a.audit_id,
        "site_code": a.site_code or "",
        "audit_type": a.audit_type or "",
        "started_on": _day(a.started_on),
        "ended_on": _day(a.ended_on),
        "outcome": _value(a.outcome),
    },
)
_FINDINGS = _Register(
    "Audit Finding",
    AuditFinding,
    {
        "vendor": "Supplier",
        "audit_id": "Audit No",
        "finding_id": "Finding",
        "criticality": "Grade",
        "description": "Observation",
        "capa_id": "CAPA",
        "capa_due_on": "CAPA Due",
        "capa_status": "CAPA Status",
        "capa_closed_on": "CAPA Closed",
    },
    lambda f: {
        "vendor": f.vendor,
        "audit_id": f.audit_id,
        "finding_id": f.finding_id,
        "criticality": _value(f.criticality),
        "description": f.description or "",
        "capa_id": f.capa_id or "",
        "capa_due_on": _day(f.capa_due_on),
        "capa_status": _value(f.capa_status),
        "capa_closed_on": _day(f.capa_closed_on),
    },
)


# -- a lab's LIMS --------------------------------------------------------------------


def _lims_results(story: _Story, lab: str) -> Export:
    rows = []
    for result in story.of_type(TestResult):
        if result.lab != lab:
            continue
        lot = parse_id(result.batch_id) if result.batch_id else None
        rows.append(
            {
                "Result ID": result.result_id,
                "Lot": lot.parts[1] if lot else "",
                "Lot Owner": lot.parts[0] if lot else "",
                "Test": result.test or "",
                "Method": result.method or "",
                "Value": _number(result.value),
                "Unit": result.unit or "",
                "Spec Low": _number(result.spec_low),
                "Spec High": _number(result.spec_high),
                "Verdict": _value(result.verdict),
                "Tested On": _day(result.tested_on),
            }
        )
    profile = _profile(
        f"{lab} LIMS result export (certificate of analysis data)",
        {
            "kind": "TestResult",
            "fields": {
                "result_id": "Result ID",
                "batch": "Lot",
                "batch_maker": "Lot Owner",
                "test": "Test",
                "method": "Method",
                "value": "Value",
                "unit": "Unit",
                "spec_low": "Spec Low",
                "spec_high": "Spec High",
                "verdict": "Verdict",
                "tested_on": "Tested On",
            },
        },
    )
    return _csv_export(lab, "lims.csv", f"{lab}-results.csv", rows, profile)


# -- XML formats ---------------------------------------------------------------------


def _b2mml_lots(org: str, lots: list[Batch]) -> Export:
    """ISA-95 material lots as an MES publishes them (B2MML V0600 ShowMaterialLot)."""
    body = []
    for lot in lots:
        dates = [("ManufactureDate", lot.manufactured_on), ("ReleaseDate", lot.released_on)]
        properties = "".join(
            f"<MaterialLotProperty><ID>{name}</ID><Value><ValueString>{day.isoformat()}"
            "</ValueString></Value></MaterialLotProperty>"
            for name, day in dates
            if day is not None
        )
        body.append(
            "<MaterialLot>"
            f"<ID>{escape(lot.number)}</ID>"
            + (
                f"<HierarchyScope><EquipmentID>{escape(lot.site_code)}</EquipmentID><EquipmentElementLevel>Site"
                "</EquipmentElementLevel></HierarchyScope>"
                if lot.site_code
                else ""
            )
            + f"<MaterialDefinitionID>{escape(lot.material_code or '')}</MaterialDefinitionID>"
            f"<Status>{_value(lot.status).title()}</Status>"
            + properties
            + (
                f"<Quantity><QuantityString>{_number(lot.quantity)}</QuantityString>"
                f"<UnitOfMeasure>{escape(lot.unit or '')}</UnitOfMeasure></Quantity>"
                if lot.quantity is not None
                else ""
            )
            + "</MaterialLot>"
        )
    xml = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<ShowMaterialLot xmlns="http://www.mesa.org/xml/B2MML-V0600" releaseID="6.0">'
        "<DataArea><Show/>" + "".join(body) + "</DataArea></ShowMaterialLot>\n"
    )
    return Export(org, "mes.b2mml", f"{org}-material-lots.xml", xml.encode())


def _epcis_shipping(story: _Story, org: str, shipped: list[Edge]) -> Export:
    """One EPCIS 1.2 shipping ObjectEvent per delivery: the lot as an LGTIN class with
    its quantity, the consignee as the owning party at the destination."""
    events = []
    for edge in shipped:
        lot = story.batches[edge.source]
        consignee = parse_id(edge.target).parts[0]
        prefix, location = DISTRIBUTOR_LOCATIONS[consignee]
        assert lot.material_code and edge.occurred_on, "Cedar ships known packs on known days"
        lgtin = lgtin_class(lot.material_code, CEDAR_GS1_PREFIX, escape(lot.number))
        day = edge.occurred_on
        events.append(
            "<ObjectEvent>"
            f"<eventTime>{day.isoformat()}T15:00:00.000-05:00</eventTime>"
            "<eventTimeZoneOffset>-05:00</eventTimeZoneOffset>"
            "<epcList/><action>OBSERVE</action>"
            "<bizStep>urn:epcglobal:cbv:bizstep:shipping</bizStep>"
            "<disposition>urn:epcglobal:cbv:disp:in_transit</disposition>"
            "<extension><quantityList><quantityElement>"
            f"<epcClass>{lgtin}</epcClass>"
            f"<quantity>{_number(edge.quantity)}</quantity><uom>BO</uom>"
            "</quantityElement></quantityList>"
            "<destinationList><destination "
            'type="urn:epcglobal:cbv:sdt:owning_party">'
            f"urn:epc:id:sgln:{prefix}.{location}.0</destination></destinationList>"
            "</extension></ObjectEvent>"
        )
    xml = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<epcis:EPCISDocument xmlns:epcis="urn:epcglobal:epcis:xsd:1" schemaVersion="1.2" '
        'creationDate="2025-12-01T09:00:00Z"><EPCISBody><EventList>'
        + "".join(events)
        + "</EventList></EPCISBody></epcis:EPCISDocument>\n"
    )
    return Export(org, "supply.epcis", f"{org}-shipping-events.xml", xml.encode())


# -- cells ---------------------------------------------------------------------------


def _csv_export(
    org: str, connector: str, filename: str, rows: list[dict[str, str]], profile: dict[str, Any]
) -> Export:
    columns = list(dict.fromkeys(column for row in rows for column in row))
    out = io.StringIO()
    writer = csv.DictWriter(out, columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return Export(org, connector, filename, out.getvalue().encode(), {"profile": profile})


def _profile(description: str, *records: dict[str, Any]) -> dict[str, Any]:
    """A CSV profile whose dates are ISO 8601, as the demo writes them."""
    return {"description": description, "date_formats": ["iso"], "records": list(records)}


def _day(day: date | None) -> str:
    return day.isoformat() if day else ""


def _number(value: float | None) -> str:
    return "" if value is None else f"{value:g}" if value != int(value) else str(int(value))


def _value(member: Any) -> str:
    return "" if member is None else str(member.value)
