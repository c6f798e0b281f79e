"""Alerts across hub processes: the alert log every process reads, and which audiences
listen on which process (``hub.records.alert_log``).

Revision ID: 0008
Revises: 0007

Renumbering (should another 0007 land first): change the file name, ``revision`` and
``down_revision``, and the head named in tests/hub/test_ledger.py.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "alert_log",
        sa.Column("seq", sa.BigInteger, primary_key=True, autoincrement=True),
        sa.Column("alert_id", sa.String(64), nullable=False),
        sa.Column("audience", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("logged_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("alert_id", "audience", name="uq_alert_log_alert_audience"),
    )
    op.create_table(
        "alert_listeners",
        sa.Column("process_id", sa.String(64), primary_key=True),
        sa.Column("audience", sa.String(64), primary_key=True),
        sa.Column("kinds", sa.String(1000), nullable=False),
        sa.Column("seen_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_alert_listeners_seen_at", "alert_listeners", ["seen_at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_alert_listeners_seen_at", table_name="alert_listeners")
    op.drop_table("alert_listeners")
    op.drop_table("alert_log")
