"""A partner asserts facts about what it owns, and nothing else (``graph.trust``).

A CMO may say that it made lot T-1 from input lot X, or that its lot R-1 is supplier
lot X as received (a ``SAME_LOT`` edge to X): both edges start at its own lot. It may
not set X's attributes, nor claim another maker's lot consumed anything. Ownership is
read from ids (``batch:<maker>/<number>``, ``agreement:<sponsor>/...``,
``qualification:<qualifier>/...``), so it needs no store lookup:

- a node record must be owned by the pushing organization;
- an edge must start at a node it owns (its far end may be anyone's, and becomes at
  most a placeholder that never overwrites what the owner said);
- the edges that say who owns or is party to what (``OWNED_BY``, ``MADE_BY``,
  ``PARTY_TO``, ``COVERS``, ``QUALIFIES``) come only implied by the owner's own
  records, never as loose edges: a partner cannot join another sponsor's agreement;
- a retraction (``graph.retraction``) takes back only what the same organization
  pushed: nobody withdraws another partner's word;
- only a lot's maker says which of its serials were commissioned in it (a
  ``Commissioned`` note): otherwise a partner could make another's later shipment of
  those serials name a lot of its choosing.

Other notes about identifiers (``connectors.traces``: what was packed where, where an
event sits) pass: they assert nothing of anyone's nodes, and what is made from them
later is checked like any record.

The operator (``admin``) pushes without these checks.
"""

from __future__ import annotations

from collections.abc import Iterator

from connectors.base import Outcome
from connectors.traces import Commissioned, Packed, Stated
from graph.ids import InvalidNodeId, parse_id
from graph.intake import RecordRejection, RecordWarning
from graph.model import Edge, EdgeKind, NodeRecord
from graph.retraction import Retraction

# Edges implied by a node record (an agreement's parties, a result's lab, ...); a loose
# one would let a partner make itself party to, or owner of, someone else's node.
IMPLIED_ONLY: frozenset[EdgeKind] = frozenset(
    {
        EdgeKind.OWNED_BY,
        EdgeKind.MADE_BY,
        EdgeKind.PARTY_TO,
        EdgeKind.COVERS,
        EdgeKind.QUALIFIES,
    }
)


def owner_of(record: NodeRecord | Edge) -> str | None:
    """The organization that may assert this record (None: only the operator)."""
    if isinstance(record, Edge) and record.kind in IMPLIED_ONLY:
        return None
    node_id = record.source if isinstance(record, Edge) else record.id
    try:
        return parse_id(node_id).parts[0]
    except InvalidNodeId:
        return None


# What passes unchecked: reports, and notes about identifiers (they assert nothing).
PASSING = RecordRejection | RecordWarning | Packed | Stated


def owned_by(outcomes: Iterator[Outcome], org: str) -> Iterator[Outcome]:
    for outcome in outcomes:
        if isinstance(outcome, Retraction):
            if outcome.org == org:
                yield outcome
            else:
                yield RecordRejection(
                    outcome.provenance.location or "record",
                    "owner",
                    f"{org!r} may not retract what {outcome.org!r} pushed (ingestion "
                    f"{outcome.ingestion_id}, {outcome.place})",
                )
        elif isinstance(outcome, Commissioned):
            if outcome.lot.maker == org:
                yield outcome
            else:
                yield RecordRejection(
                    outcome.place,
                    "ilmd",
                    f"{org!r} may not say which lot of {outcome.lot.maker!r} its serials "
                    f"({len(outcome.serials)}) were commissioned in: only the maker does",
                )
        elif isinstance(outcome, PASSING) or owner_of(outcome) == org:
            yield outcome
        else:
            location = outcome.provenance.location if outcome.provenance else ""
            yield RecordRejection(location or "record", "owner", _refusal(outcome, org))


def _refusal(record: NodeRecord | Edge, org: str) -> str:
    if isinstance(record, Edge):
        what = f"{record.kind} edge from {record.source} to {record.target}"
        if record.kind in IMPLIED_ONLY:
            return (
                f"{org!r} may not assert a {what}: {record.kind} edges come only from the "
                "records that own them (an agreement names its parties, a node its owner)"
            )
    else:
        what = record.id
    owner = owner_of(record) or "the hub operator"
    return f"{org!r} may not assert {what}: it belongs to {owner}"
