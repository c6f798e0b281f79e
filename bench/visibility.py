"""What visibility costs on reads: the same queries as a sponsor and as the operator.

    .venv/bin/python -m bench.visibility --batches 100000
    .venv/bin/python -m bench.visibility --batches 100000 --store sqlite

A generated network (``hub.demo.generator``, seed 7) is loaded once into each store with
``graph.loading.load`` (readers maintained as it goes; the load time is reported).
Then, on the same data in the same run, two reads are timed for a sponsor principal
(``Visibility.for_org``) and for everything (the operator's admin scope):

- upstream lineage, depth 10, from finished lots of the sponsor's products (roots the
  sponsor may read, so both answer the same genealogy);
- a page of 50 batches (``list_nodes``) after a cursor at a random batch id.

For reference, the page is also timed for an excipient supplier (``exsupplier-01``),
which reads only its own lots, a small part of all: the case where a listing must pass
over many nodes it may not read to fill a page (see the "supplier" row).

Calls alternate between the two principals root by root, after a warm-up, so load
from other work on a shared machine falls on both alike; p50 / p95 in milliseconds and
the sponsor-to-admin ratio of each (target: at most 1.2).
"""

from __future__ import annotations

import argparse
import random
import time
from collections.abc import Awaitable, Callable

from bench.driver import STORE_CHOICES, load_network, on_each_store, percentile
from graph.ids import NodeKind
from graph.lineage import Direction
from graph.store import GraphStore
from graph.visibility import EVERYTHING, Visibility
from hub.demo.generator import Tier, sample_batch_ids

SEED = 7
SPONSOR = "sponsor-01"
SUPPLIER = "exsupplier-01"  # reads its own lots only
ROOTS = 200
WARM_UP = 20
PAGE = 50


async def paired(
    calls: list[Callable[[Visibility], Awaitable[object]]], principal: Visibility
) -> tuple[list[float], list[float]]:
    """Milliseconds per call as admin and as ``principal``, alternating call by call."""
    for call in calls[:WARM_UP]:
        await call(EVERYTHING)
        await call(principal)
    admin: list[float] = []
    scoped: list[float] = []
    for index, call in enumerate(calls):
        order = ((EVERYTHING, admin), (principal, scoped))
        for visibility, timings in order if index % 2 else reversed(order):
            started = time.perf_counter()
            await call(visibility)
            timings.append((time.perf_counter() - started) * 1000)
    return admin, scoped


def row(store: str, query: str, admin: list[float], scoped: list[float]) -> str:
    a50, a95 = percentile(admin, 0.5), percentile(admin, 0.95)
    s50, s95 = percentile(scoped, 0.5), percentile(scoped, 0.95)
    return (
        f"| {store} | {query} | {a50:.1f} | {a95:.1f} | {s50:.1f} | {s95:.1f} "
        f"| {s50 / a50:.2f} | {s95 / a95:.2f} |"
    )


async def measure(store: GraphStore, kind: str, batches: int) -> list[str]:
    await load_network(store, kind, batches, SEED)
    sponsor = Visibility.for_org(SPONSOR)

    finished = sample_batch_ids(batches, SEED, Tier.FINISHED, 10 * ROOTS)
    readable = await store.get_nodes(finished, visibility=sponsor)
    roots = [root for root in finished if root in readable][:ROOTS]
    assert len(roots) >= ROOTS // 2, f"{SPONSOR} reads only {len(roots)} sampled finished lots"

    async def check(root: str) -> None:
        admin = await store.lineage(root, Direction.UPSTREAM, 10)
        scoped = await store.lineage(root, Direction.UPSTREAM, 10, visibility=sponsor)
        assert admin == scoped, f"{SPONSOR} should read the whole upstream of {root}"

    for root in roots[:5]:
        await check(root)

    def lineage_of(root: str) -> Callable[[Visibility], Awaitable[object]]:
        return lambda seen: store.lineage(root, Direction.UPSTREAM, 10, visibility=seen)

    def page_after(cursor: str) -> Callable[[Visibility], Awaitable[object]]:
        return lambda seen: store.list_nodes(NodeKind.BATCH, (), PAGE, cursor, visibility=seen)

    picker = random.Random(SEED)
    cursors = [
        cursor
        for tier in (Tier.FINISHED, Tier.DRUG_PRODUCT, Tier.API, Tier.EXCIPIENT_RECEIVED)
        for cursor in sample_batch_ids(batches, SEED, tier, ROOTS)
    ]
    cursors = picker.sample(cursors, min(ROOTS, len(cursors)))
    lineages = [lineage_of(root) for root in roots]
    pages = [page_after(cursor) for cursor in cursors]
    return [
        row(kind, "upstream lineage, depth 10", *await paired(lineages, sponsor)),
        row(kind, f"page of {PAGE} batches", *await paired(pages, sponsor)),
        row(
            kind,
            f"page of {PAGE} batches, as {SUPPLIER} (reference)",
            *await paired(pages, Visibility.for_org(SUPPLIER)),
        ),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", choices=STORE_CHOICES, default="both")
    parser.add_argument("--batches", type=int, default=100_000)
    args = parser.parse_args()
    rows = on_each_store(args.store, "visibility", args.batches, measure, heap="4g", pagecache="6g")
    print(f"{args.batches:,} generated batches; scoped to {SPONSOR} unless said, against")
    print("everything (admin), ms:\n")
    print(
        "| store | query | admin p50 | admin p95 | scoped p50 | scoped p95 "
        "| p50 ratio | p95 ratio |"
    )
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
