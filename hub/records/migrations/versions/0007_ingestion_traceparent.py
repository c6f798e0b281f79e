"""The trace a push belongs to, kept with its ingestion (W3C ``traceparent``), so the
worker that applies it later, in any hub process, continues that trace
(``hub.telemetry``). Null when tracing was off for the push.

Revision ID: 0007
Revises: 0006

Renumbering (should another 0007 land first): change the file name, ``revision`` and
``down_revision``, and the head named in tests/hub/test_ledger.py.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A plain ADD COLUMN: no table copy, so the triggers guarding payloads stay.
    op.add_column("ingestions", sa.Column("traceparent", sa.String(64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("ingestions") as table:
        table.drop_column("traceparent")
