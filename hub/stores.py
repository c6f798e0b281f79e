"""Opening the configured graph store from its URL."""

from __future__ import annotations

from graph.neo4j.store import Neo4jGraphStore
from graph.sql.store import SqlGraphStore
from graph.store import GraphStore
from hub.settings import Settings

NEO4J_SCHEMES = ("bolt://", "bolt+s://", "bolt+ssc://", "neo4j://", "neo4j+s://", "neo4j+ssc://")


class UnknownStoreURL(ValueError):
    """HUB_STORE names no store this hub can open."""


def open_graph_store(settings: Settings) -> GraphStore:
    url = settings.store
    if url.startswith(NEO4J_SCHEMES):
        password = settings.neo4j_password.get_secret_value() if settings.neo4j_password else None
        return Neo4jGraphStore(
            url, user=settings.neo4j_user, password=password, database=settings.neo4j_database
        )
    if path := settings.sqlite_path():
        path.parent.mkdir(parents=True, exist_ok=True)
        return SqlGraphStore(f"sqlite+aiosqlite:///{path}")
    raise UnknownStoreURL(
        f"HUB_STORE={url!r}: expected sqlite:///PATH or a Neo4j URL ({', '.join(NEO4J_SCHEMES)})"
    )
