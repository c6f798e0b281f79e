"""The embedded graph store: SQLAlchemy over SQLite, genealogy by recursive CTE.

It is the zero-install default (``partnerhub demo`` needs nothing else) and answers
exactly as the Neo4j store does. Nodes and edges are rows with a JSON column of
attributes; who asserted what lives in two small source tables, so adding a source
is an ``INSERT ... ON CONFLICT DO NOTHING`` rather than a read-modify-write. Who may
read what lives in ``node_readers`` (``graph.sql.readers``), kept up to date in each
write's transaction; reads under a visibility filter on it inside the query. Retracted
edges (``graph.sql.retractions``) are marked in their properties and left out of every
read but ``edges_from``.
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

from graph.directory import owned_prefixes
from graph.ids import NodeKind
from graph.lineage import Direction, LineageEdge, Walk, walk_directions
from graph.model import LINEAGE_EDGES, EdgeKind
from graph.oversight import BatchQuality, BatchScope, Measurement, MeasurementScope
from graph.queries import Condition, Equals, LinkedTo
from graph.retraction import RetractedEdge, Retraction
from graph.sql import oversight
from graph.sql.compliance import SqlCompliance
from graph.sql.readers import batch_sponsors, maintain_readers, node_readers, readers_metadata
from graph.sql.retractions import (
    graph_edge_retractions,
    restand_sync,
    retract_sync,
    retractions_metadata,
    standing,
)
from graph.store import (
    GraphCounts,
    GraphStore,
    NodePage,
    StoredEdge,
    StoredNode,
    StoreUnavailable,
)
from graph.visibility import EVERYTHING, Visibility, id_range
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


def _walk_sql(directions: tuple[Direction, ...], *, restricted: bool) -> str:
    """One statement answering a whole walk (see graph.lineage): a row per reached batch
    (id, depth, visible) and edge between reached batches leading from it (source,
    target, kind, properties; NULLs if none), and one row of NULLs if it is truncated;
    no rows at all if the root is not a batch the principal may read.

    Each direction is a recursive CTE over (batch, depth); UNION (not UNION ALL) drops
    repeated pairs and the depth bound stops the recursion, so cyclic bad data
    terminates. When ``restricted``, each batch reached is checked once
    against the readers of the organization ``:org``, and the walk leaves only visible
    ones: a hidden batch is reached (as a stub) but never passed, and an edge is shown
    only if one of its ends is visible.
    """

    def visible(node_id: str) -> str:
        if not restricted:
            return "1"
        return (
            f"EXISTS (SELECT 1 FROM node_readers AS v WHERE v.node_id = {node_id} AND v.org = :org)"
        )

    # The walk starts only from a batch the principal may read: otherwise no rows at all.
    root = (
        f"EXISTS (SELECT 1 FROM graph_nodes WHERE id = :root AND kind = '{NodeKind.BATCH.value}')"
    )
    if restricted:
        root += f" AND {visible(':root')}"
    ctes, cuts = [], []
    for direction in directions:
        near, far = (
            ("source", "target") if direction is Direction.UPSTREAM else ("target", "source")
        )
        name = direction.name
        # One way, the walk's shortest distances are the answer's batches.
        shortest = "reached" if len(directions) == 1 else f"{name}_shortest"
        # Unrestricted, every batch is visible: the recursion carries no flag to dedupe.
        flag, flagged, passable = (
            (", visible", f", {visible(f'e.{far}')}", "w.visible AND ")
            if restricted
            else ("", "", "")
        )
        ctes.append(f"""
        {name}(id, depth{flag}) AS (
            SELECT :root, 0{", 1" if restricted else ""} WHERE {root}
            UNION
            SELECT e.{far}, w.depth + 1{flagged}
            FROM {name} AS w JOIN graph_edges AS e ON e.{near} = w.id
            WHERE {passable}w.depth < :max_depth AND e.kind IN ({_LINEAGE_KINDS})
            AND {standing("e")}
        ),
        {shortest}(id, depth, visible) AS (
            SELECT id, MIN(depth), {"MAX(visible)" if restricted else "1"} FROM {name} GROUP BY id
        )""")
        # Cut short: a visible batch at the depth limit has an edge leading on to a batch
        # this walk did not reach.
        cuts.append(f"""EXISTS (
            SELECT 1 FROM {shortest} AS f
            JOIN graph_edges AS e ON e.{near} = f.id AND e.kind IN ({_LINEAGE_KINDS})
            AND {standing("e")}
            WHERE f.depth = :max_depth AND f.visible
            AND +e.{far} NOT IN (SELECT id FROM {shortest})
        )""")
    if len(directions) == 2:
        both = " UNION ALL ".join(f"SELECT * FROM {each.name}_shortest" for each in directions)
        ctes.append(
            f"reached(id, depth, visible) AS "
            f"(SELECT id, MIN(depth), MAX(visible) FROM ({both}) GROUP BY id)"
        )
    cut = " OR ".join(cuts)
    # Each edge between two reached batches, unless both are stubs, is found once from
    # its near end in the walking direction (its target when walking downstream) and
    # kept if its far end was reached too. One way, an edge leaving a visible batch
    # short of the depth limit always leads to a reached one, so only the others need
    # the look-up. ``+x IN (subquery)`` looks x up in the reached set (indexed once)
    # instead of probing edges once per reached id: the + keeps the edge index off it.
    near, far = (
        ("target", "source") if directions == (Direction.DOWNSTREAM,) else ("source", "target")
    )
    far_reached = f"+e.{far} IN (SELECT id FROM reached)"
    far_visible = f"+e.{far} IN (SELECT id FROM reached WHERE visible)"
    if len(directions) == 2:
        keep = f"{far_reached} AND (a.visible OR {far_visible})" if restricted else far_reached
    elif restricted:
        keep = (
            f"a.visible AND (a.depth < :max_depth OR {far_reached}) "
            f"OR NOT a.visible AND {far_visible}"
        )
    else:
        keep = f"a.depth < :max_depth OR {far_reached}"
    return f"""
        WITH RECURSIVE {",".join(ctes)}
        SELECT a.id, a.depth, a.visible, e.source, e.target, e.kind, e.properties
        FROM reached AS a
        LEFT JOIN graph_edges AS e
        ON e.{near} = a.id AND e.kind IN ({_LINEAGE_KINDS}) AND {standing("e")} AND ({keep})
        UNION ALL
        SELECT NULL, NULL, NULL, NULL, NULL, NULL, NULL WHERE {cut}
    """


_WALK_SQL = {
    (direction, restricted): text(_walk_sql(walk_directions(direction), restricted=restricted))
    for direction in Direction
    for restricted in (False, True)
}


def _tune_sqlite(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # WAL lets readers run beside the single writer; NORMAL is durable at checkpoints.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


class SqlGraphStore(SqlCompliance, GraphStore):
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
            await conn.run_sync(readers_metadata.create_all)
            await conn.run_sync(retractions_metadata.create_all)

    async def close(self) -> None:
        await self.engine.dispose()

    async def upsert_plan(self, plan: WritePlan) -> WriteSummary:
        try:
            async with self.engine.begin() as conn:
                await conn.run_sync(_apply_plan_sync, plan)
                await conn.run_sync(restand_sync, plan)
                await conn.run_sync(maintain_readers, plan)
        except OperationalError as error:
            raise StoreUnavailable(f"SQL graph store: {error.orig}") from error
        return plan.summary()

    async def get_nodes(
        self, ids: Sequence[str], *, visibility: Visibility = EVERYTHING
    ) -> dict[str, StoredNode]:
        wanted = list(dict.fromkeys(ids))
        found: dict[str, StoredNode] = {}
        async with self.engine.connect() as conn:
            for start in range(0, len(wanted), _IN_CHUNK):
                chunk = wanted[start : start + _IN_CHUNK]
                rows = (
                    await conn.execute(
                        select(graph_nodes.c.id, graph_nodes.c.kind, graph_nodes.c.properties)
                        .where(graph_nodes.c.id.in_(chunk))
                        .where(*_readable(graph_nodes.c.id, visibility))
                    )
                ).all()
                sources = await _sources_of(conn, [node_id for node_id, _, _ in rows])
                for node_id, kind, properties in rows:
                    found[node_id] = StoredNode.from_properties(
                        node_id, NodeKind(kind), properties, sources.get(node_id, [])
                    )
        return found

    async def walk(
        self,
        batch_id: str,
        direction: Direction,
        max_depth: int,
        *,
        visibility: Visibility = EVERYTHING,
    ) -> Walk | None:
        restricted = not visibility.everything
        parameters: dict[str, Any] = {"root": batch_id, "max_depth": max_depth}
        if restricted:
            parameters["org"] = visibility.org
        async with self.engine.connect() as conn:
            rows = await conn.execute(_WALK_SQL[direction, restricted], parameters)
            reached: dict[str, int] = {}
            redacted: set[str] = set()
            edges: list[LineageEdge] = []
            truncated = False
            for node_id, depth, visible, source, target, kind, properties in rows:
                if node_id is None:
                    truncated = True
                    continue
                reached[node_id] = depth
                if not visible:
                    redacted.add(node_id)
                if kind is not None:
                    edges.append(_lineage_edge(source, target, kind, properties))
        if not reached:
            return None
        return Walk(reached, frozenset(redacted), edges, truncated)

    async def out_edges(
        self,
        ids: Sequence[str],
        kinds: Sequence[EdgeKind],
        *,
        visibility: Visibility = EVERYTHING,
    ) -> list[tuple[str, EdgeKind, str]]:
        return await self._edges_at(graph_edges.c.source, ids, kinds, visibility)

    async def in_edges(
        self,
        ids: Sequence[str],
        kinds: Sequence[EdgeKind],
        *,
        visibility: Visibility = EVERYTHING,
    ) -> list[tuple[str, EdgeKind, str]]:
        return await self._edges_at(graph_edges.c.target, ids, kinds, visibility)

    async def _edges_at(
        self,
        end: Column[str],
        ids: Sequence[str],
        kinds: Sequence[EdgeKind],
        visibility: Visibility,
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
                        func.json_extract(graph_edges.c.properties, "$.retracted").is_(None),
                        *_readable(graph_edges.c.source, visibility.edge_ends),
                        *_readable(graph_edges.c.target, visibility.edge_ends),
                    )
                    .order_by(graph_edges.c.source, graph_edges.c.kind, graph_edges.c.target)
                )
                found += [(source, EdgeKind(kind), target) for source, kind, target in rows]
        return found

    async def edges_from(
        self,
        ids: Sequence[str],
        kinds: Sequence[EdgeKind],
        *,
        visibility: Visibility = EVERYTHING,
    ) -> list[StoredEdge]:
        kind_values = [kind.value for kind in kinds]
        wanted = list(dict.fromkeys(ids))
        found: list[StoredEdge] = []
        edges, sources = graph_edges.c, graph_edge_sources.c
        async with self.engine.connect() as conn:
            for start in range(0, len(wanted), _IN_CHUNK):
                chunk = wanted[start : start + _IN_CHUNK]
                rows = (
                    await conn.execute(
                        select(edges.source, edges.kind, edges.target, edges.properties)
                        .where(
                            edges.source.in_(chunk),
                            edges.kind.in_(kind_values),
                            *_readable(edges.source, visibility.edge_ends),
                            *_readable(edges.target, visibility.edge_ends),
                        )
                        .order_by(edges.source, edges.kind, edges.target)
                    )
                ).all()
                asserted: dict[tuple[str, str, str], list[str]] = {}
                for edge_source, kind, target, source in await conn.execute(
                    select(sources.edge_source, sources.kind, sources.edge_target, sources.source)
                    .where(sources.edge_source.in_(chunk), sources.kind.in_(kind_values))
                    .order_by(sources.seq)
                ):
                    asserted.setdefault((edge_source, kind, target), []).append(source)
                taken_back: dict[tuple[str, str, str], list[str]] = {}
                retractions = graph_edge_retractions.c
                for edge_source, kind, target, by in await conn.execute(
                    select(
                        retractions.edge_source,
                        retractions.kind,
                        retractions.edge_target,
                        retractions.retracted_by,
                    )
                    .where(retractions.edge_source.in_(chunk), retractions.kind.in_(kind_values))
                    .order_by(retractions.seq)
                ):
                    taken_back.setdefault((edge_source, kind, target), []).append(by)
                found += [
                    StoredEdge.from_properties(
                        source,
                        EdgeKind(kind),
                        target,
                        properties,
                        asserted.get((source, kind, target), []),
                        taken_back.get((source, kind, target), []),
                    )
                    for source, kind, target, properties in rows
                ]
        return found

    async def retract(self, retractions: Sequence[Retraction]) -> list[RetractedEdge]:
        if not retractions:
            return []
        try:
            async with self.engine.begin() as conn:
                return await conn.run_sync(retract_sync, retractions)
        except OperationalError as error:
            raise StoreUnavailable(f"SQL graph store: {error.orig}") from error

    async def list_nodes(
        self,
        kind: NodeKind,
        conditions: Sequence[Condition],
        first: int,
        after: str | None,
        *,
        visibility: Visibility = EVERYTHING,
    ) -> NodePage:
        filters = [_sql_condition(condition, visibility) for condition in conditions]
        if kind in visibility.public | visibility.related_only:
            query = select(graph_nodes.c.id, graph_nodes.c.properties).where(
                graph_nodes.c.kind == kind.value,
                graph_nodes.c.id > (after or ""),
                *(
                    _readable(graph_nodes.c.id, visibility)
                    if kind in visibility.related_only
                    else ()
                ),
            )
            order: Column[str] = graph_nodes.c.id
        else:
            # Walk the organization's readable ids of this kind in order (one range of
            # the (org, node_id) index), so a page costs what it holds, not what it skips.
            low, high = id_range(kind)
            query = (
                select(graph_nodes.c.id, graph_nodes.c.properties)
                .select_from(
                    node_readers.join(graph_nodes, graph_nodes.c.id == node_readers.c.node_id)
                )
                .where(
                    node_readers.c.org == visibility.org,
                    node_readers.c.node_id > max(after or "", low),
                    node_readers.c.node_id < high,
                    graph_nodes.c.kind == kind.value,
                )
            )
            order = node_readers.c.node_id
        query = (
            query.where(*filters)
            .order_by(order)
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

    async def batch_quality(
        self, scope: BatchScope, *, visibility: Visibility = EVERYTHING
    ) -> list[BatchQuality]:
        return await oversight.batch_quality(self.engine, scope, visibility)

    async def measurements(
        self, scope: MeasurementScope, *, visibility: Visibility = EVERYTHING
    ) -> list[Measurement]:
        return await oversight.measurements(self.engine, scope, visibility)

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
            for table in (
                batch_sponsors,
                node_readers,
                graph_edge_retractions,
                graph_edge_sources,
                graph_edges,
                graph_node_sources,
                graph_nodes,
            ):
                await conn.execute(delete(table))


def _readable(node_id: ColumnElement[str], visibility: Visibility) -> list[ColumnElement[bool]]:
    """The conditions (none for everything) that the node ``node_id`` names may be read:
    a public kind, known by its id prefix, a reader row for the organization, or an
    organization or site of the directory it is related to (``graph.directory``)."""
    if visibility.everything:
        return []
    public = [
        and_(node_id >= low, node_id < high)
        for low, high in map(id_range, sorted(visibility.public))
    ]
    reader = (
        select(literal(1))
        .where(node_readers.c.node_id == node_id, node_readers.c.org == visibility.org)
        .exists()
    )
    related = []
    if NodeKind.ORGANIZATION in visibility.related_only:
        low, high = id_range(NodeKind.ORGANIZATION)
        slug = func.substr(node_id, len(low) + 1, type_=String)
        related.append(and_(node_id >= low, node_id < high, _related(slug, visibility.org)))
    if NodeKind.SITE in visibility.related_only:
        low, high = id_range(NodeKind.SITE)
        # site:<org>/<code>: the organization's slug ends at the first '/'.
        slug = func.substr(
            node_id, len(low) + 1, func.instr(node_id, "/") - len(low) - 1, type_=String
        )
        related.append(and_(node_id >= low, node_id < high, _related(slug, visibility.org)))
    return [or_(*public, reader, *related)]


def _related(slug: ColumnElement[str], org: str | None) -> ColumnElement[bool]:
    """SQL truth that the organization ``slug`` is related to ``org`` (``graph.directory``):
    itself, the owner of a node ``org`` reads (one range of the (org, node_id) index per
    kind: ``<prefix><slug>/`` up to ``<prefix><slug>0``, '0' sorting right after '/'),
    or a party to an agreement ``org`` reads."""
    readers = node_readers.alias("directory_readers")
    owns_readable = [
        select(literal(1))
        .where(
            readers.c.org == org,
            readers.c.node_id >= literal(prefix, String).concat(slug).concat("/"),
            readers.c.node_id < literal(prefix, String).concat(slug).concat("0"),
        )
        .exists()
        for prefix in owned_prefixes()
    ]
    party = graph_edges.alias("directory_parties")
    party_readers = node_readers.alias("directory_agreement_readers")
    party_to_readable = (
        select(literal(1))
        .select_from(party.join(party_readers, party_readers.c.node_id == party.c.target))
        .where(
            party.c.source == literal("org:", String).concat(slug),
            party.c.kind == EdgeKind.PARTY_TO.value,
            party_readers.c.org == org,
        )
        .exists()
    )
    return or_(slug == org, party_to_readable, *owns_readable)  # cheapest first


def _sql_condition(condition: Condition, visibility: Visibility) -> ColumnElement[bool]:
    if isinstance(condition, LinkedTo):
        return or_(*(_path_exists(path, condition.target, visibility) for path in condition.paths))
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


def _path_exists(
    path: Sequence[EdgeKind], target: str, visibility: Visibility
) -> ColumnElement[bool]:
    """EXISTS a chain of edges of the path's kinds from the listed node to ``target``,
    through nodes the principal may read (a hidden one is as if it were not there)."""
    hops = [graph_edges.alias(f"hop{index}") for index in range(len(path))]
    clauses: list[ColumnElement[bool]] = [hops[0].c.source == graph_nodes.c.id]
    for index, (hop, kind) in enumerate(zip(hops, path, strict=True)):
        clauses.append(hop.c.kind == kind.value)
        clauses += _readable(hop.c.target, visibility)
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
