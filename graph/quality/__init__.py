"""The quality rules, decided once for both stores: compliance with quality agreements
and qualifications (``compliance``; its reads are part of the store interface),
continued process verification (``cpv``), control charts per vendor
(``control_charts``), vendor scorecards (``scorecard``) and alert detection
(``alerts``). Imports ``graph``'s top; never a store (``graph.sql``, ``graph.neo4j``).
"""
