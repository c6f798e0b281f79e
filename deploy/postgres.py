"""Start and stop a real PostgreSQL server (TCP on loopback) for dev and tests.

The binaries are Debian's, from the ``postgresql`` package (``deploy/bootstrap.sh``
installs it): the newest ``/usr/lib/postgresql/<version>/bin``. The package's own
cluster and service are not used: each server here has a data folder of its own,
listens on 127.0.0.1 only, trusts connections from 127.0.0.1 only, and keeps its unix
socket in its data folder. initdb refuses to run as root, so as root the server runs
as the ``postgres`` user, which must be able to reach the folder (every parent
traversable). Run ``python -m deploy.postgres --port 5432 --home var/postgres`` for a
server in the foreground (Ctrl-C stops it cleanly).
"""

from __future__ import annotations

import argparse
import os
import pwd
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from uuid import uuid4

from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from deploy.foreground import wait_for_a_stop_signal
from deploy.neo4j.launcher import free_port

__all__ = [
    "PostgresDevServer",
    "PostgresLaunchError",
    "create_database",
    "drop_database",
    "free_port",
    "fresh_database",
    "postgres_bin",
]

DEBIAN_INSTALLS = Path("/usr/lib/postgresql")
SERVER_USER = "postgres"  # who runs the server when we are root; the package creates it
SUPERUSER = "postgres"
_DATABASE_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


class PostgresLaunchError(RuntimeError):
    """PostgreSQL is missing or did not come up; the message says why, with its log."""


def postgres_bin() -> Path:
    """The newest installed ``/usr/lib/postgresql/<version>/bin``."""
    found = [initdb.parent for initdb in DEBIAN_INSTALLS.glob("*/bin/initdb")]
    versions = [path for path in found if path.parent.name.isdigit()]
    if not versions:
        raise PostgresLaunchError(
            f"PostgreSQL is not installed: no {DEBIAN_INSTALLS}/<version>/bin/initdb. "
            "Install the Debian package postgresql (deploy/bootstrap.sh does)."
        )
    return max(versions, key=lambda path: int(path.parent.name))


@dataclass
class PostgresDevServer:
    """One PostgreSQL server (postmaster) with its own data folder, ``home/data``."""

    port: int = 5432
    home: Path | None = None  # a fresh temporary folder when None, removed by stop()
    host: str = "127.0.0.1"
    # False for throwaway servers (tests): no fsync, no synchronous commit. Faster,
    # and a crash of the machine may lose or corrupt the data.
    durable: bool = True
    _bin: Path | None = field(default=None, init=False, repr=False)
    _own_home: bool = field(default=False, init=False, repr=False)

    @property
    def url(self) -> str:
        """SQLAlchemy async URL of the maintenance database ``postgres``."""
        return self.database_url("postgres")

    def database_url(self, name: str) -> str:
        return f"postgresql+asyncpg://{SUPERUSER}@{self.host}:{self.port}/{name}"

    @property
    def data(self) -> Path:
        if self.home is None:
            raise PostgresLaunchError("the server has no home folder yet: start() it first")
        return self.home / "data"

    @property
    def log_path(self) -> Path:
        return self.data.parent / "server.log"

    def start(self, timeout: float = 60.0) -> None:
        if self.home is None:
            self.home = Path(tempfile.mkdtemp(prefix="partnerhub-postgres-"))
            self._own_home = True
            self.home.chmod(0o755)  # the server user (as root: postgres) must get in
        self.home = self.home.absolute()  # the server's working folder is not ours
        try:
            self._bin = postgres_bin()
            self.home.mkdir(parents=True, exist_ok=True)
            if not (self.data / "PG_VERSION").exists():
                self._initdb()
            self._write_settings()
            self.log_path.touch()
            self._give_to_server_user(self.log_path)
            self._pg_ctl("start", "-l", str(self.log_path), timeout=timeout)
        except BaseException:
            if self._own_home:  # a given home may hold a server started elsewhere: left alone
                self.stop()
            raise

    def restart(self, timeout: float = 60.0) -> None:
        """Stop fast (open connections are cut) and start again: same port, same data."""
        self._pg_ctl("restart", "-m", "fast", "-l", str(self.log_path), timeout=timeout)

    def stop(self, timeout: float = 60.0) -> None:
        """Stop the server of the data folder if one runs; remove a temporary home."""
        try:
            if self.home is not None and (self.data / "postmaster.pid").exists():
                try:
                    self._pg_ctl("stop", "-m", "fast", timeout=timeout)
                except PostgresLaunchError:
                    self._pg_ctl("stop", "-m", "immediate", timeout=timeout)
        finally:
            if self._own_home and self.home is not None:
                shutil.rmtree(self.home, ignore_errors=True)

    def __enter__(self) -> PostgresDevServer:
        self.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()

    def _initdb(self) -> None:
        self.data.mkdir(mode=0o700, exist_ok=True)
        self._give_to_server_user(self.data)
        self._run(
            "initdb",
            "--pgdata",
            str(self.data),
            "--username",
            SUPERUSER,
            "--auth",
            "trust",  # pg_hba.conf is replaced below
            "--encoding",
            "UTF8",
            "--locale",
            "C",  # byte order, as SQLite sorts, whatever the machine's locales
            what="initdb",
        )
        with (self.data / "postgresql.conf").open("a") as conf:
            conf.write("\ninclude_if_exists = 'partnerhub.conf'\n")
        self._write_owned(
            self.data / "pg_hba.conf",
            "# TYPE  DATABASE  USER  ADDRESS       METHOD\n"
            "host    all       all   127.0.0.1/32  trust\n",
        )

    def _write_settings(self) -> None:
        """Rewritten on every start, so that a data folder can move to another port."""
        settings = {
            "listen_addresses": f"'{self.host}'",
            "port": str(self.port),
            "unix_socket_directories": f"'{self.data}'",
            "logging_collector": "off",
        }
        if not self.durable:
            settings |= {"fsync": "off", "synchronous_commit": "off", "full_page_writes": "off"}
        self._write_owned(
            self.data / "partnerhub.conf",
            "".join(f"{name} = {value}\n" for name, value in settings.items()),
        )

    def _pg_ctl(self, action: str, *options: str, timeout: float) -> None:
        self._run(
            "pg_ctl",
            action,
            "--pgdata",
            str(self.data),
            "--wait",
            "--timeout",
            str(int(timeout)),
            *options,
            what=f"pg_ctl {action}",
        )

    def _run(self, program: str, *arguments: str, what: str) -> None:
        if self._bin is None:
            self._bin = postgres_bin()
        command = [str(self._bin / program), *arguments]
        if _as_root():
            command = ["runuser", "-u", SERVER_USER, "--", *command]
        result = subprocess.run(
            command,
            cwd=self.data.parent,  # the server user may not be allowed into ours
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            output = f"{result.stdout}{result.stderr}--- {self.log_path}:\n{_tail(self.log_path)}"
            if _as_root() and "ermission denied" in output:
                output += (
                    f"\n(As root the server runs as {SERVER_USER!r}, which must be able to "
                    f"traverse every parent folder of {self.data}.)"
                )
            raise PostgresLaunchError(f"{what} failed with code {result.returncode}:\n{output}")

    def _write_owned(self, path: Path, content: str) -> None:
        path.write_text(content)
        path.chmod(0o600)
        self._give_to_server_user(path)

    def _give_to_server_user(self, path: Path) -> None:
        if not _as_root():
            return
        try:
            user = pwd.getpwnam(SERVER_USER)
        except KeyError:
            raise PostgresLaunchError(
                f"running as root, but there is no {SERVER_USER!r} user to run PostgreSQL as "
                "(the Debian package postgresql creates it)"
            ) from None
        os.chown(path, user.pw_uid, user.pw_gid)


def _as_root() -> bool:
    return os.geteuid() == 0


def _tail(path: Path, lines: int = 40) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


# -- databases --


async def create_database(server_url: str, name: str) -> str:
    """Create the empty database ``name`` on the server of ``server_url`` (an async
    SQLAlchemy URL of any database there); return the new database's URL."""
    await _execute_outside_transaction(server_url, f'CREATE DATABASE "{_checked(name)}"')
    return make_url(server_url).set(database=name).render_as_string(hide_password=False)


async def drop_database(server_url: str, name: str) -> None:
    """Drop ``name`` if it exists, closing whatever connections are still open to it."""
    await _execute_outside_transaction(
        server_url, f'DROP DATABASE IF EXISTS "{_checked(name)}" WITH (FORCE)'
    )


@asynccontextmanager
async def fresh_database(server_url: str, prefix: str = "partnerhub") -> AsyncIterator[str]:
    """A new empty database with a unique name, dropped on the way out; yields its URL."""
    name = f"{prefix}_{uuid4().hex[:16]}"
    url = await create_database(server_url, name)
    try:
        yield url
    finally:
        await drop_database(server_url, name)


def _checked(name: str) -> str:
    # Database names cannot be bound parameters: only plain identifiers are accepted.
    if not _DATABASE_NAME.fullmatch(name):
        raise ValueError(f"database name {name!r}: expected a-z, 0-9 and _, at most 63")
    return name


async def _execute_outside_transaction(server_url: str, statement: str) -> None:
    engine = create_async_engine(server_url, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    try:
        async with engine.connect() as conn:
            await conn.execute(text(statement))
    finally:
        await engine.dispose()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=5432)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--home", type=Path, default=Path("var/postgres"))
    args = parser.parse_args(argv)
    server = PostgresDevServer(args.port, args.home, args.host)
    server.start()
    print(f"PostgreSQL is answering at {server.url} (data in {args.home}); Ctrl-C stops it.")
    wait_for_a_stop_signal(server.stop)
    return 0


if __name__ == "__main__":
    sys.exit(main())
