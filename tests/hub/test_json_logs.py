"""``HUB_LOG_FORMAT=json``: a served hub writes one JSON object a line, each request's
lines with its request id, and no secret among them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from contextlib import suppress
from pathlib import Path
from typing import Any

import httpx

from deploy.neo4j.launcher import free_port
from tests.served import fetch_token, register_client


def logged(log: Path, wanted: Callable[[dict[str, Any]], bool], within: float = 30.0) -> None:
    """Wait until a whole line of ``log`` is one ``wanted`` (or ``within`` seconds pass:
    the assertions then say what is missing)."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        for line in log.read_text().split("\n")[:-1]:  # whole lines only
            with suppress(ValueError, TypeError, KeyError):
                if line.strip() and wanted(json.loads(line)):
                    return
        time.sleep(0.02)


def test_a_served_hubs_log_lines_are_json_with_the_request_id(tmp_path: Path) -> None:
    port = free_port()
    env = {
        **os.environ,
        "HUB_STORE": f"sqlite:///{tmp_path}/graph.sqlite",
        "HUB_DATABASE": f"sqlite:///{tmp_path}/ledger.sqlite",
        "HUB_PORT": str(port),
        "HUB_LOG_LEVEL": "INFO",
        "HUB_LOG_FORMAT": "json",
        "HUB_INGEST_WORKERS": "0",
    }
    client_id, secret = register_client(env, "operator", "admin,graph:read")
    log = tmp_path / "serve.log"
    base = f"http://127.0.0.1:{port}/"
    with log.open("wb") as out:
        child = subprocess.Popen(
            [sys.executable, "-m", "hub.cli", "serve"], env=env, stdout=out, stderr=out
        )
    try:
        deadline = time.monotonic() + 60
        while True:
            assert child.poll() is None, log.read_text()[-3000:]
            try:
                with urllib.request.urlopen(base + "healthz", timeout=2):
                    break
            except OSError:
                assert time.monotonic() < deadline, log.read_text()[-3000:]
                time.sleep(0.2)
        token = fetch_token(base, client_id, secret)
        answer = httpx.post(
            base + "graphql",
            json={"query": "{ __typename }"},
            headers={"authorization": f"Bearer {token}", "x-request-id": "json-log-1"},
        )
        refused = httpx.post(
            base + "oauth/token",
            data={"grant_type": "client_credentials"},
            auth=(client_id, "not-the-secret"),
            headers={"x-request-id": "json-log-2"},
        )
        # the access log lines are written as the answers go out
        logged(
            log,
            lambda line: (
                line.get("request_id") == "json-log-2" and "POST /oauth/token" in line["message"]
            ),
        )
        logged(
            log,
            lambda line: (
                line.get("request_id") == "json-log-1" and "POST /graphql" in line["message"]
            ),
        )
    finally:
        child.terminate()
        child.wait(timeout=15)
    text = log.read_text()
    lines = [json.loads(line) for line in text.splitlines() if line.strip()]

    assert answer.status_code == 200 and refused.status_code == 401
    assert all({"time", "level", "logger", "message"} <= line.keys() for line in lines)
    mine = [line for line in lines if line.get("request_id") == "json-log-1"]
    assert any("POST /graphql" in line["message"] for line in mine), lines[-5:]
    assert any(line.get("request_id") == "json-log-2" for line in lines)
    assert secret not in text and token not in text and "not-the-secret" not in text
