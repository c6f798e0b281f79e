"""Secrets sealed at rest: ``signing_keys.kek_id`` and ``alert_targets.secret_kek_id``
name the key-encryption key that sealed a row's private key or webhook secret
(``auth.key_wrap``). Existing rows keep NULL, which reads as plaintext, so nothing
stops working; a hub started with ``HUB_KEY_ENCRYPTION_KEY`` seals them
(``AuthStore.setup``, the alert dispatcher).

Revision ID: 0009
Revises: 0008

Renumbering (should another 0009 land first): change the file name, ``revision`` and
``down_revision``, and the head named in tests/hub/test_ledger.py.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("signing_keys") as table:
        table.add_column(sa.Column("kek_id", sa.String(32), nullable=True))
    with op.batch_alter_table("alert_targets") as table:
        table.add_column(sa.Column("secret_kek_id", sa.String(32), nullable=True))


def downgrade() -> None:
    # A sealed key cannot be read without its KEK column: refuse rather than lose keys.
    bind = op.get_bind()
    sealed = bind.execute(
        sa.text(
            "SELECT (SELECT count(*) FROM signing_keys WHERE kek_id IS NOT NULL)"
            " + (SELECT count(*) FROM alert_targets WHERE secret_kek_id IS NOT NULL)"
        )
    )
    if sealed.scalar():
        raise RuntimeError(
            "signing keys or webhook secrets are sealed: unseal them before downgrading "
            "below 0009 (or retire the keys and register the webhooks again)"
        )
    with op.batch_alter_table("alert_targets") as table:
        table.drop_column("secret_kek_id")
    with op.batch_alter_table("signing_keys") as table:
        table.drop_column("kek_id")
