"""inspectionReadiness and processValidation latency at scale, on the generated network.

    .venv/bin/python -m bench.readiness --store neo4j --batches 1000000
    HUB_BENCH_NEO4J_URI=bolt://127.0.0.1:7687 .venv/bin/python -m bench.readiness \\
        --batches 1000000 --skip-load

The network (``partnerhub generate``, seed 7, as bench.scale loads it) carries the
partnership lifecycle at scale (``hub.demo.scaled_lifecycle``): every product's
specifications, a tech transfer per product and CDMO, audits, changes and inspections
of every vendor. For every transfer in turn (a sponsor, its product and the receiving
CDMO), interleaved over several rounds so that all see the same noise, through the app
in process with the sponsor's own token (verified on every request, scoping on):

- **charts** (the baseline): ``controlCharts(productId, test: "assay")``, the product's
  assay chart at every vendor: one read of every assay result of the product, which the
  readiness's CPV check must make at least for its vendor;
- **readiness**: ``inspectionReadiness(vendorId, productId)`` with every check's name,
  status and evidence ids;
- **validation**: ``processValidation(productId, siteId)`` by stage.

Reported: p50 / p95 in milliseconds, each p95 as a ratio to the baseline's in the same
run, and how the checks came out over the network.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from collections import Counter
from contextlib import ExitStack
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any

import httpx

from auth.service import AuthService
from bench.compliance import open_store
from bench.driver import percentile
from bench.neo4j_server import bench_neo4j
from bench.scale import load_with_cli
from graph.ids import NodeKind, make_id
from graph.lifecycle import TechTransfer
from hub.app import create_app
from hub.records.database import migrate
from tests.tokens import TEST_AUTH, TokenSource

ROUNDS = 3
WARM_UP = 1
CHARTS = """query ($product: ID!) { controlCharts(productId: $product, test: "assay") {
  vendor { id } points { batchId value } } }"""
READINESS = """query ($vendor: ID!, $product: ID!) {
  inspectionReadiness(vendorId: $vendor, productId: $product) {
    status checks { name status evidence { id } } } }"""
VALIDATION = """query ($product: ID!, $site: ID!) {
  processValidation(productId: $product, siteId: $site) { stage status checks { name status } } }"""


async def ask(api: httpx.AsyncClient, query: str, **variables: Any) -> tuple[float, Any]:
    started = time.perf_counter()
    response = await api.post("/graphql", json={"query": query, "variables": variables})
    elapsed = (time.perf_counter() - started) * 1000
    answer = response.json()
    assert "errors" not in answer, answer
    return elapsed, answer["data"]


async def measure(
    store_transfers: list[TechTransfer], apis: dict[str, httpx.AsyncClient], batches: int
) -> list[str]:
    timings: dict[str, list[float]] = {"charts": [], "readiness": [], "validation": []}
    outcomes: Counter[tuple[str, str]] = Counter()
    for round_ in range(WARM_UP + ROUNDS):
        for transfer in store_transfers:
            api = apis[transfer.sponsor]
            vendor = make_id(NodeKind.ORGANIZATION, transfer.vendor)
            site = make_id(NodeKind.SITE, transfer.vendor, transfer.site_code or "S1")
            charts_ms, _ = await ask(api, CHARTS, product=transfer.product_id)
            ready_ms, ready = await ask(api, READINESS, vendor=vendor, product=transfer.product_id)
            valid_ms, _ = await ask(api, VALIDATION, product=transfer.product_id, site=site)
            if round_ >= WARM_UP:
                timings["charts"].append(charts_ms)
                timings["readiness"].append(ready_ms)
                timings["validation"].append(valid_ms)
            if round_ == 0:
                for check in ready["inspectionReadiness"]["checks"]:
                    outcomes[check["name"], check["status"]] += 1
    base = percentile(timings["charts"], 0.95)
    rows = [
        f"| {batches:,} | {name} | {len(values)} | {percentile(values, 0.5):.1f} "
        f"| {percentile(values, 0.95):.1f} | {percentile(values, 0.95) / base:.2f} |"
        for name, values in timings.items()
    ]
    summary = "; ".join(
        f"{name} {status} {count}" for (name, status), count in sorted(outcomes.items())
    )
    rows.append(f"| {batches:,} | ({len(store_transfers)} transfers; checks: {summary}) | | | | |")
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
    transfers = [
        node.record
        for node in (await store.list_nodes(NodeKind.TECH_TRANSFER, (), 500, None)).nodes
        if isinstance(node.record, TechTransfer)
    ]
    folder = tempfile.TemporaryDirectory(prefix="bench-auth-")
    auth = AuthService.from_url(
        f"sqlite+aiosqlite:///{folder.name}/auth.sqlite", TEST_AUTH, migrate=migrate
    )
    await auth.setup()
    transport = httpx.ASGITransport(app=create_app(store=store, auth=auth))
    tokens = TokenSource(auth)
    apis: dict[str, httpx.AsyncClient] = {}
    try:
        for sponsor in sorted({transfer.sponsor for transfer in transfers}):
            headers = await tokens.bearer(sponsor, ["graph:read"])
            apis[sponsor] = httpx.AsyncClient(
                transport=transport, base_url="http://bench", headers=headers, timeout=120
            )
        return await measure(transfers, apis, batches)
    finally:
        for api in apis.values():
            await api.aclose()
        await store.close()
        await auth.close()
        folder.cleanup()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", choices=("neo4j", "sqlite"), default="neo4j")
    parser.add_argument("--batches", type=int, nargs="+", default=[100_000])
    parser.add_argument("--skip-load", action="store_true", help="the store already holds it")
    args = parser.parse_args()
    header = [
        "| batches | read | calls | p50 ms | p95 ms | p95 / charts p95 |",
        "|---:|---|---:|---:|---:|---:|",
    ]
    with ExitStack() as stack:
        if args.store == "neo4j":
            url = stack.enter_context(bench_neo4j(heap="2g", pagecache="4g"))
        else:
            folder = stack.enter_context(TemporaryDirectory(prefix="bench-readiness-"))
            url = f"sqlite:///{Path(folder) / 'graph.sqlite'}"
        rows = []
        for batches in args.batches:
            rows += asyncio.run(run_size(args.store, url, batches, args.skip_load))
            print("\n".join(header + rows), flush=True)


if __name__ == "__main__":
    main()
