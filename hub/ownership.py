"""A partner asserts facts about what it owns, and nothing else.

A CMO may say that it made lot T-1 from input lot X, or that its lot R-1 is supplier
lot X as received (a ``SAME_LOT`` edge to X): both edges start at its own lot. It may
not set X's attributes, nor claim another maker's lot consumed anything. Ownership is
read from ids (``batch:<maker>/<number>``), so it needs no store lookup:

- a node record must be owned by the pushing organization;
- an edge must start at a node it owns (its far end may be anyone's, and becomes at
  most a placeholder that never overwrites what the owner said).
"""

from __future__ import annotations

from collections.abc import Iterator

from connectors.base import Outcome
from graph.ids import InvalidNodeId, NodeKind, parse_id
from graph.intake import RecordRejection
from graph.model import Edge, NodeRecord, QualityAgreement

# The id part naming the owner, for kinds whose id starts with their owner's slug.
_OWNER_IN_ID = frozenset(
    {
        NodeKind.ORGANIZATION,
        NodeKind.SITE,
        NodeKind.PRODUCT,
        NodeKind.MATERIAL,
        NodeKind.BATCH,
        NodeKind.QUALIFICATION,
        NodeKind.TEST_RESULT,
        NodeKind.DEVIATION,
        NodeKind.EXPERIMENT,
    }
)


def owners_of(record: NodeRecord | Edge) -> frozenset[str]:
    """Organizations that may assert this record (any one of them)."""
    if isinstance(record, QualityAgreement):
        return frozenset({record.sponsor, record.vendor})
    node_id = record.source if isinstance(record, Edge) else record.id
    try:
        ref = parse_id(node_id)
    except InvalidNodeId:
        return frozenset()
    return frozenset({ref.parts[0]}) if ref.kind in _OWNER_IN_ID else frozenset()


def owned_by(outcomes: Iterator[Outcome], org: str) -> Iterator[Outcome]:
    for outcome in outcomes:
        if isinstance(outcome, RecordRejection) or org in owners_of(outcome):
            yield outcome
            continue
        location = outcome.provenance.location if outcome.provenance else ""
        owners = ", ".join(sorted(owners_of(outcome))) or "the hub operator"
        what = (
            f"{outcome.kind} edge from {outcome.source}"
            if isinstance(outcome, Edge)
            else outcome.id
        )
        yield RecordRejection(
            location or "record",
            "owner",
            f"{org!r} may not assert {what}: it belongs to {owners}",
        )
