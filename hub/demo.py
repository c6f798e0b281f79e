"""``partnerhub demo``: the demo network in the embedded store, and what it answers."""

from __future__ import annotations

import json
from pathlib import Path

from rich.console import Console

from graph.lineage import Direction
from graph.sql_store import SqlGraphStore
from hub.demo_story import CONTAMINATED_EXCIPIENT_LOT_ID, FINISHED_LOT_ID, demo_records
from hub.render import counts_table, impact_table, lineage_tree
from hub.settings import Settings


async def run(db: Path, console: Console) -> None:
    db.parent.mkdir(parents=True, exist_ok=True)
    store = SqlGraphStore(f"sqlite+aiosqlite:///{db}")
    try:
        await store.setup()
        await store.wipe()  # the demo always starts from the same story
        await store.upsert(demo_records())
        console.print(counts_table(await store.counts(), f"demo network in {db}"))

        lineage = await store.lineage(FINISHED_LOT_ID, Direction.UPSTREAM, 10)
        assert lineage is not None, "the demo story names its finished lot"
        nodes = await store.get_nodes([node.id for node in lineage.nodes])
        console.print(lineage_tree(lineage, nodes))

        impact = await store.impact(CONTAMINATED_EXCIPIENT_LOT_ID)
        assert impact is not None, "the demo story names its contaminated lot"
        console.print(impact_table(impact))
    finally:
        await store.close()
    console.print(
        "\nAsk it more, e.g.:\n"
        f"  HUB_STORE=sqlite:///{db} .venv/bin/partnerhub lineage '{CONTAMINATED_EXCIPIENT_LOT_ID}'"
        " --direction downstream\n"
        f"  HUB_STORE=sqlite:///{db} .venv/bin/partnerhub impact '{CONTAMINATED_EXCIPIENT_LOT_ID}'"
    )


EXAMPLE_QUERY = (
    f'{{ lineage(batchId: "{FINISHED_LOT_ID}", direction: UPSTREAM, maxDepth: 10) '
    "{ truncated nodes { depth batch { number vendor { name } product { name } } } "
    "edges { from to kind quantity unit } } }"
)


def serving_banner(settings: Settings) -> str:
    url = f"http://{settings.host}:{settings.port}/graphql"
    body = json.dumps({"query": EXAMPLE_QUERY})
    return (
        f"\n[bold]Serving the demo network at {url}[/bold] (GraphiQL in a browser; Ctrl-C stops)\n"
        "The finished lot's genealogy across Cedar, Birch, Alder and Dogwood:\n"
        f"  curl -s {url} -H 'content-type: application/json' -d '{body}'\n"
    )
