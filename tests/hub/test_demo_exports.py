"""``make demo`` builds the story from the partners' own exports, through the ingest
path, and gets exactly the story's graph: the same lots, edges, quantities, dates and
reader rights, each fact traced to the partner's file it came from."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import select

from graph.sql.readers import node_readers
from graph.sql.store import SqlGraphStore, graph_edge_sources, graph_edges, graph_nodes
from hub.demo.exports import demo_exports
from hub.demo.launch import push_exports
from hub.demo.story import FINISHED_LOT_ID, demo_records
from hub.records.ledger import IngestionStatus, Ledger

Graph = tuple[dict[str, Any], dict[tuple[str, str, str], Any], set[tuple[str, str]]]


async def _graph(store: SqlGraphStore) -> Graph:
    async with store.engine.connect() as conn:
        nodes = {
            node_id: (kind, properties)
            for node_id, kind, properties in await conn.execute(
                select(graph_nodes.c.id, graph_nodes.c.kind, graph_nodes.c.properties)
            )
        }
        edges = {
            (source, kind, target): properties
            for source, kind, target, properties in await conn.execute(
                select(
                    graph_edges.c.source,
                    graph_edges.c.kind,
                    graph_edges.c.target,
                    graph_edges.c.properties,
                )
            )
        }
        readers = {
            (org, node_id)
            for org, node_id in await conn.execute(
                select(node_readers.c.org, node_readers.c.node_id)
            )
        }
    return nodes, edges, readers


async def _stores(tmp_path: Path) -> tuple[SqlGraphStore, SqlGraphStore, Ledger]:
    told = SqlGraphStore(f"sqlite+aiosqlite:///{tmp_path / 'story.sqlite'}")
    pushed = SqlGraphStore(f"sqlite+aiosqlite:///{tmp_path / 'pushed.sqlite'}")
    for store in (told, pushed):
        await store.setup()
    await told.upsert(demo_records())
    return told, pushed, Ledger(f"sqlite+aiosqlite:///{tmp_path / 'ledger.sqlite'}")


async def test_the_partners_exports_land_as_the_demo_story(tmp_path: Path) -> None:
    told, pushed, ledger = await _stores(tmp_path)
    try:
        reports, files = await push_exports(pushed, ledger, tmp_path / "exports")
        expected_nodes, expected_edges, expected_readers = await _graph(told)
        nodes, edges, readers = await _graph(pushed)
    finally:
        for closable in (told, pushed, ledger):
            await closable.close()

    assert [r.status for r in reports] == [IngestionStatus.APPLIED] * len(reports)
    assert sum(r.rejected + r.warned for r in reports) == 0
    assert all((tmp_path / "exports" / file).is_file() for file in files)
    assert edges == expected_edges, "same genealogy, shipments and tests, quantities included"
    assert readers == expected_readers, "each organization reads exactly what it did"
    # Node for node the same, but for the status words as the MES wrote them, which the
    # B2MML connector keeps beside the status it read them as.
    assert nodes.keys() == expected_nodes.keys()
    worded = {
        node_id: (kind, {k: v for k, v in properties.items() if k != "status_text"})
        for node_id, (kind, properties) in nodes.items()
    }
    assert worded == expected_nodes
    assert nodes["batch:alder/A-2207"][1]["status_text"] == "Released"


def test_each_partner_sends_its_own_systems_format() -> None:
    sent = {(e.org, e.connector) for e in demo_exports(demo_records())}

    assert ("alder", "mes.b2mml") in sent
    assert ("cedar", "supply.epcis") in sent
    assert ("elm", "lims.csv") in sent
    assert {("birch", "mes.csv"), ("birch", "qms.csv")} <= sent
    assert ("northwind", "qms.csv") in sent
    assert ("operator", "canonical.jsonl") in sent


async def test_a_shipment_traces_to_the_packers_epcis_event(tmp_path: Path) -> None:
    _, pushed, ledger = await _stores(tmp_path)
    try:
        await push_exports(pushed, ledger)
        async with pushed.engine.connect() as conn:
            (source,) = (
                await conn.execute(
                    select(graph_edge_sources.c.source).where(
                        graph_edge_sources.c.edge_source == FINISHED_LOT_ID,
                        graph_edge_sources.c.kind == "SHIPPED_TO",
                        graph_edge_sources.c.edge_target == "org:maple",
                    )
                )
            ).one()
        ingestion_id, location = source.split("#", 1)
        ingestion = await ledger.get(ingestion_id)
    finally:
        await pushed.close()
        await ledger.close()

    assert ingestion is not None
    assert (ingestion.org, ingestion.connector) == ("cedar", "supply.epcis")
    assert ingestion.filename == "cedar-shipping-events.xml"
    assert "ObjectEvent" in location and "quantityElement" in location
