"""Running the hub's servers outside tests and benchmarks: ``bootstrap.sh`` (the machine
set-up ``make`` calls), ``postgres`` (a throwaway PostgreSQL cluster) and ``neo4j``
(Neo4j from Maven Central). Imports nothing of the product's packages.
"""
