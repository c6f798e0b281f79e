"""The service: it assembles the other packages into the running hub, and nothing
imports it (``tests/test_layout.py`` checks).

At the top, the service itself: ``app`` (the Starlette application), ``settings``,
``cli`` (the ``partnerhub`` command) and ``render`` (its terminal output),
``observability`` (request ids, metrics), ``sockets`` (GraphQL over websockets),
``stores`` (opening the configured graph store) and ``organizations`` (the admin
routes for organizations' identifiers). Below it:

- ``hub.records``: the SQL database: ingest ledger and queue, audit trail, migrations;
- ``hub.ingest``: from a pushed export to the graph: routes, pipeline, workers, the
  push agent, replay, partner profiles and ownership checks;
- ``hub.demo``: the demo story and the network generator for benchmarks;
- ``hub.backup``: ``partnerhub backup`` / ``restore`` of the SQL database.

``hub.records`` imports no other part of ``hub``; ``hub.ingest`` imports only
``hub.records``.
"""
