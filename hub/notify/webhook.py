"""Sending one queued alert to a webhook: a signed POST, and what its answer means.

2xx is delivered. Connection errors, timeouts, 5xx and 429 (the receiver is down, busy
or asks us to slow down) are tried again later, no sooner than a ``Retry-After`` in
seconds asks; any other answer, a redirect included,
fails at once: a 4xx will not change by sending the same body again, and redirects are
not followed because the signed alert must reach the URL the organization registered,
not wherever a compromised or misconfigured receiver points.
"""

from __future__ import annotations

from datetime import UTC, datetime

import httpx

from hub.notify.attempt import Attempt
from hub.notify.payload import DELIVERY_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER, signature
from hub.records.alert_targets import AlertTarget
from hub.records.outbox import Delivery

USER_AGENT = "PartnerHub-Webhooks/1"


def client(timeout: float) -> httpx.AsyncClient:
    """One pooled client for every webhook; redirects are never followed."""
    return httpx.AsyncClient(
        timeout=timeout, follow_redirects=False, headers={"user-agent": USER_AGENT}
    )


async def send(
    http: httpx.AsyncClient, target: AlertTarget, delivery: Delivery, secret: str
) -> Attempt:
    """POST the delivery to the target, signed with ``secret`` (the target's, opened)."""
    body = delivery.body.encode()
    headers = {
        "content-type": "application/json",
        SIGNATURE_HEADER: signature(body, secret),
        DELIVERY_HEADER: delivery.id,
        TIMESTAMP_HEADER: str(int(datetime.now(UTC).timestamp())),
    }
    try:
        answer = await http.post(target.address, content=body, headers=headers)
    except httpx.TimeoutException as error:
        return Attempt.retry(f"timed out: {type(error).__name__}")
    except httpx.TransportError as error:
        return Attempt.retry(f"{type(error).__name__}: {error}")
    code = answer.status_code
    if 200 <= code < 300:
        return Attempt.ok(code)
    if code == 429 or code >= 500:
        return Attempt.retry(f"HTTP {code}", code, _seconds(answer.headers.get("retry-after")))
    if 300 <= code < 400:
        return Attempt.refused(f"HTTP {code}: redirects are not followed", code)
    return Attempt.refused(f"HTTP {code}", code)


def _seconds(retry_after: str | None) -> float | None:
    """A Retry-After given in seconds (an HTTP date is rare from webhook receivers: the
    backoff alone then decides)."""
    if retry_after is None or not retry_after.strip().isdigit():
        return None
    return float(retry_after.strip())
