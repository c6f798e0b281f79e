"""Which organizations and sites a partner may list: the partner directory.

A hub holds competitors side by side: two sponsors sharing a CMO must not learn each
other's supply chain from the list of organizations. So, by default (``RELATED``), an
organization reads

- itself;
- every organization that owns a node it may read, whatever its kind except an
  inspection (which is public record): the maker of a lot it reads, the lab of a
  result it reads, the sponsor of a product or agreement it reads, the vendor of a
  change control notified to it, the qualifier of a qualification about it, ...;
- every party to a quality agreement it may read (a sponsor lists its vendors, a
  vendor its sponsors);

and the sites of the organizations it reads. The operator's admin scope reads all.
A network that publishes its directory (``PUBLISHED``) lets every principal read
every organization and site, as the hub did before.

Inspections stay public record: every principal lists them, and each names the
organization and site it is about (the agency publishes those); that is all an
inspection tells about an unrelated organization.

The rule is a function of who may read what (``graph.readers``), so it is checked
inside each store's query when an organization or site is read, never kept apart: it
follows every new grant at once, and nothing has to be kept up to date when lots or
agreements arrive.
"""

from __future__ import annotations

from enum import StrEnum

from graph.ids import ID_PREFIXES, NodeKind


class Directory(StrEnum):
    """How much of the hub's organizations and sites a partner lists."""

    RELATED = "related"  # the organizations it is related to (above) and their sites
    PUBLISHED = "published"  # every organization and site on the hub


# The directory's own kinds: read by the rule above, or by everyone when published.
DIRECTORY_KINDS: frozenset[NodeKind] = frozenset({NodeKind.ORGANIZATION, NodeKind.SITE})

# Public record: read by every principal, in either directory.
PUBLIC_RECORD_KINDS: frozenset[NodeKind] = frozenset({NodeKind.INSPECTION})

# Kinds whose readable nodes relate the reader to their owner (the organization their
# id names first): every kind that keeps readers.
RELATING_KINDS: tuple[NodeKind, ...] = tuple(
    kind for kind in NodeKind if kind not in DIRECTORY_KINDS | PUBLIC_RECORD_KINDS
)


def owned_prefixes() -> list[str]:
    """The id prefixes (``batch:``, ...) of the relating kinds: a node ``<prefix><org>/...``
    is owned by ``org``. Organization slugs never need quoting, so the owner's part of an
    id is the slug as it is."""
    return [f"{ID_PREFIXES[kind][0]}:" for kind in RELATING_KINDS]


def public_kinds(directory: Directory) -> frozenset[NodeKind]:
    """The kinds every principal reads, whoever it is, in ``directory``."""
    if directory is Directory.PUBLISHED:
        return PUBLIC_RECORD_KINDS | DIRECTORY_KINDS
    return PUBLIC_RECORD_KINDS
