"""Access tokens for people: the same RFC 9068 format as the client credentials grant
(``auth.claims``), so ``auth.verify`` needs no second path.

The principal is the user's organization (``partnerhub_org``), so what a person may
read is exactly what their organization may, narrowed to the scopes they hold; ``sub``
names the user and ``client_id`` the public client (the console) they signed in with.
"""

from __future__ import annotations

import secrets

from joserfc import jwt

from auth.claims import ORG_CLAIM, ORG_KIND_CLAIM
from auth.config import AuthConfig
from auth.keys import SigningKey
from auth.principal import Scope
from auth.users import HubUser


def person_access_token(
    config: AuthConfig,
    key: SigningKey,
    user: HubUser,
    client_id: str,
    scopes: frozenset[Scope],
    now: float,
) -> str:
    """A signed token (CPU-bound: call from a worker thread)."""
    issued_at = int(now)
    claims = {
        "iss": config.issuer,
        "sub": user.user_id,
        "aud": config.audience,
        "exp": issued_at + int(config.access_token_lifetime.total_seconds()),
        "iat": issued_at,
        "jti": secrets.token_hex(16),
        "client_id": client_id,
        "scope": " ".join(sorted(scopes)),
        ORG_CLAIM: user.org_id,
        ORG_KIND_CLAIM: user.org_kind,
    }
    header = {"typ": "at+jwt", "alg": key.algorithm, "kid": key.kid}
    return jwt.encode(header, claims, key.private_key(), algorithms=[key.algorithm])
