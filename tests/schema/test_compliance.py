"""Compliance over the API, on the demo story and each store: complianceGaps, the verdict
on a lot and across a genealogy, qualifications, who sees what, and clear errors."""

from __future__ import annotations

from typing import Any

import pytest

from graph.ids import NodeKind, make_id
from graph.store import GraphStore
from hub.demo.story import (
    EXPIRED_AGREEMENT_ID,
    FINISHED_LOT_ID,
    GAP_BATCH_ID,
    OAKRIDGE_BATCH_ID,
    TABLET_PRODUCT_ID,
)
from tests.schema.conftest import GraphQLClient, error_codes
from tests.schema.test_scoping import client
from tests.tokens import TokenSource

AFTER_THE_END = [
    make_id(NodeKind.BATCH, "birch", number) for number in ("BT-25-041", "BT-25-048", "BT-25-055")
]
BIRCH_SITE_QUALIFICATION = make_id(NodeKind.QUALIFICATION, "northwind", "birch", "CRK-1")
OAKRIDGE_QUALIFICATION = make_id(NodeKind.QUALIFICATION, "oakridge", "birch", "CRK-1")

GAPS = """query ($product: ID, $vendor: ID, $from: Date, $to: Date, $first: Int, $after: String) {
  complianceGaps(productId: $product, vendorId: $vendor, from: $from, to: $to,
                 first: $first, after: $after) {
    nodes { id manufacturedOn batch { number vendor { name } }
            gaps { reason message product { code }
                   agreement { agreementId version status effectiveTo } qualification { id } } }
    pageInfo { hasNextPage endCursor } } }"""
LINEAGE = """query ($id: ID!) {
  lineage(batchId: $id, direction: UPSTREAM, maxDepth: 10) {
    nodes { id redacted complianceGaps { reason } }
    nonCompliant { id manufacturedOn batch { number } gaps { reason agreement { id } } } } }"""


def ids(data: dict[str, Any]) -> list[str]:
    return [node["id"] for node in data["complianceGaps"]["nodes"]]


async def test_compliance_gaps_lists_the_birch_batches_made_after_the_agreement_ended(
    api: GraphQLClient,
) -> None:
    data = await api.data(GAPS, product=TABLET_PRODUCT_ID)

    nodes = data["complianceGaps"]["nodes"]
    assert [node["id"] for node in nodes] == AFTER_THE_END
    assert nodes[0] == {
        "id": GAP_BATCH_ID,
        "manufacturedOn": "2025-07-14",
        "batch": {"number": "BT-25-041", "vendor": {"name": "Birch Pharma Services"}},
        "gaps": [
            {
                "reason": "AGREEMENT_EXPIRED",
                "message": "agreement QA-NW-BIR v2 ended on 2025-06-30, before lot BT-25-041 "
                "was made on 2025-07-14",
                "product": {"code": "NW-TAB-101"},
                "agreement": {
                    "agreementId": "QA-NW-BIR",
                    "version": "2",
                    "status": "EXPIRED",
                    "effectiveTo": "2025-06-30",
                },
                "qualification": None,
            }
        ],
    }
    in_july = await api.data(GAPS, vendor="org:birch", **{"from": "2025-07-01", "to": "2025-07-31"})
    assert ids(in_july) == [GAP_BATCH_ID]


async def test_pages_of_gaps_follow_each_other(api: GraphQLClient) -> None:
    first = (await api.data(GAPS, vendor="org:birch", first=2))["complianceGaps"]
    rest = (
        await api.data(GAPS, vendor="org:birch", first=2, after=first["pageInfo"]["endCursor"])
    )["complianceGaps"]

    assert first["pageInfo"]["hasNextPage"] is True
    assert rest["pageInfo"]["hasNextPage"] is False
    assert [n["id"] for n in first["nodes"] + rest["nodes"]] == AFTER_THE_END


async def test_a_finished_lot_shows_its_non_compliant_input(api: GraphQLClient) -> None:
    lineage = (await api.data(LINEAGE, id=FINISHED_LOT_ID))["lineage"]

    assert lineage["nonCompliant"] == [
        {
            "id": GAP_BATCH_ID,
            "manufacturedOn": "2025-07-14",
            "batch": {"number": "BT-25-041"},
            "gaps": [{"reason": "AGREEMENT_EXPIRED", "agreement": {"id": EXPIRED_AGREEMENT_ID}}],
        }
    ]
    verdicts = {node["id"]: node["complianceGaps"] for node in lineage["nodes"]}
    assert verdicts[FINISHED_LOT_ID] == [], "packed under Cedar's agreement"
    assert verdicts[GAP_BATCH_ID] == [{"reason": "AGREEMENT_EXPIRED"}]
    assert verdicts["batch:cedar/R25-0315"] is None, "a received lot is judged at its maker"
    assert verdicts["batch:dogwood/DW-M-50402"] is None, "an excipient lot is of no product"


async def test_a_batch_says_whether_it_is_compliant(api: GraphQLClient) -> None:
    query = """{ a: batch(id: "batch:birch/BT-25-033") { complianceGaps { reason } }
      b: batch(id: "batch:birch/BT-25-041") { complianceGaps { reason message } }
      c: batch(id: "batch:birch/RM-25-0207") { complianceGaps { reason } }
      d: node(id: "batch:birch/BT-25-048") { ... on Batch { complianceGaps { reason } } } }"""

    data = await api.data(query)

    assert data["a"]["complianceGaps"] == []
    assert [gap["reason"] for gap in data["b"]["complianceGaps"]] == ["AGREEMENT_EXPIRED"]
    assert data["c"]["complianceGaps"] is None
    # BT-25-048 was made after Birch implemented CC-BIR-25-014 without Northwind's
    # approval (2025-08-18), as well as after the agreement ended.
    assert data["d"]["complianceGaps"] == [
        {"reason": "AGREEMENT_EXPIRED"},
        {"reason": "UNAPPROVED_CHANGE"},
    ]


@pytest.mark.parametrize(
    ("org", "by_product", "by_vendor"),
    [
        ("northwind", AFTER_THE_END, AFTER_THE_END),  # its product, across vendors
        ("birch", AFTER_THE_END, AFTER_THE_END),  # its own lots
        ("oakridge", [], []),  # Birch's lots for Oakridge are covered; Northwind's are hidden
        ("cedar", [], []),  # a CMO never sees another vendor's gaps
        ("elm", [], []),  # a lab that tested the lots is no party to their agreement
    ],
)
async def test_each_partner_sees_only_the_gaps_that_are_its_business(
    demo_store: GraphStore,
    tokens: TokenSource,
    org: str,
    by_product: list[str],
    by_vendor: list[str],
) -> None:
    partner = await client(demo_store, tokens, org)

    assert ids(await partner.data(GAPS, product=TABLET_PRODUCT_ID)) == by_product
    assert ids(await partner.data(GAPS, vendor="org:birch")) == by_vendor
    lineage = (await partner.data(LINEAGE, id=FINISHED_LOT_ID))["lineage"]
    flagged = [] if lineage is None else [node["id"] for node in lineage["nonCompliant"]]
    assert flagged == ([GAP_BATCH_ID] if org == "northwind" else [])


async def test_qualifications_are_read_by_who_qualified_and_the_vendor(
    demo_store: GraphStore, tokens: TokenSource
) -> None:
    query = """query ($id: ID!) {
      qualification(id: $id) { id siteCode status validUntil lastAuditOn
        vendor { name } site { code } sources { location } }
      organization(id: "org:birch") { qualifications { id } }
      qualifications(filter: {status: CONDITIONAL}) { nodes { id vendor { orgId } } } }"""
    seen = {}
    for org in ("operator", "northwind", "oakridge", "birch", "cedar"):
        partner = await client(demo_store, tokens, org)
        seen[org] = await partner.data(query, id=BIRCH_SITE_QUALIFICATION)

    assert seen["northwind"]["qualification"] == {
        "id": BIRCH_SITE_QUALIFICATION,
        "siteCode": "CRK-1",
        "status": "APPROVED",
        "validUntil": "2026-03-31",
        "lastAuditOn": "2024-03-19",
        "vendor": {"name": "Birch Pharma Services"},
        "site": {"code": "CRK-1"},
        "sources": [{"location": "/qualifications/northwind/birch"}],
    }
    for org in ("operator", "birch"):
        assert seen[org]["qualification"] == seen["northwind"]["qualification"], org
    # Each sponsor reads its own assessment of Birch, not the other's (graph.trust).
    assert seen["oakridge"]["qualification"] is None
    both = [{"id": BIRCH_SITE_QUALIFICATION}, {"id": OAKRIDGE_QUALIFICATION}]
    assert seen["operator"]["organization"]["qualifications"] == both
    assert seen["birch"]["organization"]["qualifications"] == both
    assert seen["northwind"]["organization"]["qualifications"] == [both[0]]
    assert seen["oakridge"]["organization"]["qualifications"] == [both[1]]
    assert seen["cedar"]["qualification"] is None
    assert seen["cedar"]["organization"] is None  # Birch is not in Cedar's directory
    # Northwind qualified Dogwood conditionally; only Northwind and Dogwood read it.
    dogwood = [{"id": "qualification:northwind/dogwood/LU-1", "vendor": {"orgId": "dogwood"}}]
    assert seen["operator"]["qualifications"]["nodes"] == dogwood
    assert seen["northwind"]["qualifications"]["nodes"] == dogwood
    assert seen["oakridge"]["qualifications"]["nodes"] == []


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ("", "give productId, vendorId or siteId: which lots to check"),
        (
            'productId: "org:birch"',
            "productId: 'org:birch' is an Organization id, not a Product id",
        ),
        (
            'vendorId: "batch:birch/BT-25-041"',
            "vendorId: 'batch:birch/BT-25-041' is a Batch id, not an Organization id",
        ),
        ('siteId: "birch"', "siteId: 'birch' has no kind prefix"),
        (
            'vendorId: "org:birch", siteId: "site:alder/HYD-1"',
            "siteId: 'site:alder/HYD-1' is a site of 'alder', not of the vendor 'org:birch'",
        ),
        (
            'vendorId: "org:birch", from: "2025-08-01", to: "2025-07-01"',
            "from: 2025-08-01 is after to: 2025-07-01",
        ),
        ('vendorId: "org:birch", first: 501', "first: must be between 1 and 500, got 501"),
        ('vendorId: "org:birch", after: "junk"', "after: 'junk' is not a cursor from this API"),
    ],
)
async def test_a_bad_argument_says_what_was_expected(
    api: GraphQLClient, arguments: str, message: str
) -> None:
    given = f"({arguments})" if arguments else ""
    body = await api.answer(f"{{ complianceGaps{given} {{ nodes {{ id }} }} }}")

    assert error_codes(body) == ["BAD_USER_INPUT"]
    assert body["errors"][0]["message"].startswith(message), body["errors"][0]["message"]


async def test_a_hidden_or_unknown_product_has_no_gaps(
    demo_store: GraphStore, tokens: TokenSource
) -> None:
    oakridge = await client(demo_store, tokens, "oakridge")

    hidden = await oakridge.data(GAPS, product=TABLET_PRODUCT_ID)
    unknown = await oakridge.data(GAPS, product="product:northwind/NO-SUCH")
    own = await oakridge.data(GAPS, vendor="org:birch")

    assert (
        hidden
        == unknown
        == own
        == {"complianceGaps": {"nodes": [], "pageInfo": {"hasNextPage": False, "endCursor": None}}}
    )
    assert OAKRIDGE_BATCH_ID not in ids(own), "its own lot at Birch is covered"
