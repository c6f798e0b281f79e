"""How the hub issues and accepts access tokens: one frozen object, built by the hub
from its settings and handed to every part of ``auth``.

Durations are ``timedelta``; the issuer and every URL are checked here, so a typo
fails start-up naming the field instead of failing every request later.
"""

from __future__ import annotations

import ipaddress
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Literal
from urllib.parse import urlsplit

from auth.key_wrap import KeyRing
from auth.login_limits import LoginLimits
from auth.principal import Scope

# Epoch seconds. Injected wherever time matters so tests can move it.
Clock = Callable[[], float]
system_clock: Clock = time.time

SigningAlgorithm = Literal["RS256", "ES256"]

# Asymmetric JWS algorithms a token may be signed with. Never "none", never HS*: a
# verifier that accepts HMAC can be fed a token "signed" with a published public key.
ASYMMETRIC_ALGORITHMS = frozenset(
    {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}
)


def check_url(name: str, url: str) -> None:
    """An issuer or key URL must be https, or http on loopback (development and tests)."""
    parts = urlsplit(url)
    if parts.query or parts.fragment:
        raise ValueError(f"{name} {url!r}: no query or fragment allowed")
    if not parts.hostname:
        raise ValueError(f"{name} {url!r}: expected an absolute https URL")
    if parts.scheme == "https":
        return
    if parts.scheme == "http" and _is_loopback(parts.hostname):
        return
    raise ValueError(f"{name} {url!r}: must use https (plain http only on loopback)")


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _positive(name: str, value: timedelta) -> None:
    if value <= timedelta(0):
        raise ValueError(f"{name} must be positive, got {value}")


@dataclass(frozen=True, slots=True)
class TrustedIssuer:
    """An external identity provider whose access tokens the hub accepts.

    Its tokens are checked against the keys published at ``jwks_url`` and must name
    ``audience``. The organization comes from ``org_claim``: a trusted issuer speaks
    for whichever org it puts there, so give ``allowed_orgs`` unless the issuer is
    trusted for every org. ``allowed_scopes`` caps what its tokens may grant; by
    default an outside issuer cannot mint hub administrators.
    """

    issuer: str
    jwks_url: str
    audience: str
    org_claim: str
    scope_claim: str = "scope"
    org_kind_claim: str | None = None
    algorithms: frozenset[str] = frozenset({"RS256", "ES256"})
    allowed_scopes: frozenset[Scope] = frozenset({Scope.GRAPH_READ, Scope.INGEST_WRITE})
    allowed_orgs: frozenset[str] | None = None

    def __post_init__(self) -> None:
        check_url("TrustedIssuer.issuer", self.issuer)
        check_url("TrustedIssuer.jwks_url", self.jwks_url)
        if not self.audience:
            raise ValueError(f"TrustedIssuer {self.issuer}: audience is required")
        if not self.org_claim:
            raise ValueError(f"TrustedIssuer {self.issuer}: org_claim is required")
        unsafe = set(self.algorithms) - ASYMMETRIC_ALGORITHMS
        if unsafe or not self.algorithms:
            raise ValueError(
                f"TrustedIssuer {self.issuer}: algorithms must be asymmetric "
                f"({', '.join(sorted(ASYMMETRIC_ALGORITHMS))}), got {sorted(self.algorithms)}"
            )


@dataclass(frozen=True, slots=True)
class OidcProvider:
    """An organization's OpenID Connect provider its people may sign in through, instead
    of with a hub password (``auth.oidc_login``).

    The provider only vouches for who someone is: the person must still be a hub user
    (``partnerhub users add``), found by the provider's verified ``email``, and that
    address must be in one of ``email_domains``, so a provider speaks only for its own
    organization's people. Endpoints are configured, not discovered: nothing the
    provider publishes can point the hub elsewhere.
    """

    name: str  # in URLs: /oauth/authorize/oidc?provider=<name>
    issuer: str
    client_id: str
    client_secret: str = field(repr=False)
    authorization_endpoint: str = ""
    token_endpoint: str = ""
    jwks_url: str = ""
    email_domains: frozenset[str] = frozenset()
    algorithms: frozenset[str] = frozenset({"RS256", "ES256"})

    def __post_init__(self) -> None:
        if not re.fullmatch(r"[a-z0-9-]{1,32}", self.name):
            raise ValueError(f"OIDC provider name {self.name!r}: a-z, 0-9 and - only")
        for name in ("issuer", "authorization_endpoint", "token_endpoint", "jwks_url"):
            check_url(f"OidcProvider.{name}", getattr(self, name))
        if not self.client_id or not self.client_secret:
            raise ValueError(f"OIDC provider {self.name}: client_id and client_secret are required")
        if not self.email_domains:
            raise ValueError(f"OIDC provider {self.name}: give the email_domains it speaks for")
        object.__setattr__(
            self, "email_domains", frozenset(domain.lower() for domain in self.email_domains)
        )
        if set(self.algorithms) - ASYMMETRIC_ALGORITHMS or not self.algorithms:
            raise ValueError(f"OIDC provider {self.name}: algorithms must be asymmetric")


@dataclass(frozen=True, slots=True)
class AuthConfig:
    """The hub as an OAuth authorization server and resource server.

    ``key_rotation_overlap`` is extra time an old signing key stays published after
    the last token it signed has expired (for resource servers that cache the JWKS);
    an old key is retired at rotation + token lifetime + leeway + this overlap.
    """

    issuer: str
    audience: str
    access_token_lifetime: timedelta = timedelta(minutes=15)
    key_rotation_overlap: timedelta = timedelta(0)
    trusted_issuers: Sequence[TrustedIssuer] = ()
    clock_leeway: timedelta = timedelta(seconds=30)
    signing_algorithm: SigningAlgorithm = "RS256"
    # How long another issuer's JWKS is used before it is fetched again, and the least
    # time between two fetches forced by an unknown kid (so forged kids cannot make the
    # hub hammer an identity provider).
    jwks_cache_ttl: timedelta = timedelta(minutes=5)
    jwks_refetch_cooldown: timedelta = timedelta(seconds=10)
    # How stale this hub's own keys and revoked clients may be on a replica.
    store_refresh_interval: timedelta = timedelta(seconds=5)
    scopes_supported: frozenset[Scope] = field(default_factory=lambda: frozenset(Scope))
    # Sign-in for people (authorization code + PKCE): a code is good this long; a
    # session lasts at most ``session_lifetime``, and ends sooner when its refresh token
    # is left unused for ``refresh_idle_lifetime``.
    authorization_code_lifetime: timedelta = timedelta(seconds=60)
    session_lifetime: timedelta = timedelta(hours=12)
    refresh_idle_lifetime: timedelta = timedelta(hours=1)
    oidc_providers: Sequence[OidcProvider] = ()
    # How fast a caller may try secrets and passwords (``auth.login_limits``).
    login_limits: LoginLimits = field(default_factory=LoginLimits)
    # Seals private signing keys at rest (``auth.key_wrap``); None: kept in plaintext.
    key_ring: KeyRing | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        check_url("AuthConfig.issuer", self.issuer)
        if not self.audience:
            raise ValueError("AuthConfig.audience is required")
        _positive("AuthConfig.access_token_lifetime", self.access_token_lifetime)
        _positive("AuthConfig.authorization_code_lifetime", self.authorization_code_lifetime)
        _positive("AuthConfig.session_lifetime", self.session_lifetime)
        _positive("AuthConfig.refresh_idle_lifetime", self.refresh_idle_lifetime)
        _positive("AuthConfig.jwks_cache_ttl", self.jwks_cache_ttl)
        _positive("AuthConfig.store_refresh_interval", self.store_refresh_interval)
        for name, value in (
            ("clock_leeway", self.clock_leeway),
            ("key_rotation_overlap", self.key_rotation_overlap),
            ("jwks_refetch_cooldown", self.jwks_refetch_cooldown),
        ):
            if value < timedelta(0):
                raise ValueError(f"AuthConfig.{name} must not be negative, got {value}")
        if self.clock_leeway >= self.access_token_lifetime:
            raise ValueError("AuthConfig.clock_leeway must be shorter than the token lifetime")
        providers = tuple(self.oidc_providers)
        object.__setattr__(self, "oidc_providers", providers)
        if len({provider.name for provider in providers}) != len(providers):
            raise ValueError("OIDC providers listed twice under one name")
        issuers = tuple(self.trusted_issuers)
        object.__setattr__(self, "trusted_issuers", issuers)
        names = [trusted.issuer for trusted in issuers]
        if self.issuer in names:
            raise ValueError(f"trusted issuer {self.issuer!r} is the hub's own issuer")
        if len(set(names)) != len(names):
            raise ValueError(f"trusted issuers listed twice: {sorted(names)}")

    @property
    def key_retention(self) -> timedelta:
        """How long a key stays usable for verification after it stops signing."""
        return self.access_token_lifetime + self.clock_leeway + self.key_rotation_overlap

    def endpoint(self, path: str) -> str:
        """An absolute URL of this authorization server, e.g. ``endpoint("/oauth/token")``."""
        return self.issuer.rstrip("/") + path

    def oidc_provider(self, name: str) -> OidcProvider | None:
        return next((p for p in self.oidc_providers if p.name == name), None)

    def trusted(self, issuer: str) -> TrustedIssuer | None:
        for candidate in self.trusted_issuers:
            if candidate.issuer == issuer:
                return candidate
        return None
