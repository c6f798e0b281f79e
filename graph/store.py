"""The one interface both graph stores implement, and the records they hand back.

The Neo4j store (production) and the SQL store (embedded default) must give the same
answers for the same input; ``tests/graph/test_store_contract.py`` holds them to it.

Every read takes a ``Visibility`` (everything by default, for the operator) and applies
it inside the store's query: a node the principal may not read is absent from the
answer exactly as if it did not exist (``tests/graph/test_visibility_contract.py``).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from graph.ids import NodeKind
from graph.lineage import (
    MAX_LINEAGE_DEPTH,
    Direction,
    Impact,
    Lineage,
    LineageNode,
    Walk,
    assemble,
    check_depth,
)
from graph.model import NODE_TYPES, EdgeKind, NodeRecord, Record
from graph.oversight import BatchQuality, BatchScope, Measurement, MeasurementScope
from graph.quality.compliance import ComplianceQueries
from graph.queries import Condition
from graph.retraction import RetractedEdge, Retraction
from graph.visibility import EVERYTHING, Visibility
from graph.write_plan import WritePlan, WriteSummary, plan_write


@dataclass(frozen=True, slots=True)
class StoredNode:
    """A node as the graph holds it: its typed attributes and who asserted it."""

    id: str
    kind: NodeKind
    record: NodeRecord
    sources: tuple[str, ...]  # "<ingestion id>#<location>", oldest first

    @classmethod
    def from_properties(
        cls, node_id: str, kind: NodeKind, properties: dict[str, Any], sources: Iterable[str]
    ) -> StoredNode:
        record = NODE_TYPES[kind].model_validate(properties)
        return cls(node_id, kind, record, tuple(sources))


@dataclass(frozen=True, slots=True)
class StoredEdge:
    """An edge as the graph holds it: its attributes and who asserted it."""

    source: str
    kind: EdgeKind
    target: str
    quantity: float | None
    unit: str | None
    occurred_on: date | None
    sources: tuple[str, ...]  # "<ingestion id>#<location>", oldest first
    # The retractions of some of those sources (``graph.retraction``), oldest first;
    # ``retracted`` when none of the sources stands any longer.
    retracted_by: tuple[str, ...] = ()
    retracted: bool = False

    @classmethod
    def from_properties(
        cls,
        source: str,
        kind: EdgeKind,
        target: str,
        properties: dict[str, Any],
        sources: Iterable[str],
        retracted_by: Iterable[str] = (),
    ) -> StoredEdge:
        day = properties.get("occurred_on")
        return cls(
            source,
            kind,
            target,
            properties.get("quantity"),
            properties.get("unit"),
            date.fromisoformat(day) if day else None,
            tuple(sources),
            tuple(dict.fromkeys(retracted_by)),
            bool(properties.get("retracted")),
        )


@dataclass(frozen=True, slots=True)
class GraphCounts:
    nodes: dict[NodeKind, int] = field(default_factory=dict)
    edges: dict[EdgeKind, int] = field(default_factory=dict)

    @property
    def total_nodes(self) -> int:
        return sum(self.nodes.values())

    @property
    def total_edges(self) -> int:
        return sum(self.edges.values())


@dataclass(frozen=True, slots=True)
class NodePage:
    """One page of a listing, in id order; ``has_next`` says whether more follow."""

    nodes: tuple[StoredNode, ...]
    has_next: bool


class StoreUnavailable(RuntimeError):
    """The store cannot be reached; the operation may succeed if tried again later."""


class GraphStore(ComplianceQueries, ABC):
    """Batched, idempotent writes and batch reads over the lineage graph; compliance
    reads (``compliance_gaps``, ``compliance_of``) come from ``graph.quality.compliance``."""

    @abstractmethod
    async def ping(self) -> None:
        """Raise StoreUnavailable unless the store answers a trivial query."""

    @abstractmethod
    async def setup(self) -> None:
        """Create tables or constraints and indexes. Safe to run again."""

    @abstractmethod
    async def close(self) -> None: ...

    async def upsert(self, records: Iterable[Record]) -> WriteSummary:
        """Write records in one transaction: all of them or, on failure, none."""
        return await self.upsert_plan(plan_write(records))

    @abstractmethod
    async def upsert_plan(self, plan: WritePlan) -> WriteSummary:
        """Write a plan made by ``plan_write`` in one transaction: all of it or none.

        ``upsert`` is planning and then this; a caller may call the two apart (to plan
        ahead, say). Writing the same plan again changes nothing.
        """

    @abstractmethod
    async def retract(self, retractions: Sequence[Retraction]) -> list[RetractedEdge]:
        """Take back the edge assertions each retraction covers (``graph.retraction``),
        in one transaction: each keeps the retraction's provenance, and an edge left
        with no standing assertion is retracted. Nothing is deleted. Retracting again
        changes nothing; answers the edges touched now, in (source, kind, target) order."""

    @abstractmethod
    async def get_nodes(
        self, ids: Sequence[str], *, visibility: Visibility = EVERYTHING
    ) -> dict[str, StoredNode]:
        """The nodes among ``ids`` that exist and are visible; other ids are simply absent."""

    @abstractmethod
    async def walk(
        self,
        batch_id: str,
        direction: Direction,
        max_depth: int,
        *,
        visibility: Visibility = EVERYTHING,
    ) -> Walk | None:
        """The genealogy walk around a batch (see graph.lineage), worked out in one
        query; None if there is no such batch or it is hidden."""

    @abstractmethod
    async def out_edges(
        self,
        ids: Sequence[str],
        kinds: Sequence[EdgeKind],
        *,
        visibility: Visibility = EVERYTHING,
    ) -> list[tuple[str, EdgeKind, str]]:
        """(source, kind, target) of every standing (not retracted) edge of ``kinds``
        leaving one of ``ids``, both ends visible."""

    @abstractmethod
    async def edges_from(
        self,
        ids: Sequence[str],
        kinds: Sequence[EdgeKind],
        *,
        visibility: Visibility = EVERYTHING,
    ) -> list[StoredEdge]:
        """Every edge of ``kinds`` leaving one of ``ids``, with its attributes and
        sources, both ends visible; in (source, kind, target) order. Retracted edges
        are among them, marked (``StoredEdge.retracted``), so a reader can say what was
        taken back; every other read leaves them out."""

    @abstractmethod
    async def in_edges(
        self,
        ids: Sequence[str],
        kinds: Sequence[EdgeKind],
        *,
        visibility: Visibility = EVERYTHING,
    ) -> list[tuple[str, EdgeKind, str]]:
        """(source, kind, target) of every standing (not retracted) edge of ``kinds``
        arriving at one of ``ids``, both ends visible."""

    @abstractmethod
    async def list_nodes(
        self,
        kind: NodeKind,
        conditions: Sequence[Condition],
        first: int,
        after: str | None,
        *,
        visibility: Visibility = EVERYTHING,
    ) -> NodePage:
        """Up to ``first`` visible nodes of ``kind`` meeting every condition, with ids
        above ``after``; a condition naming a hidden node matches as if it did not exist."""

    async def lineage(
        self,
        batch_id: str,
        direction: Direction,
        max_depth: int,
        *,
        visibility: Visibility = EVERYTHING,
    ) -> Lineage | None:
        """Genealogy around a batch; None when the batch is not in the graph or hidden."""
        check_depth(max_depth)
        walk = await self.walk(batch_id, direction, max_depth, visibility=visibility)
        return None if walk is None else assemble(batch_id, direction, max_depth, walk)

    async def impact(
        self,
        batch_id: str,
        max_depth: int = MAX_LINEAGE_DEPTH,
        *,
        visibility: Visibility = EVERYTHING,
    ) -> Impact | None:
        """Downstream batches and the products, vendors and agreements they touch.

        Products are those the affected batches are for, directly or through their
        material; agreements are those an affected vendor is party to that cover an
        affected product. Under a visibility, all of it is what the principal may read:
        the walk stops at hidden batches and lists no stubs.
        """
        walk = await self.walk(
            batch_id, Direction.DOWNSTREAM, check_depth(max_depth), visibility=visibility
        )
        if walk is None:
            return None
        affected = sorted(set(walk.reached) - walk.redacted)
        facts = await self.out_edges(
            affected,
            (EdgeKind.FOR_PRODUCT, EdgeKind.OF_MATERIAL, EdgeKind.MADE_BY),
            visibility=visibility,
        )
        products = {target for _, kind, target in facts if kind is EdgeKind.FOR_PRODUCT}
        materials = sorted({target for _, kind, target in facts if kind is EdgeKind.OF_MATERIAL})
        vendors = sorted({target for _, kind, target in facts if kind is EdgeKind.MADE_BY})
        products |= {
            target
            for _, _, target in await self.out_edges(
                materials, (EdgeKind.FOR_PRODUCT,), visibility=visibility
            )
        }
        party_to = await self.out_edges(vendors, (EdgeKind.PARTY_TO,), visibility=visibility)
        candidate_agreements = sorted({target for _, _, target in party_to})
        covers = await self.out_edges(
            candidate_agreements, (EdgeKind.COVERS,), visibility=visibility
        )
        agreements = sorted({source for source, _, target in covers if target in products})
        batches = sorted(
            LineageNode(depth, node_id)
            for node_id, depth in walk.reached.items()
            if depth > 0 and node_id not in walk.redacted
        )
        return Impact(
            root=batch_id,
            batches=tuple(batches),
            products=tuple(sorted(products)),
            vendors=tuple(vendors),
            agreements=tuple(agreements),
            truncated=walk.truncated,
        )

    @abstractmethod
    async def batch_quality(
        self, scope: BatchScope, *, visibility: Visibility = EVERYTHING
    ) -> list[BatchQuality]:
        """The lots in ``scope`` with their dispositions, deviations and failed results,
        in id order, counted for the principal as ``graph.oversight`` says."""

    @abstractmethod
    async def measurements(
        self, scope: MeasurementScope, *, visibility: Visibility = EVERYTHING
    ) -> list[Measurement]:
        """The numeric results in ``scope``, in result id order, counted for the
        principal as ``graph.oversight`` says."""

    @abstractmethod
    async def counts(self) -> GraphCounts: ...

    @abstractmethod
    async def wipe(self) -> None:
        """Remove every node and edge (the graph is derived data: replay rebuilds it)."""
