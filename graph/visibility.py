"""What one principal may read, as the value every store read takes.

A read answers either from the whole graph (the operator's ``admin`` scope) or from
the part one organization may read. Who may read a node is kept on the node at write
time (``graph.readers`` says by which rules), so a store applies a ``Visibility`` as
one cheap check per node inside its query: a hidden node is absent from every answer,
exactly as if it did not exist. Inspections are public record, readable by every
authenticated principal, so they carry no readers and pass by their kind. Organizations
and sites are the directory: they carry no readers either, and pass by the rule of
``graph.directory`` (the organizations the principal is related to, or all of them
where the network publishes its directory), checked in the query.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from auth.principal import Principal, Scope
from graph.directory import DIRECTORY_KINDS, PUBLIC_RECORD_KINDS, Directory, public_kinds
from graph.ids import ID_PREFIXES, NodeKind, shown

# Kinds that keep no readers: the directory (``graph.directory``) and agencies'
# inspections (which the agencies publish: ``graph.lifecycle``).
UNREAD_KINDS: frozenset[NodeKind] = DIRECTORY_KINDS | PUBLIC_RECORD_KINDS

_SLUG = re.compile(r"^[a-z0-9][a-z0-9._-]*$")


@dataclass(frozen=True, slots=True)
class Visibility:
    """Everything (``org`` is None) or what the organization ``org`` (a slug) may read,
    its part of the partner directory being as ``directory`` says."""

    org: str | None = None
    directory: Directory = Directory.RELATED

    def __post_init__(self) -> None:
        if self.org is not None and (len(self.org) > 64 or not _SLUG.match(self.org)):
            raise ValueError(
                f"{shown(self.org)} is not an organization slug (expected e.g. 'birch')"
            )

    @classmethod
    def for_org(cls, slug: str, directory: Directory = Directory.RELATED) -> Visibility:
        return cls(slug, directory)

    @classmethod
    def of(cls, principal: Principal, directory: Directory = Directory.RELATED) -> Visibility:
        """The operator's admin scope sees everything; anyone else, its organization's part."""
        if Scope.ADMIN in principal.scopes:
            return EVERYTHING
        return cls.for_org(principal.org_id, directory)

    @property
    def everything(self) -> bool:
        return self.org is None

    @property
    def public(self) -> frozenset[NodeKind]:
        """The kinds this principal reads whoever owns them (all, for everything)."""
        return frozenset(NodeKind) if self.org is None else public_kinds(self.directory)

    @property
    def related_only(self) -> frozenset[NodeKind]:
        """The directory kinds this principal reads only where related (``graph.directory``)."""
        return frozenset() if self.org is None else DIRECTORY_KINDS - self.public

    @property
    def edge_ends(self) -> Visibility:
        """What an edge read checks its ends with: an edge the principal may read names
        its organizations and sites whatever the directory (a shipment its receiver, an
        agreement its party); the nodes themselves are still read by the rule."""
        return self if self.org is None else Visibility(self.org, Directory.PUBLISHED)

    def __repr__(self) -> str:
        if self.org is None:
            return "Visibility(EVERYTHING)"
        return f"Visibility.for_org({self.org!r}, {self.directory.value!r})"


EVERYTHING = Visibility()


def id_range(kind: NodeKind) -> tuple[str, str]:
    """[low, high) bounds holding exactly the ids of ``kind`` (``batch:`` up to ``batch;``):
    every id is its kind's prefix and a colon, and ';' sorts right after ':'."""
    prefix = ID_PREFIXES[kind][0]
    return f"{prefix}:", f"{prefix};"
