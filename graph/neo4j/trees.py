"""A tree read (``GraphStore.read_tree``) as one Cypher query.

What a GraphQL selection of linked nodes asks for (a lot, its inputs, their vendors)
becomes one statement, as ``@neo4j/graphql`` compiles a request: each reach a
``COLLECT`` subquery nested in its parent's projection, so a request costs one round
trip however deep its selection goes. Each node comes back as
``[id, properties, reach, reach, ...]``; an edge reach as a list of such nodes in id
order, a named reach as ``[the id it named, [the node]]``.

The visibility checks are the look-ups' (``_visible``), inside each subquery. A named
id is made in Cypher by joining its parts; a part that ``make_id`` would percent-quote
(rare: a '/' in a site code, say) makes a different id there, so every named id is
checked against ``Reach.named_id`` and such a reach is read again by the level-by-level
reader.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from graph.ids import ID_PREFIXES, NodeKind, parse_id
from graph.store import Reach, StoredNode, TreeNode
from graph.visibility import Visibility

# Cypher truth that ``var`` may be read (graph.neo4j.store._visible), injected to keep
# one definition of it.
VisibleCheck = Callable[[str, Visibility], str]
_PROPERTY_NAME = "abcdefghijklmnopqrstuvwxyz_"
STATEMENTS_KEPT = 1024


def node_properties(var: str) -> str:
    """What a node read returns as node ``var``'s attributes: all but who may read it."""
    return f"{var} {{.*, readers: null, sponsor_readers: null}}"


# The statements are made once per selection and kind of reader: a request asks for
# one already made (building the text was 2-3 % of a look-up's CPU).
@functools.lru_cache(maxsize=STATEMENTS_KEPT)
def tree_query(
    kind: NodeKind, reaches: tuple[Reach, ...], visibility: Visibility, visible: VisibleCheck
) -> str:
    """The statement: ``$ids`` in the order given, one row ``t`` per readable node."""
    return (
        "UNWIND range(0, size($ids) - 1) AS position "
        "MATCH (n0:Node {id: $ids[position]}) "
        f"WHERE n0:{kind.value} AND {visible('n0', visibility)} "
        f"RETURN {projection('n0', reaches, visibility, visible)} AS t ORDER BY position"
    )


@functools.lru_cache(maxsize=STATEMENTS_KEPT)
def projection(
    var: str, reaches: tuple[Reach, ...], visibility: Visibility, visible: VisibleCheck
) -> str:
    """Node ``var`` (already found readable) as ``[id, properties, reach, ...]``."""
    return _projection(var, reaches, 1, visibility, visible)


def _projection(
    var: str, reaches: Sequence[Reach], depth: int, visibility: Visibility, visible: VisibleCheck
) -> str:
    parts = [f"{var}.id", node_properties(var)]
    parts += [_reach(var, reach, depth, visibility, visible) for reach in reaches]
    return "[" + ", ".join(parts) + "]"


def _reach(
    var: str, reach: Reach, depth: int, visibility: Visibility, visible: VisibleCheck
) -> str:
    far, edge = f"n{depth}", f"r{depth}"
    inner = _projection(far, reach.then, depth + 1, visibility, visible)
    readable = f"{far}:{reach.kind.value} AND {visible(far, visibility)}"
    # The edge loaders check both of an edge's ends with ``visibility.edge_ends``; the
    # near end here is ``var``, already found readable, which implies it (edge_ends
    # only widens the directory), so only the far end is checked.
    if reach.edge is not None:
        left, right = ("-", "->") if reach.outgoing else ("<-", "-")
        ends = visibility.edge_ends  # what the edge loaders check both ends with
        return (
            f"COLLECT {{ MATCH ({var}){left}[{edge}:{reach.edge.value}]{right}({far}:Node) "
            f"WHERE {edge}.retracted IS NULL AND {visible(far, ends)} AND {readable} "
            f"WITH {far} ORDER BY {far}.id RETURN {inner} }}"
        )
    named = _named_id(var, reach)
    if reach.via is not None:  # the first far end along ``via``, else the named node's
        ends = visibility.edge_ends
        hop, end, start = f"v{depth}", f"e{depth}", f"s{depth}"
        along = f"-[{hop}:{reach.via.value}]->({end}:Node) WHERE {hop}.retracted IS NULL"
        first = (
            "coalesce("
            f"head(COLLECT {{ MATCH ({var}){along} AND {visible(end, ends)} "
            f"WITH {end} ORDER BY {end}.id RETURN {end}.id }}), "
            f"head(COLLECT {{ MATCH ({start}:Node {{id: {named}}}){along} "
            f"AND {visible(start, ends)} AND {visible(end, ends)} "
            f"WITH {end} ORDER BY {end}.id RETURN {end}.id }}))"
        )
        return (
            f"[{named}, COLLECT {{ UNWIND [{first}] AS chosen "
            f"MATCH ({far}:Node {{id: chosen}}) WHERE {readable} RETURN {inner} }}]"
        )
    return (
        f"[{named}, COLLECT {{ MATCH ({far}:Node {{id: {named}}}) "
        f"WHERE {readable} RETURN {inner} }}]"
    )


def _named_id(var: str, reach: Reach) -> str:
    """The id ``reach`` names from node ``var``, or null; made as ``make_id`` makes it
    when no part needs quoting (``Reach.named_id`` checks what comes back)."""
    names = (reach.id_field,) if reach.id_field is not None else reach.id_parts
    if not names or any(name is None or name.strip(_PROPERTY_NAME) for name in names):
        raise ValueError(f"reach {reach.key}: not a property name in {names!r}")
    if reach.id_field is not None:
        return f"{var}.{reach.id_field}"
    given = " AND ".join(f"coalesce({var}.{name}, '') <> ''" for name in reach.id_parts)
    joined = " + '/' + ".join(f"{var}.{name}" for name in reach.id_parts)
    prefix = ID_PREFIXES[reach.via_kind or reach.kind][0]
    return f"CASE WHEN {given} THEN '{prefix}:' + {joined} END"


# Reads one reach again for one parent, level by level (``GraphStore._reach``).
TreeReader = Callable[[TreeNode, Reach], Awaitable[None]]


async def trees_of(
    rows: Sequence[Any], reaches: Sequence[Reach], again: TreeReader
) -> list[TreeNode]:
    """The rows of ``tree_query`` as trees; a reach whose named id Cypher could not make
    as ``make_id`` does is read again through ``again``."""
    wrong: list[tuple[TreeNode, Reach]] = []
    trees = [_tree(row["t"], reaches, wrong) for row in rows]
    for parent, reach in wrong:
        await again(parent, reach)
    return trees


def _tree(
    value: list[Any], reaches: Sequence[Reach], wrong: list[tuple[TreeNode, Reach]]
) -> TreeNode:
    node_id, properties, *reached = value
    tree = TreeNode(stored_node(node_id, properties))
    for reach, found in zip(reaches, reached, strict=True):
        if reach.edge is None:
            made, found = found
            named = reach.named_id(tree.node.record)
            if made != named:
                wrong.append((tree, reach))
                continue
        tree.reached[reach.key] = [_tree(child, reach.then, wrong) for child in found]
    return tree


def stored_node(node_id: str, properties: dict[str, Any]) -> StoredNode:
    """A node as a read returns it: its id and its properties (``readers`` nulled)."""
    kept = {
        name: value
        for name, value in properties.items()
        if name not in ("id", "readers", "sponsor_readers", "sources")
    }
    sources = properties.get("sources") or []
    return StoredNode.from_properties(node_id, parse_id(node_id).kind, kept, sources)
