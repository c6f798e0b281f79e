"""Streaming a large record stream into a store in bounded transactions.

Memory stays flat however long the stream: at most two chunks are held at a time (the
one being written and the next), and each chunk is one transaction (all of it lands,
or none of it).

Loading is pipelined: while the store writes chunk k, chunk k+1 is planned
(``plan_write``, pure Python) in a worker thread, so the planning overlaps the
store's own work instead of adding to it. Chunks are still written one after another,
in order, so a later record wins over an earlier one exactly as in one long
``upsert``. Records are taken from ``records`` on the caller's thread, as before.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from itertools import islice

from graph.model import Record
from graph.store import GraphStore
from graph.write_plan import WritePlan, plan_write

DEFAULT_CHUNK = 5_000


@dataclass(frozen=True, slots=True)
class LoadSummary:
    records: int
    chunks: int


async def load(
    store: GraphStore,
    records: Iterable[Record],
    *,
    chunk_size: int = DEFAULT_CHUNK,
    on_chunk: Callable[[int], None] | None = None,
) -> LoadSummary:
    """Upsert ``records`` chunk by chunk; ``on_chunk`` hears each chunk's size.

    If a chunk fails (a store error, or a record the planner refuses), the chunks
    before it are written, it and those after it are not, and the error propagates.
    """
    iterator = iter(records)

    def plan_next() -> asyncio.Task[WritePlan] | None:
        chunk = list(islice(iterator, chunk_size))
        return asyncio.create_task(asyncio.to_thread(plan_write, chunk)) if chunk else None

    total = chunks = 0
    pending = plan_next()
    try:
        while pending is not None:
            plan = await pending
            pending = plan_next()  # planned while this chunk is written
            await store.upsert_plan(plan)
            total += plan.records
            chunks += 1
            if on_chunk is not None:
                on_chunk(plan.records)
    finally:
        if pending is not None:
            # After a failure the next plan is dropped; its thread touches only its chunk.
            pending.cancel()
            pending.add_done_callback(_ignore_outcome)
    return LoadSummary(total, chunks)


def _ignore_outcome(task: asyncio.Task[WritePlan]) -> None:
    if not task.cancelled():
        task.exception()
