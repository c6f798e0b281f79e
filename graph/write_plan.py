"""What one batched write does, worked out once for every store.

Both stores receive the same plan: nodes merged by id (later assertions win per
attribute, sources accumulate), the edges the records state or imply, and the
placeholder nodes that edges name before any export describes them. Planning in one
place is what keeps the two stores' answers identical.

Planning is pure Python and touches no store, so it can be done apart from the
write; ``GraphStore.upsert_plan`` writes a plan made here.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from graph.ids import ID_PREFIXES, NodeKind, parse_id
from graph.model import (
    ALLOWED_ENDPOINTS,
    NODE_TYPES,
    Edge,
    EdgeKind,
    Link,
    NodeRecord,
    Provenance,
    Record,
    placeholder_properties,
)


@dataclass(slots=True)
class NodeWrite:
    id: str
    kind: NodeKind
    properties: dict[str, Any]
    sources: list[str]


@dataclass(slots=True)
class EdgeWrite:
    source: str
    kind: EdgeKind
    target: str
    properties: dict[str, Any]
    sources: list[str]
    provenance: Provenance  # the first assertion, for placeholders this edge names


@dataclass(slots=True)
class WritePlan:
    records: int = 0  # how many records the plan was made from
    nodes: dict[str, NodeWrite] = field(default_factory=dict)
    placeholders: dict[str, NodeWrite] = field(default_factory=dict)
    edges: dict[tuple[str, EdgeKind, str], EdgeWrite] = field(default_factory=dict)

    def nodes_by_kind(self, nodes: dict[str, NodeWrite]) -> dict[NodeKind, list[NodeWrite]]:
        grouped: dict[NodeKind, list[NodeWrite]] = {}
        for node in nodes.values():
            grouped.setdefault(node.kind, []).append(node)
        return grouped

    def edges_by_kind(self) -> dict[EdgeKind, list[EdgeWrite]]:
        grouped: dict[EdgeKind, list[EdgeWrite]] = {}
        for edge in self.edges.values():
            grouped.setdefault(edge.kind, []).append(edge)
        return grouped

    def summary(self) -> WriteSummary:
        return WriteSummary(records=self.records, nodes=len(self.nodes), edges=len(self.edges))


@dataclass(frozen=True, slots=True)
class WriteSummary:
    """What one upsert applied: records received, distinct nodes and edges written."""

    records: int
    nodes: int
    edges: int


def plan_write(records: Iterable[Record]) -> WritePlan:
    """Everything one transaction writes for ``records`` (refusing any without provenance)."""
    plan = WritePlan()
    for record in records:
        plan.records += 1
        if isinstance(record, NodeRecord):
            # The id once per record: every implied edge names it, and making it costs
            # about as much as the rest of the record's planning.
            node_id = record.id
            provenance = record.require_provenance()
            _add_node(plan, record, node_id, provenance.ref)
            for link in record.implied_links(node_id):
                _add_link(plan, link, provenance)
        else:
            _add_edge(plan, record)
    _add_placeholders(plan)
    return plan


class ImpliedEdgeMisfit(ValueError):
    """An implied edge whose ends do not fit its kind: a bug in a record type, never
    the input's fault (its ids were validated with the record)."""


# (kind, source id prefix, target id prefix) for every pair ``ALLOWED_ENDPOINTS`` allows.
_FITTING: frozenset[tuple[EdgeKind, str, str]] = frozenset(
    (kind, ID_PREFIXES[source][0], ID_PREFIXES[target][0])
    for kind, (sources, targets) in ALLOWED_ENDPOINTS.items()
    for source in sources
    for target in targets
)


def _add_link(plan: WritePlan, link: Link, provenance: Provenance) -> list[EdgeWrite]:
    """Add or merge an edge a node implies (no properties of its own); return it if new.

    Implied edges are not built as ``Edge`` records (see ``NodeRecord.implied_links``),
    so what ``Edge`` would check of them is checked here, from the ids' prefixes alone.
    """
    source, kind, target = link
    existing = plan.edges.get(link)
    if existing is None:
        if (kind, source.partition(":")[0], target.partition(":")[0]) not in _FITTING:
            raise ImpliedEdgeMisfit(f"a {kind} edge cannot go from {source!r} to {target!r}")
        added = EdgeWrite(source, kind, target, {}, [provenance.ref], provenance)
        plan.edges[link] = added
        return [added]
    if provenance.ref not in existing.sources:
        existing.sources.append(provenance.ref)
    return []


def _add_placeholders(plan: WritePlan) -> None:
    """Create a node for every edge end no record describes, with the edges its key
    implies (a lot named only as an input is still made by the maker in its id)."""
    pending = list(plan.edges.values())
    while pending:
        edge = pending.pop()
        for endpoint in (edge.source, edge.target):
            if endpoint in plan.nodes or endpoint in plan.placeholders:
                continue
            kind = parse_id(endpoint).kind
            # Validated: its key parts come from an id, which checks kind and arity
            # but not that a maker is a slug.
            placeholder = NODE_TYPES[kind].model_validate(
                {**placeholder_properties(endpoint), "provenance": edge.provenance}
            )
            plan.placeholders[endpoint] = NodeWrite(endpoint, kind, placeholder.properties(), [])
            for link in placeholder.key_links(endpoint):
                pending.extend(_add_link(plan, link, edge.provenance))


def _add_node(plan: WritePlan, record: NodeRecord, node_id: str, source: str) -> None:
    existing = plan.nodes.get(node_id)
    if existing is None:
        plan.nodes[node_id] = NodeWrite(node_id, record.KIND, record.properties(), [source])
        return
    existing.properties.update(record.properties())
    if source not in existing.sources:
        existing.sources.append(source)


def _add_edge(plan: WritePlan, edge: Edge) -> list[EdgeWrite]:
    """Add or merge an edge record; return it if it is new (its ends may need placeholders)."""
    provenance = edge.require_provenance()
    existing = plan.edges.get(edge.key)
    if existing is None:
        added = EdgeWrite(
            edge.source, edge.kind, edge.target, edge.properties(), [provenance.ref], provenance
        )
        plan.edges[edge.key] = added
        return [added]
    existing.properties.update(edge.properties())
    if provenance.ref not in existing.sources:
        existing.sources.append(provenance.ref)
    return []
