"""The planner's implied edges: bare triples, the same as the validated ``Edge`` records.

``plan_write`` takes a node's implied edges as ``(source, kind, target)`` triples
(``NodeRecord.implied_links``) instead of building an ``Edge`` record for each. These
tests hold the triples to what the validated records say, for every kind of node the
demo network holds, and show that a triple whose ends do not fit its kind is refused.
"""

from __future__ import annotations

from itertools import islice

import pytest

from graph.model import Batch, Edge, EdgeKind, NodeRecord, Provenance
from graph.write_plan import ImpliedEdgeMisfit, plan_write
from hub.demo.generator import generate_network

PROVENANCE = Provenance(ingestion_id="ing-1", connector="test", location="row 1")


def test_implied_links_are_the_validated_edges_for_every_kind_in_the_demo() -> None:
    kinds = set()
    for record in islice(generate_network(300, 7), 5_000):
        if isinstance(record, NodeRecord):
            kinds.add(record.KIND)
            validated = record.implied_edges()  # raises if an end did not fit
            assert [edge.key for edge in validated] == record.implied_links(record.id)
            assert all(edge.provenance == record.provenance for edge in validated)
            assert [edge.key for edge in record.key_edges()] == record.key_links(record.id)
    assert len(kinds) >= 10


def test_plan_edges_are_what_validated_records_would_give() -> None:
    records = list(islice(generate_network(200, 3), 3_000))
    plan = plan_write(records)
    stated = set()
    for record in records:
        edges = record.implied_edges() if isinstance(record, NodeRecord) else [record]
        stated.update(edge.key for edge in edges)
    assert stated <= set(plan.edges)
    for key in set(plan.edges) - stated:  # only what placeholders' keys imply
        assert key[0] in plan.placeholders


def test_an_implied_edge_keeps_its_source_and_properties_stay_empty() -> None:
    lot = Batch(maker="alder", number="A-1", material_code="M-1", provenance=PROVENANCE)
    plan = plan_write([lot])
    made_by = plan.edges[(lot.id, EdgeKind.MADE_BY, "org:alder")]
    assert made_by.sources == [PROVENANCE.ref]
    assert made_by.properties == {}
    assert made_by.provenance == PROVENANCE
    # The same edge stated again by another export gains that export as a source.
    again = lot.model_copy(update={"provenance": PROVENANCE.model_copy(update={"location": "2"})})
    assert plan_write([lot, again]).edges[made_by.source, made_by.kind, made_by.target].sources == [
        PROVENANCE.ref,
        "ing-1#2",
    ]


def test_an_implied_edge_that_does_not_fit_its_kind_is_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def misfit(self: Batch, me: str) -> list[tuple[str, EdgeKind, str]]:
        return [(me, EdgeKind.MADE_BY, "site:alder/S-1")]  # MADE_BY ends at an organization

    monkeypatch.setattr(Batch, "implied_links", misfit)
    lot = Batch(maker="alder", number="A-1", provenance=PROVENANCE)
    with pytest.raises(ImpliedEdgeMisfit, match="MADE_BY edge cannot go from 'batch:alder/A-1'"):
        plan_write([lot])


def test_an_edge_record_is_still_validated_where_it_is_made() -> None:
    with pytest.raises(ValueError, match="a MADE_BY edge ends at Organization"):
        Edge(kind=EdgeKind.MADE_BY, source="batch:alder/A-1", target="site:alder/S-1")
