"""Both stores against brute-force partner scoping, on random small networks.

The networks are adversarial: every partner asserts only its own nodes (what
``hub.ingest.ownership`` lets through), but points its edges at anyone's lots (genealogy to
lots it never received, results and deviations on others' lots), and sponsors write
agreements covering other sponsors' products. The reference below is written from
DESIGN.md ("Partner scoping") and ``graph.trust``'s rules, not from the stores' code: readers are a least fixpoint computed over the whole
graph at once (the stores maintain them incrementally as records arrive, in whatever
order), and every read is answered on the subgraph a principal may read, with hidden
lots next to a lineage walk shown as stubs. The graph itself (nodes, placeholders,
implied edges) is taken from ``plan_write``, which the store contract tests cover.
"""

from __future__ import annotations

import random
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from graph.ids import NodeKind, make_id, parse_id
from graph.lineage import MAX_LINEAGE_DEPTH, Direction, Lineage, LineageNode
from graph.model import (
    Batch,
    Deviation,
    Edge,
    EdgeKind,
    Experiment,
    Material,
    Product,
    Qualification,
    QualityAgreement,
    Record,
    TestResult,
)
from graph.queries import AgreementFilter, BatchFilter, Condition
from graph.store import GraphStore
from graph.visibility import EVERYTHING, Visibility
from graph.write_plan import plan_write
from tests.graph.builders import PROVENANCE, lot

K = EdgeKind
MAKERS = ("m1", "m2", "m3")
SPONSORS = ("s1", "s2")
LABS = ("lab", "m1")  # a maker may test lots too
ORGS = (*MAKERS, *SPONSORS, "lab", "nobody")
PRODUCTS = [make_id(NodeKind.PRODUCT, sponsor, f"P{n}") for sponsor in SPONSORS for n in (1, 2)]
ITEM_CODES = ("X1", "X2")
# A sponsor makes lots too (free-issue material).
LOTS = [lot(maker, str(n)) for maker in (*MAKERS, "s1") for n in range(3)]
GENEALOGY = (K.CONSUMED, K.SAME_LOT, K.PART_OF)
PUBLIC = (NodeKind.ORGANIZATION, NodeKind.SITE)
LISTED = (
    NodeKind.BATCH,
    NodeKind.PRODUCT,
    NodeKind.MATERIAL,
    NodeKind.TEST_RESULT,
    NodeKind.DEVIATION,
    NodeKind.QUALITY_AGREEMENT,
    NodeKind.QUALIFICATION,
    NodeKind.EXPERIMENT,
    NodeKind.ORGANIZATION,
)

maybe_product = st.sampled_from([None, *PRODUCTS])
lot_facts = st.tuples(
    st.booleans(),  # described by a record (else known only as an edge's end)
    st.sampled_from((None, *ITEM_CODES)),
    maybe_product,
)
networks = st.fixed_dictionaries(
    {
        "materials": st.lists(
            st.tuples(st.sampled_from((*MAKERS, "s1")), st.sampled_from(ITEM_CODES), maybe_product),
            max_size=6,
        ),
        "lots": st.lists(lot_facts, min_size=len(LOTS), max_size=len(LOTS)),
        "genealogy": st.lists(
            st.tuples(st.sampled_from(LOTS), st.sampled_from(LOTS), st.sampled_from(GENEALOGY)),
            max_size=14,
        ),
        # A maker names who received its lot: an organization or one of its sites.
        "shipments": st.lists(
            st.tuples(st.sampled_from(LOTS), st.sampled_from(ORGS), st.booleans()), max_size=8
        ),
        "results": st.lists(st.tuples(st.sampled_from(LABS), st.sampled_from(LOTS)), max_size=4),
        "deviations": st.lists(
            st.tuples(st.sampled_from(ORGS[:-1]), st.sets(st.sampled_from(LOTS), max_size=2)),
            max_size=3,
        ),
        "agreements": st.lists(
            st.tuples(
                st.sampled_from(SPONSORS),
                st.sampled_from((*MAKERS, "lab")),
                st.sets(st.sampled_from(PRODUCTS), max_size=2),
            ),
            max_size=3,
        ),
        "experiments": st.lists(
            st.tuples(st.sampled_from(MAKERS), st.sampled_from(LOTS)), max_size=2
        ),
    }
)


def records_of(network: dict[str, Any]) -> list[Record]:
    found: list[Record] = [
        Product(sponsor=parse_id(p).parts[0], code=parse_id(p).parts[1], provenance=PROVENANCE)
        for p in PRODUCTS[:3]  # the last is known only as an edge's end
    ]
    for org, code, product in network["materials"]:
        found.append(Material(org=org, code=code, product_id=product, provenance=PROVENANCE))
    described_lots = zip(LOTS, network["lots"], strict=True)
    for lot_id, (described, code, product) in described_lots:
        maker, number = parse_id(lot_id).parts
        if described:
            found.append(
                Batch(maker=maker, number=number, material_code=code, product_id=product,
                      provenance=PROVENANCE)
            )  # fmt: skip
    for source, target, kind in network["genealogy"]:
        found.append(
            Edge(kind=kind, source=source, target=target, quantity=2.5, unit="kg",
                 provenance=PROVENANCE)
        )  # fmt: skip
    for shipped, receiver, to_site in network["shipments"]:
        to = (
            make_id(NodeKind.SITE, receiver, "S1")
            if to_site
            else make_id(NodeKind.ORGANIZATION, receiver)
        )
        found.append(Edge(kind=K.SHIPPED_TO, source=shipped, target=to, provenance=PROVENANCE))
    for index, (lab, tested) in enumerate(network["results"]):
        found.append(
            TestResult(lab=lab, result_id=f"R{index}", batch_id=tested, provenance=PROVENANCE)
        )
    for index, (org, affected) in enumerate(network["deviations"]):
        found.append(
            Deviation(org=org, deviation_id=f"D{index}", batch_ids=tuple(sorted(affected)),
                      provenance=PROVENANCE)
        )  # fmt: skip
    for index, (sponsor, vendor, covered) in enumerate(network["agreements"]):
        found.append(
            QualityAgreement(agreement_id=f"QA{index}", version="1", sponsor=sponsor,
                             vendor=vendor, product_ids=tuple(sorted(covered)),
                             provenance=PROVENANCE)
        )  # fmt: skip
    for index, (org, used) in enumerate(network["experiments"]):
        found.append(
            Experiment(org=org, experiment_id=f"E{index}", used_ids=(used,), provenance=PROVENANCE)
        )
    found.append(Qualification(qualifier="s1", vendor="m2", provenance=PROVENANCE))
    found.append(Qualification(qualifier="s2", vendor="m1", site_code="S1", provenance=PROVENANCE))
    return found


@dataclass
class Graph:
    """The graph the records make, and who may read what in it, by brute force."""

    nodes: set[str]
    edges: set[tuple[str, EdgeKind, str]]

    def kind(self, node_id: str) -> NodeKind:
        return parse_id(node_id).kind

    def far(self, node_id: str, kind: EdgeKind) -> set[str]:
        return {t for s, k, t in self.edges if s == node_id and k is kind}

    def near(self, node_id: str, kind: EdgeKind) -> set[str]:
        return {s for s, k, t in self.edges if t == node_id and k is kind}

    def slug(self, org_id: str) -> str:
        return parse_id(org_id).parts[0]

    def owner(self, node_id: str) -> str:
        """The organization a node belongs to, as the graph's own edges say."""
        kind = self.kind(node_id)
        if kind is NodeKind.BATCH:
            (maker,) = self.far(node_id, K.MADE_BY)
            return self.slug(maker)
        if kind in (NodeKind.QUALIFICATION, NodeKind.QUALITY_AGREEMENT):
            return parse_id(node_id).parts[0]  # the qualifier, the sponsor
        if kind is NodeKind.ORGANIZATION:
            return self.slug(node_id)
        (org,) = self.far(node_id, K.OWNED_BY)
        return self.slug(org)

    def vendor(self, qualification: str) -> str:
        (target,) = self.far(qualification, K.QUALIFIES)
        if self.kind(target) is NodeKind.SITE:
            (target,) = self.far(target, K.OWNED_BY)
        return self.slug(target)

    def accepted(self, source: str, target: str) -> bool:
        """A claim on someone else's lot counts once that lot was shipped to the claimant."""
        claimant = self.owner(source)
        return claimant == self.owner(target) or claimant in {
            self.owner(to) for to in self.far(target, K.SHIPPED_TO)
        }

    def products_of_lot(self, lot_id: str) -> set[str]:
        direct = self.far(lot_id, K.FOR_PRODUCT)
        through = {p for m in self.far(lot_id, K.OF_MATERIAL) for p in self.far(m, K.FOR_PRODUCT)}
        return direct | through

    def readers(self) -> dict[str, set[str] | None]:
        """Readers of every node (None: everyone), as a least fixpoint."""
        lots = {n for n in self.nodes if self.kind(n) is NodeKind.BATCH}
        sponsors = {b: {self.owner(p) for p in self.products_of_lot(b)} for b in lots}
        changed = True
        while changed:  # sponsors flow from a lot to everything it came from
            changed = False
            for source, kind, target in self.edges:
                if (
                    kind in GENEALOGY
                    and self.accepted(source, target)
                    and not sponsors[source] <= sponsors[target]
                ):
                    sponsors[target] |= sponsors[source]
                    changed = True
        found: dict[str, set[str] | None] = {}
        for node in self.nodes:
            node_kind = self.kind(node)
            if node_kind in PUBLIC:
                found[node] = None
            elif node_kind is NodeKind.BATCH:
                labs = {self.owner(r) for r in self.near(node, K.TESTED) if self.accepted(r, node)}
                found[node] = {self.owner(node)} | labs | sponsors[node]
            elif node_kind is NodeKind.PRODUCT:
                makers = {self.owner(b) for b in lots if node in self.products_of_lot(b)}
                owners = {
                    self.owner(m)
                    for m in self.near(node, K.FOR_PRODUCT)
                    if self.kind(m) is NodeKind.MATERIAL
                }
                parties = {  # only its own sponsor's agreements give their parties a read
                    self.slug(o)
                    for a in self.near(node, K.COVERS)
                    if self.owner(a) == self.owner(node)
                    for o in self.near(a, K.PARTY_TO)
                }
                found[node] = {self.owner(node)} | makers | owners | parties
            elif node_kind is NodeKind.MATERIAL:
                found[node] = {self.owner(node)} | {
                    self.owner(p) for p in self.far(node, K.FOR_PRODUCT)
                }
            elif node_kind is NodeKind.QUALITY_AGREEMENT:
                found[node] = {self.slug(o) for o in self.near(node, K.PARTY_TO)}
            elif node_kind in (NodeKind.TEST_RESULT, NodeKind.DEVIATION):
                reported = self.far(node, K.TESTED) | self.far(node, K.AFFECTS)
                found[node] = {self.owner(node)}.union(
                    *({self.owner(b)} | sponsors[b] for b in reported if self.accepted(node, b))
                )
            elif node_kind is NodeKind.QUALIFICATION:  # who qualified, and whom
                found[node] = {self.owner(node), self.vendor(node)}
            else:  # experiment
                found[node] = {self.owner(node)}
        return found


def graph_of(records: list[Record]) -> Graph:
    plan = plan_write(records)
    return Graph(set(plan.nodes) | set(plan.placeholders), set(plan.edges))


def visible_set(
    graph: Graph, readers: dict[str, set[str] | None], seen: Visibility, *, published: bool = False
) -> set[str]:
    """What ``seen`` reads: nodes it is a reader of, and the organizations and sites of
    the directory (``graph.directory``): those related to it (itself, owners of what it
    reads, parties to agreements it reads), or all of them when ``published``."""
    if seen.everything:
        return set(readers)
    read = {node for node, who in readers.items() if who is not None and seen.org in who}

    def named_first(node: str) -> str:  # the organization an id names first
        return parse_id(node).parts[0]

    related = {seen.org} | {named_first(node) for node in read}
    related |= {named_first(s) for s, k, t in graph.edges if k is K.PARTY_TO and t in read}
    directory = {
        node
        for node, who in readers.items()
        if who is None and (published or named_first(node) in related)
    }
    return read | directory


# A lineage answer reduced to sets: (id, depth, redacted), (source, target, kind, whether
# the quantity is shown), truncated.
Shape = tuple[set[tuple[str, int, bool]], set[tuple[str, str, EdgeKind, bool]], bool]


def brute_lineage(
    graph: Graph, visible: set[str], root: str, direction: Direction, max_depth: int
) -> Shape | None:
    if root not in graph.nodes or root not in visible or graph.kind(root) is not NodeKind.BATCH:
        return None
    pairs = {(s, t, k) for s, k, t in graph.edges if k in GENEALOGY}
    reached: dict[str, int] = {}
    truncated = False
    for forwards in (True, False):
        if direction is (Direction.DOWNSTREAM if forwards else Direction.UPSTREAM):
            continue
        distance = {root: 0}
        queue = deque([root])
        while queue:  # breadth first, passing only through visible lots
            here = queue.popleft()
            for source, target, _ in pairs:
                near, far = (source, target) if forwards else (target, source)
                if near == here and far not in distance and distance[here] < max_depth:
                    distance[far] = distance[here] + 1
                    if far in visible:
                        queue.append(far)
        truncated |= any(
            (source if forwards else target) in distance
            and (source if forwards else target) in visible
            and (target if forwards else source) not in distance
            for source, target, _ in pairs
        )
        for node, depth in distance.items():
            reached[node] = min(depth, reached.get(node, depth))
    nodes = {(node, depth, node not in visible) for node, depth in reached.items()}
    edges = {
        (s, t, k, s in visible and t in visible)  # a stub's edge shows no quantity
        for s, t, k in pairs
        if s in reached and t in reached and (s in visible or t in visible)
    }
    return nodes, edges, truncated


def brute_impact(graph: Graph, visible: set[str], root: str) -> object:
    lineage = brute_lineage(graph, visible, root, Direction.DOWNSTREAM, MAX_LINEAGE_DEPTH)
    if lineage is None:
        return None
    nodes, _, truncated = lineage
    affected = {node for node, _, redacted in nodes if not redacted}

    def seen_far(ids: Iterable[str], kind: EdgeKind) -> set[str]:
        return {t for s in ids if s in visible for t in graph.far(s, kind) if t in visible}

    products = seen_far(affected, K.FOR_PRODUCT) | seen_far(
        seen_far(affected, K.OF_MATERIAL), K.FOR_PRODUCT
    )
    vendors = seen_far(affected, K.MADE_BY)
    agreements = {a for a in seen_far(vendors, K.PARTY_TO) if seen_far([a], K.COVERS) & products}
    batches = sorted(
        LineageNode(depth, node) for node, depth, redacted in nodes if depth and not redacted
    )
    return batches, sorted(products), sorted(vendors), sorted(agreements), truncated


def shape_of(lineage: Lineage | None) -> Shape | None:
    if lineage is None:
        return None
    nodes = {(n.id, n.depth, n.redacted) for n in lineage.nodes}
    edges = {(e.source, e.target, e.kind, e.quantity is not None) for e in lineage.edges}
    return nodes, edges, lineage.truncated


async def listed(
    store: GraphStore,
    kind: NodeKind,
    conditions: tuple[Condition, ...],
    seen: Visibility,
    page: int,
) -> list[str]:
    ids: list[str] = []
    after = None
    while True:
        found = await store.list_nodes(kind, conditions, page, after, visibility=seen)
        assert len(found.nodes) <= page
        ids += [node.id for node in found.nodes]
        if not found.has_next:
            return ids
        assert len(found.nodes) == page
        after = ids[-1]


def in_chunks(records: list[Record], shuffler: random.Random) -> list[list[Record]]:
    shuffled = records[:]
    shuffler.shuffle(shuffled)
    chunks = []
    while shuffled:
        size = shuffler.randint(1, 12)
        chunks.append(shuffled[:size])
        del shuffled[:size]
    return chunks


@settings(
    max_examples=40,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    network=networks,
    shuffler=st.randoms(use_true_random=False),
    principals=st.lists(st.sampled_from(ORGS), min_size=1, max_size=2, unique=True),
    roots=st.lists(st.sampled_from([*LOTS, lot("m9", "0")]), min_size=2, max_size=3),
    depths=st.lists(st.sampled_from((0, 1, 2, 4)), min_size=4, max_size=4),
    page=st.integers(1, 4),
    pick=st.integers(0, 100),
    probe=st.sets(st.sampled_from(LOTS), max_size=5),
)
async def test_every_read_answers_from_what_the_principal_may_read(
    reused_store: GraphStore,
    network: dict[str, Any],
    shuffler: random.Random,
    principals: list[str],
    roots: list[str],
    depths: list[int],
    page: int,
    pick: int,
    probe: set[str],
) -> None:
    store = reused_store  # set up once for the module (tests.conftest)
    await store.wipe()  # nothing of the example before
    records = records_of(network)
    for chunk in in_chunks(records, shuffler):  # arrival order must not matter
        await store.upsert(chunk)
    graph = graph_of(records)
    readers = graph.readers()
    everything = await store.get_nodes(sorted(graph.nodes))
    assert set(everything) == graph.nodes

    for principal in principals:
        seen = Visibility.for_org(principal)
        visible = visible_set(graph, readers, seen)
        named = visible_set(graph, readers, seen, published=True)  # what edges name
        asked = [*sorted(graph.nodes), "batch:m9/0", "product:s1/NOPE"]

        got = await store.get_nodes(asked, visibility=seen)
        assert got == {node: everything[node] for node in visible}, principal

        for kind in LISTED:
            expected = sorted(n for n in visible if graph.kind(n) is kind)
            assert await listed(store, kind, (), seen, page) == expected, (principal, kind)

        lots = sorted(b for b in visible if graph.kind(b) is NodeKind.BATCH)
        for product in PRODUCTS:
            materials = {m for m in graph.near(product, K.FOR_PRODUCT) if m in visible}
            expected = [
                b
                for b in lots
                if product in visible
                and (
                    product in graph.far(b, K.FOR_PRODUCT)
                    or graph.far(b, K.OF_MATERIAL) & materials
                )
            ]
            of_product = BatchFilter(product=product).conditions()
            assert await listed(store, NodeKind.BATCH, of_product, seen, page) == expected
            covering = sorted(
                a for a in graph.near(product, K.COVERS) if a in visible and product in visible
            )
            covers = AgreementFilter(product=product).conditions()
            assert await listed(store, NodeKind.QUALITY_AGREEMENT, covers, seen, 50) == covering
        maker = MAKERS[page % len(MAKERS)]
        made_by = BatchFilter(vendor=f"org:{maker}").conditions()
        assert await listed(store, NodeKind.BATCH, made_by, seen, page) == [
            b for b in lots if parse_id(b).parts[0] == maker
        ]

        # Random roots are often hidden; walk from one the principal reads as well.
        readable_lots = sorted(n for n in visible if graph.kind(n) is NodeKind.BATCH)
        walked = roots + readable_lots[pick % len(readable_lots) :][:1] if readable_lots else roots
        for root, depth in zip(walked, depths, strict=False):
            for direction in Direction:
                lineage = await store.lineage(root, direction, depth, visibility=seen)
                assert shape_of(lineage) == brute_lineage(graph, visible, root, direction, depth), (
                    principal,
                    root,
                    direction,
                    depth,
                )
            impact = await store.impact(root, visibility=seen)
            found = None if impact is None else (
                list(impact.batches), list(impact.products), list(impact.vendors),
                list(impact.agreements), impact.truncated,
            )  # fmt: skip
            assert found == brute_impact(graph, visible, root), (principal, root)

        probed = sorted(probe | {"org:m1", PRODUCTS[0], "material:m1/X1"})
        every_kind = list(EdgeKind)
        expected_out = sorted(
            (s, k, t) for s, k, t in graph.edges if s in probed and s in named and t in named
        )
        expected_in = sorted(
            (s, k, t) for s, k, t in graph.edges if t in probed and s in named and t in named
        )
        assert await store.out_edges(probed, every_kind, visibility=seen) == expected_out
        assert sorted(await store.in_edges(probed, every_kind, visibility=seen)) == expected_in

    # The operator reads everything, as before there was scoping.
    admin_root = roots[0]
    assert shape_of(
        await store.lineage(admin_root, Direction.BOTH, 4, visibility=EVERYTHING)
    ) == brute_lineage(graph, set(graph.nodes), admin_root, Direction.BOTH, 4)
