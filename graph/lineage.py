"""Lineage and impact answers, and how a store's raw walk becomes one.

A store walks genealogy edges (``CONSUMED``, ``SAME_LOT``; both point upstream) from a
root batch in one direction, to ``max_depth`` hops, and reports two things: every
batch it reached with its shortest distance, and every genealogy edge leaving a reached
batch in the walking direction. ``assemble`` turns that into the answer every store
gives identically:

- ``nodes``: the reached batches, the root at depth 0;
- ``edges``: every genealogy edge between two reached batches (the induced subgraph);
- ``truncated``: some edge leads on from the walk to a batch it did not reach, i.e.
  ``max_depth`` cut the genealogy short.

``BOTH`` is the union of an upstream and a downstream walk.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

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
    """One direction's raw result from a store."""

    direction: Direction
    reached: dict[str, int]  # batch id -> shortest distance from the root
    edges: list[LineageEdge]  # genealogy edges leaving reached batches (or touching them)

    def far_end(self, edge: LineageEdge) -> str:
        return edge.target if self.direction is Direction.UPSTREAM else edge.source

    @property
    def truncated(self) -> bool:
        return any(self.far_end(edge) not in self.reached for edge in self.edges)


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
    if direction is Direction.BOTH:
        return (Direction.UPSTREAM, Direction.DOWNSTREAM)
    return (direction,)


def assemble(root: str, direction: Direction, max_depth: int, walks: Iterable[Walk]) -> Lineage:
    reached: dict[str, int] = {}
    edges: set[LineageEdge] = set()
    truncated = False
    for walk in walks:
        truncated = truncated or walk.truncated
        for node_id, depth in walk.reached.items():
            if depth < reached.get(node_id, depth + 1):
                reached[node_id] = depth
        edges.update(walk.edges)
    induced = sorted(edge for edge in edges if edge.source in reached and edge.target in reached)
    nodes = sorted(LineageNode(depth, node_id) for node_id, depth in reached.items())
    return Lineage(root, direction, max_depth, tuple(nodes), tuple(induced), truncated)
