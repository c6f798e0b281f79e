"""Private signing keys encrypted at rest under a key-encryption key (KEK).

Whoever reads the database (a backup, a replica, a leaked dump) must not be able to
sign tokens. So each private JWK is stored sealed with AES-256-GCM under a KEK that
lives outside the database, in the environment (``HUB_KEY_ENCRYPTION_KEY``: 32 random
bytes, base64; e.g. from a secret store or KMS at deploy time). The signing key's kid
is the associated data, so a sealed key copied onto another row does not open.

Each row names the KEK that sealed it by the KEK's *id*, a fingerprint of the KEK (not
secret: it only tells which KEK to use). That makes the KEK rotatable: put the new KEK
in ``HUB_KEY_ENCRYPTION_KEY`` and the old one in ``HUB_PREVIOUS_KEY_ENCRYPTION_KEYS``;
rows sealed under either open, and ``partnerhub keys rewrap`` (or the next start)
seals every row under the new one, after which the old KEK can go. A row with no KEK
id is a plaintext key (written before encryption, or by a hub running without a KEK in
development); it is sealed the same way on the next start with a KEK.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
from dataclasses import dataclass, field

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

KEK_BYTES = 32  # AES-256
NONCE_BYTES = 12  # GCM's standard nonce; random per sealing (few keys, no reuse risk)


class KeyWrapError(Exception):
    """A sealed key cannot be opened (unknown KEK, wrong KEK, or altered data)."""


@dataclass(frozen=True, slots=True)
class KeyEncryptionKey:
    key: bytes = field(repr=False)

    def __post_init__(self) -> None:
        if len(self.key) != KEK_BYTES:
            raise ValueError(f"a key-encryption key is {KEK_BYTES} bytes, got {len(self.key)}")

    @classmethod
    def from_base64(cls, text: str, name: str = "HUB_KEY_ENCRYPTION_KEY") -> KeyEncryptionKey:
        """From its base64 form (standard or URL-safe); the error names ``name``, never the value."""
        try:
            standard = text.strip().replace("-", "+").replace("_", "/")  # URL-safe too
            raw = base64.b64decode(standard, validate=True)
        except (binascii.Error, ValueError):
            raise ValueError(
                f"{name} is not base64: give {KEK_BYTES} random bytes in base64, e.g. from "
                "`python -c 'import os,base64;print(base64.b64encode(os.urandom(32)).decode())'`"
            ) from None
        if len(raw) != KEK_BYTES:
            raise ValueError(f"{name} must decode to {KEK_BYTES} bytes, it decodes to {len(raw)}")
        return cls(raw)

    @property
    def kek_id(self) -> str:
        """A fingerprint naming this KEK in the rows it sealed (reveals nothing of it)."""
        return hashlib.sha256(b"partnerhub key-encryption key\x00" + self.key).hexdigest()[:16]


@dataclass(frozen=True, slots=True)
class KeyRing:
    """The KEK that seals new keys, and older ones that still open what they sealed."""

    current: KeyEncryptionKey
    previous: tuple[KeyEncryptionKey, ...] = ()

    def seal(self, kid: str, private_jwk: str) -> tuple[str, str]:
        """(KEK id, sealed key as base64 of nonce + ciphertext) for the key ``kid``."""
        nonce = os.urandom(NONCE_BYTES)
        sealed = AESGCM(self.current.key).encrypt(nonce, private_jwk.encode(), kid.encode())
        return self.current.kek_id, base64.b64encode(nonce + sealed).decode()

    def open(self, kid: str, kek_id: str, sealed: str) -> str:
        """The private JWK that ``seal`` sealed under the KEK ``kek_id``."""
        kek = next((k for k in (self.current, *self.previous) if k.kek_id == kek_id), None)
        if kek is None:
            raise KeyWrapError(
                f"signing key {kid} is sealed under key-encryption key {kek_id}, which is "
                "neither HUB_KEY_ENCRYPTION_KEY nor one of HUB_PREVIOUS_KEY_ENCRYPTION_KEYS"
            )
        try:
            blob = base64.b64decode(sealed, validate=True)
            plain = AESGCM(kek.key).decrypt(blob[:NONCE_BYTES], blob[NONCE_BYTES:], kid.encode())
        except (binascii.Error, ValueError, InvalidTag):
            raise KeyWrapError(
                f"signing key {kid} does not open under key-encryption key {kek_id}: "
                "the stored key was altered or moved from another row"
            ) from None
        return plain.decode()
