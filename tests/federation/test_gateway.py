"""PartnerHub as an Apollo Federation 2 subgraph, through real Apollo parts.

The hub is served by ``partnerhub serve`` over each store; a second subgraph (ERP,
in Node.js) adds ``Batch.erpOrder`` by ``@key(fields: "id")``. Both SDLs are composed
by ``@apollo/composition`` (any error or hint fails the test), and ``@apollo/gateway``
answers queries that need both subgraphs.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from graph.store import GraphStore
from hub.demo.story import FINISHED_LOT_ID, demo_records
from tests.conftest import STORE_KINDS, open_store
from tests.federation.harness import (
    compose,
    erp_order_for,
    npm_ready,
    post_graphql,
    start_node_script,
    stop,
    subgraph_sdl,
)
from tests.served import served_hub, store_url


@dataclass(frozen=True)
class Gateway:
    url: str
    headers: dict[str, str]  # the operator's bearer token, forwarded to the subgraphs

    def query(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        return post_graphql(self.url, query, variables, headers=self.headers)


@pytest.fixture(scope="module", params=STORE_KINDS)
async def demo_network(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[GraphStore]:
    """The demo story in each store in turn, loaded once for the module: every test here
    only reads through the gateway."""
    store = await open_store(request.param, tmp_path_factory.mktemp(request.param), request)
    try:
        await store.upsert(demo_records())
        yield store
    finally:
        await store.close()


@pytest.fixture(scope="module")
def gateway(
    demo_network: GraphStore, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Gateway]:
    """A gateway over the hub (serving the demo story) and the ERP subgraph, started once
    per store kind: the tests only read, and each sends its own request."""
    npm_ready()
    with served_hub(store_url(demo_network)) as hub:
        erp, erp_url = start_node_script("erp_subgraph.mjs", "0")
        try:
            hub_graphql = hub.url + "graphql"
            hub_sdl = post_graphql(hub_graphql, "{ _service { sdl } }", headers=hub.headers)
            supergraph = compose(
                [
                    {
                        "name": "partnerhub",
                        "url": hub_graphql,
                        "sdl": hub_sdl["data"]["_service"]["sdl"],
                    },
                    {"name": "erp", "url": erp_url, "sdl": subgraph_sdl(erp_url)},
                ]
            )  # raises CompositionFailed on any error or hint
            supergraph_file = tmp_path_factory.mktemp("gateway") / "supergraph.graphql"
            supergraph_file.write_text(supergraph)
            router, router_url = start_node_script("gateway.mjs", str(supergraph_file), "0")
            try:
                yield Gateway(router_url, hub.headers)
            finally:
                stop(router)
        finally:
            stop(erp)


def test_a_query_joins_hub_lineage_with_erp_orders(gateway: Gateway) -> None:
    answer = gateway.query(
        """query ($id: ID!) {
             batch(id: $id) { number vendor { name } erpOrder { orderNumber costCenter currency } }
             lineage(batchId: $id, maxDepth: 10) {
               nodes { id depth batch { vendor { orgId } erpOrder { orderNumber unitCost } } } } }""",
        {"id": FINISHED_LOT_ID},
    )

    assert "errors" not in answer, answer
    batch = answer["data"]["batch"]
    assert batch["number"] == "P25-1214"
    assert batch["vendor"]["name"] == "Cedar Packaging Solutions"
    expected = erp_order_for(FINISHED_LOT_ID)
    assert expected is not None
    assert batch["erpOrder"]["orderNumber"] == expected["orderNumber"]
    nodes = answer["data"]["lineage"]["nodes"]
    assert {node["batch"]["vendor"]["orgId"] for node in nodes} >= {"cedar", "birch", "alder"}
    for node in nodes:  # the gateway fetched every lot's order from ERP by the hub's key
        order = erp_order_for(node["id"])
        assert order is not None
        assert node["batch"]["erpOrder"]["orderNumber"] == order["orderNumber"]
        assert node["batch"]["erpOrder"]["unitCost"] == pytest.approx(order["unitCost"])


def test_entities_resolve_in_one_page_through_the_gateway(gateway: Gateway) -> None:
    answer = gateway.query(
        """{ batches(first: 20, filter: {vendor: "org:birch"}) {
               nodes { id number erpOrder { orderNumber } } } }""",
    )

    assert "errors" not in answer, answer
    nodes = answer["data"]["batches"]["nodes"]
    assert len(nodes) == 20
    assert all(node["erpOrder"]["orderNumber"] == f"PO-{node['number']}" for node in nodes)


def test_hub_errors_pass_through_the_gateway_unmasked_for_bad_input(gateway: Gateway) -> None:
    answer = gateway.query('{ batch(id: "not-an-id") { number } }')

    assert answer["data"]["batch"] is None
    assert "has no kind prefix" in answer["errors"][0]["message"]


def test_the_gateway_passes_the_callers_token_on_and_the_hub_checks_it(gateway: Gateway) -> None:
    answer = post_graphql(gateway.url, '{ batch(id: "batch:cedar/P25-1214") { number } }')

    assert answer["data"] is None or answer["data"]["batch"] is None
    assert answer["errors"], "without a token the hub answers nothing"
