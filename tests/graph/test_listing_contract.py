"""Listings and edge reads, the same on both stores: pages, filters, incoming edges."""

from __future__ import annotations

from datetime import date

import pytest

from graph.ids import NodeKind
from graph.model import (
    BatchStatus,
    EdgeKind,
    Material,
    Product,
    QualityAgreement,
    TestResult,
)
from graph.queries import AgreementFilter, BatchFilter
from graph.store import GraphStore
from tests.graph.builders import PROVENANCE, batch, lot

PRODUCT = "product:northwind/NW-TAB"
OTHER_PRODUCT = "product:oakridge/OK-1"


async def _network(store: GraphStore) -> None:
    await store.upsert(
        [
            Product(sponsor="northwind", code="NW-TAB", provenance=PROVENANCE),
            Product(sponsor="oakridge", code="OK-1", provenance=PROVENANCE),
            Material(org="birch", code="TAB-10", product_id=PRODUCT, provenance=PROVENANCE),
            # Birch tablets: two for Northwind through their material, one for Oakridge directly.
            batch("birch", "T-1", material_code="TAB-10", status="RELEASED",
                  manufactured_on=date(2025, 3, 1)),
            batch("birch", "T-2", material_code="TAB-10", status="QUARANTINE",
                  manufactured_on=date(2025, 6, 30)),
            batch("birch", "T-3", product_id=OTHER_PRODUCT, status="RELEASED",
                  manufactured_on=date(2025, 7, 1)),
            batch("alder", "A-1", product_id=PRODUCT, status="RELEASED"),
            TestResult(lab="elm", result_id="R-1", batch_id=lot("birch", "T-1"), test="assay",
                       value=99.1, provenance=PROVENANCE),
            TestResult(lab="elm", result_id="R-2", batch_id=lot("birch", "T-1"), test="dissolution",
                       value=87.0, provenance=PROVENANCE),
            QualityAgreement(agreement_id="QA-NW-BIRCH", version="2", sponsor="northwind",
                             vendor="birch", product_ids=(PRODUCT,), status="EFFECTIVE",
                             provenance=PROVENANCE),
            QualityAgreement(agreement_id="QA-OK-BIRCH", version="1", sponsor="oakridge",
                             vendor="birch", product_ids=(OTHER_PRODUCT,), status="EFFECTIVE",
                             provenance=PROVENANCE),
        ]
    )  # fmt: skip


async def _ids(
    store: GraphStore, kind: NodeKind, batch_filter: object, first: int = 50
) -> list[str]:
    page = await store.list_nodes(kind, batch_filter.conditions(), first, None)  # type: ignore[attr-defined]
    return [node.id for node in page.nodes]


async def test_pages_walk_every_batch_once_in_id_order(store: GraphStore) -> None:
    await _network(store)
    seen: list[str] = []
    after = None
    pages = 0
    while True:
        page = await store.list_nodes(NodeKind.BATCH, (), 2, after)
        seen += [node.id for node in page.nodes]
        pages += 1
        if not page.has_next:
            break
        after = page.nodes[-1].id

    expected = sorted([lot("alder", "A-1"), *(lot("birch", f"T-{n}") for n in (1, 2, 3))])
    assert seen == expected
    assert pages == 2
    first_page = await store.list_nodes(NodeKind.BATCH, (), 2, None)
    assert first_page.nodes[0].sources == ("ing-test#/fixture",), "a listed node keeps its sources"


@pytest.mark.parametrize(
    ("batch_filter", "expected"),
    [
        (BatchFilter(vendor="org:birch"), ["T-1", "T-2", "T-3"]),
        (BatchFilter(vendor="org:birch", status=BatchStatus.RELEASED), ["T-1", "T-3"]),
        (BatchFilter(number="T-2"), ["T-2"]),
        (BatchFilter(manufactured_from=date(2025, 6, 30)), ["T-2", "T-3"]),
        (BatchFilter(manufactured_to=date(2025, 6, 30)), ["T-1", "T-2"]),
        (
            BatchFilter(manufactured_from=date(2025, 4, 1), manufactured_to=date(2025, 6, 30)),
            ["T-2"],
        ),
        (BatchFilter(product=PRODUCT), ["A-1", "T-1", "T-2"]),  # directly or through the material
        (BatchFilter(product=OTHER_PRODUCT, vendor="org:birch"), ["T-3"]),
        (BatchFilter(vendor="org:nobody"), []),
    ],
)
async def test_batch_filters_select_inside_the_store(
    store: GraphStore, batch_filter: BatchFilter, expected: list[str]
) -> None:
    await _network(store)
    numbers = [
        node_id.rsplit("/", 1)[1] for node_id in await _ids(store, NodeKind.BATCH, batch_filter)
    ]
    assert numbers == expected


async def test_agreements_filter_by_party_and_covered_product(store: GraphStore) -> None:
    await _network(store)
    by_product = await _ids(store, NodeKind.QUALITY_AGREEMENT, AgreementFilter(product=PRODUCT))
    by_vendor = await _ids(store, NodeKind.QUALITY_AGREEMENT, AgreementFilter(vendor="org:birch"))
    assert by_product == ["agreement:northwind/QA-NW-BIRCH/2"]
    assert by_vendor == ["agreement:northwind/QA-NW-BIRCH/2", "agreement:oakridge/QA-OK-BIRCH/1"]


def test_a_filter_naming_the_wrong_kind_of_id_says_so() -> None:
    with pytest.raises(ValueError, match="is not an Organization id"):
        BatchFilter(vendor="batch:birch/T-1").conditions()
    with pytest.raises(ValueError, match="is not a Product id"):
        BatchFilter(product="nonsense:x").conditions()


async def test_in_edges_find_results_that_tested_a_batch(store: GraphStore) -> None:
    await _network(store)
    tested = await store.in_edges([lot("birch", "T-1"), lot("birch", "T-2")], [EdgeKind.TESTED])
    assert tested == [
        ("result:elm/R-1", EdgeKind.TESTED, lot("birch", "T-1")),
        ("result:elm/R-2", EdgeKind.TESTED, lot("birch", "T-1")),
    ]


async def test_ping_answers_on_a_live_store(store: GraphStore) -> None:
    await store.ping()  # raises StoreUnavailable otherwise
    assert (await store.counts()).total_nodes == 0


async def test_a_vendor_filter_lists_that_vendors_lots_only_whatever_their_slugs_share(
    store: GraphStore,
) -> None:
    """On Neo4j a filter on the maker seeks the range of ids its lots have (graph.ids
    ``ids_starting_with``): makers whose slugs start alike keep their own lots."""
    makers = ("ash", "ash-2", "ash0", "as", "ashb")
    await store.upsert([batch(maker, f"L-{n}") for maker in makers for n in (1, 2)])
    for maker in makers:
        chosen = BatchFilter(vendor=f"org:{maker}")
        assert await _ids(store, NodeKind.BATCH, chosen) == [
            lot(maker, "L-1"),
            lot(maker, "L-2"),
        ], maker
        page = await store.list_nodes(NodeKind.BATCH, chosen.conditions(), 1, lot(maker, "L-1"))
        assert [node.id for node in page.nodes] == [lot(maker, "L-2")] and not page.has_next
        trees = await store.list_trees(NodeKind.BATCH, chosen.conditions(), 5, None, ())
        assert [tree.node.id for tree in trees.trees] == [lot(maker, "L-1"), lot(maker, "L-2")]


def test_the_ids_starting_with_a_key_part_are_one_range() -> None:
    from graph.ids import ids_starting_with, make_id

    low, high = ids_starting_with(NodeKind.BATCH, "ash") or ("", "")
    inside = [make_id(NodeKind.BATCH, "ash", number) for number in ("1", "A/B", "zz", "~")]
    outside = [make_id(NodeKind.BATCH, maker, "1") for maker in ("as", "ash-2", "ash0", "ashb")]
    assert all(low <= node_id < high for node_id in inside)
    assert not any(low <= node_id < high for node_id in outside)
    assert ids_starting_with(NodeKind.ORGANIZATION, "ash") is None  # one-part ids
