"""Each organization's ingest quotas: pushes per window and bytes per window.

A push is counted against the organization it is for (the ``org`` it names) once its
body is read and before the ledger commits it, both quotas at once: a push refused is
refused whole, nothing of it stored and nothing of the quotas spent, with HTTP 429,
``Retry-After`` and a JSON problem naming the quota. A push accepted is in the ledger
and is never taken back. A push over the byte quota by itself (bigger than a whole
window's bytes) can never be accepted, and the answer says so.
"""

from __future__ import annotations

from starlette.responses import JSONResponse

from auth.rate_limits import Ask, Rate, RateLimits, Refused

INGEST_PUSHES = "ingest_pushes"
INGEST_BYTES = "ingest_bytes"
_SETTINGS = {INGEST_PUSHES: "HUB_LIMIT_INGEST_PUSHES", INGEST_BYTES: "HUB_LIMIT_INGEST_BYTES"}
_UNITS = {INGEST_PUSHES: "pushes", INGEST_BYTES: "bytes"}


class IngestQuotas:
    def __init__(self, pushes: Rate | None, payload_bytes: Rate | None) -> None:
        self.limits = RateLimits({INGEST_PUSHES: pushes, INGEST_BYTES: payload_bytes})

    def spend(self, org: str, size: int) -> Refused | None:
        """Count one push of ``size`` bytes for ``org``, or refuse it (nothing counted)."""
        return self.limits.spend(Ask(INGEST_PUSHES, org), Ask(INGEST_BYTES, org, size))


def over_quota(org: str, size: int, refused: Refused) -> JSONResponse:
    quota = refused.limit
    rate = refused.rate
    if quota == INGEST_BYTES and size > rate.amount:
        detail = (
            f"this push's {size:,} bytes are more than {org!r} may push in a whole window "
            f"({rate.amount:,} bytes per {rate.seconds:,} s, {_SETTINGS[quota]}); "
            "split the export, or ask the operator to raise the quota"
        )
    else:
        detail = (
            f"{org!r} has used its ingest quota of {rate.amount:,} {_UNITS[quota]} per "
            f"{rate.seconds:,} s ({_SETTINGS[quota]}); {refused.remaining:,} left; "
            f"nothing of this push was stored: send it again in {refused.retry_after} s"
        )
    return JSONResponse(
        {
            "title": "Ingest quota spent",
            "detail": detail,
            "quota": quota,
            "org": org,
            "limit": rate.amount,
            "window_seconds": rate.seconds,
            "remaining": refused.remaining,
            "size": size,
            "retry_after": refused.retry_after,
        },
        status_code=429,
        headers={"Retry-After": str(refused.retry_after)},
    )
