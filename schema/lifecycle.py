"""The partnership lifecycle over GraphQL: specifications, tech transfers, change
controls, audits and inspections (``graph.lifecycle``).

Each is a node type like the lots, read through the request's loaders, and listed by a
Relay connection whose filters run inside the store (``graph.queries``). Who reads what
is the store's business (``graph.readers``): a listing or a link simply holds what the
asker may read.

Days that depend on "now" (is a milestone overdue, a CAPA late) take an ``asOf``
argument, today (UTC) by default, so that a report can be drawn as of any day.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated

import strawberry
from strawberry.types import Info

from graph import lifecycle, model, queries
from graph.ids import NodeKind, make_id
from graph.model import EdgeKind
from schema.nodes import (
    KIND_OF,
    Batch,
    GraphNode,
    Organization,
    Product,
    Site,
    linked,
    load_named,
    load_one,
    org_id,
)

for enumeration in (
    model.ValidationStage,
    model.ChangeClass,
    lifecycle.TransferPhase,
    lifecycle.MilestoneStatus,
    lifecycle.DocumentKind,
    lifecycle.RiskLevel,
    lifecycle.RiskStatus,
    lifecycle.ChangeKind,
    lifecycle.ChangeStatus,
    lifecycle.AuditOutcome,
    lifecycle.Criticality,
    lifecycle.CapaStatus,
    lifecycle.Agency,
    lifecycle.InspectionOutcome,
):
    strawberry.enum(enumeration)

AsOf = Annotated[
    date | None, strawberry.argument(description="The day to judge on; today (UTC) if omitted.")
]


def judged_on(day: date | None) -> date:
    return day or datetime.now(UTC).date()


def site_of(org: str, code: str | None) -> str | None:
    return make_id(NodeKind.SITE, org, code) if code else None


@strawberry.type(
    description="The sponsor's acceptance criterion for one test (CQA) of one product, in "
    "force from effectiveFrom to effectiveTo (inclusive; open-ended when null). Results are "
    "judged against the one in force on their test day. Read by the sponsor and the parties "
    "of its agreements that name it."
)
class Specification(GraphNode):
    test: str
    version: str
    spec_low: float | None = None
    spec_high: float | None = None
    unit: str | None = None
    effective_from: date | None = None
    effective_to: date | None = None

    @property
    def record(self) -> lifecycle.Specification:
        assert isinstance(self.stored.record, lifecycle.Specification)
        return self.stored.record

    @strawberry.field
    async def sponsor(self, info: Info) -> Organization | None:
        return await load_one(info, Organization, org_id(self.record.sponsor))

    @strawberry.field
    async def product(self, info: Info) -> Product | None:
        return await load_one(info, Product, self.record.product_id)


@strawberry.type(description="A step of a tech transfer, planned and as done.")
class Milestone(GraphNode):
    milestone_id: str
    name: str | None = None
    planned_on: date | None = None
    done_on: date | None = None
    status: lifecycle.MilestoneStatus | None = None

    @property
    def record(self) -> lifecycle.Milestone:
        assert isinstance(self.stored.record, lifecycle.Milestone)
        return self.stored.record

    @strawberry.field(description="Who is responsible for it: the sponsor or the vendor.")
    async def owner(self, info: Info) -> Organization | None:
        return await load_one(info, Organization, org_id(self.record.owner_org))

    @strawberry.field(description="Planned before asOf and neither done nor cancelled.")
    def overdue(self, as_of: AsOf = None) -> bool:
        return self.record.overdue_on(judged_on(as_of))


@strawberry.type(
    description="A document handed over in a tech transfer, by reference: the bytes stay "
    "in the sponsor's document system; version and checksum say which ones."
)
class TransferDocument(GraphNode):
    document_id: str
    title: str | None = None
    kind: lifecycle.DocumentKind | None = None
    version: str | None = None
    checksum: str | None = None
    reference: str | None = None
    sent_on: date | None = None


@strawberry.type(description="An item of a tech transfer's risk assessment.")
class TransferRisk(GraphNode):
    risk_id: str
    description: str | None = None
    severity: lifecycle.RiskLevel | None = None
    likelihood: lifecycle.RiskLevel | None = None
    mitigation: str | None = None
    status: lifecycle.RiskStatus | None = None


@strawberry.type(description="How far a tech transfer has come, as of a day.")
class TransferProgress:
    milestones_total: int
    milestones_done: int
    milestones_overdue: int
    ppq_lots_planned: int | None
    ppq_lots_released: int = strawberry.field(
        description="PPQ lots of the transfer released (status RELEASED), as the asker reads them."
    )
    complete: bool = strawberry.field(description="Phase COMPLETE, or completed on a day.")


@strawberry.type(
    description="A sponsor's transfer of a product's process to a vendor's site: its "
    "milestones, documents, risk assessment and the PPQ lots that verified it. Read by the "
    "sponsor and the receiving vendor."
)
class TechTransfer(GraphNode):
    transfer_id: str
    title: str | None = None
    phase: lifecycle.TransferPhase | None = None
    started_on: date | None = None
    target_on: date | None = strawberry.field(default=None, description="Planned completion.")
    completed_on: date | None = None
    ppq_protocol_approved_on: date | None = None
    ppq_lots_planned: int | None = None

    @property
    def record(self) -> lifecycle.TechTransfer:
        assert isinstance(self.stored.record, lifecycle.TechTransfer)
        return self.stored.record

    @strawberry.field
    async def sponsor(self, info: Info) -> Organization | None:
        return await load_one(info, Organization, org_id(self.record.sponsor))

    @strawberry.field(description="The receiving vendor.")
    async def vendor(self, info: Info) -> Organization | None:
        return await load_one(info, Organization, org_id(self.record.vendor))

    @strawberry.field
    async def product(self, info: Info) -> Product | None:
        return await load_one(info, Product, self.record.product_id)

    @strawberry.field(description="The receiving site.")
    async def site(self, info: Info) -> Site | None:
        return await load_one(info, Site, site_of(self.record.vendor, self.record.site_code))

    @strawberry.field(description="Milestones in planned order.")
    async def milestones(self, info: Info) -> list[Milestone]:
        found = await linked(info, Milestone, self.id, EdgeKind.WITHIN, outgoing=False)
        return sorted(found, key=lambda m: (m.planned_on or date.max, m.milestone_id))

    @strawberry.field
    async def documents(self, info: Info) -> list[TransferDocument]:
        return await linked(info, TransferDocument, self.id, EdgeKind.WITHIN, outgoing=False)

    @strawberry.field(description="The transfer's risk assessment, item by item.")
    async def risks(self, info: Info) -> list[TransferRisk]:
        return await linked(info, TransferRisk, self.id, EdgeKind.WITHIN, outgoing=False)

    @strawberry.field(description="The PPQ lots that verified the transfer.")
    async def ppq_batches(self, info: Info) -> list[Batch]:
        return await linked(info, Batch, self.id, EdgeKind.VERIFIED_BY, outgoing=True)

    @strawberry.field
    async def progress(self, info: Info, as_of: AsOf = None) -> TransferProgress:
        day = judged_on(as_of)
        milestones = [m.record for m in await self.milestones(info)]
        lots = await self.ppq_batches(info)
        record = self.record
        return TransferProgress(
            milestones_total=len(milestones),
            milestones_done=sum(
                1
                for m in milestones
                if m.done_on is not None or m.status is lifecycle.MilestoneStatus.DONE
            ),
            milestones_overdue=sum(1 for m in milestones if m.overdue_on(day)),
            ppq_lots_planned=record.ppq_lots_planned,
            ppq_lots_released=sum(1 for lot in lots if lot.status is model.BatchStatus.RELEASED),
            complete=record.phase is lifecycle.TransferPhase.COMPLETE
            or record.completed_on is not None,
        )


@strawberry.type(
    description="A vendor's change, as notified to one sponsor: what it changes, how it is "
    "classified, and when it was opened, approved by the sponsor and implemented. Read by "
    "the vendor and that sponsor."
)
class ChangeControl(GraphNode):
    change_id: str
    title: str | None = None
    kind: lifecycle.ChangeKind | None = None
    classification: model.ChangeClass | None = None
    opened_on: date | None = None
    sponsor_approved_on: date | None = None
    implemented_on: date | None = None
    status: lifecycle.ChangeStatus | None = None

    @property
    def record(self) -> lifecycle.ChangeControl:
        assert isinstance(self.stored.record, lifecycle.ChangeControl)
        return self.stored.record

    @strawberry.field
    async def vendor(self, info: Info) -> Organization | None:
        return await load_one(info, Organization, org_id(self.record.vendor))

    @strawberry.field(description="The sponsor notified, whose approval it needs.")
    async def sponsor(self, info: Info) -> Organization | None:
        return await load_one(info, Organization, org_id(self.record.sponsor))

    @strawberry.field
    async def site(self, info: Info) -> Site | None:
        return await load_one(info, Site, self.record.site)

    @strawberry.field
    async def product(self, info: Info) -> Product | None:
        return await load_one(info, Product, self.record.product_id)

    @strawberry.field(
        description="Approved by the sponsor no later than the day it was implemented."
    )
    def approved_in_time(self) -> bool:
        return self.record.approved_in_time()


@strawberry.type(description="A finding of an audit, with the CAPA that answers it.")
class AuditFinding(GraphNode):
    finding_id: str
    criticality: lifecycle.Criticality | None = None
    description: str | None = None
    capa_id: str | None = None
    capa_due_on: date | None = None
    capa_status: lifecycle.CapaStatus | None = None
    capa_closed_on: date | None = None

    @property
    def record(self) -> lifecycle.AuditFinding:
        assert isinstance(self.stored.record, lifecycle.AuditFinding)
        return self.stored.record

    @strawberry.field(description="The CAPA is open and its due day is before asOf.")
    def capa_overdue(self, as_of: AsOf = None) -> bool:
        return self.record.capa_overdue_on(judged_on(as_of))

    @strawberry.field
    async def audit(self, info: Info) -> Audit | None:
        return await load_one(info, Audit, self.record.audit)


@strawberry.type(
    description="A sponsor's audit of a vendor (one of its sites) and its findings. Read by "
    "the auditor and the vendor audited."
)
class Audit(GraphNode):
    audit_id: str
    audit_type: str | None = None
    started_on: date | None = None
    ended_on: date | None = None
    outcome: lifecycle.AuditOutcome | None = None

    @property
    def record(self) -> lifecycle.Audit:
        assert isinstance(self.stored.record, lifecycle.Audit)
        return self.stored.record

    @strawberry.field
    async def auditor(self, info: Info) -> Organization | None:
        return await load_one(info, Organization, org_id(self.record.auditor))

    @strawberry.field
    async def vendor(self, info: Info) -> Organization | None:
        return await load_one(info, Organization, org_id(self.record.vendor))

    @strawberry.field
    async def site(self, info: Info) -> Site | None:
        return await load_one(info, Site, site_of(self.record.vendor, self.record.site_code))

    @strawberry.field(description="Findings, most critical first.")
    async def findings(self, info: Info) -> list[AuditFinding]:
        found = await linked(info, AuditFinding, self.id, EdgeKind.WITHIN, outgoing=False)
        order = list(lifecycle.Criticality)[::-1]
        return sorted(
            found,
            key=lambda f: (order.index(f.criticality) if f.criticality else 3, f.finding_id),
        )


@strawberry.type(
    description="An agency's inspection of a site (FDA, EMA, MHRA, ...), from its first "
    "day, with its outcome and the number of observations. Public record: read by everyone."
)
class Inspection(GraphNode):
    agency: lifecycle.Agency
    started_on: date
    ended_on: date | None = None
    outcome: lifecycle.InspectionOutcome | None = None
    observations: int | None = None
    reference: str | None = None

    @property
    def record(self) -> lifecycle.Inspection:
        assert isinstance(self.stored.record, lifecycle.Inspection)
        return self.stored.record

    @strawberry.field(description="The inspected organization (named by the public record).")
    async def organization(self, info: Info) -> Organization | None:
        return await load_named(info, Organization, org_id(self.record.org))

    @strawberry.field(description="The inspected site (named by the public record).")
    async def site(self, info: Info) -> Site | None:
        return await load_named(info, Site, self.record.site)


KIND_OF.update(
    {
        Specification: NodeKind.SPECIFICATION,
        TechTransfer: NodeKind.TECH_TRANSFER,
        Milestone: NodeKind.MILESTONE,
        TransferDocument: NodeKind.TRANSFER_DOCUMENT,
        TransferRisk: NodeKind.TRANSFER_RISK,
        ChangeControl: NodeKind.CHANGE_CONTROL,
        Audit: NodeKind.AUDIT,
        AuditFinding: NodeKind.AUDIT_FINDING,
        Inspection: NodeKind.INSPECTION,
    }
)


# Filters (GraphQL inputs, turned into the stores' typed filters in graph.queries).


@strawberry.input(description="Every given field must match; omitted fields do not filter.")
class SpecificationFilter:
    sponsor: strawberry.ID | None = None
    product: strawberry.ID | None = None
    test: str | None = None

    def to_query(self) -> queries.SpecificationFilter:
        return queries.SpecificationFilter(self.sponsor, self.product, self.test)


@strawberry.input(description="Every given field must match; omitted fields do not filter.")
class TechTransferFilter:
    sponsor: strawberry.ID | None = None
    vendor: strawberry.ID | None = strawberry.field(
        default=None, description="The receiving vendor."
    )
    product: strawberry.ID | None = None
    phase: lifecycle.TransferPhase | None = None

    def to_query(self) -> queries.TechTransferFilter:
        return queries.TechTransferFilter(self.sponsor, self.vendor, self.product, self.phase)


@strawberry.input(description="Every given field must match; omitted fields do not filter.")
class ChangeControlFilter:
    vendor: strawberry.ID | None = None
    sponsor: strawberry.ID | None = None
    product: strawberry.ID | None = None
    site: strawberry.ID | None = None
    status: lifecycle.ChangeStatus | None = None

    def to_query(self) -> queries.ChangeControlFilter:
        return queries.ChangeControlFilter(
            self.vendor, self.sponsor, self.product, self.site, self.status
        )


@strawberry.input(description="Every given field must match; omitted fields do not filter.")
class AuditFilter:
    auditor: strawberry.ID | None = None
    vendor: strawberry.ID | None = None
    site: strawberry.ID | None = None

    def to_query(self) -> queries.AuditFilter:
        return queries.AuditFilter(self.auditor, self.vendor, self.site)


@strawberry.input(description="Every given field must match; omitted fields do not filter.")
class InspectionFilter:
    organization: strawberry.ID | None = None
    site: strawberry.ID | None = None
    agency: lifecycle.Agency | None = None
    outcome: lifecycle.InspectionOutcome | None = None

    def to_query(self) -> queries.InspectionFilter:
        return queries.InspectionFilter(self.organization, self.site, self.agency, self.outcome)
