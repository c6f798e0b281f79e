"""A flood of wrong client secrets from one address: CPU per request while the token
endpoint still hashes them, and once the failure limit refuses them (429).

    .venv/bin/python -m bench.token_flood --requests 200

A hub authorization server on a temporary SQLite file with its default limits
(``auth.login_limits``: 20 failures per 15 minutes per address) takes ``--requests``
wrong secrets from one address, one after the other, through ``POST /oauth/token``.
The process's CPU time (every thread: the hashes run in worker threads) is read around
the first 20 answers (401, each hashed) and around the rest (429, refused before the
hash). The process is pinned to one CPU; figures are medians of ``--repeat`` runs.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import time
from pathlib import Path
from tempfile import TemporaryDirectory

import httpx
from starlette.applications import Starlette

from auth.config import AuthConfig
from auth.login_limits import TOKEN_FAILURES
from auth.principal import Scope
from auth.routes import auth_routes
from auth.service import AuthService
from hub.records.database import migrate

ISSUER = "http://127.0.0.1:8000"
ATTACKER = ("203.0.113.7", 40000)


async def flood(folder: Path, run: int, requests: int) -> tuple[float, float, dict[int, int]]:
    """CPU milliseconds per hashed and per refused request, and the answers' statuses."""
    service = AuthService.from_url(
        f"sqlite+aiosqlite:///{folder / f'run{run}.sqlite'}",
        AuthConfig(issuer=ISSUER, audience="partnerhub"),
        migrate=migrate,
    )
    await service.setup()
    try:
        target = await service.store.add_client("birch", [Scope.GRAPH_READ], client_id="birch")
        transport = httpx.ASGITransport(app=Starlette(routes=auth_routes(service)), client=ATTACKER)
        statuses: dict[int, int] = {}
        async with httpx.AsyncClient(transport=transport, base_url=ISSUER) as http:

            async def attempts(count: int) -> float:
                started = time.process_time()
                for _ in range(count):
                    answer = await http.post(
                        "/oauth/token",
                        data={"grant_type": "client_credentials"},
                        auth=(target.client.client_id, "a wrong secret"),
                    )
                    statuses[answer.status_code] = statuses.get(answer.status_code, 0) + 1
                return (time.process_time() - started) * 1000 / count

            hashed = await attempts(TOKEN_FAILURES.amount)
            refused = await attempts(requests - TOKEN_FAILURES.amount)
        return hashed, refused, statuses
    finally:
        await service.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    hashed, refused = [], []
    with TemporaryDirectory(prefix="partnerhub-bench-flood-") as folder:
        for run in range(args.repeat):
            per_hashed, per_refused, statuses = asyncio.run(flood(Path(folder), run, args.requests))
            hashed.append(per_hashed)
            refused.append(per_refused)
    print(
        f"{args.requests} wrong secrets from one address, {args.repeat} runs: "
        f"answers {dict(sorted(statuses.items()))} per run; CPU per request "
        f"{statistics.median(hashed):.1f} ms while hashed (401), "
        f"{statistics.median(refused):.2f} ms once refused (429)"
    )


if __name__ == "__main__":
    main()
