"""The production graph store: Neo4j through the official async driver.

Every node carries the label ``Node`` (unique ``id``) and its kind's label; every
edge is a relationship of its kind's type. Writes are batched ``UNWIND ... MERGE``
statements (one per kind) inside one managed transaction per upsert (one write plan),
so a failure leaves the graph as it was and a retried transaction applies the same
thing again. Labels and
relationship types come from the model's enums, never from input; values are always
bound parameters.

Genealogy walks are one Cypher query each: a variable-length pattern aggregated with
``min(length(p))``, which Neo4j plans as a pruning breadth-first expand (each batch
visited once, so diamonds and cycles cost nothing extra).

A retracted edge (``graph.retraction``) carries ``retracted: true``, the sources taken
back and who took them back (``retracted_sources``, ``retracted_by``); every read but
``edges_from`` leaves it out (``r.retracted IS NULL``).

Who may read a node is its ``readers`` list (``graph.neo4j.readers``), set from its key
when it is created and grown in each write's transaction. Reads under a visibility
check it in the query: inside the walk's expand, in listings' and look-ups' WHERE.

On a cluster (a ``neo4j://`` URI: Enterprise or Aura) writes go to the leader and reads,
auto-commit queries in read sessions (one round trip each), to the secondaries. Every session of one
store shares one bookmark manager, so a read begins only once the server answering it
has applied every write this store committed before: an ingestion applied by this
process's worker is seen by the next request this process serves. Another process's
writes are seen as soon as the cluster has replicated them (no bookmark crosses
processes).
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Sequence
from typing import Any

from neo4j import (
    READ_ACCESS,
    WRITE_ACCESS,
    AsyncDriver,
    AsyncGraphDatabase,
    AsyncManagedTransaction,
    AsyncSession,
)
from neo4j.api import AsyncBookmarkManager
from neo4j.exceptions import ServiceUnavailable, SessionExpired, TransientError

from graph.directory import owned_prefixes
from graph.ids import NodeKind, ids_starting_with
from graph.lineage import Direction, LineageEdge, Walk, walk_directions
from graph.model import LINEAGE_EDGES, NODE_TYPES, EdgeKind
from graph.neo4j import oversight
from graph.neo4j.compliance import Neo4jCompliance
from graph.neo4j.readers import maintain_readers
from graph.neo4j.rows import Rows
from graph.neo4j.trees import (
    TreeReader,
    node_properties,
    projection,
    stored_node,
    tree_query,
    trees_of,
)
from graph.oversight import BatchQuality, BatchScope, Measurement, MeasurementScope
from graph.queries import Between, Condition, Equals, LinkedTo
from graph.readers import key_readers
from graph.retraction import RETRACTABLE, RetractedEdge, Retraction
from graph.store import (
    GraphCounts,
    GraphStore,
    NodePage,
    Reach,
    StoredEdge,
    StoredNode,
    StoreUnavailable,
    TreeNode,
    TreePage,
)
from graph.visibility import EVERYTHING, Visibility
from graph.write_plan import EdgeWrite, NodeWrite, WritePlan, WriteSummary

_LINEAGE_TYPES = "|".join(kind.value for kind in LINEAGE_EDGES)

# Listings page through one kind in id order and filter on a few attributes; range
# indexes on those let Neo4j seek and read in order instead of scanning and sorting.
_LISTED_INDEXES = {
    NodeKind.BATCH: ("id", "maker", "status", "manufactured_on", "validation_stage"),
    NodeKind.PRODUCT: ("id", "sponsor"),
    NodeKind.ORGANIZATION: ("id", "kind"),
    NodeKind.QUALITY_AGREEMENT: ("id", "sponsor", "vendor"),
}
SCHEMA_STATEMENTS = (
    "CREATE CONSTRAINT node_id IF NOT EXISTS FOR (n:Node) REQUIRE n.id IS UNIQUE",
    *(
        f"CREATE INDEX {kind.value.lower()}_{name} IF NOT EXISTS FOR (n:{kind.value}) ON (n.{name})"
        for kind, names in _LISTED_INDEXES.items()
        for name in names
    ),
)
_PROPERTY_NAME = re.compile(r"^[a-z][a-z_]*$")
# A read lost to a dropped connection or a transient error is sent again, this often.
_READ_ATTEMPTS = 3
_READ_RETRY_SECONDS = 0.2
# Read sessions kept idle for the next read: making one (its configuration merged from
# the driver's) was a tenth of a look-up's driver CPU. A session holds no connection
# between queries (it returns it to the pool when a result is consumed), so idle ones
# cost only memory; one reused asks the bookmark manager for bookmarks at every query.
_IDLE_READ_SESSIONS = 32

# Parameter rows are lists, not maps: the driver packs every map key of every row, and
# packing is most of the client's work in a large write. Layouts (see _apply_plan):
#   node        [id, properties, sources, readers]
#   placeholder [id, properties, readers]
#   edge        [source, target, sources, properties]
# A new node or edge takes the row's sources as they are (the plan keeps them distinct);
# an existing one keeps its own and appends the row's that it lacks, oldest first.
_MERGE_SOURCES = (
    "coalesce({var}.sources, []) + [s IN {row} WHERE NOT s IN coalesce({var}.sources, [])]"
)


def _node_upsert(kind: NodeKind) -> str:
    return (
        "UNWIND $rows AS row "
        "MERGE (n:Node {id: row[0]}) "
        f"ON CREATE SET n:{kind.value}, n += row[1], n.sources = row[2], n.readers = row[3] "
        # A later export adds or corrects attributes; it never erases one it omits.
        "ON MATCH SET n += row[1], n.sources = " + _MERGE_SOURCES.format(var="n", row="row[2]")
    )


def _placeholder_insert(kind: NodeKind) -> str:
    return (
        "UNWIND $rows AS row "
        "MERGE (n:Node {id: row[0]}) "
        f"ON CREATE SET n:{kind.value}, n += row[1], n.sources = [], n.readers = row[2]"
    )


def _edge_upsert(kind: EdgeKind) -> str:
    upsert = (
        "UNWIND $rows AS row "
        "MATCH (a:Node {id: row[0]}) "
        "MATCH (b:Node {id: row[1]}) "
        f"MERGE (a)-[r:{kind.value}]->(b) "
        "ON CREATE SET r += row[3], r.sources = row[2] "
        "ON MATCH SET r += row[3], r.sources = " + _MERGE_SOURCES.format(var="r", row="row[2]")
    )
    if kind not in RETRACTABLE:  # _RETRACT never marks it
        return upsert
    # A retracted edge asserted anew stands again (see _RETRACT).
    return (
        upsert + " WITH r WHERE r.retracted IS NOT NULL "
        "AND any(s IN r.sources WHERE NOT s IN r.retracted_sources) REMOVE r.retracted"
    )


# rows: [prefix, retracting ref]. A source is covered when it is the prefix or goes on
# past it with a deeper path or a label (graph.retraction.Retraction.covers).
# ``retracted_sources`` and ``retracted_by`` are parallel lists: the i-th source was
# retracted by the i-th ref. A retraction is rare: it scans the relationships.
_RETRACT = (
    "UNWIND $rows AS row "
    f"MATCH (a:Node)-[r:{'|'.join(sorted(kind.value for kind in RETRACTABLE))}]->(b:Node) "
    "WITH a, r, b, row, [s IN r.sources WHERE (s = row[0] OR s STARTS WITH row[0] + '/' "
    "OR s STARTS WITH row[0] + ' (') AND NOT s IN coalesce(r.retracted_sources, [])] AS taken "
    "WHERE size(taken) > 0 "
    "SET r.retracted_sources = coalesce(r.retracted_sources, []) + taken, "
    "r.retracted_by = coalesce(r.retracted_by, []) + [s IN taken | row[1]] "
    "WITH a, r, b, taken "
    "SET r.retracted = CASE WHEN all(s IN r.sources WHERE s IN r.retracted_sources) "
    "THEN true ELSE null END "
    "RETURN a.id AS source, type(r) AS kind, b.id AS target, taken, "
    "r.retracted IS NOT NULL AS retracted"
)


def _visible(var: str, visibility: Visibility, *, may_be_public: bool = True) -> str:
    """Cypher truth that the principal may read node ``var`` (``$org`` is its slug).
    Where ``var`` is known to be of a kind that keeps readers (a batch), the readers
    check alone."""
    if visibility.everything:
        return "true"
    readers = f"$org IN {var}.readers"
    if not may_be_public:
        return readers
    checks = [f"{var}:{kind.value}" for kind in sorted(visibility.public)] + [readers]
    if NodeKind.ORGANIZATION in visibility.related_only:
        slug = f"substring({var}.id, {len('org:')})"
        # CASE, not AND: Cypher may evaluate both sides of an AND, and the subqueries
        # are for organizations and sites only.
        checks.append(
            f"CASE WHEN {var}:{NodeKind.ORGANIZATION.value} THEN {_related(slug)} ELSE false END"
        )
    if NodeKind.SITE in visibility.related_only:
        slug = f"split(substring({var}.id, {len('site:')}), '/')[0]"
        checks.append(f"CASE WHEN {var}:{NodeKind.SITE.value} THEN {_related(slug)} ELSE false END")
    return "(" + " OR ".join(checks) + ")"


# The id prefixes of the kinds whose readable nodes relate the reader to their owner.
_OWNED_PREFIXES = "[" + ", ".join(f"'{prefix}'" for prefix in owned_prefixes()) + "]"


def _related(slug: str) -> str:
    """Cypher truth that the organization ``slug`` (an expression) is related to ``$org``
    (``graph.directory``): itself, the owner of a node ``$org`` reads (an index seek on
    the id's prefix per kind), or a party to an agreement ``$org`` reads."""
    # Cheapest first: itself, then its agreements (a few edges), then what it owns.
    return (
        f"({slug} = $org "
        f"OR EXISTS {{ MATCH (directory_party:Node {{id: 'org:' + {slug}}})"
        f"-[:{EdgeKind.PARTY_TO.value}]->(directory_agreement) "
        "WHERE $org IN directory_agreement.readers } "
        f"OR EXISTS {{ UNWIND {_OWNED_PREFIXES} AS directory_prefix "
        "MATCH (directory_owned:Node) "
        f"WHERE directory_owned.id STARTS WITH directory_prefix + {slug} + '/' "
        "AND $org IN directory_owned.readers })"
    )


def _walk_query(direction: Direction, max_depth: int, visibility: Visibility) -> str:
    """The whole walk (see graph.lineage) in one query, answered as one row.

    Each direction is a pruning breadth-first expand one hop past ``max_depth``: a batch
    first reached there is what makes the walk truncated. Under a visibility the expand
    leaves only readable batches (the predicate on each hop's near end is checked
    inside the expand), so a hidden batch is reached, as a stub, but never passed.
    """
    walks, names = [], []
    for each in walk_directions(direction):
        if each is Direction.UPSTREAM:
            left, right, near = "-", "->", "startNode"
        else:
            left, right, near = "<-", "-", "endNode"
        name = each.name.lower()
        names.append(name)
        near_end = _visible(f"{near}(r)", visibility, may_be_public=False)
        standing = "r.retracted IS NULL"
        hop_check = (
            f"WHERE all(r IN relationships(p) WHERE {standing}) "
            if visibility.everything
            else f"WHERE all(r IN relationships(p) WHERE {standing} AND {near_end}) "
        )
        walks.append(
            f"CALL (root) {{ "
            f"MATCH p = (root){left}[:{_LINEAGE_TYPES}*1..{max_depth + 1}]{right}(m:Batch) "
            f"{hop_check}"
            "WITH m, min(length(p)) AS depth "
            f"RETURN collect({{node: m, depth: depth}}) AS {name} }} "
        )
    edge_left, edge_right = ("<-", "-") if direction is Direction.DOWNSTREAM else ("-", "->")
    walked = " + ".join(names)
    # The root is at depth 0 in each walk, whatever loops lead back to it.
    cut = " OR ".join(
        f"any(x IN {name} WHERE x.depth > $max_depth AND x.node <> root)" for name in names
    )
    root_visible, n_visible, o_visible = (
        _visible(var, visibility, may_be_public=False) for var in ("root", "n", "o")
    )
    return (
        f"MATCH (root:Node {{id: $root}}) WHERE root:Batch AND {root_visible} "
        + "".join(walks)
        + f"WITH root, [x IN {walked} WHERE x.depth <= $max_depth] AS walked, {cut} AS truncated "
        "UNWIND [{node: root, depth: 0}] + walked AS w "
        "WITH truncated, w.node AS n, min(w.depth) AS depth "
        f"WITH truncated, collect({{node: n, depth: depth, visible: {n_visible}}}) AS reached "
        "WITH truncated, reached, [r IN reached | r.node] AS nodes "
        # Each edge between reached batches once, from its near end in the walking
        # direction (both ways: from its source), unless both ends are stubs.
        "CALL (reached, nodes) { "
        "UNWIND reached AS r WITH r.node AS n, r.visible AS shown "
        f"MATCH (n){edge_left}[e:{_LINEAGE_TYPES}]{edge_right}(o:Batch) "
        f"WHERE e.retracted IS NULL AND o IN nodes AND (shown OR {o_visible}) "
        "RETURN collect(e) AS edges } "
        "RETURN truncated, [r IN reached | [r.node.id, r.depth, r.visible]] AS nodes, "
        "[e IN edges | [startNode(e).id, endNode(e).id, type(e), e.quantity, e.unit]] AS edges"
    )


_NODE_PROPERTIES = node_properties("n")


class Neo4jGraphStore(Neo4jCompliance, GraphStore):
    def __init__(
        self,
        uri: str,
        *,
        user: str | None = None,
        password: str | None = None,
        database: str | None = None,
        bookmarks: AsyncBookmarkManager | None = None,
    ) -> None:
        self.uri = uri
        auth = (user, password or "") if user else None
        self.driver: AsyncDriver = AsyncGraphDatabase.driver(
            uri, auth=auth, notifications_min_severity="OFF"
        )
        self.database = database
        # Sessions chain causally only through a shared manager: without one, each
        # session starts with no bookmark and a secondary may answer from before a
        # write this store has already committed.
        self.bookmarks = bookmarks or AsyncGraphDatabase.bookmark_manager()
        self._idle_reads: list[AsyncSession] = []

    def _session(self, mode: str = WRITE_ACCESS) -> Any:
        return self.driver.session(
            database=self.database, bookmark_manager=self.bookmarks, default_access_mode=mode
        )

    async def ping(self) -> None:
        try:
            await self.driver.verify_connectivity()
        except (ServiceUnavailable, SessionExpired, OSError) as error:
            raise StoreUnavailable(f"Neo4j: {error}") from error

    async def setup(self) -> None:
        async with self._session() as session:
            for statement in SCHEMA_STATEMENTS:
                await session.run(statement)

    async def close(self) -> None:
        idle, self._idle_reads = self._idle_reads, []
        for session in idle:
            await session.close()
        await self.driver.close()

    async def upsert_plan(self, plan: WritePlan) -> WriteSummary:
        try:
            async with self._session() as session:
                await session.execute_write(_apply_plan, plan)
        except (ServiceUnavailable, SessionExpired) as error:
            raise StoreUnavailable(f"Neo4j: {error}") from error
        return plan.summary()

    async def get_nodes(
        self, ids: Sequence[str], *, visibility: Visibility = EVERYTHING
    ) -> dict[str, StoredNode]:
        query = (
            "UNWIND $ids AS id MATCH (n:Node {id: id}) "
            f"WHERE {_visible('n', visibility)} RETURN n.id AS id, {_NODE_PROPERTIES} AS p"
        )
        rows = await self._read(query, ids=list(dict.fromkeys(ids)), org=visibility.org)
        return {node.id: node for node in map(_stored_node, rows)}

    async def read_tree(
        self,
        ids: Sequence[str],
        kind: NodeKind,
        reaches: Sequence[Reach],
        *,
        visibility: Visibility = EVERYTHING,
    ) -> list[TreeNode]:
        """In one query (``graph.neo4j.trees``)."""
        rows = await self._read(
            tree_query(kind, tuple(reaches), visibility, _visible),
            ids=list(ids),
            org=visibility.org,
        )

        return await trees_of(rows, reaches, self._level_by_level(visibility))

    async def walk(
        self,
        batch_id: str,
        direction: Direction,
        max_depth: int,
        *,
        visibility: Visibility = EVERYTHING,
    ) -> Walk | None:
        query = _walk_query(direction, max_depth, visibility)
        rows = await self._read(query, root=batch_id, max_depth=max_depth, org=visibility.org)
        if not rows:
            return None
        row = rows[0]
        reached = {node_id: depth for node_id, depth, _ in row["nodes"]}
        redacted = frozenset(node_id for node_id, _, visible in row["nodes"] if not visible)
        edges = [
            LineageEdge(source, target, EdgeKind(kind), quantity, unit)
            for source, target, kind, quantity, unit in row["edges"]
        ]
        return Walk(reached, redacted, edges, row["truncated"])

    async def out_edges(
        self,
        ids: Sequence[str],
        kinds: Sequence[EdgeKind],
        *,
        visibility: Visibility = EVERYTHING,
    ) -> list[tuple[str, EdgeKind, str]]:
        return await self._edges_at("(a:Node {id: id})-[r:{types}]->(b)", ids, kinds, visibility)

    async def in_edges(
        self,
        ids: Sequence[str],
        kinds: Sequence[EdgeKind],
        *,
        visibility: Visibility = EVERYTHING,
    ) -> list[tuple[str, EdgeKind, str]]:
        return await self._edges_at("(a)-[r:{types}]->(b:Node {id: id})", ids, kinds, visibility)

    async def edges_from(
        self,
        ids: Sequence[str],
        kinds: Sequence[EdgeKind],
        *,
        visibility: Visibility = EVERYTHING,
    ) -> list[StoredEdge]:
        types = "|".join(kind.value for kind in kinds)
        query = (
            f"UNWIND $ids AS id MATCH (a:Node {{id: id}})-[r:{types}]->(b) "
            f"WHERE {_visible('a', visibility.edge_ends)} "
            f"AND {_visible('b', visibility.edge_ends)} "
            "RETURN a.id AS source, type(r) AS kind, b.id AS target, "
            "r {.quantity, .unit, .occurred_on, .retracted} AS properties, "
            "r.sources AS sources, r.retracted_by AS retracted_by "
            "ORDER BY source, kind, target"
        )
        rows = await self._read(query, ids=list(dict.fromkeys(ids)), org=visibility.org)
        return [
            StoredEdge.from_properties(
                row["source"],
                EdgeKind(row["kind"]),
                row["target"],
                row["properties"],
                row["sources"] or [],
                row["retracted_by"] or [],
            )
            for row in rows
        ]

    async def _edges_at(
        self, pattern: str, ids: Sequence[str], kinds: Sequence[EdgeKind], visibility: Visibility
    ) -> list[tuple[str, EdgeKind, str]]:
        types = "|".join(kind.value for kind in kinds)
        query = (
            f"UNWIND $ids AS id MATCH {pattern.replace('{types}', types)} "
            f"WHERE r.retracted IS NULL AND {_visible('a', visibility.edge_ends)} "
            f"AND {_visible('b', visibility.edge_ends)} "
            "RETURN a.id AS source, type(r) AS kind, b.id AS target "
            "ORDER BY source, kind, target"
        )
        rows = await self._read(query, ids=list(dict.fromkeys(ids)), org=visibility.org)
        return [(row["source"], EdgeKind(row["kind"]), row["target"]) for row in rows]

    async def retract(self, retractions: Sequence[Retraction]) -> list[RetractedEdge]:
        if not retractions:
            return []
        rows = [[retraction.prefix, retraction.provenance.ref] for retraction in retractions]

        async def work(tx: AsyncManagedTransaction) -> list[Any]:
            result = await tx.run(_RETRACT, rows=rows)
            return [record async for record in result]

        try:
            async with self._session() as session:
                found = await session.execute_write(work)
        except (ServiceUnavailable, SessionExpired) as error:
            raise StoreUnavailable(f"Neo4j: {error}") from error
        touched: dict[tuple[str, str, str], RetractedEdge] = {}
        for row in found:  # one row per (retraction, edge): merged per edge
            key = (row["source"], row["kind"], row["target"])
            before = touched.get(key)
            sources = (*before.sources, *row["taken"]) if before else tuple(row["taken"])
            touched[key] = RetractedEdge(
                key[0], EdgeKind(key[1]), key[2], sources, bool(row["retracted"])
            )
        return [touched[key] for key in sorted(touched)]

    async def list_nodes(
        self,
        kind: NodeKind,
        conditions: Sequence[Condition],
        first: int,
        after: str | None,
        *,
        visibility: Visibility = EVERYTHING,
    ) -> NodePage:
        listed, parameters = _listing(kind, conditions, visibility)
        query = f"{listed} RETURN n.id AS id, {_NODE_PROPERTIES} AS p ORDER BY n.id LIMIT $limit"
        # One more than asked says whether another page follows.
        rows = await self._read(
            query, after=after or "", limit=first + 1, org=visibility.org, **parameters
        )
        return NodePage(tuple(map(_stored_node, rows[:first])), has_next=len(rows) > first)

    def _level_by_level(self, visibility: Visibility) -> TreeReader:
        """The interface's level-by-level read of one reach from one node, for the
        named ids Cypher could not make."""

        async def again(parent: TreeNode, reach: Reach) -> None:
            await self._reach([parent], [reach], visibility)

        return again

    async def list_trees(
        self,
        kind: NodeKind,
        conditions: Sequence[Condition],
        first: int,
        after: str | None,
        reaches: Sequence[Reach],
        *,
        visibility: Visibility = EVERYTHING,
    ) -> TreePage:
        """The page and what its nodes reach in one query (``graph.neo4j.trees``)."""
        listed, parameters = _listing(kind, conditions, visibility)
        # The page first (an index seek in id order), then each node's projection.
        shaped = projection("n", tuple(reaches), visibility, _visible)
        query = f"{listed} WITH n ORDER BY n.id LIMIT $limit RETURN {shaped} AS t"
        rows = await self._read(
            query, after=after or "", limit=first + 1, org=visibility.org, **parameters
        )

        trees = await trees_of(rows[:first], reaches, self._level_by_level(visibility))
        return TreePage(tuple(trees), has_next=len(rows) > first)

    async def batch_quality(
        self, scope: BatchScope, *, visibility: Visibility = EVERYTHING
    ) -> list[BatchQuality]:
        return await oversight.batch_quality(self._read, scope, visibility)

    async def measurements(
        self, scope: MeasurementScope, *, visibility: Visibility = EVERYTHING
    ) -> list[Measurement]:
        return await oversight.measurements(self._read, scope, visibility)

    async def counts(self) -> GraphCounts:
        # One count per label and type: each is answered from Neo4j's count store.
        nodes: dict[NodeKind, int] = {}
        for kind in NodeKind:
            rows = await self._read(f"MATCH (n:{kind.value}) RETURN count(n) AS c")
            if rows[0]["c"]:
                nodes[kind] = rows[0]["c"]
        edges: dict[EdgeKind, int] = {}
        for edge_kind in EdgeKind:
            rows = await self._read(f"MATCH ()-[r:{edge_kind.value}]->() RETURN count(r) AS c")
            if rows[0]["c"]:
                edges[edge_kind] = rows[0]["c"]
        return GraphCounts(nodes, edges)

    async def wipe(self) -> None:
        async with self._session() as session:
            result = await session.run(
                "MATCH (n:Node) CALL (n) { DETACH DELETE n } IN TRANSACTIONS OF 10000 ROWS"
            )
            await result.consume()

    async def _read(self, query: str, **parameters: Any) -> list[Any]:
        """One auto-commit query in a read session: a single round trip (RUN and PULL
        sent together), where a managed read transaction takes three (BEGIN, RUN and
        PULL, COMMIT) and its BEGIN and COMMIT were a third of a look-up's CPU. A read
        changes nothing, so it is simply sent again after a lost connection or a
        transient error (what ``execute_read`` did for us), a bounded number of times."""
        for attempt in range(1, _READ_ATTEMPTS + 1):
            try:
                return await self._read_once(query, parameters)
            except (ServiceUnavailable, SessionExpired) as error:
                if attempt == _READ_ATTEMPTS:
                    raise StoreUnavailable(f"Neo4j: {error}") from error
            except TransientError:
                if attempt == _READ_ATTEMPTS:
                    raise
            await asyncio.sleep(_READ_RETRY_SECONDS * attempt)
        raise AssertionError("unreachable: the last attempt returns or raises")

    async def _read_once(self, query: str, parameters: dict[str, Any]) -> list[Any]:
        """The query in an idle read session (or a new one), kept idle again after a
        whole answer; a session that failed or was cancelled is closed, not kept."""
        session = self._idle_reads.pop() if self._idle_reads else self._session(READ_ACCESS)
        try:
            result = await session.run(query, parameters)
            records = [record async for record in result]
        except BaseException:
            await session.close()
            raise
        if len(self._idle_reads) < _IDLE_READ_SESSIONS:
            self._idle_reads.append(session)
        else:
            await session.close()
        return records


def _stored_node(row: Any) -> StoredNode:
    return stored_node(row["id"], row["p"])


def _listing(
    kind: NodeKind, conditions: Sequence[Condition], visibility: Visibility
) -> tuple[str, dict[str, Any]]:
    """MATCH and WHERE of a listing's nodes ``n`` (ids above ``$after``), and the
    parameters of its conditions."""
    where, parameters = _cypher_conditions(conditions, visibility)
    # Seek by id in order and check each node's readers as it comes: a page of 50
    # is 50 readable nodes, and costs what the nodes skipped to find them cost.
    # Filtered by the first part of the key (a lot's maker), the seek starts and
    # ends with those ids: a vendor's lots are one range of the id index, not a scan
    # of every lot named before them (seconds at a million lots).
    ranged = _key_range(kind, conditions)
    if ranged is not None:
        parameters["key_low"], parameters["key_high"] = ranged
        where = f"AND n.id >= $key_low AND n.id < $key_high {where}"
    if kind in visibility.public:
        readable = ""
    elif kind in visibility.related_only:
        readable = f"AND {_visible('n', visibility)} "
    else:
        readable = f"AND {_visible('n', visibility, may_be_public=False)} "
    return f"MATCH (n:{kind.value}) WHERE n.id > $after {readable}{where}", parameters


def _key_range(kind: NodeKind, conditions: Sequence[Condition]) -> tuple[str, str] | None:
    """The id range of the nodes an equality on the kind's first key field allows."""
    model = NODE_TYPES.get(kind)
    if model is None:
        return None
    first = model.KEY_FIELDS[0]
    for condition in conditions:
        if isinstance(condition, Equals) and condition.field == first:
            return ids_starting_with(kind, condition.value)
    return None


def _cypher_conditions(
    conditions: Sequence[Condition], visibility: Visibility
) -> tuple[str, dict[str, Any]]:
    """``AND ...`` clauses on ``n`` and their parameters. Property names and edge types
    come from code (checked anyway, as they are spliced in); values are parameters. A
    path leads only through nodes the principal may read, to a target it may read."""
    clauses: list[str] = []
    parameters: dict[str, Any] = {}
    for index, condition in enumerate(conditions):
        name = f"c{index}"
        if isinstance(condition, LinkedTo):
            paths = []
            for path in condition.paths:
                # Each hop's far node is named, the last one being the target.
                hops = [f"{name}_{step}" for step in range(len(path))]
                ends = [*hops[:-1], f"{hops[-1]}:Node {{id: ${name}}}"]
                pattern = "".join(
                    f"-[:{kind.value}]->({end})" for kind, end in zip(path, ends, strict=True)
                )
                checks = " AND ".join(_visible(hop, visibility) for hop in hops)
                paths.append(f"EXISTS {{ MATCH (n){pattern} WHERE {checks} }}")
            clauses.append("(" + " OR ".join(paths) + ")")
            parameters[name] = condition.target
            continue
        if not _PROPERTY_NAME.match(condition.field):
            raise ValueError(f"not a property name: {condition.field!r}")
        if isinstance(condition, Equals):
            clauses.append(f"n.{condition.field} = ${name}")
            parameters[name] = condition.value
        elif isinstance(condition, Between):
            clauses.append(f"n.{condition.field} IS NOT NULL")
            if condition.low is not None:
                clauses.append(f"n.{condition.field} >= ${name}_low")
                parameters[f"{name}_low"] = condition.low.isoformat()
            if condition.high is not None:
                clauses.append(f"n.{condition.field} <= ${name}_high")
                parameters[f"{name}_high"] = condition.high.isoformat()
    return "".join(f"AND {clause} " for clause in clauses), parameters


async def _apply_plan(tx: AsyncManagedTransaction, plan: WritePlan) -> None:
    """The whole plan in one transaction; safe to retry (every statement is a MERGE or
    adds to a list only what it lacks)."""
    for kind, nodes in plan.nodes_by_kind(plan.nodes).items():
        await _run(tx, _node_upsert(kind), [_node_row(node) for node in nodes])
    for kind, nodes in plan.nodes_by_kind(plan.placeholders).items():
        await _run(
            tx,
            _placeholder_insert(kind),
            [[node.id, node.properties, key_readers(node.id)] for node in nodes],
        )
    for edge_kind, edges in plan.edges_by_kind().items():
        await _run(tx, _edge_upsert(edge_kind), [_edge_row(edge) for edge in edges])
    await maintain_readers(tx, plan)


async def _run(tx: AsyncManagedTransaction, query: str, rows: list[list[Any]]) -> None:
    result = await tx.run(query, rows=Rows(rows))
    await result.consume()


def _node_row(node: NodeWrite) -> list[Any]:
    return [node.id, node.properties, node.sources, key_readers(node.id)]


def _edge_row(edge: EdgeWrite) -> list[Any]:
    return [edge.source, edge.target, edge.sources, edge.properties]
