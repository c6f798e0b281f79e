"""Node side of the federation tests: Apollo composition, an ERP subgraph, a gateway.

The npm packages are pinned in ``package-lock.json`` beside this file and installed
with ``npm ci`` (by ``make test``, or by :func:`npm_ready` when run on its own). A
missing ``npm`` or a failed install raises: these tests never skip.

The scripts listen on 127.0.0.1 and print ``ready URL`` once they do; given port 0
they pick a free port, and the URL says which.
"""

from __future__ import annotations

import json
import queue
import re
import shutil
import subprocess
import threading
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, TypedDict

FEDERATION_DIR = Path(__file__).resolve().parent
NODE_MODULES = FEDERATION_DIR / "node_modules"
INSTALLED_MARKER = NODE_MODULES / ".installed"  # the same marker the Makefile uses
MANIFESTS = (FEDERATION_DIR / "package-lock.json", FEDERATION_DIR / "package.json")

COMPOSE_SCRIPT = "compose.mjs"
ERP_SCRIPT = "erp_subgraph.mjs"
GATEWAY_SCRIPT = "gateway.mjs"

_BAD_PERCENT = re.compile(r"%(?![0-9A-Fa-f]{2})")
_OUTPUT_LIMIT = 2000  # lines of a script's output kept for error messages


class CompositionFailed(Exception):
    """Composition reported errors or hints; ``stderr`` has one per line."""

    def __init__(self, stderr: str) -> None:
        self.stderr = stderr
        self.lines = [line for line in stderr.splitlines() if line.strip()]
        super().__init__("composition failed:\n" + stderr)

    @property
    def codes(self) -> list[str]:
        """The error and hint codes, e.g. ``["hint INCONSISTENT_DESCRIPTION"]``."""
        return [line.split(":", 1)[0] for line in self.lines]


class ErpOrder(TypedDict):
    orderNumber: str
    costCenter: str
    unitCost: float
    currency: str


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise RuntimeError(f"{name!r} is not on PATH: the federation tests need Node.js and npm")
    return path


def npm_ready() -> None:
    """Install the pinned npm packages (``npm ci``) unless an install newer than both
    package-lock.json and package.json is there; raise RuntimeError if npm fails."""
    if INSTALLED_MARKER.exists() and all(
        INSTALLED_MARKER.stat().st_mtime >= manifest.stat().st_mtime for manifest in MANIFESTS
    ):
        return
    command = [_tool("npm"), "ci", "--no-audit", "--no-fund"]
    result = subprocess.run(
        command,
        cwd=FEDERATION_DIR,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(
            f"`{' '.join(command[1:])}` in {FEDERATION_DIR} failed with status "
            f"{result.returncode}:\n{result.stdout}\n{result.stderr}"
        )
    INSTALLED_MARKER.touch()


class NodeProcess(subprocess.Popen[str]):
    """A running node script; its combined stdout and stderr are kept in ``lines``."""

    lines: list[str]
    reader: threading.Thread

    def output(self) -> str:
        return "".join(self.lines)


def _read_output(process: NodeProcess, ready: queue.Queue[str | None]) -> None:
    assert process.stdout is not None
    for line in process.stdout:  # drained to the end, so the script never blocks on a full pipe
        process.lines.append(line)
        if len(process.lines) > _OUTPUT_LIMIT:
            del process.lines[0]
        if line.startswith("ready "):
            ready.put(line.split(maxsplit=1)[1].strip())
    ready.put(None)


def start_node_script(script: str, *args: str, timeout: float = 60.0) -> tuple[NodeProcess, str]:
    """Start ``node script args`` here and wait for its ``ready URL`` line.

    Returns the process and the URL. Raises RuntimeError with the script's output if
    it exits or has not said ready within ``timeout`` seconds.
    """
    npm_ready()
    process = NodeProcess(
        [_tool("node"), script, *args],
        cwd=FEDERATION_DIR,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        encoding="utf-8",
        errors="replace",
    )
    process.lines = []
    ready: queue.Queue[str | None] = queue.Queue()
    process.reader = threading.Thread(
        target=_read_output, args=(process, ready), name=f"node {script}", daemon=True
    )
    process.reader.start()
    try:
        url = ready.get(timeout=timeout)
    except queue.Empty:
        stop(process)
        raise RuntimeError(
            f"node {script} {' '.join(args)} did not say ready within {timeout:.0f} s; "
            f"output:\n{process.output()}"
        ) from None
    if url is None:
        status = process.wait()
        stop(process)
        raise RuntimeError(
            f"node {script} {' '.join(args)} exited with status {status} before it was "
            f"ready; output:\n{process.output()}"
        )
    return process, url


def stop(process: subprocess.Popen[Any], timeout: float = 10.0) -> None:
    """Terminate a started script and wait for it (killing it if it will not stop)."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=timeout)
    if isinstance(process, NodeProcess):
        process.reader.join(timeout)  # it reads to end of file, which the exit brings
    if process.stdout is not None and not process.stdout.closed:
        process.stdout.close()


def compose(subgraphs: Sequence[Mapping[str, str]], timeout: float = 120.0) -> str:
    """Compose ``[{"name", "url", "sdl"}, ...]``; return the supergraph SDL.

    Raises CompositionFailed, holding composition's stderr, on any error or hint.
    """
    npm_ready()
    result = subprocess.run(
        [_tool("node"), COMPOSE_SCRIPT],
        cwd=FEDERATION_DIR,
        input=json.dumps([dict(subgraph) for subgraph in subgraphs]),
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=timeout,
        check=False,
    )
    if result.returncode != 0:
        raise CompositionFailed(result.stderr or f"exit status {result.returncode}, no output")
    return result.stdout


def post_graphql(
    url: str,
    query: str,
    variables: Mapping[str, Any] | None = None,
    headers: Mapping[str, str] | None = None,
    timeout: float = 30.0,
) -> dict[str, Any]:
    """POST a GraphQL request and return the decoded JSON answer (also on HTTP errors)."""
    body = json.dumps({"query": query, "variables": dict(variables or {})}).encode()
    request = urllib.request.Request(
        url,
        data=body,
        method="POST",
        headers={
            "content-type": "application/json",
            "accept": "application/json",
            **(headers or {}),
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            answer: dict[str, Any] = json.load(response)
    except urllib.error.HTTPError as error:
        text = error.read().decode("utf-8", "replace")
        try:
            answer = json.loads(text)
        except json.JSONDecodeError:
            raise RuntimeError(f"{url} answered HTTP {error.code}: {text}") from None
    return answer


def subgraph_sdl(url: str) -> str:
    """A running subgraph's SDL, as a router fetches it: ``{ _service { sdl } }``."""
    answer = post_graphql(url, "{ _service { sdl } }")
    if answer.get("errors") or not answer.get("data"):
        raise RuntimeError(f"{url} did not give its SDL: {answer}")
    sdl: str = answer["data"]["_service"]["sdl"]
    return sdl


def erp_order_for(batch_id: str) -> ErpOrder | None:
    """What erp_subgraph.mjs answers for ``Batch.erpOrder`` (None for a non-batch id)."""
    prefix, _, rest = batch_id.partition(":")
    parts = rest.split("/")
    if prefix != "batch" or len(parts) != 2:
        return None
    if any(_BAD_PERCENT.search(part) for part in parts):
        return None  # JavaScript's decodeURIComponent rejects these
    try:
        maker, number = (urllib.parse.unquote(part, errors="strict") for part in parts)
    except UnicodeDecodeError:
        return None
    if not maker or not number:
        return None
    digest = 0
    for byte in f"{maker}/{number}".encode():
        digest = (digest * 31 + byte) % 100003
    return ErpOrder(
        orderNumber=f"PO-{number}",
        costCenter=f"CC-{maker.upper()}",
        unitCost=5 + (digest % 99500) / 100,
        currency={"alder": "INR", "birch": "EUR"}.get(maker, "USD"),
    )
