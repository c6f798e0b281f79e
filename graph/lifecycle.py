"""The partnership lifecycle: the sponsor's quality system around the lots.

What a sponsor's quality and regulatory people run a partnership by, as records of
the same kind as the lots (``graph.model``): each from one organization's export, with
its provenance, keyed so that the same fact pushed twice lands once.

- ``Specification``: the sponsor's limits for one test of one product, in force from
  one day to another; a quality agreement names the ones it binds (``COVERS``).
- ``TechTransfer`` to a receiving vendor's site, and its parts, each a record of its
  own so that a project tool's row per milestone, document or risk item lands as it
  is: ``Milestone``, ``TransferDocument`` (by reference, version and checksum),
  ``TransferRisk`` (the transfer's risk assessment, which EMA expects). The PPQ lots
  that verified the transfer are ``VERIFIED_BY`` edges.
- ``ChangeControl``: a vendor's change, as notified to one sponsor, with the day the
  sponsor approved it (if it did) and the day it was implemented.
- ``Audit`` of a vendor (site) by a sponsor, and its ``AuditFinding`` records, each
  with its CAPA.
- ``Inspection`` of a site by an agency (FDA, EMA, MHRA, ...), with its outcome.

**Who asserts and who reads** (``graph.trust``, ``graph.readers``): a record's id
names first the organization that asserts it, and for the two-party records second
the organization it is about, which reads it too: a transfer and its parts are the
sponsor's and read by the receiving vendor; a change is the vendor's and read by the
sponsor notified; an audit and its findings are the auditor's and read by the vendor
audited. A specification is the sponsor's and read by the parties of the sponsor's
agreements that name it. An inspection is the inspected organization's word about
itself (or the operator's, from the agency's public data) and, as the agencies publish
their outcomes, readable by every principal, like the site it concerns.

Dates that must come in order are checked here, so a record with a day out of order
is a located rejection naming the field wherever it comes from.
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from itertools import pairwise
from typing import Annotated, ClassVar

from pydantic import Field, model_validator

from graph.ids import NodeKind, make_id
from graph.model import (
    ChangeClass,
    EdgeKind,
    KeyPart,
    Link,
    NodeRecord,
    Slug,
)


class TransferPhase(StrEnum):
    PLANNING = "PLANNING"
    EXECUTION = "EXECUTION"
    VERIFICATION = "VERIFICATION"
    COMPLETE = "COMPLETE"


class MilestoneStatus(StrEnum):
    PLANNED = "PLANNED"
    IN_PROGRESS = "IN_PROGRESS"
    DONE = "DONE"
    CANCELLED = "CANCELLED"


class DocumentKind(StrEnum):
    SPECIFICATION = "SPECIFICATION"
    PROCESS_DESCRIPTION = "PROCESS_DESCRIPTION"
    ANALYTICAL_METHOD = "ANALYTICAL_METHOD"
    BATCH_RECORD_TEMPLATE = "BATCH_RECORD_TEMPLATE"
    REPORT = "REPORT"
    OTHER = "OTHER"


class RiskLevel(StrEnum):
    LOW = "LOW"
    MEDIUM = "MEDIUM"
    HIGH = "HIGH"


class RiskStatus(StrEnum):
    OPEN = "OPEN"
    MITIGATED = "MITIGATED"
    ACCEPTED = "ACCEPTED"
    CLOSED = "CLOSED"


class ChangeKind(StrEnum):
    PROCESS = "PROCESS"
    SITE = "SITE"
    SUPPLIER = "SUPPLIER"
    METHOD = "METHOD"
    SPECIFICATION = "SPECIFICATION"
    EQUIPMENT = "EQUIPMENT"


class ChangeStatus(StrEnum):
    OPEN = "OPEN"
    APPROVED = "APPROVED"
    IMPLEMENTED = "IMPLEMENTED"
    CLOSED = "CLOSED"
    REJECTED = "REJECTED"


class AuditOutcome(StrEnum):
    ACCEPTABLE = "ACCEPTABLE"
    ACCEPTABLE_WITH_CONDITIONS = "ACCEPTABLE_WITH_CONDITIONS"
    UNACCEPTABLE = "UNACCEPTABLE"


class Criticality(StrEnum):
    MINOR = "MINOR"
    MAJOR = "MAJOR"
    CRITICAL = "CRITICAL"


class CapaStatus(StrEnum):
    OPEN = "OPEN"
    IN_PROGRESS = "IN_PROGRESS"
    CLOSED = "CLOSED"


class Agency(StrEnum):
    FDA = "FDA"
    EMA = "EMA"  # and the EU member states' inspectorates acting for it
    MHRA = "MHRA"
    OTHER = "OTHER"


class InspectionOutcome(StrEnum):
    """FDA's classifications, and the EU/UK statements a GMP inspection ends in."""

    NAI = "NAI"  # no action indicated
    VAI = "VAI"  # voluntary action indicated
    OAI = "OAI"  # official action indicated
    GMP_COMPLIANT = "GMP_COMPLIANT"  # EU / UK GMP certificate
    NON_COMPLIANT = "NON_COMPLIANT"  # EU statement of non-compliance, MHRA likewise


# Outcomes after which a vendor site may not supply until it is resolved.
ADVERSE_OUTCOMES: frozenset[InspectionOutcome] = frozenset(
    {InspectionOutcome.OAI, InspectionOutcome.NON_COMPLIANT}
)

Count = Annotated[int, Field(ge=0)]


def _check_order(record: NodeRecord, *names: str) -> None:
    """Raise naming the later field when two of ``names`` (days, in the order they
    must come) are out of order."""
    days = [(name, getattr(record, name)) for name in names if getattr(record, name)]
    for (early, first), (late, second) in pairwise(days):
        if second < first:
            raise ValueError(f"{late} {second} is before {early} {first}")


class Specification(NodeRecord):
    """A sponsor's acceptance criterion for one test (CQA) of one product, in force
    from ``effective_from`` until ``effective_to`` (open-ended when None)."""

    KIND = NodeKind.SPECIFICATION
    KEY_FIELDS = ("sponsor", "product_code", "test", "version")

    sponsor: Slug
    product_code: KeyPart
    test: KeyPart
    version: KeyPart
    spec_low: float | None = None
    spec_high: float | None = None
    unit: str | None = None
    effective_from: date | None = None
    effective_to: date | None = None

    @model_validator(mode="after")
    def _limits_and_days_in_order(self) -> Specification:
        if (
            self.spec_low is not None
            and self.spec_high is not None
            and self.spec_low > self.spec_high
        ):
            raise ValueError(f"spec_low {self.spec_low} is above spec_high {self.spec_high}")
        _check_order(self, "effective_from", "effective_to")
        return self

    @property
    def product_id(self) -> str:
        return make_id(NodeKind.PRODUCT, self.sponsor, self.product_code)

    def in_force_on(self, day: date) -> bool:
        return (self.effective_from is None or self.effective_from <= day) and (
            self.effective_to is None or day <= self.effective_to
        )

    def implied_links(self, me: str) -> list[Link]:
        return [
            (me, EdgeKind.OWNED_BY, make_id(NodeKind.ORGANIZATION, self.sponsor)),
            (me, EdgeKind.SPECIFIES, self.product_id),
        ]


class TechTransfer(NodeRecord):
    """A sponsor's transfer of a product's process to a vendor's site."""

    KIND = NodeKind.TECH_TRANSFER
    KEY_FIELDS = ("sponsor", "vendor", "transfer_id")

    sponsor: Slug
    vendor: Slug
    transfer_id: KeyPart
    title: str | None = None
    product_id: str | None = None
    site_code: KeyPart | None = None  # the receiving site, one of the vendor's
    phase: TransferPhase | None = None
    started_on: date | None = None
    target_on: date | None = None  # planned completion
    completed_on: date | None = None
    # Stage 2 of process validation: the PPQ protocol's approval and the lots it plans.
    ppq_protocol_approved_on: date | None = None
    ppq_lots_planned: Count | None = None
    ppq_batch_ids: tuple[str, ...] = ()

    REF_FIELDS: ClassVar[dict[str, tuple[NodeKind, ...]]] = {
        "product_id": (NodeKind.PRODUCT,),
        "ppq_batch_ids": (NodeKind.BATCH,),
    }

    @model_validator(mode="after")
    def _days_in_order(self) -> TechTransfer:
        _check_order(self, "started_on", "completed_on")
        _check_order(self, "started_on", "target_on")
        return self

    def implied_links(self, me: str) -> list[Link]:
        edges = [(me, EdgeKind.VERIFIED_BY, lot) for lot in self.ppq_batch_ids]
        if self.product_id:
            edges.append((me, EdgeKind.TRANSFERS, self.product_id))
        if self.site_code:
            site = make_id(NodeKind.SITE, self.vendor, self.site_code)
            edges.append((me, EdgeKind.TRANSFERRED_TO, site))
        return edges


class TransferPart(NodeRecord):
    """Base of a transfer's milestones, documents and risk items: keyed under it."""

    KEY_FIELDS: ClassVar[tuple[str, ...]]

    sponsor: Slug
    vendor: Slug
    transfer_id: KeyPart

    @property
    def transfer(self) -> str:
        return make_id(NodeKind.TECH_TRANSFER, self.sponsor, self.vendor, self.transfer_id)

    def implied_links(self, me: str) -> list[Link]:
        return [(me, EdgeKind.WITHIN, self.transfer)]


class Milestone(TransferPart):
    KIND = NodeKind.MILESTONE
    KEY_FIELDS = ("sponsor", "vendor", "transfer_id", "milestone_id")

    milestone_id: KeyPart
    name: str | None = None
    planned_on: date | None = None
    done_on: date | None = None
    status: MilestoneStatus | None = None
    owner_org: Slug | None = None  # who is responsible: the sponsor or the vendor

    def overdue_on(self, today: date) -> bool:
        """Planned for before ``today`` and neither done nor cancelled."""
        finished = self.done_on is not None or self.status in (
            MilestoneStatus.DONE,
            MilestoneStatus.CANCELLED,
        )
        return not finished and self.planned_on is not None and self.planned_on < today


class TransferDocument(TransferPart):
    """A document handed over, by reference: the bytes stay in the sponsor's DMS."""

    KIND = NodeKind.TRANSFER_DOCUMENT
    KEY_FIELDS = ("sponsor", "vendor", "transfer_id", "document_id")

    document_id: KeyPart
    title: str | None = None
    kind: DocumentKind | None = None
    version: str | None = None
    checksum: str | None = None  # "sha256:<hex>" as the export gives it
    reference: str | None = None  # where the document lives (a DMS URI or number)
    sent_on: date | None = None


class TransferRisk(TransferPart):
    KIND = NodeKind.TRANSFER_RISK
    KEY_FIELDS = ("sponsor", "vendor", "transfer_id", "risk_id")

    risk_id: KeyPart
    description: str | None = None
    severity: RiskLevel | None = None
    likelihood: RiskLevel | None = None
    mitigation: str | None = None
    status: RiskStatus | None = None


class ChangeControl(NodeRecord):
    """A vendor's change as notified to one sponsor."""

    KIND = NodeKind.CHANGE_CONTROL
    KEY_FIELDS = ("vendor", "sponsor", "change_id")

    vendor: Slug
    sponsor: Slug
    change_id: KeyPart
    title: str | None = None
    kind: ChangeKind | None = None
    classification: ChangeClass | None = None
    site_code: KeyPart | None = None
    product_id: str | None = None
    opened_on: date | None = None
    sponsor_approved_on: date | None = None
    implemented_on: date | None = None
    status: ChangeStatus | None = None

    REF_FIELDS: ClassVar[dict[str, tuple[NodeKind, ...]]] = {"product_id": (NodeKind.PRODUCT,)}

    @model_validator(mode="after")
    def _days_in_order(self) -> ChangeControl:
        _check_order(self, "opened_on", "implemented_on")
        _check_order(self, "opened_on", "sponsor_approved_on")
        return self

    @property
    def site(self) -> str | None:
        return make_id(NodeKind.SITE, self.vendor, self.site_code) if self.site_code else None

    def approved_in_time(self) -> bool:
        """Approved by the sponsor no later than the day it was implemented."""
        return self.sponsor_approved_on is not None and (
            self.implemented_on is None or self.sponsor_approved_on <= self.implemented_on
        )

    def implied_links(self, me: str) -> list[Link]:
        edges = []
        if self.site:
            edges.append((me, EdgeKind.CONCERNS, self.site))
        if self.product_id:
            edges.append((me, EdgeKind.CONCERNS, self.product_id))
        return edges


class Audit(NodeRecord):
    """A sponsor's audit of a vendor (one of its sites)."""

    KIND = NodeKind.AUDIT
    KEY_FIELDS = ("auditor", "vendor", "audit_id")

    auditor: Slug
    vendor: Slug
    audit_id: KeyPart
    site_code: KeyPart | None = None
    audit_type: str | None = None  # routine, for cause, pre-approval, ...
    started_on: date | None = None
    ended_on: date | None = None
    outcome: AuditOutcome | None = None

    @model_validator(mode="after")
    def _days_in_order(self) -> Audit:
        _check_order(self, "started_on", "ended_on")
        return self

    def implied_links(self, me: str) -> list[Link]:
        target = (
            make_id(NodeKind.SITE, self.vendor, self.site_code)
            if self.site_code
            else make_id(NodeKind.ORGANIZATION, self.vendor)
        )
        return [(me, EdgeKind.CONCERNS, target)]

    def key_links(self, me: str) -> list[Link]:
        # An audit known only by id (named by a finding pushed apart) says nothing of
        # whether it was of one site or of the vendor as a whole.
        return []


class AuditFinding(NodeRecord):
    """One finding of an audit, with the CAPA that answers it."""

    KIND = NodeKind.AUDIT_FINDING
    KEY_FIELDS = ("auditor", "vendor", "audit_id", "finding_id")

    auditor: Slug
    vendor: Slug
    audit_id: KeyPart
    finding_id: KeyPart
    criticality: Criticality | None = None
    description: str | None = None
    capa_id: str | None = None
    capa_due_on: date | None = None
    capa_status: CapaStatus | None = None
    capa_closed_on: date | None = None

    @property
    def audit(self) -> str:
        return make_id(NodeKind.AUDIT, self.auditor, self.vendor, self.audit_id)

    def open(self) -> bool:
        return self.capa_status is not CapaStatus.CLOSED and self.capa_closed_on is None

    def open_on(self, day: date) -> bool:
        """Open on ``day``: not closed by then (a CAPA closed later was open that day)."""
        if self.capa_closed_on is not None:
            return self.capa_closed_on > day
        return self.open()

    def capa_overdue_on(self, today: date) -> bool:
        return self.open() and self.capa_due_on is not None and self.capa_due_on < today

    def implied_links(self, me: str) -> list[Link]:
        return [(me, EdgeKind.WITHIN, self.audit)]


class Inspection(NodeRecord):
    """An agency's inspection of one site, from its first day."""

    KIND = NodeKind.INSPECTION
    KEY_FIELDS = ("org", "site_code", "agency", "started_on")

    org: Slug
    site_code: KeyPart
    agency: Agency
    started_on: date
    ended_on: date | None = None
    outcome: InspectionOutcome | None = None
    observations: Count | None = None  # FDA 483 observations, or the EU/UK deficiencies
    reference: str | None = None  # the agency's own number for it

    @model_validator(mode="after")
    def _days_in_order(self) -> Inspection:
        _check_order(self, "started_on", "ended_on")
        return self

    @property
    def site(self) -> str:
        return make_id(NodeKind.SITE, self.org, self.site_code)

    def implied_links(self, me: str) -> list[Link]:
        return [(me, EdgeKind.CONCERNS, self.site)]


CHANGE_CLASS_ORDER = tuple(ChangeClass)  # MINOR < MAJOR < CRITICAL


def needs_approval(change: ChangeControl, approval_from: ChangeClass | None) -> bool:
    """Whether a change needs the sponsor's approval before it is implemented, under an
    agreement asking it from ``approval_from`` up (None: MAJOR, the common clause). A
    change of no classification needs it: unclassified is not known to be minor."""
    threshold = approval_from or ChangeClass.MAJOR
    if change.classification is None:
        return True
    return CHANGE_CLASS_ORDER.index(change.classification) >= CHANGE_CLASS_ORDER.index(threshold)


def unapproved(change: ChangeControl, approval_from: ChangeClass | None) -> bool:
    """Implemented without the sponsor's approval in time, where approval was needed."""
    return (
        change.implemented_on is not None
        and needs_approval(change, approval_from)
        and not change.approved_in_time()
    )
