"""Several hub processes as one system: alerts carried between the processes sharing a
PostgreSQL database (``relay``: the alert log and LISTEN/NOTIFY), and the websockets
of a client revoked on any process closed on every process (``revoked_sockets``).

May import ``hub.records``, ``schema``'s alert bus and ``auth``; nothing else of ``hub``.
"""
