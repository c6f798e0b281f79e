"""The production graph store: Neo4j through the official async driver (``store``),
with its readers, compliance and oversight reads in modules named as in ``graph.sql``.
Imports ``graph`` and ``graph.quality``, never ``graph.sql``.
"""
