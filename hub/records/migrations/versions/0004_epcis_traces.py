"""What EPCIS payloads said of serials, containers and events (``hub.records.traces``).

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def _said(*columns: sa.Column[Any]) -> list[sa.Column[Any]]:
    return [
        sa.Column("ingestion_id", sa.String(40), primary_key=True),
        *columns,
        sa.Column("place", sa.String(1000), nullable=False),
        sa.Column("org", sa.String(64), nullable=False),
        sa.Column("declared_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("retracted_by", sa.String(1100), nullable=True),
        sa.Column("retracted_at", sa.DateTime(timezone=True), nullable=True),
    ]


def upgrade() -> None:
    op.create_table(
        "traced_serials",
        sa.Column("serial", sa.String(512), primary_key=True),
        *_said(
            sa.Column("maker", sa.String(64), nullable=False),
            sa.Column("gtin", sa.String(14), nullable=False),
            sa.Column("lot", sa.String(200), nullable=False),
        ),
    )
    op.create_table(
        "traced_packings",
        sa.Column("container", sa.String(512), nullable=False),
        *_said(
            sa.Column("position", sa.Integer, primary_key=True),
            sa.Column("maker", sa.String(64), primary_key=True),
            sa.Column("lot", sa.String(200), primary_key=True),
            sa.Column("gtin", sa.String(14), nullable=False),
            sa.Column("unpacked", sa.Boolean, nullable=False),
        ),
    )
    op.create_index("ix_traced_packings_container", "traced_packings", ["container"], unique=False)
    op.create_table(
        "traced_events",
        sa.Column("event_id", sa.String(512), primary_key=True),
        *_said(),
    )


def downgrade() -> None:
    op.drop_table("traced_events")
    op.drop_index("ix_traced_packings_container", "traced_packings")
    op.drop_table("traced_packings")
    op.drop_table("traced_serials")
