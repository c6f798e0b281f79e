"""Compliance over GraphQL: ``complianceGaps``, qualifications, and the verdict on a lot.

Root fields (``Query`` takes them from here): ``complianceGaps`` (one store read as
the asking principal, ``graph.quality.compliance`` says how lots are judged and who sees a
verdict), ``qualification`` and ``qualifications``. ``Batch.complianceGaps`` and the
lineage's flags go through the request's ``compliance`` loader, so a lineage of 50
lots costs one judgement read for all of them; ``ComplianceGap``, the type of a lot's
field, is with the node types in ``schema.nodes``.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated

import strawberry
from strawberry.types import Info

from graph import model, queries
from graph.ids import NodeKind
from graph.quality import compliance
from schema.context import context_of
from schema.errors import bad_input, checked_id
from schema.nodes import Batch, ComplianceGap, Qualification, load_one
from schema.pagination import Connection, Edge, PageInfo, decode_cursor, encode_cursor, page_size

_ARGUMENTS = {"product": "productId", "vendor": "vendorId", "site": "siteId"}


@strawberry.type(description="A lot with at least one compliance gap.")
class NonCompliantBatch:
    id: strawberry.ID = strawberry.field(description="The lot's batch id.")
    manufactured_on: date | None
    gaps: list[ComplianceGap]

    @strawberry.field
    async def batch(self, info: Info) -> Batch | None:
        return await load_one(info, Batch, self.id)

    @classmethod
    def of(cls, lot: compliance.NonCompliantLot) -> NonCompliantBatch:
        return cls(
            id=strawberry.ID(lot.batch_id),
            manufactured_on=lot.manufactured_on,
            gaps=[ComplianceGap.of(gap) for gap in lot.gaps],
        )


_RULES = (
    "A lot is judged for each sponsor product it is for (directly or through its "
    "material); a lot as received at a partner is judged at its maker instead. It is "
    "covered when an agreement of the product's sponsor with its maker, covering the "
    "product for MANUFACTURE or "
    "PACKAGING, covering its site (or listing no sites), with status EFFECTIVE or EXPIRED, "
    "has effectiveFrom <= manufacturedOn <= effectiveTo (both inclusive; no effectiveTo: "
    "open). The sponsor's qualification of its maker and of its site (those that exist, "
    "at least one) must be APPROVED with validUntil >= manufacturedOn (inclusive). A lot "
    "without a manufacturing date is always listed (UNKNOWN_DATE), whatever from and to. "
    "Only lots the asker made, or of products it sponsors, are judged, against the "
    "agreements and qualifications it may read."
)


@strawberry.field(
    description="Lots made without a quality agreement in force or by a vendor or site not "
    "fully qualified, with every reason, in batch id order. Give productId, vendorId or "
    "siteId (all given must hold). " + _RULES
)
async def compliance_gaps(
    info: Info,
    product_id: strawberry.ID | None = None,
    vendor_id: strawberry.ID | None = None,
    site_id: strawberry.ID | None = None,
    from_: Annotated[
        date | None,
        strawberry.argument(name="from", description="Made on or after (inclusive)."),
    ] = None,
    to: Annotated[
        date | None, strawberry.argument(description="Made on or before (inclusive).")
    ] = None,
    first: Annotated[
        int | None, strawberry.argument(description="Page size (default 50, at most 500).")
    ] = None,
    after: Annotated[
        str | None, strawberry.argument(description="The endCursor of the previous page.")
    ] = None,
) -> Connection[NonCompliantBatch]:
    context = context_of(info)
    size = page_size(first, context.limits)
    after_id = decode_cursor(after)
    for value, kind, argument in (
        (product_id, NodeKind.PRODUCT, "productId"),
        (vendor_id, NodeKind.ORGANIZATION, "vendorId"),
        (site_id, NodeKind.SITE, "siteId"),
    ):
        if value is not None:
            checked_id(value, kind, argument)
    try:
        scope = compliance.ComplianceScope(
            product=product_id, vendor=vendor_id, site=site_id, made_from=from_, made_to=to
        )
    except ValueError as error:
        message = str(error)
        for name, argument in _ARGUMENTS.items():
            message = message.replace(f"{name}: ", f"{argument}: ", 1)
        if message.startswith("give a product"):
            message = "give productId, vendorId or siteId: which lots to check"
        raise bad_input(message) from None
    page = await context.store.compliance_gaps(scope, size, after_id, visibility=context.visibility)
    edges = [
        Edge(cursor=encode_cursor(lot.batch_id), node=NonCompliantBatch.of(lot))
        for lot in page.lots
    ]
    return Connection(
        edges=edges,
        page_info=PageInfo(
            has_next_page=page.has_next,
            has_previous_page=after is not None,
            start_cursor=edges[0].cursor if edges else None,
            end_cursor=edges[-1].cursor if edges else None,
        ),
    )


@strawberry.field(description="A qualification by id, e.g. qualification:northwind/birch/CRK-1.")
async def qualification(info: Info, id: strawberry.ID) -> Qualification | None:
    return await load_one(info, Qualification, checked_id(id, NodeKind.QUALIFICATION, "id"))


@strawberry.input(description="Every given field must match; omitted fields do not filter.")
class QualificationFilter:
    vendor: strawberry.ID | None = strawberry.field(
        default=None, description="Organization id of the qualified vendor, e.g. org:birch."
    )
    status: model.QualificationStatus | None = None


@strawberry.field(description="Qualifications of vendors and their sites, in id order.")
async def qualifications(
    info: Info,
    filter: QualificationFilter | None = None,
    first: Annotated[
        int | None, strawberry.argument(description="Page size (default 50, at most 500).")
    ] = None,
    after: Annotated[
        str | None, strawberry.argument(description="The endCursor of the previous page.")
    ] = None,
) -> Connection[Qualification]:
    context = context_of(info)
    size = page_size(first, context.limits)
    after_id = decode_cursor(after)
    try:
        conditions = (
            ()
            if filter is None
            else queries.QualificationFilter(
                vendor=filter.vendor, status=filter.status
            ).conditions()
        )
    except ValueError as error:
        raise bad_input(f"filter: {error}") from None
    page = await context.store.list_nodes(
        NodeKind.QUALIFICATION, conditions, size, after_id, visibility=context.visibility
    )
    for stored in page.nodes:  # a later lookup of the same node needs no second read
        context.loaders.nodes.prime(stored.id, stored)
    return Connection.of(
        page, [Qualification.from_stored(stored) for stored in page.nodes], after=after
    )
