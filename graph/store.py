"""The one interface both graph stores implement, and the records they hand back.

The Neo4j store (production) and the SQL store (embedded default) must give the same
answers for the same input; ``tests/graph/test_store_contract.py`` holds them to it.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
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
    walk_directions,
)
from graph.model import NODE_TYPES, EdgeKind, NodeRecord, Record
from graph.queries import Condition
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


class GraphStore(ABC):
    """Batched, idempotent writes and batch reads over the lineage graph."""

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

        ``upsert`` is planning then this; a loader calls the two apart to plan the next
        chunk while this one is written. Writing the same plan again changes nothing.
        """

    @abstractmethod
    async def get_nodes(self, ids: Sequence[str]) -> dict[str, StoredNode]:
        """The nodes that exist among ``ids``; unknown ids are simply absent."""

    @abstractmethod
    async def walk(
        self, batch_id: str, direction: Direction, max_depth: int, *, incident: bool = False
    ) -> Walk | None:
        """One direction's genealogy walk (see graph.lineage); None if no such batch.

        With ``incident``, the walk reports genealogy edges touching a reached batch in
        either orientation, not only those leading on: a BOTH answer needs them to
        show every edge between its nodes.
        """

    @abstractmethod
    async def out_edges(
        self, ids: Sequence[str], kinds: Sequence[EdgeKind]
    ) -> list[tuple[str, EdgeKind, str]]:
        """(source, kind, target) of every edge of ``kinds`` leaving one of ``ids``."""

    @abstractmethod
    async def in_edges(
        self, ids: Sequence[str], kinds: Sequence[EdgeKind]
    ) -> list[tuple[str, EdgeKind, str]]:
        """(source, kind, target) of every edge of ``kinds`` arriving at one of ``ids``."""

    @abstractmethod
    async def list_nodes(
        self, kind: NodeKind, conditions: Sequence[Condition], first: int, after: str | None
    ) -> NodePage:
        """Up to ``first`` nodes of ``kind`` meeting every condition, with ids above ``after``."""

    async def lineage(self, batch_id: str, direction: Direction, max_depth: int) -> Lineage | None:
        """Genealogy around a batch; None when the batch is not in the graph."""
        check_depth(max_depth)
        walks = []
        for each in walk_directions(direction):
            walk = await self.walk(batch_id, each, max_depth, incident=direction is Direction.BOTH)
            if walk is None:
                return None
            walks.append(walk)
        return assemble(batch_id, direction, max_depth, walks)

    async def impact(self, batch_id: str, max_depth: int = MAX_LINEAGE_DEPTH) -> Impact | None:
        """Downstream batches and the products, vendors and agreements they touch.

        Products are those the affected batches are for, directly or through their
        material; agreements are those an affected vendor is party to that cover an
        affected product.
        """
        walk = await self.walk(batch_id, Direction.DOWNSTREAM, check_depth(max_depth))
        if walk is None:
            return None
        affected = sorted(walk.reached)
        facts = await self.out_edges(
            affected, (EdgeKind.FOR_PRODUCT, EdgeKind.OF_MATERIAL, EdgeKind.MADE_BY)
        )
        products = {target for _, kind, target in facts if kind is EdgeKind.FOR_PRODUCT}
        materials = sorted({target for _, kind, target in facts if kind is EdgeKind.OF_MATERIAL})
        vendors = sorted({target for _, kind, target in facts if kind is EdgeKind.MADE_BY})
        products |= {
            target for _, _, target in await self.out_edges(materials, (EdgeKind.FOR_PRODUCT,))
        }
        party_to = await self.out_edges(vendors, (EdgeKind.PARTY_TO,))
        candidate_agreements = sorted({target for _, _, target in party_to})
        covers = await self.out_edges(candidate_agreements, (EdgeKind.COVERS,))
        agreements = sorted({source for source, _, target in covers if target in products})
        batches = sorted(
            LineageNode(depth, node_id) for node_id, depth in walk.reached.items() if depth > 0
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
    async def counts(self) -> GraphCounts: ...

    @abstractmethod
    async def wipe(self) -> None:
        """Remove every node and edge (the graph is derived data: replay rebuilds it)."""
