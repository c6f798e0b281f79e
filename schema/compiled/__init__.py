"""Reads of the lineage graph's nodes answered in one store query, not field by field.

graphql-core executes a request field by field: a resolver, an awaitable and an
extension hook per field, and a store read per level of the selection (the
DataLoaders). For the requests a BI tool and a recall repeat most (a lot by id with
its vendor, its inputs and theirs; a page of lots), that was most of the hub's time.
Here such a request is compiled once per document (``plan``) into the store's tree
read (``GraphStore.read_tree``: one Cypher query on Neo4j, as ``@neo4j/graphql``
compiles a request) and its answer shaped straight from what comes back (``run``).

What it answers is exactly what graphql-core would: the same root resolvers' checks,
the same stored values serialized by the same GraphQL types, the same visibility
(inside the store's query). Whatever it does not know how to answer (a field with a
resolver of its own, a directive, a fragment on an interface, any error at all) goes
to graphql-core unchanged, so the answer, errors included, is always graphql-core's.
``tests/schema/test_compiled.py`` holds both to the same answers.
"""
