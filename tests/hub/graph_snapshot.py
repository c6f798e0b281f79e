"""Everything a graph store answers, as one comparable value: what a rebuilt graph
(a replay, a restore drill) must equal."""

from __future__ import annotations

from typing import Any

from graph.ids import NodeKind
from graph.model import EdgeKind
from graph.store import GraphStore


async def snapshot(store: GraphStore) -> dict[str, Any]:
    """Everything a query can see: every node with its attributes and sources, every edge."""
    nodes: dict[str, Any] = {}
    for kind in NodeKind:
        after = None
        while True:
            page = await store.list_nodes(kind, [], 500, after)
            for node in page.nodes:
                nodes[node.id] = (node.record.model_dump(exclude={"provenance"}), node.sources)
            if not page.has_next:
                break
            after = page.nodes[-1].id
    edges = await store.out_edges(list(nodes), list(EdgeKind))
    return {"nodes": nodes, "edges": sorted(edges)}
