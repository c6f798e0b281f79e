"""The image's health check script against a real ``partnerhub serve``: healthy while
the hub answers, unhealthy (exit 1, with the reason) once it has stopped."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.served import served_hub

SCRIPT = Path(__file__).resolve().parents[2] / "deploy" / "healthcheck.py"


def _check(port: str) -> subprocess.CompletedProcess[str]:
    # As in the image: run by path, with nothing of the project importable.
    env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    env["HUB_PORT"] = port
    return subprocess.run(
        [sys.executable, "-I", str(SCRIPT)],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


def test_healthy_while_the_hub_serves_and_not_after(tmp_path: Path) -> None:
    with served_hub(f"sqlite:///{tmp_path / 'graph.sqlite'}") as hub:
        port = hub.url.rstrip("/").rsplit(":", 1)[1]
        serving = _check(port)
    stopped = _check(port)

    assert serving.returncode == 0, serving.stderr
    assert stopped.returncode == 1
    assert f"http://127.0.0.1:{port}/healthz did not answer" in stopped.stderr
