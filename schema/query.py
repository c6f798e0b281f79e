"""The root Query: lookups, listings, lineage and impact.

Resolvers are thin: check the arguments, call one store read or a loader, wrap the
answer in its GraphQL type. Client mistakes become BAD_USER_INPUT errors that say
what was expected.
"""

from __future__ import annotations

from typing import Annotated, Protocol

import strawberry
from strawberry.types import Info

from graph import queries
from graph.ids import NodeKind, parse_id
from graph.lineage import Direction
from schema import compliance, lifecycle, oversight, readiness
from schema import specifications as against_specifications
from schema.context import context_of
from schema.errors import bad_input, checked_id
from schema.filters import AgreementFilter, BatchFilter, OrganizationFilter, ProductFilter
from schema.lineage import Impact, Lineage
from schema.nodes import (
    KIND_OF,
    Batch,
    GraphNode,
    Organization,
    Product,
    QualityAgreement,
    T,
    load_one,
)
from schema.pagination import Connection, decode_cursor, page_size

TYPE_OF_KIND = {kind: cls for cls, kind in KIND_OF.items()}

First = Annotated[
    int | None, strawberry.argument(description="Page size (default 50, at most 500).")
]
After = Annotated[
    str | None, strawberry.argument(description="The endCursor of the previous page.")
]


class Filter(Protocol):
    """A GraphQL filter input: it turns into the stores' typed filter."""

    def to_query(self) -> queries.Filter: ...


async def listing(
    info: Info,
    cls: type[T],
    filter_: Filter | None,
    first: int | None,
    after: str | None,
) -> Connection[T]:
    context = context_of(info)
    size = page_size(first, context.limits)
    after_id = decode_cursor(after)
    try:
        conditions = filter_.to_query().conditions() if filter_ is not None else ()
    except ValueError as error:
        raise bad_input(f"filter: {error}") from None
    page = await context.store.list_nodes(
        KIND_OF[cls], conditions, size, after_id, visibility=context.visibility
    )
    for stored in page.nodes:  # a later lookup of the same node needs no second read
        context.loaders.nodes.prime(stored.id, stored)
    return Connection.of(page, [cls.from_stored(stored) for stored in page.nodes], after=after)


@strawberry.type
class Query:
    @strawberry.field(description="Any node by its global id, e.g. batch:alder/A-2207.")
    async def node(self, info: Info, id: strawberry.ID) -> GraphNode | None:
        kind = parse_id(checked_id(id, None, "id")).kind
        cls = TYPE_OF_KIND.get(kind)
        return None if cls is None else await load_one(info, cls, id)

    @strawberry.field(description="A lot by id, e.g. batch:alder/A-2207; null if unknown.")
    async def batch(self, info: Info, id: strawberry.ID) -> Batch | None:
        return await load_one(info, Batch, checked_id(id, NodeKind.BATCH, "id"))

    @strawberry.field(description="Lots in id order, filtered.")
    async def batches(
        self,
        info: Info,
        filter: BatchFilter | None = None,
        first: First = None,
        after: After = None,
    ) -> Connection[Batch]:
        return await listing(info, Batch, filter, first, after)

    @strawberry.field
    async def product(self, info: Info, id: strawberry.ID) -> Product | None:
        return await load_one(info, Product, checked_id(id, NodeKind.PRODUCT, "id"))

    @strawberry.field
    async def products(
        self,
        info: Info,
        filter: ProductFilter | None = None,
        first: First = None,
        after: After = None,
    ) -> Connection[Product]:
        return await listing(info, Product, filter, first, after)

    @strawberry.field
    async def organization(self, info: Info, id: strawberry.ID) -> Organization | None:
        return await load_one(info, Organization, checked_id(id, NodeKind.ORGANIZATION, "id"))

    @strawberry.field
    async def organizations(
        self,
        info: Info,
        filter: OrganizationFilter | None = None,
        first: First = None,
        after: After = None,
    ) -> Connection[Organization]:
        return await listing(info, Organization, filter, first, after)

    @strawberry.field
    async def agreement(self, info: Info, id: strawberry.ID) -> QualityAgreement | None:
        return await load_one(
            info, QualityAgreement, checked_id(id, NodeKind.QUALITY_AGREEMENT, "id")
        )

    @strawberry.field
    async def agreements(
        self,
        info: Info,
        filter: AgreementFilter | None = None,
        first: First = None,
        after: After = None,
    ) -> Connection[QualityAgreement]:
        return await listing(info, QualityAgreement, filter, first, after)

    @strawberry.field(description="Genealogy of a lot, across vendors; null if the lot is unknown.")
    async def lineage(
        self,
        info: Info,
        batch_id: strawberry.ID,
        direction: Direction = Direction.UPSTREAM,
        max_depth: int = 10,
    ) -> Lineage | None:
        context = context_of(info)
        if not 0 <= max_depth <= context.limits.max_lineage_depth:
            raise bad_input(
                f"maxDepth: must be between 0 and {context.limits.max_lineage_depth}, got {max_depth}"
            )
        root = checked_id(batch_id, NodeKind.BATCH, "batchId")
        found = await context.store.lineage(
            root, direction, max_depth, visibility=context.visibility
        )
        return None if found is None else Lineage.of(found)

    @strawberry.field(description="Downstream batches, products, vendors and agreements of a lot.")
    async def impact(self, info: Info, batch_id: strawberry.ID) -> Impact | None:
        context = context_of(info)
        root = checked_id(batch_id, NodeKind.BATCH, "batchId")
        found = await context.store.impact(root, visibility=context.visibility)
        return None if found is None else Impact.of(found)

    # The partnership lifecycle (schema/lifecycle.py).
    @strawberry.field(description="A tech transfer by id, e.g. transfer:northwind/birch/TT-1.")
    async def tech_transfer(self, info: Info, id: strawberry.ID) -> lifecycle.TechTransfer | None:
        node_id = checked_id(id, NodeKind.TECH_TRANSFER, "id")
        return await load_one(info, lifecycle.TechTransfer, node_id)

    @strawberry.field(description="Tech transfers in id order, filtered.")
    async def tech_transfers(
        self,
        info: Info,
        filter: lifecycle.TechTransferFilter | None = None,
        first: First = None,
        after: After = None,
    ) -> Connection[lifecycle.TechTransfer]:
        return await listing(info, lifecycle.TechTransfer, filter, first, after)

    @strawberry.field(description="Specifications (every version) in id order, filtered.")
    async def specifications(
        self,
        info: Info,
        filter: lifecycle.SpecificationFilter | None = None,
        first: First = None,
        after: After = None,
    ) -> Connection[lifecycle.Specification]:
        return await listing(info, lifecycle.Specification, filter, first, after)

    @strawberry.field(description="Change controls in id order, filtered.")
    async def change_controls(
        self,
        info: Info,
        filter: lifecycle.ChangeControlFilter | None = None,
        first: First = None,
        after: After = None,
    ) -> Connection[lifecycle.ChangeControl]:
        return await listing(info, lifecycle.ChangeControl, filter, first, after)

    @strawberry.field(description="Sponsors' audits of vendors in id order, filtered.")
    async def audits(
        self,
        info: Info,
        filter: lifecycle.AuditFilter | None = None,
        first: First = None,
        after: After = None,
    ) -> Connection[lifecycle.Audit]:
        return await listing(info, lifecycle.Audit, filter, first, after)

    @strawberry.field(description="Agencies' inspections of sites in id order, filtered.")
    async def inspections(
        self,
        info: Info,
        filter: lifecycle.InspectionFilter | None = None,
        first: First = None,
        after: After = None,
    ) -> Connection[lifecycle.Inspection]:
        return await listing(info, lifecycle.Inspection, filter, first, after)

    # Vendor oversight: scorecards and control charts (schema/oversight.py).
    vendor_scorecards = oversight.vendor_scorecards
    vendor_scorecard = oversight.vendor_scorecard
    control_charts = oversight.control_charts
    # Results against the sponsor's specification in force (schema/specifications.py).
    specification_findings = against_specifications.specification_findings

    # Agreements and qualification: compliance gaps, qualifications (schema/compliance.py).
    compliance_gaps = compliance.compliance_gaps
    qualification = compliance.qualification
    qualifications = compliance.qualifications

    # Inspection readiness and process validation (schema/readiness.py).
    inspection_readiness = readiness.inspection_readiness
    process_validation = readiness.process_validation
