"""The hub as a real HTTP server in a child process, for tests that need a socket."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import httpx

from deploy.neo4j.launcher import free_port
from graph.neo4j.store import Neo4jGraphStore
from graph.sql.store import SqlGraphStore
from graph.store import GraphStore


def store_url(store: GraphStore) -> str:
    """The HUB_STORE value that opens the same data as ``store``."""
    if isinstance(store, SqlGraphStore):
        return "sqlite:///" + store.url.removeprefix("sqlite+aiosqlite:///")
    assert isinstance(store, Neo4jGraphStore)
    return store.uri


@dataclass(frozen=True)
class ServedHub:
    url: str  # base URL, ending in /
    client_id: str  # a client of the given org and scopes
    client_secret: str = field(repr=False)
    headers: dict[str, str] = field(repr=False, default_factory=dict)  # its bearer token


def register_client(env: dict[str, str], org: str, scopes: str) -> tuple[str, str]:
    """``partnerhub clients add`` against the hub's database."""
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "hub.cli",
            "clients",
            "add",
            "--org",
            org,
            "--scopes",
            scopes,
            "--json",
        ],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    issued = json.loads(done.stdout)
    return issued["client_id"], issued["client_secret"]


@dataclass(frozen=True)
class Person:
    """Someone who signs in to the console for an organization."""

    org: str
    email: str
    password: str = field(repr=False)
    scopes: str = "graph:read"
    kind: str | None = None  # SPONSOR, CMO, ...


def register_person(env: dict[str, str], person: Person) -> None:
    """``partnerhub users add`` against the hub's database, the password on stdin."""
    subprocess.run(
        [
            sys.executable,
            "-m",
            "hub.cli",
            "users",
            "add",
            "--org",
            person.org,
            "--email",
            person.email,
            "--scopes",
            person.scopes,
            "--password-stdin",
            *(["--kind", person.kind] if person.kind else []),
        ],
        env=env,
        input=person.password + "\n",
        capture_output=True,
        text=True,
        check=True,
    )


def fetch_token(url: str, client_id: str, client_secret: str) -> str:
    answer = httpx.post(
        url + "oauth/token",
        data={"grant_type": "client_credentials"},
        auth=(client_id, client_secret),
    )
    answer.raise_for_status()
    return str(answer.json()["access_token"])


def start_hub(env: dict[str, str], timeout: float = 60.0) -> subprocess.Popen[str]:
    """``partnerhub serve`` with ``env`` (HUB_PORT etc.), once it answers /healthz.

    Its output goes to a file (a pipe nobody reads would fill and stall the hub)."""
    log = tempfile.NamedTemporaryFile("w+", prefix="partnerhub-serve-", suffix=".log")  # noqa: SIM115
    child = subprocess.Popen(
        [sys.executable, "-m", "hub.cli", "serve"],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        text=True,
    )
    base = f"http://127.0.0.1:{env['HUB_PORT']}/"
    deadline = time.monotonic() + timeout
    while True:
        if child.poll() is not None:
            log.seek(0)
            raise RuntimeError(f"partnerhub serve exited early:\n{log.read()[-5000:]}")
        try:
            with urllib.request.urlopen(base + "healthz", timeout=2):
                return child
        except OSError:
            if time.monotonic() > deadline:
                child.kill()
                raise RuntimeError(f"partnerhub serve did not answer on {base}") from None
            time.sleep(0.2)


@contextmanager
def served_hub(
    hub_store: str,
    timeout: float = 60.0,
    *,
    org: str = "operator",
    scopes: str = "admin,graph:read,ingest:write",
    people: tuple[Person, ...] = (),
) -> Iterator[ServedHub]:
    """``partnerhub serve`` on a free loopback port, with a ledger of its own in a
    temporary folder, one registered client (an operator unless told otherwise) and
    the ``people`` who sign in."""
    port = free_port()
    ledger_folder = tempfile.TemporaryDirectory(prefix="partnerhub-ledger-")
    env = {
        **os.environ,
        "HUB_STORE": hub_store,
        "HUB_DATABASE": f"sqlite:///{ledger_folder.name}/ledger.sqlite",
        "HUB_PORT": str(port),
        "HUB_LOG_LEVEL": "WARNING",
    }
    client_id, client_secret = register_client(env, org, scopes)
    for person in people:
        register_person(env, person)
    child = start_hub(env, timeout)
    base = f"http://127.0.0.1:{port}/"
    try:
        token = fetch_token(base, client_id, client_secret)
        yield ServedHub(base, client_id, client_secret, {"authorization": f"Bearer {token}"})
    finally:
        child.terminate()
        child.wait(timeout=15)
        ledger_folder.cleanup()
