"""bench.peer's answer check, without the peer itself (no npm, no Node.js): how its
typeDefs read the graph PartnerHub stores (a batch's vendor is the target of its
MADE_BY edge; upstream lineage is the @cypher statement of bench/peer/server.mjs)
against PartnerHub's own answers on a tiny generated network, and what the check
compares."""

from __future__ import annotations

import re

import pytest

from bench.peer import (
    PEER_DIR,
    _batch_answer,
    _hub_lineage_answer,
    _hub_page_answer,
    _inputs_answer,
    _peer_lineage_answer,
    _peer_page_answer,
)
from graph.lineage import Direction
from graph.loading import load
from graph.neo4j.store import Neo4jGraphStore
from hub.demo.generator import Tier, generate_network, sample_batch_ids

BATCHES, SEED = 200, 7


def upstream_statement() -> str:
    """The Cypher of the peer's ``Batch.upstream`` field, as served."""
    source = (PEER_DIR / "server.mjs").read_text()
    found = re.search(r'upstream: \[Batch!\]!\s+@cypher\(\s+statement: """(.*?)"""', source, re.S)
    assert found, "Batch.upstream @cypher not found in server.mjs"
    return found.group(1).strip()


@pytest.fixture
async def network(neo4j_uri: str) -> Neo4jGraphStore:
    store = Neo4jGraphStore(neo4j_uri)
    await store.setup()
    await store.wipe()
    await load(store, generate_network(BATCHES, SEED))
    return store


@pytest.mark.neo4j
async def test_the_peers_reading_of_the_graph_gives_the_hubs_answers(
    network: Neo4jGraphStore,
) -> None:
    try:
        statement = upstream_statement()
        roots = sample_batch_ids(BATCHES, SEED, Tier.FINISHED, 5)
        assert roots
        for root in roots:
            lineage = await network.lineage(root, Direction.UPSTREAM, 10)
            assert lineage is not None
            ours = _hub_lineage_answer(
                {"lineage": {"root": root, "nodes": [{"id": n.id} for n in lineage.nodes]}}
            )
            records, _, _ = await network.driver.execute_query(
                f"MATCH (this:Batch {{id: $root}}) CALL (this) {{ {statement} }} "
                "RETURN collect(m.id) AS ids",
                root=root,
            )
            theirs = _peer_lineage_answer(
                {"batches": [{"id": root, "upstream": [{"id": i} for i in records[0]["ids"]]}]}
            )
            assert ours == theirs and len(ours) >= 7, root  # a finished lot: 7 hops up
        # Batch.vendor (MADE_BY) is the organization PartnerHub's vendor resolves: org:<maker>.
        records, _, _ = await network.driver.execute_query(
            "MATCH (b:Batch) OPTIONAL MATCH (b)-[:MADE_BY]->(o:Organization) "
            "WITH b, collect(o.id) AS vendors "
            "WHERE vendors <> ['org:' + b.maker] RETURN b.id AS id, vendors"
        )
        assert [record.data() for record in records] == []
    finally:
        await network.close()


def test_the_check_compares_the_same_things_in_either_shape() -> None:
    hub_page = {"batches": {"nodes": [{"id": "batch:a/1", "vendor": {"name": "Alder"}}]}}
    peer_page = {"batches": [{"id": "batch:a/1", "vendor": [{"name": "Alder"}]}]}
    assert _hub_page_answer(hub_page) == _peer_page_answer(peer_page)
    peer_page["batches"][0]["vendor"] = [{"name": "Birch"}]
    assert _hub_page_answer(hub_page) != _peer_page_answer(peer_page)
    # A lot one cannot read: null from PartnerHub, no rows from the peer.
    assert _batch_answer({"batch": None}) == _batch_answer({"batches": []})
    hub_inputs = {
        "batch": {
            "id": "batch:a/1",
            "inputs": [
                {"id": "batch:b/2", "vendor": {"name": "Birch"}},
                {"id": "batch:c/3", "vendor": None},
            ],
        }
    }
    peer_inputs = {
        "batches": [
            {
                "id": "batch:a/1",
                "inputs": [
                    {"id": "batch:c/3", "vendor": []},
                    {"id": "batch:b/2", "vendor": [{"name": "Birch"}]},
                ],
            }
        ]
    }
    assert _inputs_answer(hub_inputs) == _inputs_answer(peer_inputs)  # order does not matter
