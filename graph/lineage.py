"""Lineage and impact answers, and how a store's raw walk becomes one.

A store walks genealogy edges (``CONSUMED``, ``SAME_LOT``, ``PART_OF``; all point
upstream) from a root batch, upstream, downstream or both, to ``max_depth`` hops, and answers in one
query (``Walk``):

- ``reached``: every batch reached with its shortest distance, the root at depth 0;
- ``edges``: every genealogy edge between two reached batches (the induced subgraph);
- ``truncated``: in some walked direction, an edge leads on from the walk to a batch it
  did not reach, i.e. ``max_depth`` cut the genealogy short.

``BOTH`` is the union of an upstream and a downstream walk (each direction's
``truncated`` judged on its own walk).

Under a principal's visibility the walk runs on the batches it may read: a hidden root
answers None, as a missing one does; a hidden batch next to a reached one is reached
as a *redacted stub* (id and depth only) and the walk does not go on past it; edges
between a stub and a visible batch are shown without quantity and unit, edges between
two stubs are not.
``assemble`` turns a walk into the answer every store gives identically.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from graph.model import EdgeKind

MAX_LINEAGE_DEPTH = 50  # a hard ceiling: real genealogies are a few dozen steps at most


class Direction(StrEnum):
    UPSTREAM = "UPSTREAM"
    DOWNSTREAM = "DOWNSTREAM"
    BOTH = "BOTH"


@dataclass(frozen=True, slots=True, order=True)
class LineageNode:
    depth: int
    id: str
    # A batch the principal may not read, shown only as the end of an edge it may see.
    # Last, so nodes still sort by (depth, id): an id appears once in an answer.
    redacted: bool = False


@dataclass(frozen=True, slots=True, order=True)
class LineageEdge:
    source: str
    target: str
    kind: EdgeKind
    quantity: float | None = None
    unit: str | None = None


@dataclass(frozen=True, slots=True)
class Lineage:
    root: str
    direction: Direction
    max_depth: int
    nodes: tuple[LineageNode, ...]
    edges: tuple[LineageEdge, ...]
    truncated: bool

    @property
    def ids(self) -> frozenset[str]:
        return frozenset(node.id for node in self.nodes)


@dataclass(frozen=True, slots=True)
class Walk:
    """A store's raw answer for one walk, worked out inside its query."""

    reached: dict[str, int]  # batch id -> shortest distance from the root, stubs included
    redacted: frozenset[str]  # the reached batches that are stubs
    edges: list[LineageEdge]  # genealogy edges between reached batches, not both stubs
    truncated: bool


@dataclass(frozen=True, slots=True)
class Impact:
    """What a problem with one batch reaches downstream."""

    root: str
    batches: tuple[LineageNode, ...]  # downstream batches, the root excluded
    products: tuple[str, ...]
    vendors: tuple[str, ...]
    agreements: tuple[str, ...]
    truncated: bool


def check_depth(max_depth: int) -> int:
    if not 0 <= max_depth <= MAX_LINEAGE_DEPTH:
        raise ValueError(f"max_depth must be between 0 and {MAX_LINEAGE_DEPTH}, got {max_depth}")
    return max_depth


def walk_directions(direction: Direction) -> tuple[Direction, ...]:
    """The one-way walks a direction is made of."""
    if direction is Direction.BOTH:
        return (Direction.UPSTREAM, Direction.DOWNSTREAM)
    return (direction,)


def _redacted(edge: LineageEdge) -> LineageEdge:
    """An edge with a stub at one end shows that the lots are linked, nothing more: the
    quantity and unit are the stub owner's business as much as the reader's."""
    return LineageEdge(edge.source, edge.target, edge.kind)


def assemble(root: str, direction: Direction, max_depth: int, walk: Walk) -> Lineage:
    # Sorted by (depth, id) and by the edges' fields in order, as the records' own
    # ordering sorts them, but by key tuples: the records' generated ``__lt__``, called
    # per comparison, was an eighth of a lineage answer's CPU.
    reached = sorted(walk.reached.items(), key=_depth_then_id)
    nodes = tuple(
        LineageNode(depth, node_id, node_id in walk.redacted) for node_id, depth in reached
    )
    shown = {
        _redacted(edge) if walk.redacted & {edge.source, edge.target} else edge
        for edge in walk.edges
    }
    edges = tuple(sorted(shown, key=_edge_fields))
    return Lineage(root, direction, max_depth, nodes, edges, walk.truncated)


def _depth_then_id(reached: tuple[str, int]) -> tuple[int, str]:
    return reached[1], reached[0]


def _edge_fields(edge: LineageEdge) -> tuple[Any, ...]:
    return edge.source, edge.target, edge.kind, edge.quantity, edge.unit
