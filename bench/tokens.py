"""Access token verification: verifications/s on one core, and the ratio to raw
signature verification of the same token.

    .venv/bin/python -m bench.tokens --seconds 2 --repeat 5

For each signing algorithm (RS256, the default, and ES256) a hub authorization server
on a temporary SQLite file issues a real token through ``POST /oauth/token``. Then,
alternating ``--repeat`` times, the clock measures

- ``TokenVerifier.verify``: everything the middleware does per request (shape,
  header, issuer, key lookup, signature, claims, revocation check, principal), with
  its key and revocation caches warm, as they are under load;
- raw: ``joserfc.jws.deserialize_compact`` of the same token with the same public
  key, nothing else: the floor that the signature check itself sets.

The process is pinned to one CPU. Figures are medians; on a shared machine only the
ratio within one run means much.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from tempfile import TemporaryDirectory

import httpx
from joserfc import jws
from starlette.applications import Starlette

from auth.config import AuthConfig, SigningAlgorithm
from auth.principal import Scope
from auth.routes import auth_routes
from auth.service import AuthService
from hub.records.database import migrate

ISSUER = "https://hub.bench"


async def rate(work: Callable[[], Awaitable[object]], seconds: float) -> float:
    """Calls per second of ``work`` over about ``seconds``."""
    calls, started = 0, time.perf_counter()
    deadline = started + seconds
    while (now := time.perf_counter()) < deadline:
        for _ in range(200):
            await work()
        calls += 200
    return calls / (now - started)


async def bench(algorithm: SigningAlgorithm, folder: Path, seconds: float, repeat: int) -> None:
    config = AuthConfig(issuer=ISSUER, audience=f"{ISSUER}/api", signing_algorithm=algorithm)
    service = AuthService.from_url(
        f"sqlite+aiosqlite:///{folder / algorithm}.sqlite", config, migrate=migrate
    )
    await service.setup()
    try:
        client = await service.store.add_client("birch", [Scope.GRAPH_READ], client_id="bench")
        app = Starlette(routes=auth_routes(service))
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url=ISSUER
        ) as http:
            response = await http.post(
                "/oauth/token",
                data={"grant_type": "client_credentials"},
                auth=("bench", client.secret),
            )
        token = response.json()["access_token"]
        public_key = (await service.store.current_signing_key()).public_key()
        verifier = service.verifier
        assert (await verifier.verify(token)).org_id == "birch"

        async def raw() -> object:
            return jws.deserialize_compact(token, public_key, algorithms=[algorithm])

        full_rates, raw_rates = [], []
        for _ in range(repeat):
            raw_rates.append(await rate(raw, seconds))
            full_rates.append(await rate(lambda: verifier.verify(token), seconds))
        full, floor = statistics.median(full_rates), statistics.median(raw_rates)
        print(
            f"{algorithm}: TokenVerifier.verify {full:,.0f}/s, raw joserfc signature "
            f"{floor:,.0f}/s, ratio {full / floor:.2f} "
            f"(token {len(token)} bytes, {repeat} rounds of {seconds:g} s)"
        )
    finally:
        await service.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=2.0, help="per timing")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--algorithms", default="RS256,ES256")
    args = parser.parse_args()
    os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    with TemporaryDirectory(prefix="partnerhub-bench-tokens-") as folder:
        for algorithm in args.algorithms.split(","):
            assert algorithm in ("RS256", "ES256"), algorithm
            asyncio.run(bench(algorithm, Path(folder), args.seconds, args.repeat))


if __name__ == "__main__":
    main()
