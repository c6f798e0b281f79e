"""Backups of the hub's SQL database and restoring one (``partnerhub backup`` / ``restore``).

PostgreSQL (or the embedded SQLite file) is the system of record: the ledger with every
payload, the audit trail, clients, keys, people, identifiers, alert targets and their
outbox. The graph is derived from the ledger and is rebuilt by ``partnerhub replay``, so
it is not in a backup. ``archive`` holds the file format (a zip of one JSON Lines member
per table and a manifest) and writes a backup; ``restore`` checks one whole before it
writes a row, loads it, and verifies the audit chain; ``commands`` is the CLI's part.

May import ``hub.records``, ``hub.settings`` and ``auth``'s principal; nothing imports it but
``hub.cli``.
"""
