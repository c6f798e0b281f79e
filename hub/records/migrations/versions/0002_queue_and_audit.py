"""Queued ingestion (claims, retries, corrections) and the hash-chained audit trail.

Revision ID: 0002
Revises: 0001

Both the audit trail and the ledger's payloads are append-only: triggers refuse to
update or delete an audit entry, and to delete an ingestion or change what was
received. A database owner can still drop a trigger; the audit chain is what makes
such an edit visible (``partnerhub audit verify``).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

RECEIVED_COLUMNS = (
    "id",
    "connector",
    "org",
    "submitted_by",
    "received_at",
    "size",
    "sha256",
    "payload",
)


def upgrade() -> None:
    with op.batch_alter_table("ingestions") as table:
        table.add_column(
            sa.Column("all_or_nothing", sa.Boolean, nullable=False, server_default=sa.false())
        )
        table.add_column(
            sa.Column("owner_only", sa.Boolean, nullable=False, server_default=sa.false())
        )
        table.add_column(sa.Column("supersedes", sa.String(40), nullable=True))
        table.add_column(sa.Column("attempts", sa.Integer, nullable=False, server_default="0"))
        table.add_column(sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True))
        table.add_column(sa.Column("claimed_by", sa.String(64), nullable=True))
        table.add_column(sa.Column("claimed_until", sa.DateTime(timezone=True), nullable=True))
    op.create_index("ix_ingestions_queue", "ingestions", ["status", "org", "received_at"])
    op.create_index("ix_ingestions_supersedes", "ingestions", ["supersedes"])

    op.create_table(
        "audit_log",
        sa.Column(
            "seq",
            sa.BigInteger().with_variant(sa.Integer, "sqlite"),
            primary_key=True,
            autoincrement=False,
        ),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor_client", sa.String(64), nullable=True),
        sa.Column("actor_org", sa.String(64), nullable=False),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("target", sa.String(200), nullable=False),
        sa.Column("outcome", sa.String(32), nullable=False),
        sa.Column("detail", sa.JSON, nullable=False),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
    )
    op.create_index("ix_audit_log_target", "audit_log", ["target"])
    # One row: the chain's head. Appenders lock it, so entries get gapless numbers and
    # each links to the one before, even with several hub processes writing at once.
    op.create_table(
        "audit_head",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("seq", sa.BigInteger().with_variant(sa.Integer, "sqlite"), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
    )
    op.execute("INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, '" + "0" * 64 + "')")
    _append_only_triggers()


def _append_only_triggers() -> None:
    received_changed = " OR ".join(f"NEW.{column} <> OLD.{column}" for column in RECEIVED_COLUMNS)
    if op.get_bind().dialect.name == "postgresql":
        # A trigger function takes its arguments through TG_ARGV: here, the message.
        op.execute(
            "CREATE FUNCTION partnerhub_refuse() RETURNS trigger AS $$ "
            "BEGIN RAISE EXCEPTION '%', TG_ARGV[0]; END $$ LANGUAGE plpgsql"
        )
        op.execute(
            "CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log "
            "FOR EACH ROW EXECUTE FUNCTION partnerhub_refuse('the audit trail is append-only')"
        )
        op.execute(
            "CREATE TRIGGER ingestions_keep_deliveries BEFORE DELETE ON ingestions "
            "FOR EACH ROW EXECUTE FUNCTION partnerhub_refuse('a received payload is never deleted')"
        )
        op.execute(
            "CREATE TRIGGER ingestions_keep_payloads BEFORE UPDATE ON ingestions "
            f"FOR EACH ROW WHEN ({received_changed}) "
            "EXECUTE FUNCTION partnerhub_refuse('what was received is never changed')"
        )
        return
    op.execute(
        "CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log "
        "BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END"
    )
    op.execute(
        "CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log "
        "BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END"
    )
    op.execute(
        "CREATE TRIGGER ingestions_keep_deliveries BEFORE DELETE ON ingestions "
        "BEGIN SELECT RAISE(ABORT, 'a received payload is never deleted'); END"
    )
    op.execute(
        f"CREATE TRIGGER ingestions_keep_payloads BEFORE UPDATE ON ingestions WHEN {received_changed} "
        "BEGIN SELECT RAISE(ABORT, 'what was received is never changed'); END"
    )


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        op.execute("DROP TRIGGER ingestions_keep_payloads ON ingestions")
        op.execute("DROP TRIGGER ingestions_keep_deliveries ON ingestions")
        op.execute("DROP TABLE audit_log")
        op.execute("DROP FUNCTION partnerhub_refuse()")
    else:
        for trigger in ("ingestions_keep_payloads", "ingestions_keep_deliveries"):
            op.execute(f"DROP TRIGGER {trigger}")
        op.drop_table("audit_log")
    op.drop_table("audit_head")
    op.drop_index("ix_ingestions_supersedes", "ingestions")
    op.drop_index("ix_ingestions_queue", "ingestions")
    with op.batch_alter_table("ingestions") as table:
        for column in (
            "claimed_until",
            "claimed_by",
            "next_attempt_at",
            "attempts",
            "supersedes",
            "owner_only",
            "all_or_nothing",
        ):
            table.drop_column(column)
