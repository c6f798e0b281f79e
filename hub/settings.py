"""The hub's configuration: one typed object, read once at start-up.

Values come from the environment (``HUB_*``), then a ``.env`` file, then the defaults
below. A malformed value fails start-up with the variable's name.
"""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    AliasChoices,
    BaseModel,
    Field,
    SecretStr,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from auth.config import AuthConfig, OidcProvider, TrustedIssuer
from auth.key_wrap import KeyEncryptionKey, KeyRing
from auth.login_limits import LoginLimits
from auth.rate_limits import Rate
from graph.directory import Directory
from graph.lineage import MAX_LINEAGE_DEPTH
from hub.ingest.worker import QueuePolicy
from hub.limits.graphql_budget import CostBudgets
from hub.limits.ingest_quotas import IngestQuotas
from hub.notify.dispatcher import DeliveryPolicy
from hub.notify.email import SmtpRelay
from hub.records.database import async_url
from hub.web.cors import origin
from hub.web.transport import proxy_address
from schema.context import Limits
from schema.cost import DEFAULT_MAX_COST

DEFAULT_STORE = "sqlite:///var/partnerhub.sqlite"
DEFAULT_DATABASE = "sqlite:///var/partnerhub-ledger.sqlite"


class TrustedIssuerSettings(BaseModel):
    """One external identity provider (HUB_AUTH_TRUSTED_ISSUERS is a JSON list of these)."""

    issuer: str
    jwks_url: str
    audience: str
    org_claim: str
    scope_claim: str = "scope"
    org_kind_claim: str | None = None
    allowed_orgs: list[str] | None = None


class OidcProviderSettings(BaseModel):
    """An organization's OpenID Connect provider (HUB_AUTH_OIDC_PROVIDERS is a JSON list)."""

    name: str
    issuer: str
    client_id: str
    client_secret: SecretStr
    authorization_endpoint: str
    token_endpoint: str
    jwks_url: str
    email_domains: list[str]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="HUB_", env_file=".env", extra="ignore")

    store: str = Field(
        DEFAULT_STORE,
        description="Graph store URL: sqlite:///PATH (embedded) or bolt:// / neo4j:// (Neo4j).",
    )
    neo4j_user: str | None = None
    neo4j_password: SecretStr | None = None
    neo4j_database: str | None = None
    log_level: str = "INFO"
    log_format: Literal["text", "json"] = Field(
        "text",
        description="text for people; json (one object a line, with the request id) for collectors.",
    )
    tracing: bool = Field(
        False, description="Send OpenTelemetry traces (OTEL_* variables say where; hub.telemetry)."
    )
    # The OpenTelemetry variable itself, read once here: setting it turns tracing on too
    # ("none" leaves it off), as it would in any OpenTelemetry-instrumented service.
    otel_traces_exporter: str | None = Field(
        None, validation_alias=AliasChoices("OTEL_TRACES_EXPORTER", "otel_traces_exporter")
    )
    database: str = Field(
        DEFAULT_DATABASE,
        description="SQL database of the ledger, OAuth clients and audit trail: sqlite:///PATH,"
        " or postgresql://USER@HOST/DB in production.",
    )
    ingest_workers: int = Field(2, ge=0, description="Workers applying queued ingestions.")
    ingest_lease_seconds: float = Field(
        60.0, gt=0, description="How long a worker's claim lasts unless renewed."
    )
    ingest_poll_seconds: float = Field(1.0, gt=0, description="Queue look-up interval when idle.")
    ingest_retry_max_seconds: float = Field(
        60.0, gt=0, description="Longest wait between tries while the graph store is down."
    )
    profiles_dir: Path | None = Field(
        None,
        description="Folder of partners' CSV mapping profiles (NAME.yaml), beside the shipped ones.",
    )
    ingest_max_bytes: int = Field(100 * 2**20, ge=1, description="Largest payload accepted.")
    # Loopback by default: until OAuth lands the API answers as the local operator.
    host: str = "127.0.0.1"
    port: int = Field(8000, ge=1, le=65535)

    auth_issuer: str | None = Field(
        None,
        description="This hub's OAuth issuer URL (https; default http://HOST:PORT on loopback).",
    )
    auth_audience: str = "partnerhub"
    auth_token_minutes: int = Field(15, ge=1, le=24 * 60)
    auth_session_hours: float = Field(
        12.0, gt=0, description="A person's sign-in session lasts at most this long."
    )
    auth_session_idle_minutes: float = Field(
        60.0, gt=0, description="A sign-in session ends when not refreshed for this long."
    )
    auth_oidc_providers: list[OidcProviderSettings] = Field(
        default_factory=list,
        description="Organizations' OpenID Connect providers people may sign in through.",
    )
    auth_trusted_issuers: list[TrustedIssuerSettings] = Field(
        default_factory=list, description="External identity providers whose tokens count."
    )
    metrics_public: bool = Field(False, description="Serve /metrics without a token.")
    directory: Directory = Field(
        Directory.RELATED,
        description="Organizations a partner lists: those it is related to (related), or"
        " every one on the hub (published: a network that publishes its directory).",
    )
    alerts_queue_size: int = Field(
        1000,
        ge=1,
        description="Alerts waiting for one slow subscriber at most; beyond, the oldest drop.",
    )
    alerts_relay_poll_seconds: float = Field(
        2.0,
        gt=0,
        description="With PostgreSQL: how often each process reads the shared alert log "
        "besides when told of new alerts (a lost notice is made up for within this time).",
    )
    revocation_poll_seconds: float = Field(
        1.0,
        gt=0,
        description="How often each process looks for revoked clients whose websockets it "
        "holds open, to close them (4403).",
    )

    notify_max_attempts: int = Field(
        8, ge=1, description="Attempts to deliver one alert to a webhook or address, at most."
    )
    notify_base_delay_seconds: float = Field(
        10.0, gt=0, description="Wait after a first failed attempt; doubled after each further one."
    )
    notify_max_delay_seconds: float = Field(
        3600.0, gt=0, description="Longest wait between two attempts of one delivery."
    )
    notify_timeout_seconds: float = Field(
        10.0, gt=0, description="One attempt (HTTP request or SMTP session) is given up after it."
    )
    notify_poll_seconds: float = Field(
        1.0, gt=0, description="How often the sender looks for deliveries coming due."
    )
    webhooks_allow_http: bool = Field(
        False, description="Accept plain-http webhook URLs (a receiver on a trusted network)."
    )
    smtp_host: str | None = Field(None, description="The SMTP relay that sends alert e-mail.")
    smtp_port: int = Field(587, ge=1, le=65535)
    smtp_starttls: bool = Field(True, description="Upgrade the relay connection with STARTTLS.")
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_from: str | None = Field(None, description="The From address of alert e-mail.")

    graphql_max_query_depth: int = Field(12, ge=1)
    graphql_max_aliases: int = Field(30, ge=0)
    graphql_max_tokens: int = Field(5_000, ge=100)
    graphql_max_page_size: int = Field(500, ge=1)
    graphql_max_lineage_depth: int = Field(20, ge=0, le=MAX_LINEAGE_DEPTH)
    graphql_max_cost: int = Field(
        DEFAULT_MAX_COST,
        ge=1,
        description="Costliest query accepted (schema/cost.py says how a query is priced).",
    )
    graphql_timeout_seconds: float = Field(
        30.0, gt=0, description="Execution of one GraphQL operation is stopped after it."
    )
    graphql_max_body_bytes: int = Field(
        2**20, ge=1, description="Largest POST /graphql body accepted (413 beyond)."
    )
    graphql_compiled: bool = Field(
        True,
        description="Answer plain reads (look-ups, listings, their links) in one store "
        "query each (schema/compiled); false: every request field by field by graphql-core.",
    )
    # Limits, each counted per hub process (auth.rate_limits); 0 turns one off.
    limit_token_per_address: int = Field(
        300, ge=0, description="POST /oauth/token requests per minute from one address."
    )
    limit_token_per_client: int = Field(
        60, ge=0, description="Client-credentials token requests per minute for one client id."
    )
    limit_token_failures: int = Field(
        20,
        ge=0,
        description="Failed client authentications per failure window, per address and per"
        " client id; beyond, refused before the secret is hashed.",
    )
    limit_signin_per_address: int = Field(
        60, ge=0, description="Sign-in form submissions (POST /oauth/authorize) per minute."
    )
    limit_signin_failures: int = Field(
        10,
        ge=0,
        description="Wrong passwords per failure window, per address and per account;"
        " beyond, refused before the password is hashed.",
    )
    limit_failure_window_seconds: int = Field(
        900, ge=1, description="The window of the token and sign-in failure limits."
    )
    limit_graphql_cost: int = Field(
        10_000_000,
        ge=0,
        description="Query cost units per GraphQL window for one client or person.",
    )
    limit_graphql_operator_cost: int = Field(
        100_000_000, ge=0, description="The same for tokens holding admin (the operator's)."
    )
    limit_graphql_window_seconds: int = Field(60, ge=1)
    limit_ingest_pushes: int = Field(
        20_000, ge=0, description="Pushes per ingest window for one organization."
    )
    limit_ingest_bytes: int = Field(
        20 * 2**30, ge=0, description="Payload bytes per ingest window for one organization."
    )
    limit_ingest_window_seconds: int = Field(3600, ge=1)
    shutdown_seconds: float = Field(
        10.0,
        gt=0,
        description="On SIGTERM, how long requests in flight may finish before they are cancelled.",
    )

    # Hardening (hub.web): CORS, TLS, trusted proxies.
    cors_origins: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Web origins whose pages may call the hub (comma-separated; none by default).",
    )
    trusted_proxies: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Addresses or networks of proxies whose X-Forwarded-For/-Proto count.",
    )
    tls_cert_file: Path | None = Field(None, description="PEM certificate chain: serve https.")
    tls_key_file: Path | None = Field(None, description="PEM private key of the certificate.")
    env: Literal["development", "production"] = Field(
        "development", description="production: refuse to start with secrets unprotected."
    )
    key_encryption_key: SecretStr | None = Field(
        None, description="Seals signing keys at rest: 32 random bytes, base64 (hub.sealing)."
    )
    previous_key_encryption_keys: Annotated[list[SecretStr], NoDecode] = Field(
        default_factory=list,
        description="Older KEKs, still opening what they sealed until `keys rewrap` (comma-separated).",
    )

    @field_validator(
        "cors_origins", "trusted_proxies", "previous_key_encryption_keys", mode="before"
    )
    @classmethod
    def _listed(cls, value: Any) -> Any:
        """A JSON list, or the friendlier comma-separated words."""
        if isinstance(value, str):
            text = value.strip()
            if text.startswith("["):
                return json.loads(text)
            return [word.strip() for word in text.split(",") if word.strip()]
        return value

    @field_validator("cors_origins")
    @classmethod
    def _origins(cls, value: list[str]) -> list[str]:
        return [origin(each) for each in value]

    @field_validator("trusted_proxies")
    @classmethod
    def _proxies(cls, value: list[str]) -> list[str]:
        return [proxy_address(each) for each in value]

    @model_validator(mode="after")
    def _tls_pair(self) -> Settings:
        if (self.tls_cert_file is None) != (self.tls_key_file is None):
            raise ValueError("HUB_TLS_CERT_FILE and HUB_TLS_KEY_FILE go together: set both")
        for name, path in (
            ("HUB_TLS_CERT_FILE", self.tls_cert_file),
            ("HUB_TLS_KEY_FILE", self.tls_key_file),
        ):
            if path is not None and not path.is_file():
                raise ValueError(f"{name}={path}: no such file")
        return self

    def limits(self) -> Limits:
        return Limits(
            max_query_depth=self.graphql_max_query_depth,
            max_aliases=self.graphql_max_aliases,
            max_tokens=self.graphql_max_tokens,
            max_page_size=self.graphql_max_page_size,
            default_page_size=min(50, self.graphql_max_page_size),
            max_lineage_depth=self.graphql_max_lineage_depth,
            max_cost=self.graphql_max_cost,
            timeout_seconds=self.graphql_timeout_seconds,
        )

    def login_limits(self) -> LoginLimits:
        failures = self.limit_failure_window_seconds
        return LoginLimits(
            token_per_address=Rate(self.limit_token_per_address, 60),
            token_per_client=Rate(self.limit_token_per_client, 60),
            token_failures=Rate(self.limit_token_failures, failures),
            signin_per_address=Rate(self.limit_signin_per_address, 60),
            signin_failures=Rate(self.limit_signin_failures, failures),
        )

    def cost_budgets(self) -> CostBudgets:
        window = self.limit_graphql_window_seconds
        return CostBudgets(
            per_client=Rate(self.limit_graphql_cost, window),
            per_operator=Rate(self.limit_graphql_operator_cost, window),
        )

    def ingest_quotas(self) -> IngestQuotas:
        window = self.limit_ingest_window_seconds
        return IngestQuotas(
            pushes=Rate(self.limit_ingest_pushes, window),
            payload_bytes=Rate(self.limit_ingest_bytes, window),
        )

    def auth_config(self) -> AuthConfig:
        return AuthConfig(
            login_limits=self.login_limits(),
            issuer=self.auth_issuer or f"http://{self.host}:{self.port}",
            audience=self.auth_audience,
            access_token_lifetime=timedelta(minutes=self.auth_token_minutes),
            session_lifetime=timedelta(hours=self.auth_session_hours),
            refresh_idle_lifetime=timedelta(minutes=self.auth_session_idle_minutes),
            key_ring=self.key_ring(),
            oidc_providers=tuple(
                OidcProvider(
                    name=provider.name,
                    issuer=provider.issuer,
                    client_id=provider.client_id,
                    client_secret=provider.client_secret.get_secret_value(),
                    authorization_endpoint=provider.authorization_endpoint,
                    token_endpoint=provider.token_endpoint,
                    jwks_url=provider.jwks_url,
                    email_domains=frozenset(provider.email_domains),
                )
                for provider in self.auth_oidc_providers
            ),
            trusted_issuers=tuple(
                TrustedIssuer(
                    issuer=trusted.issuer,
                    jwks_url=trusted.jwks_url,
                    audience=trusted.audience,
                    org_claim=trusted.org_claim,
                    scope_claim=trusted.scope_claim,
                    org_kind_claim=trusted.org_kind_claim,
                    allowed_orgs=frozenset(trusted.allowed_orgs)
                    if trusted.allowed_orgs is not None
                    else None,
                )
                for trusted in self.auth_trusted_issuers
            ),
        )

    def key_ring(self) -> KeyRing | None:
        """The KEKs that seal signing keys (``auth.key_wrap``), checked here rather than
        by a validator so that no error message can echo a key: ValueError names the
        variable only."""
        if self.key_encryption_key is None:
            if self.previous_key_encryption_keys:
                raise ValueError(
                    "HUB_PREVIOUS_KEY_ENCRYPTION_KEYS is set without HUB_KEY_ENCRYPTION_KEY"
                )
            return None
        return KeyRing(
            KeyEncryptionKey.from_base64(self.key_encryption_key.get_secret_value()),
            tuple(
                KeyEncryptionKey.from_base64(
                    previous.get_secret_value(), "HUB_PREVIOUS_KEY_ENCRYPTION_KEYS"
                )
                for previous in self.previous_key_encryption_keys
            ),
        )

    def database_url(self) -> str:
        """The database's SQLAlchemy URL, with the async driver (and the folder) in place."""
        return async_url(self.database)

    def queue_policy(self) -> QueuePolicy:
        return QueuePolicy(
            lease=timedelta(seconds=self.ingest_lease_seconds),
            poll=self.ingest_poll_seconds,
            retry_max=self.ingest_retry_max_seconds,
        )

    def delivery_policy(self) -> DeliveryPolicy:
        return DeliveryPolicy(
            max_attempts=self.notify_max_attempts,
            base_delay=timedelta(seconds=self.notify_base_delay_seconds),
            max_delay=timedelta(seconds=self.notify_max_delay_seconds),
            timeout=self.notify_timeout_seconds,
            poll=self.notify_poll_seconds,
        )

    def smtp_relay(self) -> SmtpRelay | None:
        """The relay for alert e-mail, or None while HUB_SMTP_HOST or HUB_SMTP_FROM is unset."""
        if self.smtp_host is None or self.smtp_from is None:
            return None
        return SmtpRelay(
            host=self.smtp_host,
            port=self.smtp_port,
            starttls=self.smtp_starttls,
            sender=self.smtp_from,
            username=self.smtp_username,
            password=None if self.smtp_password is None else self.smtp_password.get_secret_value(),
            timeout=self.notify_timeout_seconds,
        )

    def tracing_on(self) -> bool:
        exporter = (self.otel_traces_exporter or "").strip().lower()
        return (self.tracing and exporter != "none") or exporter not in ("", "none")

    def store_label(self) -> str:
        """The store's URL for people and the audit trail, without any credentials in it."""
        scheme, sep, rest = self.store.partition("://")
        return scheme + sep + rest.rpartition("@")[2] if sep else self.store

    def sqlite_path(self) -> Path | None:
        if self.store.startswith("sqlite:///"):
            return Path(self.store.removeprefix("sqlite:///"))
        return None
