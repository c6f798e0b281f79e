"""The ingest path, from a partner's export to the graph: the HTTP routes (``routes``),
applying one payload (``pipeline``), the workers draining the ledger's queue
(``worker``), the partner-side push agent (``push``), rebuilding a store from the ledger
(``replay``), finding a partner's CSV profile (``profiles``) and the ownership checks
every push goes through (``ownership``).

May import ``connectors``, ``graph``, ``auth`` and ``hub.records``; not the service at
``hub``'s top, nor ``hub.demo``.
"""
