"""Readers in the SQL store: where they are kept and how a write keeps them.

``node_readers`` holds one row per (node, organization that may read it); its primary
key answers "may org read this node" with one seek, and its (org, node_id) index lists
what an organization may read in id order (ids of one kind share a prefix, so a kind is
one range of it). ``batch_sponsors`` holds the subset of a batch's readers that are its
sponsors, the readers carried upstream (see ``graph.readers``).

``maintain_readers`` runs inside the plan's transaction, after its nodes and edges are
written: it looks up what the rules need, writes the grants, carries new sponsors
upstream with one recursive query (which stops where a batch already has them, so it
is bounded by the genealogy it actually changes and ends on cycles, and crosses an
edge between two owners only where ``graph.trust`` accepts it), and copies the
sponsors of every touched batch to its accepted test results and deviations.
"""

from __future__ import annotations

import json
from collections.abc import Iterable

from sqlalchemy import Column, Index, MetaData, String, Table, text
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection

from graph import readers
from graph.model import LINEAGE_EDGES, EdgeKind
from graph.sql.retractions import standing
from graph.write_plan import WritePlan

readers_metadata = MetaData()

node_readers = Table(
    "node_readers",
    readers_metadata,
    Column("node_id", String, primary_key=True),
    Column("org", String, primary_key=True),
    # Listings walk one organization's readable ids in order.
    Index("ix_node_readers_org_node", "org", "node_id"),
    sqlite_with_rowid=False,
)
batch_sponsors = Table(
    "batch_sponsors",
    readers_metadata,
    Column("node_id", String, primary_key=True),
    Column("org", String, primary_key=True),
    sqlite_with_rowid=False,
)

_LINEAGE_KINDS = ", ".join(f"'{kind.value}'" for kind in LINEAGE_EDGES)  # constants
_REPORT_KINDS = ", ".join(f"'{kind.value}'" for kind in readers.REPORT_EDGES)


def _owner(column: str) -> str:
    """SQL for the organization slug an id names first (``graph.trust.owner``): the
    text between the kind prefix's colon and the first slash. Slugs hold neither."""
    rest = f"substr({column}, instr({column}, ':') + 1)"
    return f"substr({rest}, 1, instr({rest} || '/', '/') - 1)"


# The edge ``e`` grants across owners only once its far lot was shipped to the
# claimant (``graph.trust.accepted``).
_ACCEPTED = f"""({_owner("e.source")} = {_owner("e.target")} OR EXISTS (
    SELECT 1 FROM graph_edges AS shipped
    WHERE shipped.source = e.target AND shipped.kind = '{EdgeKind.SHIPPED_TO.value}'
    AND {standing("shipped")}
    AND {_owner("shipped.target")} = {_owner("e.source")}
))"""

# Ids travel as one JSON array parameter, so a look-up of any size is one statement.
_OUTGOING = text(
    "SELECT source, target FROM graph_edges AS e "
    f"WHERE kind = :kind AND source IN (SELECT value FROM json_each(:ids)) AND {standing('e')}"
)
_INCOMING = text(
    "SELECT target, source FROM graph_edges AS e "
    f"WHERE kind = :kind AND target IN (SELECT value FROM json_each(:ids)) AND {standing('e')}"
)
_SPONSORS_OF = text(
    "SELECT node_id, org FROM batch_sponsors WHERE node_id IN (SELECT value FROM json_each(:ids))"
)
# Sponsor seeds and everything upstream of them, across accepted genealogy, that lacks
# them. A pair already stored is not followed: its upstream has it already, except
# across this plan's new edges, whose far ends are seeded with the near end's sponsors.
_CARRY_SPONSORS = text(f"""
    WITH RECURSIVE carried(node_id, org) AS (
        SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]') FROM json_each(:seeds)
        UNION
        SELECT e.target, c.org
        FROM carried AS c JOIN graph_edges AS e ON e.source = c.node_id
        WHERE e.kind IN ({_LINEAGE_KINDS}) AND {_ACCEPTED} AND NOT EXISTS (
            SELECT 1 FROM batch_sponsors AS s WHERE s.node_id = c.node_id AND s.org = c.org
        )
    )
    SELECT node_id, org FROM carried AS c
    WHERE NOT EXISTS (
        SELECT 1 FROM batch_sponsors AS s WHERE s.node_id = c.node_id AND s.org = c.org
    )
""")
_SHARE_WITH_REPORTS = text(f"""
    INSERT OR IGNORE INTO node_readers (node_id, org)
    SELECT e.source, s.org
    FROM graph_edges AS e JOIN batch_sponsors AS s ON s.node_id = e.target
    WHERE e.target IN (SELECT value FROM json_each(:lots)) AND e.kind IN ({_REPORT_KINDS})
    AND {_ACCEPTED}
""")


def maintain_readers(conn: Connection, plan: WritePlan) -> None:
    """Bring readers up to date with ``plan``, already written on ``conn``."""
    asked = readers.lookups(plan)
    found = {lookup: _neighbours(conn, lookup) for lookup in asked.neighbours}
    edges = readers.effective_edges(plan, asked, found)
    lots = readers.sponsored_lots(edges)
    sponsors = _grouped(conn.execute(_SPONSORS_OF, {"ids": _json(lots)})) if lots else {}
    changes = readers.changes(edges, asked, found, sponsors)
    rows = [
        {"node_id": node_id, "org": org}
        for nodes in (plan.nodes, plan.placeholders)
        for node_id in nodes
        for org in readers.key_readers(node_id)
    ]
    rows += [
        {"node_id": node_id, "org": org}
        for node_id, orgs in changes.grants.items()
        for org in sorted(orgs)
    ]
    seeds = [[lot, org] for lot, orgs in changes.sponsor_seeds.items() for org in sorted(orgs)]
    carried = []
    if seeds:
        carried = [
            {"node_id": node_id, "org": org}
            for node_id, org in conn.execute(_CARRY_SPONSORS, {"seeds": json.dumps(seeds)})
        ]
    if carried:
        conn.execute(sqlite_insert(batch_sponsors).on_conflict_do_nothing(), carried)
    rows += carried
    if rows:
        conn.execute(sqlite_insert(node_readers).on_conflict_do_nothing(), rows)
    reported = changes.reported_lots | {row["node_id"] for row in carried}
    if reported:
        conn.execute(_SHARE_WITH_REPORTS, {"lots": _json(reported)})


def _neighbours(conn: Connection, lookup: readers.Neighbours) -> dict[str, set[str]]:
    if not lookup.ids:
        return {}
    query = _OUTGOING if lookup.outgoing else _INCOMING
    return _grouped(conn.execute(query, {"kind": lookup.kind.value, "ids": _json(lookup.ids)}))


def _grouped(rows: Iterable[tuple[str, str]]) -> dict[str, set[str]]:
    grouped: dict[str, set[str]] = {}
    for key, value in rows:
        grouped.setdefault(key, set()).add(value)
    return grouped


def _json(ids: Iterable[str]) -> str:
    return json.dumps(sorted(ids))
