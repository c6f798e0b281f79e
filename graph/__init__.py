"""The lineage graph: the canonical model and what can be asked of it.

At the top, what both stores share: the typed records (``model``), ids from natural
keys (``ids``), untyped input to records (``intake``), what a write does (``write_plan``,
``loading``), the store interface (``store``, with ``queries`` and ``oversight`` for
its listing and oversight reads), who may read what (``trust``, ``readers``,
``visibility``), lineage answers (``lineage``) and taking back what a partner
declared wrong (``retraction``). Below it:

- ``graph.sql``: the embedded store (SQLAlchemy over SQLite);
- ``graph.neo4j``: the production store (the official async driver); the two folders
  have the same modules (``store``, ``readers``, ``compliance``, ``oversight``) and
  never import each other;
- ``graph.quality``: the quality rules judged on what the stores read: compliance
  (whose reads are part of the store interface), CPV, control charts, scorecards and
  alert detection. It imports neither store.

May import ``auth.principal`` (who is reading); nothing of ``connectors``, ``schema``
or ``hub``.
"""

# The lifecycle's record types register themselves with ``graph.model.NODE_TYPES``:
# imported here so that every reader of the graph knows every kind.
from graph import lifecycle  # noqa: F401
