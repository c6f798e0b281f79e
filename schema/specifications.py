"""Results against the sponsor's specification in force, over GraphQL.

The rules are ``graph.quality.specifications``'s. ``TestResult.specification``,
``specVerdict`` and ``limitsMatchSpecification`` are fields of the result's type
(``schema.nodes``), resolved through ``Loaders.specification_in_force``: a page of
results costs the same few reads whatever its size (the tested lots, their products
directly and through their materials, the products' ``SPECIFIES`` edges, the
specifications). Only specifications the asker may read count: a lab not party to the
agreement naming a specification sees none.

A disagreement is a finding of its own, listed by ``specificationFindings`` rather than
folded into ``complianceGaps``: compliance judges how a lot was made (agreements,
qualifications, changes), this judges how it was tested, and the two are read by
different people (QA release vs. the lab's oversight). The listing reads the product's
specifications once (two reads) and then the product's results a scan of ``SCAN`` at a
time, in id order, until the page of findings is full (findings are few among results);
the cursor is the last finding's result, so the next page starts right after it.
"""

from __future__ import annotations

from typing import Annotated

import strawberry
from strawberry.types import Info

from graph import model
from graph.ids import NodeKind
from graph.model import EdgeKind
from graph.quality import specifications as rules
from graph.queries import PRODUCT_OF_BATCH, LinkedTo
from schema.context import context_of
from schema.errors import checked_id
from schema.lifecycle import Specification
from schema.nodes import TestResult, load_one
from schema.pagination import Connection, Edge, PageInfo, decode_cursor, encode_cursor, page_size

strawberry.enum(
    rules.FindingKind,
    description="What is wrong with a result against the sponsor's specification in force: "
    "LIMITS_DIFFER (the limits the lab reported are not the specification's), "
    "PASSES_REPORTED_FAILS_SPECIFICATION (within the lab's limits, out of the specification).",
)


@strawberry.type(description="A result that disagrees with the sponsor's specification in force.")
class SpecificationFinding:
    kinds: list[rules.FindingKind]
    result_id: strawberry.ID
    specification_id: strawberry.ID

    @strawberry.field(description="The result.")
    async def result(self, info: Info) -> TestResult | None:
        return await load_one(info, TestResult, self.result_id)

    @strawberry.field(description="The sponsor's specification in force on its test day.")
    async def specification(self, info: Info) -> Specification | None:
        return await load_one(info, Specification, self.specification_id)


SCAN = 500  # results read per store call while filling a page of findings


@strawberry.field(
    description="Results on a product's lots (of one vendor, if given) that disagree with "
    "the sponsor's specification in force on their test day: their reported limits differ "
    "from it, or they pass the lab's limits and fail it. In result id order. Tests are "
    "matched trimmed and case-insensitively; a result without a test day or with no "
    "specification in force is not listed. Only results and specifications the asker may "
    "read are judged."
)
async def specification_findings(
    info: Info,
    product_id: strawberry.ID,
    vendor_id: strawberry.ID | None = None,
    first: Annotated[
        int | None, strawberry.argument(description="Page size (default 50, at most 500).")
    ] = None,
    after: Annotated[
        str | None, strawberry.argument(description="The endCursor of the previous page.")
    ] = None,
) -> Connection[SpecificationFinding]:
    context = context_of(info)
    size = page_size(first, context.limits)
    product = checked_id(product_id, NodeKind.PRODUCT, "productId")
    conditions: list[LinkedTo] = [
        LinkedTo(tuple((EdgeKind.TESTED, *path) for path in PRODUCT_OF_BATCH), product)
    ]
    if vendor_id is not None:
        vendor = checked_id(vendor_id, NodeKind.ORGANIZATION, "vendorId")
        conditions.append(LinkedTo(((EdgeKind.TESTED, EdgeKind.MADE_BY),), vendor))
    specifications = await context.loaders.specifications_of([product])
    found: list[SpecificationFinding] = []
    cursor = decode_cursor(after)
    has_next = False
    while specifications:
        # Findings are few among results: scan pages of results until this page is full.
        page = await context.store.list_nodes(
            NodeKind.TEST_RESULT, conditions, SCAN, cursor, visibility=context.visibility
        )
        for stored in page.nodes:
            result = stored.record
            if not isinstance(result, model.TestResult):
                continue
            spec = rules.in_force(specifications, result.test, result.tested_on)
            finding = rules.findings(stored.id, result, spec)
            if finding is None:
                continue
            if len(found) == size:
                has_next = True
                break
            found.append(
                SpecificationFinding(
                    kinds=list(finding.kinds),
                    result_id=strawberry.ID(finding.result_id),
                    specification_id=strawberry.ID(finding.specification_id),
                )
            )
        if has_next or not page.has_next or not page.nodes:
            break
        cursor = page.nodes[-1].id
    edges = [Edge(cursor=encode_cursor(f.result_id), node=f) for f in found]
    return Connection(
        edges=edges,
        page_info=PageInfo(
            has_next_page=has_next,
            has_previous_page=after is not None,
            start_cursor=edges[0].cursor if edges else None,
            end_cursor=edges[-1].cursor if edges else None,
        ),
    )
