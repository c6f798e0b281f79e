"""The Neo4j server a benchmark runs against: HUB_BENCH_NEO4J_URI, or one started here."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from deploy.neo4j.launcher import Neo4jDevServer, free_port


@contextmanager
def bench_neo4j(heap: str = "4g", pagecache: str = "6g") -> Iterator[str]:
    given = os.environ.get("HUB_BENCH_NEO4J_URI")
    if given:
        yield given
        return
    with Neo4jDevServer(port=free_port(), heap=heap, pagecache=pagecache) as server:
        yield server.uri


@contextmanager
def bench_graph_store(kind: str, folder: Path) -> Iterator[str]:
    """A HUB_STORE URL: an embedded SQLite file in ``folder``, or a Neo4j server."""
    if kind == "sqlite":
        yield f"sqlite:///{folder / 'graph.sqlite'}"
        return
    with bench_neo4j(heap="2g", pagecache="1g") as uri:
        yield uri
