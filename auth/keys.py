"""The hub's token signing keys: generated here, kept as JWK JSON by the store.

RS256 with 3072-bit RSA is the default: every API request verifies a token while a
client asks for one only every token lifetime, and RSA verification is several times
cheaper than ECDSA's (see bench/tokens.py); 3072 bits is the NIST size for use beyond
2030. ES256 is available for smaller tokens. The kid is the key's RFC 7638
thumbprint.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from typing import Any

from joserfc.jwk import ECKey, Key, RSAKey, import_key

from auth.config import SigningAlgorithm

RSA_KEY_BITS = 3072


@dataclass(frozen=True, slots=True)
class SigningKey:
    kid: str
    algorithm: str
    private_jwk: str = field(repr=False)  # JSON; never logged
    created_at: datetime
    retired_at: datetime | None  # None: may sign; otherwise verifies only until then

    def usable_at(self, moment: datetime) -> bool:
        """Whether a token signed by this key may still be accepted at ``moment``."""
        return self.retired_at is None or moment < self.retired_at

    def private_key(self) -> Key:
        return _import_private(self.private_jwk)

    def public_key(self) -> Key:
        return _import_public(self.private_jwk)

    def public_jwk(self) -> dict[str, Any]:
        return dict(self.public_key().as_dict(private=False))


def generate_private_jwk(algorithm: SigningAlgorithm) -> tuple[str, str]:
    """A new key for ``algorithm``: (kid, private JWK as JSON)."""
    parameters: Any = {"alg": algorithm, "use": "sig"}
    key: Key
    if algorithm == "RS256":
        key = RSAKey.generate_key(RSA_KEY_BITS, parameters, auto_kid=True)
    elif algorithm == "ES256":
        key = ECKey.generate_key("P-256", parameters, auto_kid=True)
    else:  # pragma: no cover - the Literal type rules it out
        raise ValueError(f"unsupported signing algorithm {algorithm!r}")
    kid = key.kid
    assert kid is not None  # auto_kid
    return kid, json.dumps(key.as_dict(private=True))


# Importing a private RSA key checks its consistency, which costs milliseconds: keep
# the few keys in use parsed.
@lru_cache(maxsize=16)
def _import_private(private_jwk: str) -> Key:
    return import_key(json.loads(private_jwk))


@lru_cache(maxsize=16)
def _import_public(private_jwk: str) -> Key:
    return import_key(_import_private(private_jwk).as_dict(private=False))
