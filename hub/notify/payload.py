"""What a webhook receives: one alert as JSON, and its signature.

The body is made once, when the alert is queued, and stored as sent: every retry sends
the same bytes with the same signature, and ``alert_id`` is the same for the same alert
(``Alert.id``), so a receiver that keeps the ids it has seen takes each alert once.
The signature is ``sha256=`` and the hex HMAC-SHA256 of the raw body, keyed with the
webhook's secret (the scheme most webhook senders use, so receivers have code for it).
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime

from pydantic import BaseModel

from graph.quality.alerts import Alert

SIGNATURE_HEADER = "X-PartnerHub-Signature"
DELIVERY_HEADER = "X-PartnerHub-Delivery"
TIMESTAMP_HEADER = "X-PartnerHub-Timestamp"


class AlertPayload(BaseModel):
    """One alert, as the organization ``org`` may see it."""

    alert_id: str
    org: str  # whose webhook or address: the audience the alert was judged for
    kind: str
    subject_id: str
    batch_ids: list[str]
    ingestion_id: str
    message: str
    raised_at: datetime
    rules: list[str] = []
    gap_reasons: list[str] = []

    @classmethod
    def of(cls, alert: Alert, org: str) -> AlertPayload:
        return cls(
            alert_id=alert.id,
            org=org,
            kind=alert.kind.value,
            subject_id=alert.subject_id,
            batch_ids=list(alert.batch_ids),
            ingestion_id=alert.ingestion_id,
            message=alert.message,
            raised_at=alert.raised_at,
            rules=[rule.value for rule in alert.rules],
            gap_reasons=[reason.value for reason in alert.gap_reasons],
        )

    def body(self) -> str:
        return self.model_dump_json()


def signature(body: bytes, secret: str) -> str:
    """The ``X-PartnerHub-Signature`` value of ``body`` under ``secret``."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify(body: bytes, secret: str, header: str) -> bool:
    """Whether ``header`` is the signature of ``body`` under ``secret`` (in constant time):
    what a receiver runs, shown in the README."""
    return hmac.compare_digest(signature(body, secret), header)
