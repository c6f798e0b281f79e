"""complianceGaps latency at scale, on the generated network (bench.scale's, seed 7).

    .venv/bin/python -m bench.compliance --store neo4j --batches 100000 1000000
    .venv/bin/python -m bench.compliance --store sqlite --batches 100000
    HUB_BENCH_NEO4J_URI=bolt://127.0.0.1:7687 .venv/bin/python -m bench.compliance \\
        --batches 1000000 --skip-load

For each size, on an emptied store, the network is loaded by the real CLI in a child
process (``partnerhub generate``, as bench.scale does). Then, for every product of the
network in turn, interleaved so that all see the same noise, over several rounds:

- **scan** (the baseline): one minimal query that reads every lot of the product (both
  ways a lot is for it: directly and through its material) and counts the dated ones;
  any complete check must touch each of them at least once;
- **page**: ``store.compliance_gaps`` for the product, the first page of 500 lots (the
  largest page the API serves), as the operator;
- **sponsor**: the same, as the product's sponsor (visibility applied in the query);
- **api**: the GraphQL field ``complianceGaps(productId, first: 500)`` through the app in
  process (token verified, parse, validate, execute, serialize), asking for each lot's
  id and manufacturing day and each gap's reason, message and agreement id, as the
  operator.

Reported: p50 / p95 in milliseconds, and each p95 as a ratio to the scan's p95 in the same
run. Also the lots per product and the gaps the whole listing holds (all pages).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable
from contextlib import ExitStack
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import TypeVar

import httpx
from sqlalchemy import text

from auth.service import AuthService
from bench.driver import percentile
from bench.neo4j_server import bench_neo4j
from bench.scale import load_with_cli
from graph.ids import NodeKind, parse_id
from graph.neo4j.store import Neo4jGraphStore
from graph.quality.compliance import ComplianceScope
from graph.sql.store import SqlGraphStore
from graph.store import GraphStore
from graph.visibility import Visibility
from hub.app import create_app
from hub.records.database import migrate
from tests.tokens import TEST_AUTH, TokenSource

T = TypeVar("T")
PAGE = 500
API_QUERY = """query ($product: ID!) { complianceGaps(productId: $product, first: 500) {
  nodes { id manufacturedOn gaps { reason message agreement { id } } }
  pageInfo { hasNextPage endCursor } } }"""
ROUNDS = 5
WARM_UP = 1  # rounds not counted: caches and the JIT warm up on every product once

_CYPHER_SCAN = (
    "MATCH (p:Node {id: $product}) CALL (p) { "
    "MATCH (p)<-[:FOR_PRODUCT]-(b:Batch) RETURN b UNION "
    "MATCH (p)<-[:FOR_PRODUCT]-(:Material)<-[:OF_MATERIAL]-(b:Batch) RETURN b } "
    "RETURN count(b) AS lots, count(b.manufactured_on) AS dated"
)
_SQL_SCAN = text("""
    WITH lots(id) AS (
        SELECT source FROM graph_edges WHERE target = :product AND kind = 'FOR_PRODUCT'
        AND source >= 'batch:' AND source < 'batch;'
        UNION
        SELECT o.source FROM graph_edges AS f JOIN graph_edges AS o
        ON o.target = f.source AND o.kind = 'OF_MATERIAL'
        WHERE f.target = :product AND f.kind = 'FOR_PRODUCT'
    )
    SELECT count(*), count(json_extract(n.properties, '$.manufactured_on'))
    FROM lots JOIN graph_nodes AS n ON n.id = lots.id
""")


def open_store(kind: str, url: str) -> GraphStore:
    if kind == "neo4j":
        return Neo4jGraphStore(url)
    return SqlGraphStore(url.replace("sqlite:", "sqlite+aiosqlite:"))


async def scan(store: GraphStore, product: str) -> tuple[int, int]:
    """The baseline: every lot of the product read once, in one query."""
    if isinstance(store, Neo4jGraphStore):
        (row,) = await store._read(_CYPHER_SCAN, product=product)
        return row["lots"], row["dated"]
    assert isinstance(store, SqlGraphStore)
    async with store.engine.connect() as conn:
        lots, dated = (await conn.execute(_SQL_SCAN, {"product": product})).one()
    return lots, dated


async def all_gaps(store: GraphStore, product: str) -> int:
    """How many lots of the product the whole listing holds, page after page."""
    scope = ComplianceScope(product=product)
    found, after = 0, None
    while True:
        page = await store.compliance_gaps(scope, PAGE, after)
        found += len(page.lots)
        if not page.has_next:
            return found
        after = page.lots[-1].batch_id


async def timed(call: Awaitable[T]) -> tuple[float, T]:
    """Milliseconds ``call`` (a coroutine: it starts when awaited) takes, and its answer."""
    started = time.perf_counter()
    answer = await call
    return (time.perf_counter() - started) * 1000, answer


async def measure(store: GraphStore, batches: int, api: httpx.AsyncClient) -> list[str]:
    products = [node.id for node in (await store.list_nodes(NodeKind.PRODUCT, (), 500, None)).nodes]
    timings: dict[str, list[float]] = {"scan": [], "page": [], "sponsor": [], "api": []}
    lots: dict[str, int] = {}
    by_product: dict[str, list[float]] = {}
    for round_ in range(WARM_UP + ROUNDS):
        for product in products:
            sponsor = Visibility.for_org(parse_id(product).parts[0])
            scope = ComplianceScope(product=product)
            scan_ms, (count, _) = await timed(scan(store, product))
            page_ms, page = await timed(store.compliance_gaps(scope, PAGE))
            sponsor_ms, seen = await timed(store.compliance_gaps(scope, PAGE, visibility=sponsor))
            assert [lot.batch_id for lot in seen.lots] == [lot.batch_id for lot in page.lots], (
                "the sponsor judges its own product's lots as the operator does"
            )
            api_ms, response = await timed(
                api.post("/graphql", json={"query": API_QUERY, "variables": {"product": product}})
            )
            answer = response.json()
            assert "errors" not in answer, answer
            nodes = answer["data"]["complianceGaps"]["nodes"]
            assert [node["id"] for node in nodes] == [lot.batch_id for lot in page.lots]
            lots[product] = count
            if round_ >= WARM_UP:
                timings["scan"].append(scan_ms)
                timings["page"].append(page_ms)
                timings["sponsor"].append(sponsor_ms)
                timings["api"].append(api_ms)
                by_product.setdefault(product, []).append(page_ms)
    gaps = [await all_gaps(store, product) for product in products]
    base = percentile(timings["scan"], 0.95)
    rows = [
        f"| {batches:,} | {name} | {len(values)} | {percentile(values, 0.5):.1f} "
        f"| {percentile(values, 0.95):.1f} | {percentile(values, 0.95) / base:.2f} |"
        for name, values in timings.items()
    ]
    largest = max(lots, key=lambda product: lots[product])
    rows.append(
        f"| {batches:,} | ({len(products)} products: lots per product mean "
        f"{statistics.mean(lots.values()):,.0f}, max {max(lots.values()):,}; non-compliant "
        f"lots per product mean {statistics.mean(gaps):,.0f}, max {max(gaps):,}; page for "
        f"the largest product: median {statistics.median(by_product[largest]):.1f}, "
        f"max {max(by_product[largest]):.1f}) | | | | |"
    )
    return rows


async def run_size(kind: str, url: str, batches: int, skip_load: bool) -> list[str]:
    if not skip_load:
        store = open_store(kind, url)
        await store.setup()
        await store.wipe()
        await store.close()
        seconds, _ = load_with_cli(url, batches)
        print(f"loaded {batches:,} batches in {seconds:.0f} s", file=sys.stderr)
    store = open_store(kind, url)
    folder = tempfile.TemporaryDirectory(prefix="bench-auth-")
    auth = AuthService.from_url(
        f"sqlite+aiosqlite:///{folder.name}/auth.sqlite", TEST_AUTH, migrate=migrate
    )
    await auth.setup()
    headers = await TokenSource(auth).bearer()  # verified on every request, as in production
    transport = httpx.ASGITransport(app=create_app(store=store, auth=auth))
    try:
        async with httpx.AsyncClient(
            transport=transport, base_url="http://bench", headers=headers, timeout=60
        ) as api:
            return await measure(store, batches, api)
    finally:
        await store.close()
        await auth.close()
        folder.cleanup()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", choices=("neo4j", "sqlite"), default="neo4j")
    parser.add_argument("--batches", type=int, nargs="+", default=[100_000])
    parser.add_argument("--skip-load", action="store_true", help="the store already holds it")
    args = parser.parse_args()
    rows: list[str] = []
    with ExitStack() as stack:
        if args.store == "neo4j":
            url = stack.enter_context(bench_neo4j(heap="2g", pagecache="4g"))
        else:
            folder = stack.enter_context(TemporaryDirectory())
            url = f"sqlite:///{Path(folder) / 'compliance.sqlite'}"
        for batches in sorted(args.batches):
            rows += asyncio.run(run_size(args.store, url, batches, args.skip_load))
            print(f"done {batches:,}", file=sys.stderr)
    print(
        f"complianceGaps per product ({args.store}; {ROUNDS} rounds over every product, "
        f"first page of {PAGE}; ms):\n"
    )
    print("| batches | query | calls | p50 | p95 | p95 ratio to scan |")
    print("|---:|---|---:|---:|---:|---:|")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
