"""What the hub keeps in its SQL database, and the database itself: the ingest ledger
and its queue (``ledger``), the hash-chained audit trail (``audit``), organizations'
registered identifiers (``identifiers``), what EPCIS payloads said of serials,
containers and events (``traces``), the alerts shared by hub processes
(``alert_log``), the engine and
Alembic migrations (``database``, ``migrations``) and every table gathered (``tables``).

May import ``auth`` (its tables, migrated here), ``graph``'s records; nothing else of
``hub``.
"""
