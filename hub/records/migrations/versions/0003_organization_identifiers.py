"""Organizations' identifiers (GS1 company prefixes, GLNs, FEI, DUNS), registered once.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "organization_identifiers",
        sa.Column("scheme", sa.String(16), primary_key=True),
        sa.Column("value", sa.String(32), primary_key=True),
        sa.Column("org", sa.String(64), nullable=False),
        sa.Column("added_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("added_by", sa.String(128), nullable=False),
    )
    op.create_index(
        "ix_organization_identifiers_org", "organization_identifiers", ["org"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_organization_identifiers_org", "organization_identifiers")
    op.drop_table("organization_identifiers")
