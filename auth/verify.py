"""Bearer token → Principal: strict verification of JWT access tokens (RFC 9068).

Checked in this order, each failure an ``InvalidToken`` with a reason safe to show:

1. shape: a compact JWS of sane size; no ``crit`` or ``b64`` header;
2. header: ``alg`` asymmetric (never ``none``, never HS*), ``typ`` ``at+jwt`` (or
   ``application/at+jwt``), a ``kid``;
3. issuer: this hub, or a configured trusted issuer (read from the payload before the
   signature is checked, only to choose whose keys to check it with);
4. key: the kid must name a key of that issuer -- for this hub a key not yet retired
   (so keys rotated out still verify until their tokens have expired), for a trusted
   issuer a key in its JWKS -- and ``alg`` must be the key's algorithm;
5. signature;
6. claims: ``iss``, ``aud`` (ours, or the issuer's configured one), ``exp``, ``iat``
   and ``nbf`` if present, with the configured leeway;
7. for this hub's tokens, the client must not be revoked (see ``auth.own_keys``).

The organization comes from the issuer's org claim (``partnerhub_org`` for this hub);
scopes from its scope claim, unknown scope names ignored.
"""

from __future__ import annotations

import functools
import json
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import httpx
from joserfc import jws
from joserfc.errors import (
    ExpiredTokenError,
    InvalidClaimError,
    JoseError,
    MissingClaimError,
)
from joserfc.jwk import Key
from joserfc.jwt import JWTClaimsRegistry

from auth.claims import ORG_CLAIM, ORG_KIND_CLAIM
from auth.config import ASYMMETRIC_ALGORITHMS, AuthConfig, Clock, TrustedIssuer, system_clock
from auth.errors import InvalidToken
from auth.jwks import RemoteKeySet
from auth.own_keys import OwnKeys
from auth.principal import Principal, Scope
from auth.store import SLUG, AuthStore

__all__ = ["AccessToken", "InvalidToken", "TokenVerifier"]

MAX_TOKEN_BYTES = 8192
ACCESS_TOKEN_TYPES = frozenset({"at+jwt", "application/at+jwt"})
_KNOWN_SCOPES = {scope.value: scope for scope in Scope}
# One JWS registry per algorithm, so a token can only ever be checked with the
# algorithm its key is for. Extra header parameters are tolerated; "crit" is refused.
_REGISTRIES = {
    alg: jws.JWSRegistry(algorithms=[alg], strict_check_header=False)
    for alg in ASYMMETRIC_ALGORITHMS
}


@dataclass(frozen=True, slots=True)
class AccessToken:
    """A verified token: who it speaks for, and what the audit trail wants to know."""

    principal: Principal
    issuer: str
    subject: str | None
    client_id: str | None
    token_id: str | None
    expires_at: float


# Verified signatures kept (see TokenVerifier._signed): the tokens in use at once.
_SIGNATURES_KEPT = 4_096
_TOKENS_READ = 4_096  # tokens kept decoded (header and claims), the most recent


class TokenVerifier:
    """Verifies this hub's tokens and those of the trusted issuers in ``config``.

    JWKS of trusted issuers are fetched with ``http`` (one is made, and closed by
    ``aclose``, when not given).
    """

    def __init__(
        self,
        config: AuthConfig,
        store: AuthStore,
        *,
        http: httpx.AsyncClient | None = None,
        clock: Clock = system_clock,
    ) -> None:
        self.config = config
        self._clock = clock
        self._owns_http = http is None
        self._http = http or httpx.AsyncClient(timeout=5.0, follow_redirects=False)
        self.own_keys = OwnKeys(
            store, refresh_seconds=config.store_refresh_interval.total_seconds(), clock=clock
        )
        self._remote = {
            trusted.issuer: RemoteKeySet(
                trusted.jwks_url,
                self._http,
                ttl=config.jwks_cache_ttl,
                cooldown=config.jwks_refetch_cooldown,
                clock=clock,
            )
            for trusted in config.trusted_issuers
        }
        self._leeway = int(config.clock_leeway.total_seconds())
        # Tokens whose signature verified, by (issuer, kid, token): a client sends the
        # same token on every request until it expires, and checking its RS256
        # signature again was a twentieth of a served read. A kid names one key (ours
        # are made with a fresh kid; an issuer's JWKS kids identify keys, RFC 7517), so
        # the same bytes verify again; what can change, expiry, the key's retirement,
        # the client's revocation, is still checked on every request.
        self._signed: OrderedDict[tuple[str, str, str], None] = OrderedDict()
        # One claims registry per (issuer, audience), made on first use: it reads the
        # clock at each check, so it is the same check as a registry made per request.
        self._registries: dict[tuple[str, str], JWTClaimsRegistry] = {}

    @property
    def http(self) -> httpx.AsyncClient:
        """The client that fetches other issuers' keys (and talks to OIDC providers)."""
        return self._http

    async def aclose(self) -> None:
        if self._owns_http:
            await self._http.aclose()

    async def verify(self, token: str) -> Principal:
        return (await self.verify_access_token(token)).principal

    async def verify_access_token(self, token: str) -> AccessToken:
        compact, header, claims = _read(token)
        alg = _check_header(header)
        kid: str = header["kid"]
        issuer = claims.get("iss")
        trusted = self.config.trusted(issuer) if isinstance(issuer, str) else None
        if issuer == self.config.issuer:
            key = await self._own_key(kid, alg)
            audience = self.config.audience
        elif trusted is not None:
            key = await self._trusted_key(trusted, kid, alg)
            audience = trusted.audience
        else:
            raise InvalidToken("the token's issuer is not trusted")
        self._check_signature_once(token, str(issuer), kid, compact, key, alg)
        self._check_claims(claims, str(issuer), audience)
        if trusted is None:
            return await self._own_access_token(claims)
        return _trusted_access_token(trusted, claims)

    def _check_signature_once(
        self,
        token: str,
        issuer: str,
        kid: str,
        compact: jws.CompactSignature,
        key: Key,
        alg: str,
    ) -> None:
        seen = (issuer, kid, token)
        if seen in self._signed:
            self._signed.move_to_end(seen)
            return
        _check_signature(compact, key, alg)
        self._signed[seen] = None
        if len(self._signed) > _SIGNATURES_KEPT:
            self._signed.popitem(last=False)

    async def _own_key(self, kid: str, alg: str) -> Key:
        key = await self.own_keys.key(kid)
        if key is None:
            raise InvalidToken("the token's signing key is unknown or retired")
        if key.algorithm != alg:
            raise InvalidToken("the token's algorithm does not match its key")
        return key.public_key()

    async def _trusted_key(self, trusted: TrustedIssuer, kid: str, alg: str) -> Key:
        if alg not in trusted.algorithms:
            raise InvalidToken("the token's signing algorithm is not accepted for its issuer")
        key = await self._remote[trusted.issuer].get(kid)
        if key is None:
            raise InvalidToken("the token's signing key is not published by its issuer")
        if key.alg not in (None, alg):
            raise InvalidToken("the token's algorithm does not match its key")
        return key

    def _check_claims(self, claims: dict[str, Any], issuer: str, audience: str) -> None:
        registry = self._registries.get((issuer, audience))
        if registry is None:
            registry = JWTClaimsRegistry(
                now=lambda: int(self._clock()),
                leeway=self._leeway,
                iss={"essential": True, "value": issuer},
                aud={"essential": True, "value": audience},
                exp={"essential": True},
                iat={"essential": True},
            )
            self._registries[issuer, audience] = registry
        try:
            registry.validate(claims)
        except ExpiredTokenError:
            raise InvalidToken("the token has expired") from None
        except MissingClaimError as error:
            raise InvalidToken(f"the token lacks required claims: {error.claim}") from None
        except InvalidClaimError as error:
            # error.claim is one of the registry's own claim names, never token text.
            if "NumericDate" in (error.description or ""):
                reason = f"the token's {error.claim} claim is not a date"
            else:
                reason = _CLAIM_REASONS.get(
                    error.claim, f"the token's {error.claim} claim is invalid"
                )
            raise InvalidToken(reason) from None

    async def _own_access_token(self, claims: dict[str, Any]) -> AccessToken:
        client_id = claims.get("client_id")
        if not isinstance(client_id, str) or not client_id:
            raise InvalidToken("the token names no client")
        if await self.own_keys.is_revoked(client_id):
            raise InvalidToken("the token's client has been revoked")
        principal = Principal(
            org_id=_org_id(claims.get(ORG_CLAIM)),
            org_kind=_org_kind(claims.get(ORG_KIND_CLAIM)),
            scopes=_scopes(claims.get("scope")),
            client_id=client_id,
        )
        return _access_token(principal, claims, client_id)

    def forget_client(self, client_id: str) -> None:
        """Refuse this client's tokens from now on (it was just revoked here)."""
        self.own_keys.mark_revoked(client_id)


_CLAIM_REASONS = {
    "nbf": "the token is not valid yet",
    "iat": "the token was issued in the future",
    "aud": "the token is meant for another audience",
    "iss": "the token's issuer is not trusted",
}


def _read(token: str) -> tuple[jws.CompactSignature, dict[str, Any], dict[str, Any]]:
    """The token split, with its header and claims (copies: the reader's own)."""
    compact, header, claims = _read_once(token)
    return compact, dict(header), dict(claims)


# A client sends the same token for its lifetime: decoded once, not at every request
# (every check on what it says is still made each time). A malformed token raises,
# and nothing is kept of it.
@functools.lru_cache(maxsize=_TOKENS_READ)
def _read_once(token: str) -> tuple[jws.CompactSignature, dict[str, Any], dict[str, Any]]:
    compact = _parse(token)
    return compact, compact.headers(), _payload(compact.payload)


def _parse(token: str) -> jws.CompactSignature:
    if len(token) > MAX_TOKEN_BYTES:
        raise InvalidToken("the token is too large")
    try:
        return jws.extract_compact(token.encode("ascii"))
    except (JoseError, ValueError):  # UnicodeError and binascii.Error are ValueErrors
        raise InvalidToken("the token is not a well-formed JWT") from None


def _check_header(header: dict[str, Any]) -> str:
    alg = header.get("alg")
    if alg not in ASYMMETRIC_ALGORITHMS:
        raise InvalidToken("the token's signing algorithm is not accepted")
    typ = header.get("typ")
    if not isinstance(typ, str) or typ.lower() not in ACCESS_TOKEN_TYPES:
        raise InvalidToken("the token is not a JWT access token (typ must be at+jwt)")
    kid = header.get("kid")
    if not isinstance(kid, str) or not kid:
        raise InvalidToken("the token does not name its signing key (kid)")
    if "crit" in header or "b64" in header:
        raise InvalidToken("the token uses JWS extensions this hub does not accept")
    return str(alg)


def _payload(payload: bytes | None) -> dict[str, Any]:
    try:
        claims = json.loads(payload or b"")
    except ValueError:
        raise InvalidToken("the token is not a well-formed JWT") from None
    if not isinstance(claims, dict):
        raise InvalidToken("the token is not a well-formed JWT")
    return claims


def _check_signature(compact: jws.CompactSignature, key: Key, alg: str) -> None:
    try:
        valid = jws.validate_compact(compact, key, registry=_REGISTRIES[alg])
    except JoseError:
        valid = False
    if not valid:
        raise InvalidToken("the token's signature does not verify")


def _trusted_access_token(trusted: TrustedIssuer, claims: dict[str, Any]) -> AccessToken:
    org_id = _org_id(claims.get(trusted.org_claim))
    client_id = claims.get("client_id") or claims.get("azp")
    if trusted.allowed_orgs is not None and org_id not in trusted.allowed_orgs:
        raise InvalidToken("the token's issuer may not speak for this organization")
    kind_claim = trusted.org_kind_claim
    principal = Principal(
        org_id=org_id,
        org_kind=_org_kind(claims.get(kind_claim)) if kind_claim else None,
        scopes=_scopes(claims.get(trusted.scope_claim)) & trusted.allowed_scopes,
        client_id=client_id if isinstance(client_id, str) else None,
    )
    return _access_token(principal, claims, principal.client_id)


def _access_token(
    principal: Principal, claims: dict[str, Any], client_id: str | None
) -> AccessToken:
    subject, token_id = claims.get("sub"), claims.get("jti")
    return AccessToken(
        principal=principal,
        issuer=claims["iss"],
        subject=subject if isinstance(subject, str) else None,
        client_id=client_id,
        token_id=token_id if isinstance(token_id, str) else None,
        expires_at=float(claims["exp"]),
    )


def _org_id(value: object) -> str:
    if not isinstance(value, str) or not SLUG.fullmatch(value):
        raise InvalidToken("the token names no valid organization")
    return value


def _org_kind(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _scopes(value: object) -> frozenset[Scope]:
    """A space-separated string (RFC 9068) or a list of names (some providers' "scp")."""
    if isinstance(value, str):
        names: list[Any] = value.split()
    elif isinstance(value, list):
        names = value
    else:
        return frozenset()
    return frozenset(_KNOWN_SCOPES[name] for name in names if name in _KNOWN_SCOPES)
