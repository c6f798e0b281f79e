"""What a control chart and a scorecard cost over a product with many results.

    .venv/bin/python -m bench.cpv --batches 100000
    .venv/bin/python -m bench.cpv --batches 100000 --store sqlite

A generated network (``hub.demo.generator``, seed 7; about a third of tablet batches carry an
assay, drifting at the first CDMO) is loaded once into each store with
``graph.loading.load``. The product with the most assay results is chosen, and on the
same data in the same run these are timed as its sponsor (``Visibility.for_org``):

- ``measurements``: the store read of the product's assay results (the raw read);
- control charts: that read, then ``process_charts`` (one I-MR chart per vendor site,
  run rules and capability); the ratio to the raw read is what the charts add;
- ``get_nodes`` of the same result ids: the generic look-up a resolver would otherwise
  make through the loaders, for reference against the dedicated read;
- ``batch_quality`` of the product, and that read then ``scorecards_by_vendor``.

Calls alternate after a warm-up, so load from other work on a shared machine falls on
all alike; p50 / p95 in milliseconds.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Awaitable, Callable

from bench.driver import STORE_CHOICES, load_network, on_each_store, percentile
from graph.ids import NodeKind, make_id
from graph.oversight import BatchScope, MeasurementScope, Period
from graph.quality.control_charts import process_charts
from graph.quality.scorecard import scorecards_by_vendor
from graph.store import GraphStore
from graph.visibility import Visibility

SEED = 7
TEST = "assay"
ROUNDS = 40
WARM_UP = 5


async def busiest_product(store: GraphStore) -> tuple[str, int]:
    """The tablet product with the most assay results, and how many."""
    counts: dict[str, int] = {}
    for sponsor in range(1, 9):
        for index in range(3 * (sponsor - 1), 3 * sponsor):
            product = make_id(NodeKind.PRODUCT, f"sponsor-{sponsor:02d}", f"P{index:03d}-TAB")
            found = await store.measurements(MeasurementScope(product, TEST))
            if found:
                counts[product] = len(found)
    product = max(counts, key=counts.__getitem__)
    return product, counts[product]


async def timed(calls: dict[str, Callable[[], Awaitable[object]]]) -> dict[str, list[float]]:
    for _ in range(WARM_UP):
        for call in calls.values():
            await call()
    timings: dict[str, list[float]] = {name: [] for name in calls}
    names = list(calls)
    for round_ in range(ROUNDS):
        # Rotate the order each round, so no call always runs first.
        for name in names[round_ % len(names) :] + names[: round_ % len(names)]:
            started = time.perf_counter()
            await calls[name]()
            timings[name].append((time.perf_counter() - started) * 1000)
    return timings


async def measure(store: GraphStore, kind: str, batches: int) -> list[str]:
    await load_network(store, kind, batches, SEED)
    product, results = await busiest_product(store)
    sponsor = Visibility.for_org(product.split(":")[1].split("/")[0])
    scope = MeasurementScope(product, TEST)
    lots_scope = BatchScope(product=product)
    found = await store.measurements(scope, visibility=sponsor)
    assert len(found) == results, "the sponsor reads every result of its product"
    result_ids = [measurement.result for measurement in found]
    charts = process_charts(found)
    lots = await store.batch_quality(lots_scope, visibility=sponsor)
    print(
        f"{kind}: {product}: {results:,} assay results in {len(charts)} charts, "
        f"{len(lots):,} lots; rules fired: "
        f"{sorted({v.rule.number for c in charts if c.chart for v in c.chart.violations})}",
        file=sys.stderr,
    )

    async def read() -> object:
        return await store.measurements(scope, visibility=sponsor)

    async def chart() -> object:
        return process_charts(await store.measurements(scope, visibility=sponsor))

    async def nodes() -> object:
        return await store.get_nodes(result_ids, visibility=sponsor)

    async def lots_read() -> object:
        return await store.batch_quality(lots_scope, visibility=sponsor)

    async def cards() -> object:
        lots = await store.batch_quality(lots_scope, visibility=sponsor)
        return scorecards_by_vendor(product, Period(), lots)

    timings = await timed(
        {"read": read, "chart": chart, "nodes": nodes, "lots": lots_read, "cards": cards}
    )

    def cell(name: str) -> str:
        return f"{percentile(timings[name], 0.5):.1f} / {percentile(timings[name], 0.95):.1f}"

    def ratio(name: str, base: str) -> str:
        return f"{percentile(timings[name], 0.5) / percentile(timings[base], 0.5):.2f}"

    return [
        f"| {kind} | `measurements` ({results:,} results) | {cell('read')} | |",
        f"| {kind} | control charts (read + charts) | {cell('chart')} | {ratio('chart', 'read')} |",
        f"| {kind} | `get_nodes` of the same results | {cell('nodes')} | {ratio('nodes', 'read')} |",
        f"| {kind} | `batch_quality` ({len(lots):,} lots) | {cell('lots')} | |",
        f"| {kind} | scorecards (read + cards) | {cell('cards')} | {ratio('cards', 'lots')} |",
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", choices=STORE_CHOICES, default="both")
    parser.add_argument("--batches", type=int, default=100_000)
    args = parser.parse_args()
    rows = on_each_store(args.store, "cpv", args.batches, measure, heap="2g", pagecache="2g")
    print(f"{args.batches:,} generated batches, seed {SEED}; as the product's sponsor; ms\n")
    print("| store | read | p50 / p95 ms | ratio (p50) |")
    print("|---|---|---:|---:|")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
