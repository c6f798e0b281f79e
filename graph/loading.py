"""Streaming a large record stream into a store in bounded transactions.

Memory stays flat however long the stream: only one chunk is held at a time, and each
chunk is one transaction (all of it lands, or none of it).

Chunks are planned and written one after the other. Planning the next chunk in a worker
thread while the store writes this one was measured and not adopted (see
docs/benchmarks.md). On the shared 2-core machine it never beat the serial loop and cost
about 7% more client CPU: while the planner holds the GIL, the event loop waits up to a
switch interval to read each server reply, and meanwhile the server sits idle.
``GraphStore.upsert_plan`` is the seam for trying plan-ahead again, for example
cooperatively on the event loop or on a machine with a core to spare.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from itertools import islice

from graph.model import Record
from graph.store import GraphStore

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
    total = chunks = 0
    while chunk := list(islice(iterator, chunk_size)):
        await store.upsert(chunk)
        total += len(chunk)
        chunks += 1
        if on_chunk is not None:
            on_chunk(len(chunk))
    return LoadSummary(total, chunks)
