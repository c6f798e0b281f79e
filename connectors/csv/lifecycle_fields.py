"""The partnership lifecycle's record kinds a ``qms.csv`` profile can make.

Each two-party record (``graph.lifecycle``) is asserted by the organization its key
names first: the sponsor for a specification and a tech transfer with its parts, the
vendor for a change control, the auditor for an audit and its findings, the
inspected organization for an inspection. That field defaults to the organization
that pushed the file, as the lot kinds' owners do, so a sponsor's transfer export
needs only ``vendor`` and ``transfer_id`` columns; the other party is a column.

Status and enumeration words go through the profile's vocabularies
(``words.transfer_phase``, ...); a word no vocabulary knows is a located rejection
naming the column, as for the lot kinds.
"""

from __future__ import annotations

from typing import Annotated, Literal

from connectors.csv.cells import As, Choice
from connectors.csv.fields import (
    Day,
    Needed,
    NeededOrg,
    Number,
    Org,
    RecordsBase,
    Source,
    Strict,
    Text,
    Texts,
    Unit,
    about,
)
from graph.lifecycle import (
    Agency,
    AuditOutcome,
    CapaStatus,
    ChangeKind,
    ChangeStatus,
    Criticality,
    DocumentKind,
    InspectionOutcome,
    MilestoneStatus,
    RiskLevel,
    RiskStatus,
    TransferPhase,
)
from graph.model import ChangeClass

NeededDay = Annotated[Source, As.DATE]
# Optional fields read through one vocabulary of the profile's words each.
AuditOutcomeWord = Annotated[Source | None, Choice(AuditOutcome, "audit_outcome", "audit outcome")]
CapaStatusWord = Annotated[Source | None, Choice(CapaStatus, "capa_status", "CAPA status")]
ChangeClassWord = Annotated[
    Source | None, Choice(ChangeClass, "change_class", "change classification")
]
ChangeKindWord = Annotated[Source | None, Choice(ChangeKind, "change_kind", "change kind")]
ChangeStatusWord = Annotated[Source | None, Choice(ChangeStatus, "change_status", "change status")]
CriticalityWord = Annotated[Source | None, Choice(Criticality, "criticality", "criticality")]
DocumentKindWord = Annotated[Source | None, Choice(DocumentKind, "document_kind", "document kind")]
InspectionOutcomeWord = Annotated[
    Source | None, Choice(InspectionOutcome, "inspection_outcome", "inspection outcome")
]
MilestoneStatusWord = Annotated[
    Source | None, Choice(MilestoneStatus, "milestone_status", "milestone status")
]
RiskLevelWord = Annotated[Source | None, Choice(RiskLevel, "risk_level", "risk level")]
RiskStatusWord = Annotated[Source | None, Choice(RiskStatus, "risk_status", "risk status")]
TransferPhaseWord = Annotated[
    Source | None, Choice(TransferPhase, "transfer_phase", "transfer phase")
]


class SpecificationFields(Strict):
    sponsor: Org = about("sponsor")  # default: the organization that pushed the file
    product: Needed = about("product code", required=True)  # the sponsor's code
    test: Needed = about("test name", required=True)
    version: Needed = about("specification version", required=True)
    spec_low: Number = about("lower specification limit")
    spec_high: Number = about("upper specification limit")
    unit: Unit = about("limits' unit")
    effective_from: Day = about("effective from")
    effective_to: Day = about("effective to")


class TechTransferFields(Strict):
    sponsor: Org = about("sponsor")  # default: the organization that pushed the file
    vendor: NeededOrg = about("receiving vendor", required=True)
    transfer_id: Needed = about("transfer id", required=True)
    title: Text = about("transfer title")
    product: Text = about("product code")  # the sponsor's code
    site_code: Text = about("receiving site code")  # the vendor's site code
    phase: TransferPhaseWord = about("transfer phase")
    started_on: Day = about("started on")
    target_on: Day = about("target completion")
    completed_on: Day = about("completed on")
    ppq_protocol_approved_on: Day = about("PPQ protocol approved on")
    ppq_lots_planned: Number = about("PPQ lots planned")
    ppq_batches: Texts = about("PPQ lot numbers")  # the vendor's lot numbers


class _TransferPartFields(Strict):
    sponsor: Org = about("sponsor")  # default: the organization that pushed the file
    vendor: NeededOrg = about("receiving vendor", required=True)
    transfer_id: Needed = about("transfer id", required=True)


class MilestoneFields(_TransferPartFields):
    milestone_id: Needed = about("milestone id", required=True)
    name: Text = about("milestone name")
    planned_on: Day = about("planned on")
    done_on: Day = about("done on")
    status: MilestoneStatusWord = about("milestone status")
    owner_org: Org = about("responsible organization")


class TransferDocumentFields(_TransferPartFields):
    document_id: Needed = about("document id", required=True)
    title: Text = about("document title")
    kind: DocumentKindWord = about("document kind")
    version: Text = about("document version")
    checksum: Text = about("document checksum")
    reference: Text = about("document reference")
    sent_on: Day = about("sent on")


class TransferRiskFields(_TransferPartFields):
    risk_id: Needed = about("risk id", required=True)
    description: Text = about("risk description")
    severity: RiskLevelWord = about("severity")
    likelihood: RiskLevelWord = about("likelihood")
    mitigation: Text = about("mitigation")
    status: RiskStatusWord = about("risk status")


class ChangeControlFields(Strict):
    vendor: Org = about("vendor")  # default: the organization that pushed the file
    sponsor: NeededOrg = about("sponsor notified", required=True)
    change_id: Needed = about("change id", required=True)
    title: Text = about("change title")
    kind: ChangeKindWord = about("change kind")
    classification: ChangeClassWord = about("change classification")
    site_code: Text = about("site code")  # the vendor's site code
    product: Text = about("product code")  # the sponsor's code
    opened_on: Day = about("opened on")
    sponsor_approved_on: Day = about("sponsor approved on")
    implemented_on: Day = about("implemented on")
    status: ChangeStatusWord = about("change status")


class AuditFields(Strict):
    auditor: Org = about("auditor")  # default: the organization that pushed the file
    vendor: NeededOrg = about("audited vendor", required=True)
    audit_id: Needed = about("audit id", required=True)
    site_code: Text = about("audited site code")
    audit_type: Text = about("audit type")
    started_on: Day = about("started on")
    ended_on: Day = about("ended on")
    outcome: AuditOutcomeWord = about("audit outcome")


class AuditFindingFields(Strict):
    auditor: Org = about("auditor")  # default: the organization that pushed the file
    vendor: NeededOrg = about("audited vendor", required=True)
    audit_id: Needed = about("audit id", required=True)
    finding_id: Needed = about("finding id", required=True)
    criticality: CriticalityWord = about("criticality")
    description: Text = about("finding")
    capa_id: Text = about("CAPA id")
    capa_due_on: Day = about("CAPA due on")
    capa_status: CapaStatusWord = about("CAPA status")
    capa_closed_on: Day = about("CAPA closed on")


class InspectionFields(Strict):
    org: Org = about("inspected organization")  # default: the organization that pushed the file
    site_code: Needed = about("inspected site code", required=True)
    agency: Annotated[Source, Choice(Agency, "agency", "agency")] = about("agency", required=True)
    started_on: NeededDay = about("inspection start", required=True)
    ended_on: Day = about("inspection end")
    outcome: InspectionOutcomeWord = about("inspection outcome")
    observations: Number = about("observations")
    reference: Text = about("agency reference")


class SpecificationRecords(RecordsBase):
    kind: Literal["Specification"]
    fields: SpecificationFields


class TechTransferRecords(RecordsBase):
    kind: Literal["TechTransfer"]
    fields: TechTransferFields


class MilestoneRecords(RecordsBase):
    kind: Literal["Milestone"]
    fields: MilestoneFields


class TransferDocumentRecords(RecordsBase):
    kind: Literal["TransferDocument"]
    fields: TransferDocumentFields


class TransferRiskRecords(RecordsBase):
    kind: Literal["TransferRisk"]
    fields: TransferRiskFields


class ChangeControlRecords(RecordsBase):
    kind: Literal["ChangeControl"]
    fields: ChangeControlFields


class AuditRecords(RecordsBase):
    kind: Literal["Audit"]
    fields: AuditFields


class AuditFindingRecords(RecordsBase):
    kind: Literal["AuditFinding"]
    fields: AuditFindingFields


class InspectionRecords(RecordsBase):
    kind: Literal["Inspection"]
    fields: InspectionFields


LifecycleRecords = (
    SpecificationRecords
    | TechTransferRecords
    | MilestoneRecords
    | TransferDocumentRecords
    | TransferRiskRecords
    | ChangeControlRecords
    | AuditRecords
    | AuditFindingRecords
    | InspectionRecords
)
LIFECYCLE_KINDS = (
    "Specification",
    "TechTransfer",
    "Milestone",
    "TransferDocument",
    "TransferRisk",
    "ChangeControl",
    "Audit",
    "AuditFinding",
    "Inspection",
)
