"""Inspection readiness and process validation over GraphQL (``graph.quality.readiness``,
``graph.quality.validation``).

Two root fields (``Query`` takes them from here). Each reads as the asker, in a fixed
number of store reads, then judges: the rules and thresholds are in those modules'
docstrings and, in short, in the field descriptions. A check's evidence is the nodes
behind its verdict, each with the records it came from; a node the asker may not read
is never evidence.

``inspectionReadiness`` judges one vendor (site) for one product: the vendor is the
site's when only a site is named, the product's only vendor when only a product is.
Without a product the checks are judged over everything the asker may read of the
vendor: a CMO asking about itself sees its readiness across its sponsors, and passes a
``productId`` for one sponsor's product.
"""

from __future__ import annotations

from datetime import date

import strawberry
from strawberry.types import Info

from graph.ids import NodeKind
from graph.quality import readiness as rules
from graph.quality import validation
from schema.context import context_of
from schema.errors import bad_input, checked_id
from schema.lifecycle import AsOf, judged_on
from schema.nodes import Organization, Product, Provenance, Site, load_one

strawberry.enum(rules.CheckStatus, name="CheckStatus", description="PASS < WARN < FAIL.")
strawberry.enum(
    validation.Stage,
    name="ProcessValidationStage",
    description="The FDA's process validation stages (2011 guidance).",
)


@strawberry.type(description="A node behind a verdict, with the records it came from.")
class Evidence:
    id: strawberry.ID
    kind: str = strawberry.field(description="The node's kind, e.g. Audit, QualityAgreement.")
    sources: list[Provenance]

    @classmethod
    def of(cls, evidence: rules.Evidence) -> Evidence:
        return cls(
            id=strawberry.ID(evidence.id),
            kind=evidence.kind.value,
            sources=[Provenance.parse(ref) for ref in evidence.sources],
        )


@strawberry.type(
    description="One check: its verdict, the evidence for it and a message for people."
)
class ReadinessCheck:
    name: str
    status: rules.CheckStatus
    evidence: list[Evidence]
    message: str

    @classmethod
    def of(cls, check: rules.Check) -> ReadinessCheck:
        return cls(
            name=check.name,
            status=check.status,
            evidence=[Evidence.of(item) for item in check.evidence],
            message=check.message,
        )


@strawberry.type(
    description="How a vendor (site) would fare in an inspection for one product, on asOf: "
    "the checks agreement, qualification, last_audit, findings, deviations, changes, ppq, "
    "milestones, cpv, inspections and audit_trail; status is the worst of them."
)
class InspectionReadiness:
    found: strawberry.Private[rules.Readiness]
    as_of: date
    status: rules.CheckStatus
    checks: list[ReadinessCheck]

    @strawberry.field
    async def vendor(self, info: Info) -> Organization | None:
        return await load_one(info, Organization, self.found.vendor)

    @strawberry.field
    async def site(self, info: Info) -> Site | None:
        return None if self.found.site is None else await load_one(info, Site, self.found.site)

    @strawberry.field
    async def product(self, info: Info) -> Product | None:
        product = self.found.product
        return None if product is None else await load_one(info, Product, product)

    @classmethod
    def of(cls, found: rules.Readiness) -> InspectionReadiness:
        return cls(
            found=found,
            as_of=found.as_of,
            status=found.status,
            checks=[ReadinessCheck.of(check) for check in found.checks],
        )


@strawberry.type(description="One stage of process validation: its checks and the worst of them.")
class ProcessValidationStageReport:
    stage: validation.Stage
    status: rules.CheckStatus
    checks: list[ReadinessCheck]


def _optional_id(value: strawberry.ID | None, kind: NodeKind, argument: str) -> str | None:
    return None if value is None else checked_id(value, kind, argument)


@strawberry.field(
    description="Inspection readiness of a vendor (site) for a product, as of a day (today "
    "by default). Give at least one of vendorId, siteId, productId; all given must hold "
    "together (a site is its vendor's; a product alone must have one vendor). Without a "
    "product, the checks are judged over every product of the vendor the asker may read. "
    "Read as the asker: a check over what it may not read has no evidence."
)
async def inspection_readiness(
    info: Info,
    vendor_id: strawberry.ID | None = None,
    site_id: strawberry.ID | None = None,
    product_id: strawberry.ID | None = None,
    as_of: AsOf = None,
) -> InspectionReadiness:
    context = context_of(info)
    vendor = _optional_id(vendor_id, NodeKind.ORGANIZATION, "vendorId")
    site = _optional_id(site_id, NodeKind.SITE, "siteId")
    product = _optional_id(product_id, NodeKind.PRODUCT, "productId")
    try:
        found = await rules.readiness(
            context.store,
            vendor=vendor,
            site=site,
            product=product,
            as_of=judged_on(as_of),
            visibility=context.visibility,
            audit_trail=context.audit_trail,
        )
    except ValueError as error:
        raise bad_input(str(error)) from None
    return InspectionReadiness.of(found)


@strawberry.field(
    description="Process validation of a product (at one site), stage by stage, as of a "
    "day (today by default): stage 1 every measured test has a specification in force; "
    "stage 2 the PPQ protocol approved, the planned PPQ lots released, their results "
    "within specification; stage 3 control charts in control and capable."
)
async def process_validation(
    info: Info,
    product_id: strawberry.ID,
    site_id: strawberry.ID | None = None,
    as_of: AsOf = None,
) -> list[ProcessValidationStageReport]:
    context = context_of(info)
    product = checked_id(product_id, NodeKind.PRODUCT, "productId")
    site = _optional_id(site_id, NodeKind.SITE, "siteId")
    reports = await validation.process_validation(
        context.store,
        product=product,
        site=site,
        as_of=judged_on(as_of),
        visibility=context.visibility,
    )
    return [
        ProcessValidationStageReport(
            stage=report.stage,
            status=report.status,
            checks=[ReadinessCheck.of(check) for check in report.checks],
        )
        for report in reports
    ]
