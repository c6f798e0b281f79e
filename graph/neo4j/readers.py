"""Readers in the Neo4j store: where they are kept and how a write keeps them.

Every node carries ``readers``, the list of organization slugs that may read it (set
from the node's own key when it is created, grown by the rules in ``graph.readers``),
and a batch also ``sponsor_readers``, the part of its readers carried upstream. Reads
check ``$org IN n.readers`` on each node they touch (a list property: Neo4j indexes
no list elements, so listings seek by id and check as they go).

``maintain_readers`` runs inside the plan's managed transaction, after its nodes and
edges are written. Every statement adds to lists only what they lack, one row per node,
so the transaction can be retried as a whole. Sponsors are carried upstream one hop
per statement from the batches that just gained some, across accepted genealogy only
(``graph.trust``), stopping at batches that already had them: the number of round trips is the depth of genealogy actually changed, and
cycles end because a batch gains each sponsor once.
"""

from __future__ import annotations

from typing import Any

from neo4j import AsyncManagedTransaction

from graph import readers
from graph.model import LINEAGE_EDGES
from graph.neo4j.rows import Rows
from graph.write_plan import WritePlan

_LINEAGE_TYPES = "|".join(kind.value for kind in LINEAGE_EDGES)
_REPORT_TYPES = "|".join(kind.value for kind in readers.REPORT_EDGES)


def _accepted(near: str, owner: str, far: str) -> str:
    """A predicate: the edge from ``near`` (owned by the organization ``owner``) to the
    lot ``far`` grants across owners (``graph.trust.accepted``): same owner, or ``far``
    was shipped to ``owner`` or one of its sites. Placeholders carry their key
    attributes (maker, org_id, org), so the owners are properties."""
    return (
        f"({far}.maker = {owner} OR EXISTS {{ MATCH ({far})-[shipped:SHIPPED_TO]->(dest) "
        f"WHERE shipped.retracted IS NULL AND (dest.org_id = {owner} OR dest.org = {owner}) }})"
    )


def _add(var: str, prop: str, orgs: str) -> str:
    """A SET item appending to ``var.prop`` those of ``orgs`` it lacks. The property is
    read in the SET itself, so Cypher locks the node first and a concurrent write
    cannot be lost."""
    current = f"coalesce({var}.{prop}, [])"
    return f"{var}.{prop} = {current} + [o IN {orgs} WHERE NOT o IN {current}]"


# Look-ups and hops answer in one row: the driver's cost per record, not the server's
# work, is most of a write's time when thousands of rows come back one by one.
_SPONSORS_OF = (
    "UNWIND $ids AS id MATCH (n:Node {id: id}) WHERE n.sponsor_readers IS NOT NULL "
    "RETURN collect([id, n.sponsor_readers]) AS found"
)
# rows: [node id, [orgs]], one row per node.
_GRANT = "UNWIND $rows AS row MATCH (n:Node {id: row[0]}) SET " + _add("n", "readers", "row[1]")
# rows: [batch id, [orgs]], one row per batch. Answers [batch id, orgs it gained, ids
# of the batches one hop upstream of it that lack some of them] for each batch that
# gained any: the next hop.
_CARRY_ONE_HOP = (
    "UNWIND $rows AS row MATCH (b:Node {id: row[0]}) "
    "WITH b, [o IN row[1] WHERE NOT o IN coalesce(b.sponsor_readers, [])] AS orgs "
    "WHERE size(orgs) > 0 "
    "SET "
    + _add("b", "sponsor_readers", "orgs")
    + ", "
    + _add("b", "readers", "orgs")
    + " WITH b, orgs "
    f"OPTIONAL MATCH (b)-[:{_LINEAGE_TYPES}]->(u:Batch) WHERE {_accepted('b', 'b.maker', 'u')} "
    # The next hop would skip a lot that has them all: it is left out here, where the
    # node is in hand, rather than sought again by id there.
    "AND any(o IN orgs WHERE NOT o IN coalesce(u.sponsor_readers, [])) "
    "WITH b, orgs, collect(u.id) AS upstream "
    "RETURN collect([b.id, orgs, upstream]) AS gained"
)
_SHARE_WITH_REPORTS = (
    f"UNWIND $ids AS id MATCH (b:Node {{id: id}})<-[:{_REPORT_TYPES}]-(x) "
    f"WHERE {_accepted('x', 'coalesce(x.lab, x.org)', 'b')} "
    "UNWIND coalesce(b.sponsor_readers, []) AS org "
    "WITH x, collect(DISTINCT org) AS orgs SET " + _add("x", "readers", "orgs")
)


async def maintain_readers(tx: AsyncManagedTransaction, plan: WritePlan) -> None:
    """Bring readers up to date with ``plan``, already written in ``tx``."""
    asked = readers.lookups(plan)
    found = await _look_up(tx, asked.neighbours)
    edges = readers.effective_edges(plan, asked, found)
    lots = readers.sponsored_lots(edges)
    sponsors: dict[str, set[str]] = {}
    if lots:
        for lot, orgs in await _one(tx, _SPONSORS_OF, ids=list(lots)):
            sponsors[lot] = set(orgs)
    changes = readers.changes(edges, asked, found, sponsors)
    if changes.grants:
        rows = [[node_id, sorted(orgs)] for node_id, orgs in changes.grants.items()]
        await _run(tx, _GRANT, rows=rows)
    gained = await _carry_upstream(tx, changes.sponsor_seeds)
    reported = changes.reported_lots | gained
    if reported:
        await _run(tx, _SHARE_WITH_REPORTS, ids=sorted(reported))


async def _carry_upstream(tx: AsyncManagedTransaction, seeds: dict[str, set[str]]) -> set[str]:
    """Add ``seeds`` and carry them upstream; return the batches that gained sponsors."""
    gained: set[str] = set()
    frontier = seeds
    while frontier:
        rows = [[lot, sorted(orgs)] for lot, orgs in frontier.items()]
        frontier = {}
        for lot, orgs, upstream in await _one(tx, _CARRY_ONE_HOP, rows=rows):
            gained.add(lot)
            for next_lot in upstream:
                frontier.setdefault(next_lot, set()).update(orgs)
    return gained


async def _look_up(
    tx: AsyncManagedTransaction, lookups: tuple[readers.Neighbours, ...]
) -> dict[readers.Neighbours, dict[str, set[str]]]:
    """Answer ``lookups``: far ends by id for each. Look-ups from the same ids in the
    same direction (the claims on shipped lots: five kinds) are one statement, one
    index seek per id and one expand over their kinds, split by kind here."""
    found: dict[readers.Neighbours, dict[str, set[str]]] = {lookup: {} for lookup in lookups}
    grouped: dict[tuple[bool, tuple[str, ...]], dict[str, readers.Neighbours]] = {}
    for lookup in lookups:
        if lookup.ids:
            grouped.setdefault((lookup.outgoing, lookup.ids), {})[lookup.kind.value] = lookup
    for (outgoing, ids), by_kind in grouped.items():
        left, right = ("-", "->") if outgoing else ("<-", "-")
        query = (
            f"UNWIND $ids AS id MATCH (:Node {{id: id}}){left}[r:{'|'.join(sorted(by_kind))}]"
            f"{right}(far) WHERE r.retracted IS NULL RETURN collect([id, type(r), far.id]) AS found"
        )
        for node_id, kind, far in await _one(tx, query, ids=list(ids)):
            found[by_kind[kind]].setdefault(node_id, set()).add(far)
    return found


async def _one(tx: AsyncManagedTransaction, query: str, **parameters: Any) -> list[Any]:
    """The list a one-row, one-column query answers."""
    result = await tx.run(query, _short(parameters))
    record = await result.single(strict=True)
    found: list[Any] = record[0]
    return found


async def _run(tx: AsyncManagedTransaction, query: str, **parameters: Any) -> None:
    result = await tx.run(query, _short(parameters))
    await result.consume()


def _short(parameters: dict[str, Any]) -> dict[str, Any]:
    """The parameters, each list as ``Rows`` (``graph.neo4j.rows``: a short ``repr``)."""
    return {
        name: Rows(value) if isinstance(value, list) else value
        for name, value in parameters.items()
    }
