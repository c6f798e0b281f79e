"""Partner scoping, the same on both stores: who reads what of the demo story.

Every test runs on SQLite and on a real Neo4j, through the public reads only. A node a
principal may not read must be absent from every answer exactly as if it did not
exist; in lineage a hidden neighbour shows at most as a redacted stub.
"""

from __future__ import annotations

import random

from auth.principal import LOCAL_OPERATOR, Principal, Scope
from graph.directory import Directory
from graph.ids import NodeKind
from graph.lineage import Direction, Lineage
from graph.model import (
    Deviation,
    Edge,
    EdgeKind,
    Material,
    Product,
    QualityAgreement,
    Record,
    TestResult,
)
from graph.queries import AgreementFilter, BatchFilter, Condition
from graph.store import GraphStore
from graph.visibility import EVERYTHING, Visibility
from hub.demo.story import (
    API_PRODUCT_ID,
    CONTAMINATED_EXCIPIENT_LOT_ID,
    FINISHED_LOT_ID,
    GAP_BATCH_ID,
    OAKRIDGE_BATCH_ID,
    OAKRIDGE_PRODUCT_ID,
    SHARED_EXCIPIENT_LOT_ID,
    TABLET_PRODUCT_ID,
    demo_records,
)
from tests.graph.builders import PROVENANCE, batch, consumed, lot, same_lot, shipped

UP, DOWN, BOTH = Direction.UPSTREAM, Direction.DOWNSTREAM, Direction.BOTH
NORTHWIND, OAKRIDGE, BIRCH, ALDER, ELM, DOGWOOD = map(
    Visibility.for_org, ("northwind", "oakridge", "birch", "alder", "elm", "dogwood")
)
ORGS = ("northwind", "oakridge", "alder", "birch", "cedar", "dogwood", "elm", "maple", "spruce")


def birch(number: str) -> str:
    return lot("birch", number)


# Northwind's tablets at Birch, and the lots only Oakridge's batches drew on.
NORTHWIND_TABLETS = {birch(f"BT-25-{n:03d}") for n in (4, 11, 19, 26, 33, 41, 48, 55)}
OAKRIDGE_ONLY = {
    OAKRIDGE_BATCH_ID,
    birch("BT-25-044"),
    birch("RM-25-0164"),
    birch("RM-25-0057"),
    lot("oakridge", "OKA-1187"),
    lot("dogwood", "DW-M-50355"),
}


async def listed(
    store: GraphStore,
    kind: NodeKind,
    visibility: Visibility = EVERYTHING,
    conditions: tuple[Condition, ...] = (),
    page: int = 7,
) -> list[str]:
    """Every id a listing gives, page by page, checking each page keeps its promises."""
    ids: list[str] = []
    after = None
    while True:
        found = await store.list_nodes(kind, conditions, page, after, visibility=visibility)
        assert len(found.nodes) <= page
        ids += [node.id for node in found.nodes]
        if not found.has_next:
            return ids
        assert len(found.nodes) == page  # a page short of full is the last one
        after = found.nodes[-1].id


def shape(lineage: Lineage | None) -> object:
    if lineage is None:
        return None
    nodes = {(node.id, node.depth, node.redacted) for node in lineage.nodes}
    return nodes, {(edge.source, edge.target) for edge in lineage.edges}, lineage.truncated


def stubs(lineage: Lineage) -> set[str]:
    return {node.id for node in lineage.nodes if node.redacted}


def shown(lineage: Lineage) -> set[str]:
    return {node.id for node in lineage.nodes if not node.redacted}


async def test_visibility_of_a_principal() -> None:
    birch_client = Principal("birch", "CDMO", frozenset({Scope.GRAPH_READ}))
    assert Visibility.of(birch_client) == BIRCH
    assert Visibility.of(LOCAL_OPERATOR) == EVERYTHING
    assert EVERYTHING.everything and not BIRCH.everything


async def test_oakridge_cannot_read_northwinds_batches_at_birch(demo_store: GraphStore) -> None:
    store = demo_store

    assert await store.get_nodes(sorted(NORTHWIND_TABLETS), visibility=OAKRIDGE) == {}
    at_birch = await listed(
        store, NodeKind.BATCH, OAKRIDGE, BatchFilter(vendor="org:birch").conditions()
    )
    assert set(at_birch) == {
        OAKRIDGE_BATCH_ID,
        birch("BT-25-044"),
        birch("RM-25-0164"),
        birch("RM-25-0057"),
        birch("RM-25-0233"),  # the stearate its batches share with Northwind's
    }
    assert await store.lineage(GAP_BATCH_ID, UP, 10, visibility=OAKRIDGE) is None

    # Downstream of the shared stearate, Northwind's tablets are stubs at most.
    downstream = await store.lineage(SHARED_EXCIPIENT_LOT_ID, DOWN, 10, visibility=OAKRIDGE)
    assert downstream is not None
    assert shown(downstream) == {
        SHARED_EXCIPIENT_LOT_ID,
        birch("RM-25-0233"),
        OAKRIDGE_BATCH_ID,
        birch("BT-25-044"),
    }
    assert stubs(downstream) <= NORTHWIND_TABLETS and stubs(downstream)
    impact = await store.impact(SHARED_EXCIPIENT_LOT_ID, visibility=OAKRIDGE)
    assert impact is not None
    assert {node.id for node in impact.batches} == {
        birch("RM-25-0233"),
        OAKRIDGE_BATCH_ID,
        birch("BT-25-044"),
    }
    assert impact.products == (OAKRIDGE_PRODUCT_ID,)
    assert impact.agreements == ("agreement:oakridge/QA-OK-BIR/1",)


async def test_birch_reads_its_own_lots_but_not_alders_upstream(demo_store: GraphStore) -> None:
    store = demo_store
    made_at_birch = await listed(
        store, NodeKind.BATCH, conditions=BatchFilter(vendor="org:birch").conditions()
    )

    assert await listed(store, NodeKind.BATCH, BIRCH) == made_at_birch
    assert await store.get_nodes([lot("alder", "A-2302")], visibility=BIRCH) == {}

    upstream = await store.lineage(GAP_BATCH_ID, UP, 10, visibility=BIRCH)
    assert upstream is not None
    assert shown(upstream) == {
        GAP_BATCH_ID,
        birch("RM-25-0207"),
        birch("RM-25-0140"),
        birch("RM-25-0233"),
    }
    # The API lot received from Alder, and Dogwood's lots, are stubs: id and depth only.
    assert {(node.id, node.depth) for node in upstream.nodes if node.redacted} == {
        (lot("alder", "A-2302"), 2),
        (CONTAMINATED_EXCIPIENT_LOT_ID, 2),
        (SHARED_EXCIPIENT_LOT_ID, 2),
    }
    assert any(
        (edge.source, edge.target) == (birch("RM-25-0207"), lot("alder", "A-2302"))
        for edge in upstream.edges
    )
    assert not upstream.truncated


async def test_a_walk_stops_at_a_stub(store: GraphStore) -> None:
    tablet, received, api, intermediate, raw = (
        birch("T-1"),
        birch("R-1"),
        lot("alder", "A-1"),
        lot("alder", "I-1"),
        lot("alder", "K-1"),
    )
    await store.upsert(
        [consumed(tablet, received), same_lot(received, api), consumed(api, intermediate),
         consumed(intermediate, raw)]
    )  # fmt: skip

    for max_depth in (2, 10):
        upstream = await store.lineage(tablet, UP, max_depth, visibility=BIRCH)
        assert shape(upstream) == (
            {(tablet, 0, False), (received, 1, False), (api, 2, True)},
            {(tablet, received), (received, api)},
            False,  # what lies past a stub is not the principal's to know, even cut short
        )
    whole = await store.lineage(tablet, BOTH, 10, visibility=ALDER)
    assert whole is None  # Alder does not read Birch's tablet
    from_api = await store.lineage(api, BOTH, 10, visibility=ALDER)
    assert shape(from_api) == (
        {(api, 0, False), (intermediate, 1, False), (raw, 2, False), (received, 1, True)},
        {(received, api), (api, intermediate), (intermediate, raw)},
        False,
    )


async def test_no_edge_between_two_stubs_is_shown(store: GraphStore) -> None:
    tablet, api, other_api, received = (
        birch("T-1"),
        lot("alder", "A-1"),
        lot("alder", "A-2"),
        birch("R-1"),
    )
    # Birch's tablet drew on two Alder lots directly, one made from the other.
    await store.upsert(
        [consumed(tablet, api), consumed(tablet, other_api), consumed(api, other_api),
         consumed(received, api)]
    )  # fmt: skip

    for direction in Direction:
        lineage = await store.lineage(tablet, direction, 3, visibility=BIRCH)
        assert lineage is not None
        assert (api, other_api) not in shape(lineage)[1], direction  # type: ignore[index]
    upstream = await store.lineage(tablet, UP, 3, visibility=BIRCH)
    assert shape(upstream) == (
        {(tablet, 0, False), (api, 1, True), (other_api, 1, True)},
        {(tablet, api), (tablet, other_api)},
        False,
    )
    # Alder reads both of its lots and the edge between them; Birch's are the stubs.
    from_api = await store.lineage(api, BOTH, 3, visibility=ALDER)
    assert shape(from_api) == (
        {(api, 0, False), (other_api, 1, False), (tablet, 1, True), (received, 1, True)},
        {(api, other_api), (tablet, api), (received, api), (tablet, other_api)},
        False,
    )


async def test_alder_cannot_see_where_its_lots_went_after_birch(demo_store: GraphStore) -> None:
    store = demo_store
    api_lot = lot("alder", "A-2207")

    downstream = await store.lineage(api_lot, DOWN, 10, visibility=ALDER)
    impact = await store.impact(api_lot, visibility=ALDER)

    assert shape(downstream) == (
        {(api_lot, 0, False), (birch("RM-25-0031"), 1, True)},
        {(birch("RM-25-0031"), api_lot)},
        False,
    )
    assert impact is not None
    assert impact.batches == ()
    assert impact.products == (API_PRODUCT_ID,)  # its own lot's product
    assert impact.vendors == ("org:alder",)
    assert await listed(store, NodeKind.BATCH, ALDER) == [
        lot("alder", number) for number in ("A-2207", "A-2211", "A-2302", "A-2309")
    ]


async def test_northwind_reads_all_of_its_products_everywhere_and_their_upstream(
    demo_store: GraphStore,
) -> None:
    store = demo_store
    every_batch = set(await listed(store, NodeKind.BATCH))

    assert set(await listed(store, NodeKind.BATCH, NORTHWIND)) == every_batch - OAKRIDGE_ONLY
    for product in (TABLET_PRODUCT_ID, API_PRODUCT_ID):
        of_product = BatchFilter(product=product).conditions()
        assert await listed(store, NodeKind.BATCH, NORTHWIND, of_product) == await listed(
            store, NodeKind.BATCH, conditions=of_product
        )
    for direction in Direction:
        assert shape(
            await store.lineage(FINISHED_LOT_ID, direction, 10, visibility=NORTHWIND)
        ) == shape(await store.lineage(FINISHED_LOT_ID, direction, 10))
    assert await store.impact(
        CONTAMINATED_EXCIPIENT_LOT_ID, visibility=NORTHWIND
    ) == await store.impact(CONTAMINATED_EXCIPIENT_LOT_ID)
    agreements = await listed(store, NodeKind.QUALITY_AGREEMENT, NORTHWIND)
    assert agreements == [f"agreement:northwind/QA-NW-{vendor}/{version}" for vendor, version in
                          (("ALD", 3), ("BIR", 2), ("CED", 1), ("ELM", 1))]  # fmt: skip
    # Elm's results on its batches, and Dogwood's deviation on a lot upstream of them.
    assert len(await listed(store, NodeKind.TEST_RESULT, NORTHWIND)) == 16
    assert "deviation:dogwood/DEV-DW-25-031" in await listed(store, NodeKind.DEVIATION, NORTHWIND)
    assert await listed(store, NodeKind.PRODUCT, NORTHWIND) == [API_PRODUCT_ID, TABLET_PRODUCT_ID]


async def test_partners_read_their_agreements_products_results_and_deviations(
    demo_store: GraphStore,
) -> None:
    store = demo_store

    assert await listed(store, NodeKind.QUALITY_AGREEMENT, BIRCH) == [
        "agreement:northwind/QA-NW-BIR/2",
        "agreement:oakridge/QA-OK-BIR/1",
    ]
    assert await listed(store, NodeKind.PRODUCT, BIRCH) == sorted(
        [API_PRODUCT_ID, TABLET_PRODUCT_ID, OAKRIDGE_PRODUCT_ID]
    )
    assert await listed(store, NodeKind.PRODUCT, ELM) == [TABLET_PRODUCT_ID]  # by agreement
    assert set(await listed(store, NodeKind.BATCH, ELM)) == NORTHWIND_TABLETS  # what it tested
    assert await listed(store, NodeKind.TEST_RESULT, OAKRIDGE) == []
    assert await listed(store, NodeKind.DEVIATION, DOGWOOD) == ["deviation:dogwood/DEV-DW-25-031"]
    assert await listed(store, NodeKind.DEVIATION, BIRCH) == [
        "deviation:birch/DEV-BIR-25-0064",
        "deviation:birch/DEV-BIR-25-0117",
    ]
    for org in ORGS:  # a published directory (the related one: test_directory_contract.py)
        seen = Visibility.for_org(org, Directory.PUBLISHED)
        assert await listed(store, NodeKind.ORGANIZATION, seen) == await listed(
            store, NodeKind.ORGANIZATION
        )
        assert await listed(store, NodeKind.SITE, seen) == await listed(store, NodeKind.SITE)


async def test_a_hidden_id_answers_like_a_missing_one(demo_store: GraphStore) -> None:
    store = demo_store
    hidden, missing = GAP_BATCH_ID, birch("BT-99-999")
    kinds = list(EdgeKind)

    for node_id in (hidden, missing):
        assert await store.get_nodes([node_id], visibility=OAKRIDGE) == {}
        assert await store.lineage(node_id, BOTH, 10, visibility=OAKRIDGE) is None
        assert await store.impact(node_id, visibility=OAKRIDGE) is None
        assert await store.out_edges([node_id], kinds, visibility=OAKRIDGE) == []
        assert await store.in_edges([node_id], kinds, visibility=OAKRIDGE) == []
        number = BatchFilter(vendor="org:birch", number=node_id.rpartition("/")[2])
        assert await listed(store, NodeKind.BATCH, OAKRIDGE, number.conditions()) == []
    # A filter naming a product it may not read matches like one naming no product.
    for product in (TABLET_PRODUCT_ID, "product:northwind/NOPE"):
        assert (
            await listed(store, NodeKind.BATCH, OAKRIDGE, BatchFilter(product=product).conditions())
            == []
        )
        covering = AgreementFilter(product=product).conditions()
        assert await listed(store, NodeKind.QUALITY_AGREEMENT, OAKRIDGE, covering) == []
    # Edges to hidden nodes are not there either: Birch's tablet shows no Alder input.
    inputs = await store.out_edges([birch("RM-25-0207")], kinds, visibility=BIRCH)
    assert {target for _, kind, target in inputs if kind is EdgeKind.SAME_LOT} == set()
    assert await store.out_edges([birch("RM-25-0207")], kinds) != inputs


async def test_pages_and_counts_of_listings_leak_nothing(demo_store: GraphStore) -> None:
    store = demo_store
    visible = await listed(store, NodeKind.BATCH, OAKRIDGE, page=100)
    assert len(visible) == 8

    for page in (1, 2, 3, 7, 8):
        assert await listed(store, NodeKind.BATCH, OAKRIDGE, page=page) == visible
    exactly = await store.list_nodes(NodeKind.BATCH, (), 8, None, visibility=OAKRIDGE)
    one_short = await store.list_nodes(NodeKind.BATCH, (), 7, None, visibility=OAKRIDGE)
    assert not exactly.has_next and one_short.has_next
    after_last = await store.list_nodes(NodeKind.BATCH, (), 50, visible[-1], visibility=OAKRIDGE)
    assert after_last.nodes == () and not after_last.has_next
    # A cursor may be any id, a hidden one included, without telling anything.
    after_hidden = await store.list_nodes(NodeKind.BATCH, (), 50, GAP_BATCH_ID, visibility=OAKRIDGE)
    assert [node.id for node in after_hidden.nodes] == [
        node for node in visible if node > GAP_BATCH_ID
    ]
    stored = await store.get_nodes(visible, visibility=OAKRIDGE)
    assert stored == await store.get_nodes(visible)  # what it reads, it reads whole


async def _readers_snapshot(store: GraphStore) -> dict[str, object]:
    """Everything each organization reads, and its lineage around two lots."""
    every = [node_id for kind in NodeKind for node_id in await listed(store, kind, page=500)]
    snapshot: dict[str, object] = {}
    for seen in map(Visibility.for_org, ORGS):
        assert seen.org is not None
        snapshot[seen.org] = (
            sorted(await store.get_nodes(every, visibility=seen)),
            shape(await store.lineage(FINISHED_LOT_ID, UP, 10, visibility=seen)),
            shape(await store.lineage(SHARED_EXCIPIENT_LOT_ID, DOWN, 10, visibility=seen)),
        )
    return snapshot


def _chunks(records: list[Record], rng: random.Random) -> list[list[Record]]:
    shuffled = records[:]
    rng.shuffle(shuffled)
    chunks: list[list[Record]] = []
    while shuffled:
        size = rng.choice((1, 3, 20, 120))
        chunks.append(shuffled[:size])
        del shuffled[:size]
    return chunks


async def test_readers_do_not_depend_on_the_order_records_arrive_in(store: GraphStore) -> None:
    records = demo_records()
    await store.upsert(records)
    in_order = await _readers_snapshot(store)

    for seed in (1, 2):
        await store.wipe()
        for chunk in _chunks(records, random.Random(seed)):
            await store.upsert(chunk)
        assert await _readers_snapshot(store) == in_order, f"shuffled with seed {seed}"


async def test_a_product_link_arriving_last_gives_the_sponsor_the_lot_and_its_upstream(
    store: GraphStore,
) -> None:
    tablet, received, api, raw = (
        birch("T-1"),
        birch("R-1"),
        lot("alder", "A-1"),
        lot("alder", "K-1"),
    )
    sponsor = Visibility.for_org("northwind")
    product = "product:northwind/NW-TAB"
    await store.upsert(
        [batch("birch", "T-1", material_code="TAB"), consumed(tablet, received),
         same_lot(received, api), shipped(api, "birch"), consumed(api, raw)]
    )  # fmt: skip
    assert await store.get_nodes([tablet, received, api, raw], visibility=sponsor) == {}

    await store.upsert(
        [Material(org="birch", code="TAB", product_id=product, provenance=PROVENANCE)]
    )

    assert set(await store.get_nodes([tablet, received, api, raw], visibility=sponsor)) == {
        tablet, received, api, raw,
    }  # fmt: skip
    assert set(await store.get_nodes([product, "material:birch/TAB"], visibility=sponsor)) == {
        product,
        "material:birch/TAB",
    }
    assert await store.get_nodes([api], visibility=BIRCH) == {}  # makers' reading stays put
    assert await store.get_nodes([tablet], visibility=ALDER) == {}


async def test_a_genealogy_edge_arriving_later_carries_the_consumers_sponsors_upstream(
    store: GraphStore,
) -> None:
    tablet, received, api, raw = (
        birch("T-1"),
        birch("R-1"),
        lot("alder", "A-1"),
        lot("alder", "K-1"),
    )
    product = "product:northwind/NW-TAB"
    sponsor = Visibility.for_org("northwind")
    await store.upsert(
        [
            batch("birch", "T-1", product_id=product),
            same_lot(received, api),
            shipped(api, "birch"),  # Alder names Birch as the receiver (graph.trust)
            shipped(api, "elm"),  # and sent Elm a sample
            consumed(api, raw),
            Deviation(org="alder", deviation_id="D-1", batch_ids=(raw,), provenance=PROVENANCE),
            TestResult(lab="elm", result_id="R-1", batch_id=api, provenance=PROVENANCE),
        ]
    )
    assert await store.get_nodes([received, api, raw], visibility=sponsor) == {}

    await store.upsert([consumed(tablet, received)])

    reports = ["deviation:alder/D-1", "result:elm/R-1"]
    assert set(await store.get_nodes([received, api, raw, *reports], visibility=sponsor)) == {
        received, api, raw, *reports,
    }  # fmt: skip
    assert await store.get_nodes([received], visibility=Visibility.for_org("elm")) == {}
    assert set(await store.get_nodes([api, "result:elm/R-1"], visibility=ALDER)) == {
        api,
        "result:elm/R-1",  # a result on its lot
    }
    # Cycles in bad data end the carrying too.
    await store.upsert([consumed(raw, tablet), same_lot(api, api)])
    assert set(await store.get_nodes([tablet], visibility=sponsor)) == {tablet}


async def test_agreements_give_their_parties_the_products_they_cover(store: GraphStore) -> None:
    products = ["product:northwind/NW-1", "product:northwind/NW-2"]
    agreements = ["agreement:northwind/QA-1/1", "agreement:northwind/QA-2/1"]

    def agreement(number: int, *covered: str) -> QualityAgreement:
        return QualityAgreement(
            agreement_id=f"QA-{number}",
            version="1",
            sponsor="northwind",
            vendor="cedar",
            product_ids=covered,
            provenance=PROVENANCE,
        )

    def elm_joins(number: int) -> Edge:
        return Edge(
            kind=EdgeKind.PARTY_TO,
            source="org:elm",
            target=f"agreement:northwind/QA-{number}/1",
            provenance=PROVENANCE,
        )

    await store.upsert(
        [
            Product(sponsor="northwind", code=code, provenance=PROVENANCE)
            for code in ("NW-1", "NW-2")
        ]
    )
    # Covered first, then Elm joins; and Elm joins first, then the product is covered.
    await store.upsert([agreement(1, products[0])])
    await store.upsert([agreement(2), elm_joins(2)])
    assert await store.get_nodes(products, visibility=ELM) == {}
    await store.upsert([agreement(1), elm_joins(1)])
    await store.upsert([agreement(2, products[1])])

    for party in ("elm", "cedar"):
        seen = Visibility.for_org(party)
        assert set(await store.get_nodes(products + agreements, visibility=seen)) == {
            *products,
            *agreements,
        }
