"""The partner-side push agent: send a folder's new export files to a hub, once each.

The agent authenticates as an OAuth client of the hub (client credentials) and pushes
for its own organization, the one its client was registered for. What was sent is remembered in ``.partnerhub-push.json`` inside the folder, keyed by
the file's SHA-256, so a renamed or re-exported identical file is not sent again and
an edited file is. The state is rewritten atomically after every accepted file, so a
crash mid-run never forgets a delivery. Network errors and 5xx answers are retried
with exponential backoff; a file still failing is left for the next run.

"Accepted" means the hub kept the payload in its ledger and gave it an ingestion id
(202, or the report itself when the hub applied it within ``wait`` seconds), even when
it rejected some or all of its records: sending the same bytes again would not change
that answer, so the file counts as delivered and its report is shown.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

STATE_FILE = ".partnerhub-push.json"


@dataclass(frozen=True, slots=True)
class PushResult:
    path: Path
    outcome: str  # "sent", "already sent", "failed"
    ingestion_id: str | None = None
    status: str | None = None  # the hub's ingestion status
    detail: str = ""


@dataclass(frozen=True, slots=True)
class PushTarget:
    hub: str  # base URL, e.g. https://hub.example.com
    connector: str
    client_id: str
    client_secret: str = field(repr=False)
    options: dict[str, Any] | None = None
    # Seconds the hub may take to apply a file before answering "queued" (202): the
    # report is then shown now instead of at /ingestions/{id}. 0 answers at once.
    wait: float = 30.0


class Credentials:
    """An access token from the hub's token endpoint (client credentials), fetched when
    first needed and again when the hub says it expired."""

    def __init__(self, http: httpx.Client, target: PushTarget) -> None:
        self.http = http
        self.target = target
        self._token: str | None = None

    def header(self, *, renew: bool = False) -> dict[str, str]:
        if self._token is None or renew:
            answer = self.http.post(
                f"{self.target.hub.rstrip('/')}/oauth/token",
                data={"grant_type": "client_credentials", "scope": "ingest:write"},
                auth=(self.target.client_id, self.target.client_secret),
            )
            if answer.status_code != 200:
                raise PushRefused(
                    f"the hub refused this client's credentials (HTTP {answer.status_code})"
                )
            self._token = str(answer.json()["access_token"])
        return {"authorization": f"Bearer {self._token}"}


class PushRefused(Exception):
    """The hub will not take files from this client; retrying would not help."""


def files_to_consider(folder: Path) -> Iterator[Path]:
    for path in sorted(folder.iterdir()):
        if path.is_file() and not path.name.startswith("."):
            yield path


def load_state(folder: Path) -> dict[str, Any]:
    state_path = folder / STATE_FILE
    if not state_path.exists():
        return {}
    state: dict[str, Any] = json.loads(state_path.read_text())
    return state


def save_state(folder: Path, state: dict[str, Any]) -> None:
    temporary = folder / (STATE_FILE + ".tmp")
    temporary.write_text(json.dumps(state, indent=2, sort_keys=True))
    os.replace(temporary, folder / STATE_FILE)  # atomic: the old state or the new one


def push_folder(
    folder: Path,
    target: PushTarget,
    *,
    attempts: int = 5,
    first_delay: float = 0.5,
    sleep: Callable[[float], None] = time.sleep,
    client: httpx.Client | None = None,
) -> list[PushResult]:
    state = load_state(folder)
    results = []
    http = client or httpx.Client(timeout=120)
    credentials = Credentials(http, target)
    try:
        for path in files_to_consider(folder):
            payload = path.read_bytes()
            digest = hashlib.sha256(payload).hexdigest()
            if digest in state:
                results.append(PushResult(path, "already sent", state[digest]["ingestion_id"]))
                continue
            result = _send(http, credentials, path, payload, attempts, first_delay, sleep)
            if result.outcome == "sent":
                state[digest] = {
                    "file": path.name,
                    "ingestion_id": result.ingestion_id,
                    "status": result.status,
                    "sent_at": datetime.now(UTC).isoformat(),
                }
                save_state(folder, state)
            results.append(result)
    finally:
        if client is None:
            http.close()
    return results


def _send(
    http: httpx.Client,
    credentials: Credentials,
    path: Path,
    payload: bytes,
    attempts: int,
    first_delay: float,
    sleep: Callable[[float], None],
) -> PushResult:
    target = credentials.target
    params = {"filename": path.name, "wait": str(target.wait)}
    if target.options:
        params["options"] = json.dumps(target.options)
    url = f"{target.hub.rstrip('/')}/ingest/{target.connector}"
    detail = ""
    for attempt in range(attempts):
        if attempt:
            sleep(first_delay * 2 ** (attempt - 1))
        try:
            response = http.post(url, params=params, content=payload, headers=credentials.header())
            if response.status_code == 401:  # expired: one new token, then this attempt again
                renewed = credentials.header(renew=True)
                response = http.post(url, params=params, content=payload, headers=renewed)
        except httpx.TransportError as error:
            detail = f"{type(error).__name__}: {error}"
            continue
        except PushRefused as refused:
            return PushResult(path, "failed", detail=str(refused))
        if response.status_code >= 500:
            detail = f"HTTP {response.status_code}"
            continue
        body = _json(response)
        if "ingestion_id" in body:
            return PushResult(
                path, "sent", body["ingestion_id"], body.get("status"), _summary(body)
            )
        return PushResult(
            path, "failed", detail=f"HTTP {response.status_code}: {body.get('detail', '')}"
        )
    return PushResult(path, "failed", detail=f"gave up after {attempts} attempts ({detail})")


def _json(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _summary(report: dict[str, Any]) -> str:
    if report.get("status") == "RECEIVED":
        return f"queued; ask {report.get('location', '/ingestions/ID')} for the outcome"
    if report.get("error"):
        error = report["error"]
        return f"{error.get('location', '')}: {error.get('message', '')}"
    return f"{report.get('applied', 0)} applied, {report.get('rejected', 0)} rejected"
