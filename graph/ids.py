"""Deterministic node ids derived from natural keys.

An id is ``<prefix>:<part>/<part>...``, e.g. ``batch:alder/A-2207``. Parts are
percent-encoded, so a batch number containing ``/`` or ``:`` still gives one
unambiguous, reversible id. Because the id is a pure function of the key, the same
lot named by two exports (or by one export ingested twice) lands on one node.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache
from urllib.parse import quote, unquote


class NodeKind(StrEnum):
    """Node kinds of the lineage graph; the value is also the Neo4j label."""

    ORGANIZATION = "Organization"
    SITE = "Site"
    PRODUCT = "Product"
    MATERIAL = "Material"
    BATCH = "Batch"
    QUALITY_AGREEMENT = "QualityAgreement"
    QUALIFICATION = "Qualification"
    TEST_RESULT = "TestResult"
    DEVIATION = "Deviation"
    EXPERIMENT = "Experiment"
    # The partnership lifecycle (``graph.lifecycle``).
    SPECIFICATION = "Specification"
    TECH_TRANSFER = "TechTransfer"
    MILESTONE = "Milestone"
    TRANSFER_DOCUMENT = "TransferDocument"
    TRANSFER_RISK = "TransferRisk"
    CHANGE_CONTROL = "ChangeControl"
    AUDIT = "Audit"
    AUDIT_FINDING = "AuditFinding"
    INSPECTION = "Inspection"


# prefix, number of key parts (None: one or more, for optional trailing parts)
ID_PREFIXES: dict[NodeKind, tuple[str, tuple[int, ...]]] = {
    NodeKind.ORGANIZATION: ("org", (1,)),
    NodeKind.SITE: ("site", (2,)),
    NodeKind.PRODUCT: ("product", (2,)),
    NodeKind.MATERIAL: ("material", (2,)),
    NodeKind.BATCH: ("batch", (2,)),
    NodeKind.QUALITY_AGREEMENT: ("agreement", (3,)),  # sponsor / agreement id / version
    NodeKind.QUALIFICATION: ("qualification", (2, 3)),  # qualifier / vendor [/ site]
    NodeKind.TEST_RESULT: ("result", (2,)),
    NodeKind.DEVIATION: ("deviation", (2,)),
    NodeKind.EXPERIMENT: ("experiment", (2,)),
    NodeKind.SPECIFICATION: ("spec", (4,)),  # sponsor / product code / test / version
    NodeKind.TECH_TRANSFER: ("transfer", (3,)),  # sponsor / vendor / transfer id
    NodeKind.MILESTONE: ("milestone", (4,)),  # sponsor / vendor / transfer id / milestone
    NodeKind.TRANSFER_DOCUMENT: ("transferdoc", (4,)),  # ... / transfer id / document
    NodeKind.TRANSFER_RISK: ("risk", (4,)),  # ... / transfer id / risk item
    NodeKind.CHANGE_CONTROL: ("change", (3,)),  # vendor / sponsor / change id
    NodeKind.AUDIT: ("audit", (3,)),  # auditor / vendor / audit id
    NodeKind.AUDIT_FINDING: ("finding", (4,)),  # auditor / vendor / audit id / finding
    NodeKind.INSPECTION: ("inspection", (4,)),  # org / site code / agency / first day
}
KIND_BY_PREFIX: dict[str, NodeKind] = {prefix: kind for kind, (prefix, _) in ID_PREFIXES.items()}


class InvalidNodeId(ValueError):
    """A string that is not a well-formed PartnerHub node id."""


@dataclass(frozen=True, slots=True)
class NodeRef:
    """A parsed node id: its kind and the natural-key parts it encodes."""

    kind: NodeKind
    parts: tuple[str, ...]

    @property
    def id(self) -> str:
        return make_id(self.kind, *self.parts)


# What ``quote(part, safe="")`` leaves as it is. Ids are made and parsed for every
# record and every edge end on ingest, so the common plain part skips urllib.
_UNRESERVED = re.compile(r"[A-Za-z0-9_.~-]*")


def _quote(part: str) -> str:
    return part if _UNRESERVED.fullmatch(part) else quote(part, safe="")


def make_id(kind: NodeKind, *parts: str) -> str:
    prefix, arities = ID_PREFIXES[kind]
    if len(parts) not in arities:
        raise InvalidNodeId(f"{kind} ids take {arities} key parts, got {len(parts)}")
    if "" in parts:
        raise InvalidNodeId(f"{kind} id has an empty key part: {parts!r}")
    return prefix + ":" + "/".join(map(_quote, parts))


def ids_starting_with(kind: NodeKind, first: str) -> tuple[str, str] | None:
    """The ids of ``kind`` whose first key part is ``first``, as the range [low, high)
    (a lot maker's lots, say); None for a kind whose ids may have one part only. Parts
    are joined by '/' and a '/' in a part is quoted, so these ids are exactly those
    that start with the first part and a '/', and '0' is the character after '/'."""
    prefix, arities = ID_PREFIXES[kind]
    if min(arities) < 2 or not first:
        return None
    low = f"{prefix}:{_quote(first)}/"
    return low, low[:-1] + "0"


# Ingest parses each id about nine times (planning, the readers rules, rows), and a
# percent-quoted id (a LIMS result's) goes through ``unquote`` each time. A NodeRef is
# immutable, so the recent ones are kept; an invalid id raises and is not kept.
_PARSED_IDS = 1 << 15


@lru_cache(maxsize=_PARSED_IDS)
def parse_id(node_id: str) -> NodeRef:
    """Split an id back into kind and key parts; raise InvalidNodeId naming what is wrong."""
    prefix, sep, rest = node_id.partition(":")
    if not sep:
        raise InvalidNodeId(
            f"{shown(node_id)} has no kind prefix (expected e.g. 'batch:alder/A-1')"
        )
    kind = KIND_BY_PREFIX.get(prefix)
    if kind is None:
        known = ", ".join(sorted(KIND_BY_PREFIX))
        raise InvalidNodeId(
            f"{shown(node_id)} has unknown kind prefix {shown(prefix)} (known: {known})"
        )
    split = rest.split("/")
    parts = tuple(map(unquote, split) if "%" in rest else split)
    if len(parts) not in ID_PREFIXES[kind][1] or "" in parts:
        raise InvalidNodeId(
            f"{shown(node_id)} does not have the key parts {with_article(kind)} id needs"
        )
    return NodeRef(kind, parts)


def shown(value: str, limit: int = 80) -> str:
    """A value quoted for an error message, cut short: a message never echoes 10 kB back."""
    if len(value) <= limit:
        return repr(value)
    return repr(value[:limit]) + f"… ({len(value):,} characters)"


def with_article(word: str) -> str:
    return ("an " if word[:1].upper() in "AEIOU" else "a ") + word


def kind_of(node_id: str) -> NodeKind:
    return parse_id(node_id).kind
