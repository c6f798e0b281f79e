"""What one principal may read, as the value every store read takes.

A read answers either from the whole graph (the operator's ``admin`` scope) or from
the part one organization may read. Who may read a node is kept on the node at write
time (``graph.readers`` says by which rules), so a store applies a ``Visibility`` as
one cheap check per node inside its query: a hidden node is absent from every answer,
exactly as if it did not exist. Organizations and sites are directory data, and
inspections public record, readable by every authenticated principal, so they carry
no readers and pass by their kind.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from auth.principal import Principal, Scope
from graph.ids import ID_PREFIXES, NodeKind, shown

# Readable by every authenticated principal, whatever its organization: the directory,
# and agencies' inspections (which the agencies publish: ``graph.lifecycle``).
PUBLIC_KINDS: frozenset[NodeKind] = frozenset(
    {NodeKind.ORGANIZATION, NodeKind.SITE, NodeKind.INSPECTION}
)

_SLUG = re.compile(r"^[a-z0-9][a-z0-9._-]*$")


@dataclass(frozen=True, slots=True)
class Visibility:
    """Everything (``org`` is None) or what the organization ``org`` (a slug) may read."""

    org: str | None = None

    def __post_init__(self) -> None:
        if self.org is not None and (len(self.org) > 64 or not _SLUG.match(self.org)):
            raise ValueError(
                f"{shown(self.org)} is not an organization slug (expected e.g. 'birch')"
            )

    @classmethod
    def for_org(cls, slug: str) -> Visibility:
        return cls(slug)

    @classmethod
    def of(cls, principal: Principal) -> Visibility:
        """The operator's admin scope sees everything; anyone else, its organization's part."""
        if Scope.ADMIN in principal.scopes:
            return EVERYTHING
        return cls.for_org(principal.org_id)

    @property
    def everything(self) -> bool:
        return self.org is None

    def __repr__(self) -> str:
        return "Visibility(EVERYTHING)" if self.org is None else f"Visibility.for_org({self.org!r})"


EVERYTHING = Visibility()


def id_range(kind: NodeKind) -> tuple[str, str]:
    """[low, high) bounds holding exactly the ids of ``kind`` (``batch:`` up to ``batch;``):
    every id is its kind's prefix and a colon, and ';' sorts right after ':'."""
    prefix = ID_PREFIXES[kind][0]
    return f"{prefix}:", f"{prefix};"
