"""The embedded graph store: SQLAlchemy over SQLite, genealogy by recursive CTE.

It is the zero-install default (``partnerhub demo`` needs nothing else) and answers
exactly as the Neo4j store does. Nodes and edges are rows with a JSON column of
attributes; who asserted what lives in two small source tables, so adding a source
is an ``INSERT ... ON CONFLICT DO NOTHING`` rather than a read-modify-write.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from sqlalchemy import (
    JSON,
    Column,
    ColumnElement,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    UniqueConstraint,
    and_,
    delete,
    event,
    func,
    literal,
    or_,
    select,
    text,
)
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from graph.ids import NodeKind
from graph.lineage import Direction, LineageEdge, Walk
from graph.model import LINEAGE_EDGES, EdgeKind
from graph.queries import Condition, Equals, LinkedTo
from graph.store import GraphCounts, GraphStore, NodePage, StoredNode, StoreUnavailable
from graph.write_plan import WritePlan, WriteSummary

metadata = MetaData()

graph_nodes = Table(
    "graph_nodes",
    metadata,
    Column("id", String, primary_key=True),
    Column("kind", String, nullable=False),
    Column("properties", JSON, nullable=False),
    # Listings page through one kind in id order.
    Index("ix_graph_nodes_kind_id", "kind", "id"),
)
graph_node_sources = Table(
    "graph_node_sources",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("node_id", String, nullable=False),
    Column("source", String, nullable=False),
    UniqueConstraint("node_id", "source", name="uq_graph_node_sources"),
)
graph_edges = Table(
    "graph_edges",
    metadata,
    Column("source", String, primary_key=True),
    Column("kind", String, primary_key=True),
    Column("target", String, primary_key=True),
    Column("properties", JSON, nullable=False),
    # The primary key serves walks that follow edges forwards; this one, backwards.
    Index("ix_graph_edges_target", "target", "kind", "source"),
)
graph_edge_sources = Table(
    "graph_edge_sources",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("edge_source", String, nullable=False),
    Column("kind", String, nullable=False),
    Column("edge_target", String, nullable=False),
    Column("source", String, nullable=False),
    UniqueConstraint("edge_source", "kind", "edge_target", "source", name="uq_graph_edge_sources"),
)

_LINEAGE_KINDS = ", ".join(f"'{kind.value}'" for kind in LINEAGE_EDGES)  # constants, not input
_IN_CHUNK = 500  # ids per IN (...) list, well under SQLite's bound-parameter limit


def _walk_sql(near: str, far: str, *, incident: bool) -> str:
    """A recursive CTE walking from ``near`` to ``far`` ends of genealogy edges.

    UNION (not UNION ALL) drops repeated (batch, depth) pairs and the depth bound stops
    the recursion, so cyclic bad data terminates. The outer joins return every reached
    batch once per genealogy edge leaving it (with ``incident``, also entering it), or
    once with NULLs if there is none.
    """
    edges_of_reached = f"""
        SELECT r.id, r.depth, e.source, e.target, e.kind, e.properties
        FROM reached AS r
        LEFT JOIN graph_edges AS e ON e.{near} = r.id AND e.kind IN ({_LINEAGE_KINDS})
    """
    if incident:
        edges_of_reached += f"""
        UNION ALL
        SELECT r.id, r.depth, e.source, e.target, e.kind, e.properties
        FROM reached AS r
        JOIN graph_edges AS e ON e.{far} = r.id AND e.kind IN ({_LINEAGE_KINDS})
        """
    return f"""
        WITH RECURSIVE walk(id, depth) AS (
            SELECT :root, 0
            UNION
            SELECT e.{far}, w.depth + 1
            FROM walk AS w JOIN graph_edges AS e ON e.{near} = w.id
            WHERE e.kind IN ({_LINEAGE_KINDS}) AND w.depth < :max_depth
        ),
        reached AS (SELECT id, MIN(depth) AS depth FROM walk GROUP BY id)
        {edges_of_reached}
    """


_WALK_SQL = {
    (direction, incident): text(_walk_sql(near, far, incident=incident))
    for direction, near, far in (
        (Direction.UPSTREAM, "source", "target"),
        (Direction.DOWNSTREAM, "target", "source"),
    )
    for incident in (False, True)
}


def _tune_sqlite(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # WAL lets readers run beside the single writer; NORMAL is durable at checkpoints.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


class SqlGraphStore(GraphStore):
    def __init__(self, url: str, *, echo: bool = False) -> None:
        self.url = url
        self.engine: AsyncEngine = create_async_engine(url, echo=echo)
        if self.engine.dialect.name == "sqlite":
            event.listen(self.engine.sync_engine, "connect", _tune_sqlite)
        else:
            raise ValueError(
                f"the SQL graph store runs on SQLite; {self.engine.dialect.name!r} is not "
                "supported (use the Neo4j store in production)"
            )

    async def ping(self) -> None:
        try:
            async with self.engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
        except OperationalError as error:
            raise StoreUnavailable(f"SQL graph store: {error.orig}") from error

    async def setup(self) -> None:
        async with self.engine.begin() as conn:
            await conn.run_sync(metadata.create_all)

    async def close(self) -> None:
        await self.engine.dispose()

    async def upsert_plan(self, plan: WritePlan) -> WriteSummary:
        try:
            async with self.engine.begin() as conn:
                await conn.run_sync(_apply_plan_sync, plan)
        except OperationalError as error:
            raise StoreUnavailable(f"SQL graph store: {error.orig}") from error
        return plan.summary()

    async def get_nodes(self, ids: Sequence[str]) -> dict[str, StoredNode]:
        wanted = list(dict.fromkeys(ids))
        found: dict[str, StoredNode] = {}
        async with self.engine.connect() as conn:
            for start in range(0, len(wanted), _IN_CHUNK):
                chunk = wanted[start : start + _IN_CHUNK]
                rows = await conn.execute(
                    select(graph_nodes.c.id, graph_nodes.c.kind, graph_nodes.c.properties).where(
                        graph_nodes.c.id.in_(chunk)
                    )
                )
                sources = await _sources_of(conn, chunk)
                for node_id, kind, properties in rows:
                    found[node_id] = StoredNode.from_properties(
                        node_id, NodeKind(kind), properties, sources.get(node_id, [])
                    )
        return found

    async def walk(
        self, batch_id: str, direction: Direction, max_depth: int, *, incident: bool = False
    ) -> Walk | None:
        async with self.engine.connect() as conn:
            kind = await conn.scalar(select(graph_nodes.c.kind).where(graph_nodes.c.id == batch_id))
            if kind != NodeKind.BATCH.value:
                return None
            rows = await conn.execute(
                _WALK_SQL[direction, incident], {"root": batch_id, "max_depth": max_depth}
            )
            reached: dict[str, int] = {}
            edges: list[LineageEdge] = []
            for node_id, depth, source, target, edge_kind, properties in rows:
                reached[node_id] = depth
                if edge_kind is not None:
                    edges.append(_lineage_edge(source, target, edge_kind, properties))
        return Walk(direction, reached, edges)

    async def out_edges(
        self, ids: Sequence[str], kinds: Sequence[EdgeKind]
    ) -> list[tuple[str, EdgeKind, str]]:
        return await self._edges_at(graph_edges.c.source, ids, kinds)

    async def in_edges(
        self, ids: Sequence[str], kinds: Sequence[EdgeKind]
    ) -> list[tuple[str, EdgeKind, str]]:
        return await self._edges_at(graph_edges.c.target, ids, kinds)

    async def _edges_at(
        self, end: Column[str], ids: Sequence[str], kinds: Sequence[EdgeKind]
    ) -> list[tuple[str, EdgeKind, str]]:
        found: list[tuple[str, EdgeKind, str]] = []
        kind_values = [kind.value for kind in kinds]
        wanted = list(dict.fromkeys(ids))
        async with self.engine.connect() as conn:
            for start in range(0, len(wanted), _IN_CHUNK):
                rows = await conn.execute(
                    select(graph_edges.c.source, graph_edges.c.kind, graph_edges.c.target)
                    .where(
                        end.in_(wanted[start : start + _IN_CHUNK]),
                        graph_edges.c.kind.in_(kind_values),
                    )
                    .order_by(graph_edges.c.source, graph_edges.c.kind, graph_edges.c.target)
                )
                found += [(source, EdgeKind(kind), target) for source, kind, target in rows]
        return found

    async def list_nodes(
        self, kind: NodeKind, conditions: Sequence[Condition], first: int, after: str | None
    ) -> NodePage:
        query = (
            select(graph_nodes.c.id, graph_nodes.c.properties)
            .where(graph_nodes.c.kind == kind.value, graph_nodes.c.id > (after or ""))
            .where(*(_sql_condition(condition) for condition in conditions))
            .order_by(graph_nodes.c.id)
            .limit(first + 1)  # one more than asked says whether another page follows
        )
        async with self.engine.connect() as conn:
            rows = (await conn.execute(query)).all()
            page = rows[:first]
            sources = await _sources_of(conn, [node_id for node_id, _ in page])
        nodes = tuple(
            StoredNode.from_properties(node_id, kind, properties, sources.get(node_id, []))
            for node_id, properties in page
        )
        return NodePage(nodes, has_next=len(rows) > first)

    async def counts(self) -> GraphCounts:
        async with self.engine.connect() as conn:
            node_rows = await conn.execute(
                select(graph_nodes.c.kind, func.count()).group_by(graph_nodes.c.kind)
            )
            edge_rows = await conn.execute(
                select(graph_edges.c.kind, func.count()).group_by(graph_edges.c.kind)
            )
            return GraphCounts(
                nodes={NodeKind(kind): count for kind, count in node_rows},
                edges={EdgeKind(kind): count for kind, count in edge_rows},
            )

    async def wipe(self) -> None:
        async with self.engine.begin() as conn:
            for table in (graph_edge_sources, graph_edges, graph_node_sources, graph_nodes):
                await conn.execute(delete(table))


def _sql_condition(condition: Condition) -> ColumnElement[bool]:
    if isinstance(condition, LinkedTo):
        return or_(*(_path_exists(path, condition.target) for path in condition.paths))
    # The JSON path is built from a model field name (code), never from client input.
    value = func.json_extract(graph_nodes.c.properties, f"$.{condition.field}")
    if isinstance(condition, Equals):
        return value == condition.value
    bounds: list[ColumnElement[bool]] = []
    if condition.low is not None:
        bounds.append(value >= condition.low.isoformat())
    if condition.high is not None:
        bounds.append(value <= condition.high.isoformat())
    return and_(value.is_not(None), *bounds)


def _path_exists(path: Sequence[EdgeKind], target: str) -> ColumnElement[bool]:
    """EXISTS a chain of edges of the path's kinds from the listed node to ``target``."""
    hops = [graph_edges.alias(f"hop{index}") for index in range(len(path))]
    clauses: list[ColumnElement[bool]] = [hops[0].c.source == graph_nodes.c.id]
    for index, (hop, kind) in enumerate(zip(hops, path, strict=True)):
        clauses.append(hop.c.kind == kind.value)
        if index:
            clauses.append(hop.c.source == hops[index - 1].c.target)
    clauses.append(hops[-1].c.target == target)
    return select(literal(1)).select_from(*hops).where(*clauses).exists()


def _lineage_edge(source: str, target: str, kind: str, properties: Any) -> LineageEdge:
    values = json.loads(properties) if isinstance(properties, str) else (properties or {})
    return LineageEdge(source, target, EdgeKind(kind), values.get("quantity"), values.get("unit"))


async def _sources_of(conn: AsyncConnection, ids: Sequence[str]) -> dict[str, list[str]]:
    rows = await conn.execute(
        select(graph_node_sources.c.node_id, graph_node_sources.c.source)
        .where(graph_node_sources.c.node_id.in_(ids))
        .order_by(graph_node_sources.c.seq)
    )
    sources: dict[str, list[str]] = {}
    for node_id, source in rows:
        sources.setdefault(node_id, []).append(source)
    return sources


def _apply_plan_sync(conn: Connection, plan: WritePlan) -> None:
    """Apply a WritePlan inside the caller's transaction (sync: run via run_sync)."""
    if plan.nodes:
        insert = sqlite_insert(graph_nodes)
        conn.execute(
            insert.on_conflict_do_update(
                index_elements=[graph_nodes.c.id],
                # A later export adds or corrects attributes; it never erases one it omits.
                set_={
                    "properties": func.json_patch(
                        graph_nodes.c.properties, insert.excluded.properties
                    )
                },
            ),
            [
                {"id": node.id, "kind": node.kind.value, "properties": node.properties}
                for node in plan.nodes.values()
            ],
        )
        conn.execute(
            sqlite_insert(graph_node_sources).on_conflict_do_nothing(),
            [
                {"node_id": node.id, "source": source}
                for node in plan.nodes.values()
                for source in node.sources
            ],
        )
    if plan.placeholders:
        conn.execute(
            sqlite_insert(graph_nodes).on_conflict_do_nothing(),
            [
                {"id": node.id, "kind": node.kind.value, "properties": node.properties}
                for node in plan.placeholders.values()
            ],
        )
    if plan.edges:
        insert = sqlite_insert(graph_edges)
        conn.execute(
            insert.on_conflict_do_update(
                index_elements=[graph_edges.c.source, graph_edges.c.kind, graph_edges.c.target],
                set_={
                    "properties": func.json_patch(
                        graph_edges.c.properties, insert.excluded.properties
                    )
                },
            ),
            [
                {
                    "source": edge.source,
                    "kind": edge.kind.value,
                    "target": edge.target,
                    "properties": edge.properties,
                }
                for edge in plan.edges.values()
            ],
        )
        conn.execute(
            sqlite_insert(graph_edge_sources).on_conflict_do_nothing(),
            [
                {
                    "edge_source": edge.source,
                    "kind": edge.kind.value,
                    "edge_target": edge.target,
                    "source": source,
                }
                for edge in plan.edges.values()
                for source in edge.sources
            ],
        )
