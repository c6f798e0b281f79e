"""A real Neo4j Community server from Maven Central (``pom.xml``), started and stopped by
``launcher`` for development, tests and benchmarks."""
