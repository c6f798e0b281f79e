"""Alembic's entry point, run by ``hub.records.database.migrate`` on a connection it already holds.

The hub migrates its own database at start-up (and ``partnerhub db upgrade`` does it by
hand), so there is no alembic.ini: the caller passes the connection in the config.
"""

from __future__ import annotations

from alembic import context

connection = context.config.attributes["connection"]
context.configure(connection=connection, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
