"""Rebuild a graph store from the ledger alone: the graph is derived data.

Every ingestion whose records reached the graph (APPLIED or PARTIAL) is read again,
with the connector and options it was received with, in the order it arrived, and
written again. Provenance refs name the original ingestion ids, so the rebuilt graph
traces to the same records as before. Ingestions still queued are left to the
workers; refused ones stay refused. A replay runs while no hub is applying to the
same store (stop the hub, or point the replay at a new store and switch over).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from graph.store import GraphStore
from hub.ingest.pipeline import IngestPipeline
from hub.records import audit
from hub.records.audit import Actor
from hub.records.ledger import Ledger, Received


@dataclass(slots=True)
class ReplaySummary:
    ingestions: int = 0
    records: int = 0
    # Ingestions that land differently today than when received (a connector changed).
    differing: list[str] = field(default_factory=list)


async def replay(
    ledger: Ledger,
    store: GraphStore,
    actor: Actor,
    *,
    wipe: bool = False,
    target: str = "graph store",
    on_ingestion: Callable[[Received, int], None] = lambda job, applied: None,
) -> ReplaySummary:
    await audit.record(ledger.engine, actor, "graph.replay", target, "started", {"wipe": wipe})
    await store.setup()
    if wipe:
        await store.wipe()
    pipeline = IngestPipeline.with_registry(store, ledger.engine)
    summary = ReplaySummary()
    async for job in ledger.landed():
        payload = await ledger.payload(job.id)
        assert payload is not None, f"ingestion {job.id} has no payload"
        report = await pipeline.apply(job, payload)
        summary.ingestions += 1
        summary.records += report.applied
        if (job.report or {}).get("applied") != report.applied:
            summary.differing.append(job.id)
        on_ingestion(job, report.applied)
    await audit.record(
        ledger.engine,
        actor,
        "graph.replay",
        target,
        "done",
        {
            "ingestions": summary.ingestions,
            "records": summary.records,
            "differing": summary.differing[:100],
        },
    )
    return summary
