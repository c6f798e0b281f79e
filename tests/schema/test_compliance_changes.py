"""UNAPPROVED_CHANGE over GraphQL: the sponsor sees the gap and the change behind it."""

from __future__ import annotations

from datetime import date

from graph.ids import NodeKind, make_id
from graph.model import Product
from graph.store import GraphStore
from tests.graph.builders import PROVENANCE
from tests.graph.test_compliance_changes import change
from tests.graph.test_compliance_contract import agreement, made, qualified
from tests.schema.test_lifecycle import reader
from tests.tokens import TokenSource

GAPS = """{ complianceGaps(productId: "product:s1/P1") { nodes {
  id gaps { reason change { id classification implementedOn } } } } }"""


async def test_the_gap_links_the_change_implemented_without_approval(
    store: GraphStore, tokens: TokenSource
) -> None:
    await store.upsert(
        [
            Product(sponsor="s1", code="P1", provenance=PROVENANCE),
            agreement(),
            qualified(),
            change(),
            made("L1", date(2025, 4, 1)),
        ]
    )
    async for api in reader(store, tokens, "s1"):
        data = await api.data(GAPS)

    assert data["complianceGaps"]["nodes"] == [
        {
            "id": make_id(NodeKind.BATCH, "m1", "L1"),
            "gaps": [
                {
                    "reason": "UNAPPROVED_CHANGE",
                    "change": {
                        "id": make_id(NodeKind.CHANGE_CONTROL, "m1", "s1", "C1"),
                        "classification": "MAJOR",
                        "implementedOn": "2025-03-01",
                    },
                }
            ],
        }
    ]
