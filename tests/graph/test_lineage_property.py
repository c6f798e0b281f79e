"""Both stores against a brute-force walk in plain Python, on random genealogies.

The reference below is written from the definitions in graph/lineage.py, not from the
stores' code: breadth-first distances, the induced edges, and 'truncated' meaning an
edge leads on from the walk to a lot it did not reach.
"""

from __future__ import annotations

from collections import deque

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from graph.lineage import Direction
from graph.model import Edge, EdgeKind
from graph.store import GraphStore
from tests.graph.builders import PROVENANCE, lot

LOTS = [lot(maker, str(number)) for maker in ("alder", "birch", "cedar") for number in range(5)]

genealogies = st.lists(
    st.tuples(st.sampled_from(LOTS), st.sampled_from(LOTS), st.sampled_from(list(EdgeKind)[:2])),
    min_size=1,
    max_size=30,
)


def brute_force(
    edges: set[tuple[str, str]], root: str, direction: Direction, max_depth: int
) -> tuple[dict[str, int], set[tuple[str, str]], bool]:
    def one_way(forwards: bool) -> tuple[dict[str, int], bool]:
        distance = {root: 0}
        queue = deque([root])
        while queue:
            here = queue.popleft()
            for source, target in edges:
                near, far = (source, target) if forwards else (target, source)
                if near == here and far not in distance and distance[here] < max_depth:
                    distance[far] = distance[here] + 1
                    queue.append(far)
        cut = any(
            (source if forwards else target) in distance
            and (target if forwards else source) not in distance
            for source, target in edges
        )
        return distance, cut

    walks = []
    if direction in (Direction.UPSTREAM, Direction.BOTH):
        walks.append(one_way(True))
    if direction in (Direction.DOWNSTREAM, Direction.BOTH):
        walks.append(one_way(False))
    reached: dict[str, int] = {}
    for distance, _ in walks:
        for node, depth in distance.items():
            reached[node] = min(depth, reached.get(node, depth))
    induced = {(s, t) for s, t in edges if s in reached and t in reached}
    return reached, induced, any(cut for _, cut in walks)


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    genealogy=genealogies,
    root_index=st.integers(0, len(LOTS) - 1),
    direction=st.sampled_from(list(Direction)),
    max_depth=st.integers(0, 6),
)
async def test_lineage_matches_a_brute_force_walk(
    reused_store: GraphStore,
    genealogy: list[tuple[str, str, EdgeKind]],
    root_index: int,
    direction: Direction,
    max_depth: int,
) -> None:
    store = reused_store  # set up once for the module (tests.conftest)
    await store.wipe()  # nothing of the example before
    await store.upsert(
        Edge(kind=kind, source=source, target=target, provenance=PROVENANCE)
        for source, target, kind in genealogy
    )
    # Several edge kinds between one pair collapse to one genealogy step here.
    edges = {(source, target) for source, target, _ in genealogy}
    named = {lot_id for pair in edges for lot_id in pair}
    root = LOTS[root_index]

    lineage = await store.lineage(root, direction, max_depth)

    if root not in named:
        assert lineage is None
        return
    assert lineage is not None
    reached, induced, truncated = brute_force(edges, root, direction, max_depth)
    assert {node.id: node.depth for node in lineage.nodes} == reached
    assert {(edge.source, edge.target) for edge in lineage.edges} == induced
    assert lineage.truncated == truncated
