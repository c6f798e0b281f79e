"""Start and stop a real Neo4j Community server (Bolt on loopback) for dev and tests.

The server is built from Maven Central by ``mvn package`` in this folder (Neo4j
Community 5.26 LTS, see pom.xml); ``ensure_built`` runs that once and later calls
reuse ``target/``. Run ``python -m deploy.neo4j.launcher --port 7687`` for a server in
the foreground (Ctrl-C stops it cleanly).
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from deploy.foreground import wait_for_a_stop_signal

HERE = Path(__file__).resolve().parent
TARGET = HERE / "target"
MAIN_CLASS = "partnerhub.neo4j.DevServer"


class Neo4jLaunchError(RuntimeError):
    """The dev server could not be built or did not come up; the message says why."""


def ensure_built() -> None:
    """Resolve Neo4j from Maven Central and compile the launcher, if not done yet."""
    if (TARGET / "classes" / "partnerhub" / "neo4j" / "DevServer.class").exists() and any(
        (TARGET / "lib").glob("neo4j-kernel-*.jar")
    ):
        return
    mvn = shutil.which("mvn")
    if mvn is None:
        raise Neo4jLaunchError("Maven (mvn) is not on PATH; it is needed to fetch Neo4j")
    result = subprocess.run(
        [mvn, "-B", "-q", "package"], cwd=HERE, capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        raise Neo4jLaunchError(f"mvn package failed in {HERE}:\n{result.stdout}{result.stderr}")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Neo4jDevServer:
    """One Neo4j DBMS process with its own data folder."""

    port: int = 7687
    host: str = "127.0.0.1"
    home: Path | None = None  # a fresh temporary folder when None
    heap: str = "1g"
    pagecache: str = "512m"
    _process: subprocess.Popen[str] | None = field(default=None, init=False, repr=False)
    _own_home: bool = field(default=False, init=False, repr=False)

    @property
    def uri(self) -> str:
        return f"bolt://{self.host}:{self.port}"

    def start(self, timeout: float = 180.0) -> None:
        ensure_built()
        if self.home is None:
            self.home = Path(tempfile.mkdtemp(prefix="partnerhub-neo4j-"))
            self._own_home = True
        self.home.mkdir(parents=True, exist_ok=True)
        conf = self.home / "partnerhub-neo4j.conf"
        conf.write_text(
            f"server.memory.pagecache.size={self.pagecache}\n"
            # Transaction logs are kept only as long as recovery needs them.
            "db.tx_log.rotation.retention_policy=1 files\n"
        )
        java = shutil.which("java") or "java"
        classpath = os.pathsep.join([str(TARGET / "classes"), str(TARGET / "lib" / "*")])
        command = [
            java,
            f"-Xmx{self.heap}",
            "-XX:+UseG1GC",
            "-cp",
            classpath,
            MAIN_CLASS,
            str(self.home),
            str(self.port),
            self.host,
            str(conf),
        ]
        log = (self.home / "server.log").open("w")
        self._process = subprocess.Popen(
            command, stdout=log, stderr=subprocess.STDOUT, text=True, start_new_session=True
        )
        self._wait_until_ready(timeout)

    def _wait_until_ready(self, timeout: float) -> None:
        assert self._process is not None and self.home is not None
        log_path = self.home / "server.log"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise Neo4jLaunchError(
                    f"Neo4j exited with code {self._process.returncode}:\n{_tail(log_path)}"
                )
            if "READY bolt://" in log_path.read_text(errors="replace"):
                return
            time.sleep(0.25)
        self.stop()
        raise Neo4jLaunchError(f"Neo4j did not answer within {timeout:.0f}s:\n{_tail(log_path)}")

    def stop(self, timeout: float = 60.0) -> None:
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGTERM)  # the JVM hook shuts the DBMS down cleanly
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if self._own_home and self.home is not None:
            shutil.rmtree(self.home, ignore_errors=True)

    def __enter__(self) -> Neo4jDevServer:
        self.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()


def _tail(path: Path, lines: int = 40) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=7687)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--home", type=Path, default=Path("var/neo4j"))
    parser.add_argument("--heap", default="2g")
    parser.add_argument("--pagecache", default="2g")
    args = parser.parse_args(argv)
    server = Neo4jDevServer(args.port, args.host, args.home, args.heap, args.pagecache)
    server.start()
    print(f"Neo4j is answering at {server.uri} (data in {args.home}); Ctrl-C stops it.")
    wait_for_a_stop_signal(server.stop)
    return 0


if __name__ == "__main__":
    sys.exit(main())
