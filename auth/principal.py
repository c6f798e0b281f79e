"""Who is asking: the plain data every read and write is scoped by.

A principal comes from a verified access token (the OAuth issue) or, until then and
for local tools, is the local operator. ``graph`` may import this module (and nothing
else of ``auth``) so that stores can apply a principal's visibility in their queries.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Scope(StrEnum):
    GRAPH_READ = "graph:read"
    INGEST_WRITE = "ingest:write"
    ADMIN = "admin"


@dataclass(frozen=True, slots=True)
class Principal:
    org_id: str  # the organization's slug, e.g. "northwind"
    org_kind: str | None  # OrgKind value when known
    scopes: frozenset[Scope]
    client_id: str | None = None  # the OAuth client that asked, for the audit trail

    def has(self, scope: Scope) -> bool:
        return scope in self.scopes or Scope.ADMIN in self.scopes


# The hub's own operator on this machine: every scope. Used by the CLI and, until
# OAuth lands, by the HTTP API (which then listens on loopback only).
LOCAL_OPERATOR = Principal(
    org_id="local-operator", org_kind=None, scopes=frozenset(Scope), client_id="local-cli"
)
