"""The hub as a real HTTP server in a child process, for tests that need a socket."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager

from deploy.neo4j.launcher import free_port
from graph.neo4j_store import Neo4jGraphStore
from graph.sql_store import SqlGraphStore
from graph.store import GraphStore


def store_url(store: GraphStore) -> str:
    """The HUB_STORE value that opens the same data as ``store``."""
    if isinstance(store, SqlGraphStore):
        return "sqlite:///" + store.url.removeprefix("sqlite+aiosqlite:///")
    assert isinstance(store, Neo4jGraphStore)
    return store.uri


@contextmanager
def served_hub(hub_store: str, timeout: float = 60.0) -> Iterator[str]:
    """``partnerhub serve`` on a free loopback port, with a ledger of its own in a
    temporary folder; yields its base URL."""
    port = free_port()
    ledger_folder = tempfile.TemporaryDirectory(prefix="partnerhub-ledger-")
    env = {
        **os.environ,
        "HUB_STORE": hub_store,
        "HUB_DATABASE": f"sqlite:///{ledger_folder.name}/ledger.sqlite",
        "HUB_PORT": str(port),
        "HUB_LOG_LEVEL": "WARNING",
    }
    child = subprocess.Popen(
        [sys.executable, "-m", "hub.cli", "serve"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    base = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + timeout
        while True:
            if child.poll() is not None:
                raise RuntimeError(f"partnerhub serve exited early:\n{child.stdout.read()}")  # type: ignore[union-attr]
            try:
                with urllib.request.urlopen(base + "healthz", timeout=2):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"partnerhub serve did not answer on {base}") from None
                time.sleep(0.2)
        yield base
    finally:
        child.terminate()
        child.wait(timeout=15)
        ledger_folder.cleanup()
