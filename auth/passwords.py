"""People's passwords at rest: argon2id (RFC 9106), through argon2-cffi.

Unlike client secrets (256 random bits, ``auth.secret_hash``), a person's password is
guessable, so a leaked table must cost an attacker memory and time per guess: argon2id
with argon2-cffi's defaults (RFC 9106's second recommended option, 64 MiB, 3 passes).
The hash records its own parameters, so raising them later keeps old hashes working
(``needs_rehash`` says when to store a fresh one).

These functions are CPU- and memory-bound (tens of milliseconds): call them from a
worker thread, never on the event loop.
"""

from __future__ import annotations

import functools
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

_HASHER = PasswordHasher()  # argon2id, RFC 9106 low-memory profile
MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 1024  # a longer "password" is a denial-of-service attempt


def check_new_password(password: str) -> None:
    """Refuse a password too short to resist guessing (NIST SP 800-63B: length, not rules)."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValueError(f"a password needs at least {MIN_PASSWORD_LENGTH} characters")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise ValueError(f"a password has at most {MAX_PASSWORD_LENGTH} characters")


def hash_password(password: str) -> str:
    check_new_password(password)
    return _HASHER.hash(password)


def verify_password(password: str, stored: str) -> bool:
    """Whether ``password`` matches ``stored``; False (never an error) for a malformed hash."""
    if len(password) > MAX_PASSWORD_LENGTH:
        password = password[:MAX_PASSWORD_LENGTH]  # still spend the time of a check
    try:
        return _HASHER.verify(stored, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def spend_like_a_password_check(password: str) -> None:
    """Hash against a decoy, so that an unknown (or disabled) e-mail costs the same time
    as a wrong password and response times do not tell which e-mails exist."""
    verify_password(password, _decoy_hash())


@functools.cache
def _decoy_hash() -> str:
    return _HASHER.hash(secrets.token_urlsafe(16))
