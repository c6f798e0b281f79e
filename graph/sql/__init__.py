"""The embedded graph store: SQLAlchemy over SQLite, genealogy by recursive CTE
(``store``), with its readers, compliance and oversight reads in modules named as in
``graph.neo4j``. Imports ``graph`` and ``graph.quality``, never ``graph.neo4j``.
"""
