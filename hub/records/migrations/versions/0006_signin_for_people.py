"""Sign-in for people (authorization code + PKCE): hub users, public clients,
authorization codes, sign-in sessions and their rotating refresh tokens, and
sign-ins in flight at an external OpenID Connect provider (``auth.signin_tables``).

Revision ID: 0006
Revises: 0005

Renumbering (should another 0006 land first): change the file name, ``revision`` and
``down_revision``, and the head named in tests/hub/test_ledger.py.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "hub_users",
        sa.Column("user_id", sa.String(40), primary_key=True),
        sa.Column("email", sa.String(320), nullable=False, unique=True),
        sa.Column("org_id", sa.String(64), nullable=False),
        sa.Column("org_kind", sa.String(32), nullable=True),
        sa.Column("scopes", sa.String(200), nullable=False),
        sa.Column("password_hash", sa.String(200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("disabled_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_hub_users_org", "hub_users", ["org_id"], unique=False)
    op.create_table(
        "public_clients",
        sa.Column("client_id", sa.String(64), primary_key=True),
        sa.Column("redirect_uris", sa.Text, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_table(
        "authorization_codes",
        sa.Column("code_hash", sa.String(64), primary_key=True),
        sa.Column("client_id", sa.String(64), nullable=False),
        sa.Column("redirect_uri", sa.Text, nullable=False),
        sa.Column("user_id", sa.String(40), nullable=False),
        sa.Column("scopes", sa.String(200), nullable=False),
        sa.Column("code_challenge", sa.String(128), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("session_id", sa.String(40), nullable=True),
    )
    op.create_table(
        "signin_sessions",
        sa.Column("session_id", sa.String(40), primary_key=True),
        sa.Column("user_id", sa.String(40), nullable=False),
        sa.Column("client_id", sa.String(64), nullable=False),
        sa.Column("scopes", sa.String(200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_signin_sessions_user", "signin_sessions", ["user_id"], unique=False)
    op.create_table(
        "refresh_tokens",
        sa.Column("token_hash", sa.String(64), primary_key=True),
        sa.Column("session_id", sa.String(40), nullable=False),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_refresh_tokens_session", "refresh_tokens", ["session_id"], unique=False)
    op.create_table(
        "oidc_logins",
        sa.Column("state_hash", sa.String(64), primary_key=True),
        sa.Column("provider", sa.String(64), nullable=False),
        sa.Column("nonce", sa.String(64), nullable=False),
        sa.Column("code_verifier", sa.String(128), nullable=False),
        sa.Column("request", sa.Text, nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
    )


def downgrade() -> None:
    op.drop_table("oidc_logins")
    op.drop_index("ix_refresh_tokens_session", "refresh_tokens")
    op.drop_table("refresh_tokens")
    op.drop_index("ix_signin_sessions_user", "signin_sessions")
    op.drop_table("signin_sessions")
    op.drop_table("authorization_codes")
    op.drop_table("public_clients")
    op.drop_index("ix_hub_users_org", "hub_users")
    op.drop_table("hub_users")
