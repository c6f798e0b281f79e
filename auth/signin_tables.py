"""The tables of sign-in for people, in their own ``signin_metadata`` (the hub gathers
it beside ``auth_metadata``; migration ``0006_signin_for_people`` creates them).

Nothing secret is kept in clear: passwords as argon2id hashes, authorization codes and
refresh tokens as SHA-256 digests (they are 256 random bits, so a plain digest is
enough and can be looked up by value).
"""

from __future__ import annotations

from sqlalchemy import Column, DateTime, Index, MetaData, String, Table, Text

signin_metadata = MetaData()

hub_users = Table(
    "hub_users",
    signin_metadata,
    Column("user_id", String(40), primary_key=True),
    Column("email", String(320), nullable=False, unique=True),  # lower-cased
    Column("org_id", String(64), nullable=False),
    Column("org_kind", String(32), nullable=True),
    Column("scopes", String(200), nullable=False),  # space-separated
    Column("password_hash", String(200), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("disabled_at", DateTime(timezone=True), nullable=True),
    Index("ix_hub_users_org", "org_id"),
)

public_clients = Table(
    "public_clients",
    signin_metadata,
    Column("client_id", String(64), primary_key=True),
    Column("redirect_uris", Text, nullable=False),  # space-separated, compared exactly
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("revoked_at", DateTime(timezone=True), nullable=True),
)

authorization_codes = Table(
    "authorization_codes",
    signin_metadata,
    Column("code_hash", String(64), primary_key=True),
    Column("client_id", String(64), nullable=False),
    Column("redirect_uri", Text, nullable=False),
    Column("user_id", String(40), nullable=False),
    Column("scopes", String(200), nullable=False),
    Column("code_challenge", String(128), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("used_at", DateTime(timezone=True), nullable=True),
    Column("session_id", String(40), nullable=True),  # the session it opened, if any
)

signin_sessions = Table(
    "signin_sessions",
    signin_metadata,
    Column("session_id", String(40), primary_key=True),
    Column("user_id", String(40), nullable=False),
    Column("client_id", String(64), nullable=False),
    Column("scopes", String(200), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("revoked_at", DateTime(timezone=True), nullable=True),
    Index("ix_signin_sessions_user", "user_id"),
)

refresh_tokens = Table(
    "refresh_tokens",
    signin_metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("session_id", String(40), nullable=False),
    Column("issued_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("used_at", DateTime(timezone=True), nullable=True),  # rotated: a second use is theft
    Index("ix_refresh_tokens_session", "session_id"),
)

oidc_logins = Table(
    "oidc_logins",
    signin_metadata,
    Column("state_hash", String(64), primary_key=True),
    Column("provider", String(64), nullable=False),
    Column("nonce", String(64), nullable=False),
    Column("code_verifier", String(128), nullable=False),  # ours, for the provider's PKCE
    Column("request", Text, nullable=False),  # the hub authorization request, JSON
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("used_at", DateTime(timezone=True), nullable=True),
)

SIGNIN_TABLES = tuple(signin_metadata.tables)
