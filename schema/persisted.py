"""Automatic persisted queries: Apollo's APQ protocol, so a client sends a hash, not
the document, for a query the hub has seen.

A BI dashboard or an Apollo Client repeats the same few documents, some of them kilobytes
long. With APQ a client first sends only ``extensions.persistedQuery = {version: 1,
sha256Hash}``; a hub that knows the hash runs the document it stands for, and one that
does not answers ``PersistedQueryNotFound`` (code ``PERSISTED_QUERY_NOT_FOUND``, HTTP
200), upon which the client sends the document with its hash once and the hub keeps it.
Apollo Client's ``PersistedQueryLink``, Apollo Router and Kotlin and iOS clients speak
it; a GET with the hash is cacheable by a CDN.

The hub keeps documents by hash in memory, the least recently used dropped beyond
``capacity``: it is a cache, not a registry (each hub process learns on its own; a
client whose hash was dropped simply sends the document again). A document is kept only
under its own SHA-256 (a wrong hash is refused, so nobody can plant a document under
another's hash), and it is checked, limited and costed on every run like any other.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from collections.abc import Iterator
from typing import Any

from graphql import GraphQLError
from strawberry.extensions import SchemaExtension

from schema.errors import BAD_USER_INPUT

NOT_FOUND = "PERSISTED_QUERY_NOT_FOUND"
NOT_SUPPORTED = "PERSISTED_QUERY_NOT_SUPPORTED"


class PersistedDocuments:
    """Documents by the hex SHA-256 of their text, least recently used dropped first."""

    def __init__(self, capacity: int = 2_000) -> None:
        self.capacity = capacity
        self._documents: OrderedDict[str, str] = OrderedDict()

    def __len__(self) -> int:
        return len(self._documents)

    def document(self, query: str | None, persisted: Any) -> str:
        """The document to run for a request carrying ``persisted`` (its
        ``extensions.persistedQuery``) and maybe ``query``; GraphQLError for the client
        when there is none or the hash does not match."""
        if not isinstance(persisted, dict) or persisted.get("version") != 1:
            raise GraphQLError(
                "PersistedQueryNotSupported: extensions.persistedQuery must be "
                '{"version": 1, "sha256Hash": "<hex>"}',
                extensions={"code": NOT_SUPPORTED},
            )
        digest = persisted.get("sha256Hash")
        if not isinstance(digest, str):
            raise GraphQLError(
                "extensions.persistedQuery.sha256Hash: a hex SHA-256 of the query is required",
                extensions={"code": BAD_USER_INPUT},
            )
        digest = digest.lower()
        if query is None:
            known = self._documents.get(digest)
            if known is None:
                raise GraphQLError("PersistedQueryNotFound", extensions={"code": NOT_FOUND})
            self._documents.move_to_end(digest)
            return known
        if hashlib.sha256(query.encode()).hexdigest() != digest:
            raise GraphQLError(
                "extensions.persistedQuery.sha256Hash: provided sha does not match query",
                extensions={"code": BAD_USER_INPUT},
            )
        self._documents[digest] = query
        self._documents.move_to_end(digest)
        while len(self._documents) > self.capacity:
            self._documents.popitem(last=False)
        return query


class PersistedQueries(SchemaExtension):
    """Puts the document a persisted-query hash stands for in place before parsing."""

    def __init__(self, documents: PersistedDocuments) -> None:
        self.documents = documents

    def on_operation(self) -> Iterator[None]:
        context = self.execution_context
        persisted = (context.operation_extensions or {}).get("persistedQuery")
        if persisted is not None:
            context.query = self.documents.document(context.query, persisted)
        yield
