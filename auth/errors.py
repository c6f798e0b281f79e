"""What ``auth`` raises at its callers."""

from __future__ import annotations


class InvalidToken(Exception):
    """A bearer token was refused.

    ``reason`` says why in words safe to show the caller (it goes into the
    ``WWW-Authenticate`` header): it never holds the token or any part of it.
    """

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason
