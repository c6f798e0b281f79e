"""Streaming a large record stream into a store in bounded transactions.

Memory stays flat however long the stream: only one chunk is held at a time, and each
chunk is one transaction (all of it lands, or none of it).
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
    """Upsert ``records`` chunk by chunk; ``on_chunk`` hears each chunk's size."""
    iterator = iter(records)
    total = chunks = 0
    while chunk := list(islice(iterator, chunk_size)):
        await store.upsert(chunk)
        total += len(chunk)
        chunks += 1
        if on_chunk is not None:
            on_chunk(len(chunk))
    return LoadSummary(total, chunks)
