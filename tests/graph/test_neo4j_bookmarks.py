"""Causal consistency of the Neo4j store on a cluster: every session of one store
chains on the same bookmarks, so a read never starts from before a write the store
has committed (a secondary waits until it has applied that write).

A single real server stands in for the cluster: the bookmarks it hands back are
the same a cluster's leader would, and a session started from them reads the write.
"""

from __future__ import annotations

import pytest
from neo4j import AsyncGraphDatabase, Bookmarks

from graph.neo4j.store import Neo4jGraphStore
from tests.graph.builders import batch, lot

pytestmark = pytest.mark.neo4j


async def _fresh(uri: str, **options: object) -> Neo4jGraphStore:
    store = Neo4jGraphStore(uri, **options)  # type: ignore[arg-type]
    await store.setup()
    await store.wipe()
    return store


async def test_a_write_leaves_its_bookmark_for_every_later_session(neo4j_uri: str) -> None:
    store = await _fresh(neo4j_uri)
    try:
        await store.upsert([batch("alder", "BM-1")])
        after_first = frozenset(await store.bookmarks.get_bookmarks())
        await store.upsert([batch("alder", "BM-2")])
        after_second = frozenset(await store.bookmarks.get_bookmarks())
    finally:
        await store.close()

    assert after_first, "a committed write must leave a bookmark in the store's manager"
    # One bookmark per database, the newest: a later read waits for the latest write.
    assert len(after_second) == 1
    assert after_second != after_first

    # The bookmark is the server's own: a session of another driver started from it
    # reads both writes (on a cluster, a secondary would wait for them).
    other = AsyncGraphDatabase.driver(neo4j_uri)
    try:
        async with other.session(
            bookmarks=Bookmarks.from_raw_values(after_second), default_access_mode="READ"
        ) as session:
            result = await session.run(
                "MATCH (n:Batch) WHERE n.id IN $ids RETURN n.id AS id ORDER BY id",
                ids=[lot("alder", "BM-1"), lot("alder", "BM-2")],
            )
            found = [record["id"] async for record in result]
    finally:
        await other.close()
    assert found == [lot("alder", "BM-1"), lot("alder", "BM-2")]


async def test_reads_begin_from_the_shared_bookmarks(neo4j_uri: str) -> None:
    """A read session asks the store's manager for its bookmarks before it begins (so
    it starts from the write before it), and the read keeps them for the next one."""
    asked = 0

    def note_asked() -> Bookmarks:
        nonlocal asked
        asked += 1
        return Bookmarks()  # nothing of its own: the manager's bookmarks are used

    # The driver's own manager, with its hook called each time a session asks it.
    watched = AsyncGraphDatabase.bookmark_manager(bookmarks_supplier=note_asked)
    store = await _fresh(neo4j_uri, bookmarks=watched)
    try:
        await store.upsert([batch("alder", "BM-3")])
        written = frozenset(await watched.get_bookmarks())
        asked_before_read = asked
        nodes = await store.get_nodes([lot("alder", "BM-3")])
        asked_by_read = asked - asked_before_read
        after_read = frozenset(await watched.get_bookmarks())
    finally:
        await store.close()

    assert lot("alder", "BM-3") in nodes
    assert asked_by_read > 0, "the read session did not ask the shared manager"
    assert written, "the write left no bookmark"
    assert after_read == written
