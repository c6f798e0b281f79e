"""Lineage and impact answers as GraphQL types."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from graph import lineage as graph_lineage
from graph.lineage import Direction
from graph.model import Batch as BatchRecord
from graph.model import EdgeKind
from schema.compliance import NonCompliantBatch
from schema.context import context_of
from schema.nodes import (
    Batch,
    ComplianceGap,
    Organization,
    Product,
    QualityAgreement,
    Shipment,
    batch_gaps,
    load_as,
    load_one,
)


@strawberry.type(description="A lot reached by a genealogy walk, at its shortest distance.")
class LineageNode:
    id: strawberry.ID
    depth: int
    redacted: bool = strawberry.field(
        description="True when the asker may know the lot exists but not its attributes."
    )

    @strawberry.field(description="The lot's attributes; null when redacted.")
    async def batch(self, info: Info) -> Batch | None:
        return None if self.redacted else await load_one(info, Batch, self.id)

    @strawberry.field(
        description="Why the lot is not compliant (as Batch.complianceGaps); null when "
        "redacted or not judged for the asker."
    )
    async def compliance_gaps(self, info: Info) -> list[ComplianceGap] | None:
        return None if self.redacted else await batch_gaps(info, self.id)

    @classmethod
    def of(cls, node: graph_lineage.LineageNode) -> LineageNode:
        return cls(id=strawberry.ID(node.id), depth=node.depth, redacted=node.redacted)


@strawberry.type(description="A genealogy edge; both kinds point upstream (from output to input).")
class LineageEdge:
    from_: strawberry.ID = strawberry.field(name="from")
    to: strawberry.ID
    kind: EdgeKind
    quantity: float | None
    unit: str | None


@strawberry.type
class Lineage:
    root: strawberry.ID
    direction: Direction
    max_depth: int
    nodes: list[LineageNode]
    edges: list[LineageEdge]
    truncated: bool = strawberry.field(description="True when maxDepth cut the genealogy short.")

    @strawberry.field(
        description="The lots of this answer, the root included, with a compliance gap "
        "(see Query.complianceGaps), in batch id order: a finished lot with a "
        "non-compliant input anywhere upstream shows it here."
    )
    async def non_compliant(self, info: Info) -> list[NonCompliantBatch]:
        loaders = context_of(info).loaders
        ids = sorted(node.id for node in self.nodes if not node.redacted)
        verdicts = await loaders.compliance.load_many(ids)
        flagged = [(i, gaps) for i, gaps in zip(ids, verdicts, strict=True) if gaps]
        stored = await loaders.nodes.load_many([i for i, _ in flagged])
        return [
            NonCompliantBatch(
                id=strawberry.ID(batch_id),
                manufactured_on=node.record.manufactured_on
                if node is not None and isinstance(node.record, BatchRecord)
                else None,
                gaps=[ComplianceGap.of(gap) for gap in gaps],
            )
            for (batch_id, gaps), node in zip(flagged, stored, strict=True)
        ]

    @classmethod
    def of(cls, found: graph_lineage.Lineage) -> Lineage:
        return cls(
            root=strawberry.ID(found.root),
            direction=found.direction,
            max_depth=found.max_depth,
            nodes=[LineageNode.of(node) for node in found.nodes],
            edges=[
                LineageEdge(
                    from_=strawberry.ID(edge.source),
                    to=strawberry.ID(edge.target),
                    kind=edge.kind,
                    quantity=edge.quantity,
                    unit=edge.unit,
                )
                for edge in found.edges
            ],
            truncated=found.truncated,
        )


@strawberry.type(description="Everything downstream of a lot: for a recall or a deviation.")
class Impact:
    root: strawberry.ID
    batches: list[LineageNode]
    truncated: bool
    found: strawberry.Private[graph_lineage.Impact]

    @strawberry.field
    async def products(self, info: Info) -> list[Product]:
        return await load_as(info, Product, self.found.products)

    @strawberry.field
    async def vendors(self, info: Info) -> list[Organization]:
        return await load_as(info, Organization, self.found.vendors)

    @strawberry.field(description="Agreements of affected vendors that cover affected products.")
    async def agreements(self, info: Info) -> list[QualityAgreement]:
        return await load_as(info, QualityAgreement, self.found.agreements)

    @strawberry.field(
        description="Where the root lot and every affected lot downstream of it were shipped: "
        "who received what a recall must reach. Root first, then in batches' order. A "
        "retracted shipment (taken back by its sender) is not among them."
    )
    async def shipments(self, info: Info) -> list[Shipment]:
        lots = [self.found.root, *(node.id for node in self.found.batches if not node.redacted)]
        shipped = await context_of(info).loaders.shipments.load_many(lots)
        return [Shipment.of(edge) for edges in shipped for edge in edges if not edge.retracted]

    @classmethod
    def of(cls, found: graph_lineage.Impact) -> Impact:
        return cls(
            root=strawberry.ID(found.root),
            batches=[LineageNode.of(node) for node in found.batches],
            truncated=found.truncated,
            found=found,
        )
