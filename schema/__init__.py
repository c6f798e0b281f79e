"""The GraphQL API: an Apollo Federation 2 subgraph (``build``) over the graph store,
as the asking principal sees it (``context``): node types (``nodes``), listings
(``query``, ``filters``, ``pagination``), lineage, compliance and oversight fields,
loaders, limits (``cost``), errors, and real-time alerts (``subscriptions`` over the
``alert_bus`` the workers feed), and one trace span per operation when the hub traces
(``tracing``). ``schema.graphql`` is the printed SDL.

May import ``graph`` and ``auth``; never ``hub`` (the hub hands it the store, the
principal and the ingest chunks).
"""
