"""Real parts for the suite: a Neo4j server and a PostgreSQL server, each started once
per run (and only when a test needs it).

Set HUB_TEST_NEO4J_URI (e.g. bolt://127.0.0.1:7687) to use a server that is already
running; otherwise the suite builds and starts one from deploy/neo4j. Likewise
HUB_TEST_POSTGRES_URL (e.g. postgresql+asyncpg://postgres@127.0.0.1:5432/postgres, a
user that may create databases); otherwise the suite starts one from Debian's binaries
(deploy/postgres.py). If neither works, every test that needs the server fails with
the reason: nothing is skipped.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from auth.service import AuthService
from deploy.neo4j.launcher import Neo4jDevServer, free_port
from deploy.postgres import PostgresDevServer, fresh_database
from graph.neo4j.store import Neo4jGraphStore
from graph.sql.store import SqlGraphStore
from graph.store import GraphStore
from hub.demo.story import demo_records
from hub.records.database import migrate
from tests.tokens import TEST_AUTH, TokenSource

# Much of the suite starts Python children: ``partnerhub serve`` and its commands, each
# importing the whole hub. Where PYTHONDONTWRITEBYTECODE is set (as here), each
# child compiled every module it imports from source, 4-7 s a process on a busy machine
# instead of about 1.5 s. The children keep their bytecode in a cache of their own
# outside the source trees and the virtualenv (PYTHONPYCACHEPREFIX; Python checks each
# entry against its source, and writes it atomically), so nothing is written beside the
# sources and the code run is the same.
os.environ.setdefault(
    "PYTHONPYCACHEPREFIX", os.path.join(tempfile.gettempdir(), "partnerhub-test-pycache")
)
os.environ.pop("PYTHONDONTWRITEBYTECODE", None)

STORE_KINDS = ("sqlite", "neo4j")
DATABASE_KINDS = ("sqlite", pytest.param("postgresql", marks=pytest.mark.postgres))


@pytest.fixture(scope="session")
def neo4j_uri() -> Iterator[str]:
    given = os.environ.get("HUB_TEST_NEO4J_URI")
    if given:
        yield given
        return
    server = Neo4jDevServer(port=free_port(), heap="1g", pagecache="256m")
    server.start()  # raises Neo4jLaunchError with the server's log: the test errors, never skips
    try:
        yield server.uri
    finally:
        server.stop()


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """The SQLAlchemy async URL of a PostgreSQL server's maintenance database."""
    given = os.environ.get("HUB_TEST_POSTGRES_URL")
    if given:
        yield given
        return
    server = PostgresDevServer(port=free_port(), durable=False)
    server.start()  # raises PostgresLaunchError with the server's log: errors, never skips
    try:
        yield server.url
    finally:
        server.stop()


@pytest.fixture(params=DATABASE_KINDS)
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """A fresh, empty SQL database of each kind in turn (async SQLAlchemy URL); a
    PostgreSQL one is dropped afterwards, connections still open or not."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite'}"
        return
    async with fresh_database(request.getfixturevalue("postgres_server"), "hub_test") as url:
        yield url


async def open_store(kind: str, tmp_path: Path, request: pytest.FixtureRequest) -> GraphStore:
    if kind == "sqlite":
        store: GraphStore = SqlGraphStore(f"sqlite+aiosqlite:///{tmp_path / 'graph.sqlite'}")
    else:
        store = Neo4jGraphStore(request.getfixturevalue("neo4j_uri"))
    await store.setup()
    await store.wipe()
    return store


@pytest.fixture(params=STORE_KINDS)
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[GraphStore]:
    """A fresh, empty graph store of each kind in turn."""
    opened = await open_store(request.param, tmp_path, request)
    try:
        yield opened
    finally:
        await opened.close()


@pytest.fixture(scope="module", params=STORE_KINDS)
async def reused_store(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[GraphStore]:
    """A graph store of each kind in turn, opened and set up once for the module: for
    property tests, which wipe it at the start of every example (a wiped store holds
    nothing of the example before; the store objects keep no state of their own)."""
    opened = await open_store(request.param, tmp_path_factory.mktemp(request.param), request)
    try:
        yield opened
    finally:
        await opened.close()


@pytest.fixture(scope="session")
async def tokens(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[TokenSource]:
    """One authorization server for the run; apps under test verify its tokens."""
    database = tmp_path_factory.mktemp("auth") / "auth.sqlite"
    service = AuthService.from_url(f"sqlite+aiosqlite:///{database}", TEST_AUTH, migrate=migrate)
    await service.setup()
    yield TokenSource(service)
    await service.close()


@pytest.fixture
async def demo_store(store: GraphStore) -> GraphStore:
    """The demo story loaded into each store in turn."""
    await store.upsert(demo_records())
    return store
