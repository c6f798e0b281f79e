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

from graph.ids import NodeKind, make_id
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


@dataclass(frozen=True, slots=True)
class Reach:
    """One step of a tree read (``GraphStore.read_tree``): from a node to the nodes of
    ``kind`` it links to by its ``edge`` edges (``outgoing`` or incoming), or to the one
    node whose id its record names (``id_field`` holds the id; or the id is made from
    the ``id_parts`` fields, as ``make_id(kind, ...)``); then on from those by ``then``.
    What the reader may not read, or is of another kind, is left out, as a look-up
    leaves it out. Reached nodes are kept under ``key``, edge neighbours in id order.

    With ``via``: the one node at the far end of the node's first ``via`` edge (in id
    order) or, when it has none, of the first ``via`` edge of the node of ``via_kind``
    its ``id_parts`` name: a lot's product, named on the lot or through its material
    (``Batch.product``)."""

    key: str
    kind: NodeKind
    edge: EdgeKind | None = None
    outgoing: bool = True
    id_field: str | None = None
    id_parts: tuple[str, ...] = ()
    then: tuple[Reach, ...] = ()
    via: EdgeKind | None = None
    via_kind: NodeKind | None = None

    def named_id(self, record: NodeRecord) -> str | None:
        """The id of the node this reach names from ``record`` (not along an edge)."""
        if self.id_field is not None:
            value = getattr(record, self.id_field, None)
            return value if isinstance(value, str) and value else None
        parts = [getattr(record, name, None) for name in self.id_parts]
        given = [part for part in parts if isinstance(part, str) and part]
        return make_id(self.via_kind or self.kind, *given) if len(given) == len(parts) else None


@dataclass(slots=True)
class TreeNode:
    """A node of a tree read and, under each reach's key, the nodes it reached."""

    node: StoredNode
    reached: dict[str, list[TreeNode]] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class TreePage:
    """One page of a listing as trees (``GraphStore.list_trees``), in id order."""

    trees: tuple[TreeNode, ...]
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

    async def read_tree(
        self,
        ids: Sequence[str],
        kind: NodeKind,
        reaches: Sequence[Reach],
        *,
        visibility: Visibility = EVERYTHING,
    ) -> list[TreeNode]:
        """The nodes of ``kind`` among ``ids`` that the reader may read, in the order
        given, each with what ``reaches`` lead to: what a GraphQL selection of linked
        nodes asks for (``schema.compiled``), answered as its resolvers would answer it.

        Here, level by level: a read of edges per edge reach and one of nodes per level
        of each branch (about the DataLoaders' round trips, without their resolvers). A
        store may answer it in one query (Neo4j does: ``graph.neo4j.trees``)."""
        found = await self.get_nodes(ids, visibility=visibility)
        roots = [TreeNode(found[i]) for i in ids if i in found and found[i].kind is kind]
        await self._reach(roots, reaches, visibility)
        return roots

    async def _first_via(
        self,
        parents: list[TreeNode],
        reach: Reach,
        via: EdgeKind,
        links: dict[str, list[str]],
        visibility: Visibility,
    ) -> None:
        """``links``: each parent's first far end along ``via``, or its named node's."""
        direct = await self._far_ends(list(links), via, visibility)
        named = {
            parent.node.id: reach.named_id(parent.node.record)
            for parent in parents
            if not direct[parent.node.id]
        }
        starts = [i for i in dict.fromkeys(named.values()) if i]
        through = await self._far_ends(starts, via, visibility) if starts else {}
        for near in links:
            found = direct[near] or through.get(named.get(near) or "", [])
            links[near] = found[:1]

    async def _far_ends(
        self, ids: list[str], edge: EdgeKind, visibility: Visibility, outgoing: bool = True
    ) -> dict[str, list[str]]:
        """Each of ``ids`` -> the far ends of its ``edge`` edges (``outgoing`` or not)."""
        read = self.out_edges if outgoing else self.in_edges
        ends: dict[str, list[str]] = {node_id: [] for node_id in ids}
        for source, _, target in await read(ids, [edge], visibility=visibility):
            near, far = (source, target) if outgoing else (target, source)
            ends[near].append(far)
        return ends

    async def list_trees(
        self,
        kind: NodeKind,
        conditions: Sequence[Condition],
        first: int,
        after: str | None,
        reaches: Sequence[Reach],
        *,
        visibility: Visibility = EVERYTHING,
    ) -> TreePage:
        """``list_nodes``'s page, each node with what ``reaches`` lead to (``read_tree``).
        Here the page, then its reaches level by level; Neo4j answers it in one query."""
        page = await self.list_nodes(kind, conditions, first, after, visibility=visibility)
        roots = [TreeNode(stored) for stored in page.nodes]
        await self._reach(roots, reaches, visibility)
        return TreePage(tuple(roots), page.has_next)

    async def _reach(
        self, parents: list[TreeNode], reaches: Sequence[Reach], visibility: Visibility
    ) -> None:
        """One level: the edges of each edge reach, then one read of every node the
        level reaches, then each reach's next level: reads bounded by the selection's
        shape, whatever the number of nodes."""
        if not parents or not reaches:
            return
        far: dict[str, dict[str, list[str]]] = {}  # reach key -> parent id -> far ids
        for reach in reaches:
            links: dict[str, list[str]] = {parent.node.id: [] for parent in parents}
            far[reach.key] = links
            if reach.via is not None:
                await self._first_via(parents, reach, reach.via, links, visibility)
                continue
            if reach.edge is None:
                for parent in parents:
                    named = reach.named_id(parent.node.record)
                    links[parent.node.id] = [named] if named else []
                continue
            links.update(await self._far_ends(list(links), reach.edge, visibility, reach.outgoing))
        wanted = list(
            dict.fromkeys(i for links in far.values() for ids in links.values() for i in ids)
        )
        found = await self.get_nodes(wanted, visibility=visibility) if wanted else {}
        for reach in reaches:
            reached = {
                i: TreeNode(found[i])
                for ids in far[reach.key].values()
                for i in ids
                if i in found and found[i].kind is reach.kind
            }
            for parent in parents:
                parent.reached[reach.key] = [
                    reached[i] for i in far[reach.key][parent.node.id] if i in reached
                ]
            await self._reach(list(reached.values()), reach.then, visibility)

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
