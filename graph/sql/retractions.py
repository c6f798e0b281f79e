"""Retractions in the SQL store (``graph.retraction``): where they are kept and how an
edge is marked.

``graph_edge_retractions`` holds one row per retracted edge source, with the ref of
the retraction. An edge none of whose sources stands carries ``retracted: true`` in its
properties; ``standing`` is the condition every read but ``edges_from`` puts on the
edges it follows. A write that asserts a retracted edge again makes it stand again.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Column, Integer, MetaData, String, Table, UniqueConstraint, select, text
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection

from graph.model import EdgeKind
from graph.retraction import RETRACTABLE, RetractedEdge, Retraction
from graph.write_plan import WritePlan

retractions_metadata = MetaData()

graph_edge_retractions = Table(
    "graph_edge_retractions",
    retractions_metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("edge_source", String, nullable=False),
    Column("kind", String, nullable=False),
    Column("edge_target", String, nullable=False),
    Column("source", String, nullable=False),
    Column("retracted_by", String, nullable=False),
    UniqueConstraint(
        "edge_source", "kind", "edge_target", "source", name="uq_graph_edge_retractions"
    ),
)


def standing(alias: str) -> str:
    """SQL truth that the edge ``alias`` (a row of ``graph_edges``) is not retracted."""
    return f"json_extract({alias}.properties, '$.retracted') IS NULL"


# Whether the edge ``e`` has a source that is not retracted.
_STANDING_SOURCE = """EXISTS (
    SELECT 1 FROM graph_edge_sources AS s
    WHERE s.edge_source = e.source AND s.kind = e.kind AND s.edge_target = e.target
    AND NOT EXISTS (
        SELECT 1 FROM graph_edge_retractions AS r
        WHERE r.edge_source = s.edge_source AND r.kind = s.kind
        AND r.edge_target = s.edge_target AND r.source = s.source
    )
)"""
_EDGE = "e.source = :source AND e.kind = :kind AND e.target = :target"
_MARK = text(f"""
    UPDATE graph_edges AS e SET properties = CASE WHEN {_STANDING_SOURCE}
        THEN json_remove(e.properties, '$.retracted')
        ELSE json_set(e.properties, '$.retracted', json('true')) END
    WHERE {_EDGE}
""")
_RESTAND = text(f"""
    UPDATE graph_edges AS e SET properties = json_remove(e.properties, '$.retracted')
    WHERE {_EDGE} AND json_extract(e.properties, '$.retracted') IS NOT NULL
    AND {_STANDING_SOURCE}
""")
_IS_RETRACTED = text(
    f"SELECT json_extract(e.properties, '$.retracted') IS NOT NULL FROM graph_edges AS e "
    f"WHERE {_EDGE}"
)
# A retraction is rare: scanning the sources for its prefix is cheaper than an index
# every write would keep.
_SOURCES_UNDER = text(
    "SELECT edge_source, kind, edge_target, source FROM graph_edge_sources "
    "WHERE substr(source, 1, length(:prefix)) = :prefix "
    f"AND kind IN ({', '.join(repr(kind.value) for kind in sorted(RETRACTABLE))}) ORDER BY seq"
)


def retract_sync(conn: Connection, retractions: Sequence[Retraction]) -> list[RetractedEdge]:
    """Record each covered source's retraction and mark the edges it touched (sync:
    run via run_sync, inside the caller's transaction)."""
    table = graph_edge_retractions.c
    taken: dict[tuple[str, str, str], list[str]] = {}
    for retraction in retractions:
        for edge_source, kind, target, source in conn.execute(
            _SOURCES_UNDER, {"prefix": retraction.prefix}
        ).all():
            if not retraction.covers(source):
                continue
            known = conn.execute(
                select(table.seq).where(
                    table.edge_source == edge_source,
                    table.kind == kind,
                    table.edge_target == target,
                    table.source == source,
                )
            ).first()
            if known is not None:
                continue  # retracted already: the first retraction's provenance stays
            conn.execute(
                sqlite_insert(graph_edge_retractions).on_conflict_do_nothing(),
                {
                    "edge_source": edge_source,
                    "kind": kind,
                    "edge_target": target,
                    "source": source,
                    "retracted_by": retraction.provenance.ref,
                },
            )
            taken.setdefault((edge_source, kind, target), []).append(source)
    touched = []
    for (source, kind, target), sources in sorted(taken.items()):
        key = {"source": source, "kind": kind, "target": target}
        conn.execute(_MARK, key)
        retracted = bool(conn.execute(_IS_RETRACTED, key).scalar())
        touched.append(RetractedEdge(source, EdgeKind(kind), target, tuple(sources), retracted))
    return touched


def restand_sync(conn: Connection, plan: WritePlan) -> None:
    """Edges of ``plan`` that were retracted and are asserted anew stand again (sync,
    in the plan's transaction, after its edges and sources are written)."""
    if not plan.edges:
        return
    if conn.execute(select(graph_edge_retractions.c.seq).limit(1)).first() is None:
        return  # nothing was ever retracted: the common case costs one look
    conn.execute(
        _RESTAND,
        [
            {"source": edge.source, "kind": edge.kind.value, "target": edge.target}
            for edge in plan.edges.values()
        ],
    )
