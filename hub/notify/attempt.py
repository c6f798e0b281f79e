"""How one attempt to deliver a notification ended, as the dispatcher needs to know it:
delivered, worth trying again later, or not (the receiver refused it for good)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Attempt:
    delivered: bool
    retriable: bool = False  # not delivered, but it may go through later
    code: int | None = None  # the receiver's HTTP status or SMTP reply code
    error: str | None = None  # what went wrong, for the delivery log (no secrets)
    retry_after: float | None = None  # seconds the receiver asked us to wait (Retry-After)

    @classmethod
    def ok(cls, code: int | None) -> Attempt:
        return cls(True, code=code)

    @classmethod
    def retry(
        cls, error: str, code: int | None = None, retry_after: float | None = None
    ) -> Attempt:
        return cls(False, True, code, error, retry_after)

    @classmethod
    def refused(cls, error: str, code: int | None = None) -> Attempt:
        return cls(False, False, code, error)
