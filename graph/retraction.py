"""Taking back what an earlier ingestion asserted: a correction, never a delete.

A partner that declares one of its earlier statements wrong (an EPCIS
``errorDeclaration`` names the event it corrects) retracts the *assertions* that
statement made: every edge source ref (``<ingestion id>#<location>``) at or inside the
place the statement had in its payload, of the kinds a statement makes
(``RETRACTABLE``: genealogy and shipments). The edges stay in the graph with all their
sources; each retracted source is kept with the provenance of the retraction. An edge
whose every source is retracted is *retracted*: lineage, impact and compliance reads
no longer follow it, and a new assertion of it (a later push that states it again)
makes it stand again.

Only the organization that pushed the original ingestion may retract from it (the
operator may retract anything); ``hub.ingest.ownership`` checks that like any other
assertion.
"""

from __future__ import annotations

from dataclasses import dataclass

from graph.model import EdgeKind, Provenance

# What a retraction takes back: genealogy and shipments, the facts a supply-chain
# event states between lots and parties, and every read that follows them honours it.
# Edges a node's own key or attributes imply (a lot MADE_BY its maker, OF_MATERIAL its
# item) follow the node, which stays: a lot once named is still that lot. Reports
# (TESTED, AFFECTS) are not retracted this way yet: their reads would need it too.
RETRACTABLE: frozenset[EdgeKind] = frozenset(
    {EdgeKind.CONSUMED, EdgeKind.SAME_LOT, EdgeKind.PART_OF, EdgeKind.SHIPPED_TO}
)

# Where a source ref's location may continue after a retracted place: a deeper path
# ("/epcisBody/eventList/3/quantityList/0") or the label after it (" (eventID ...)").
_CONTINUATIONS = ("/", " (")


@dataclass(frozen=True, slots=True)
class Retraction:
    """Retract every assertion ingestion ``ingestion_id`` made at or inside ``place``
    (a path in its payload, without the label), as ``provenance`` says."""

    ingestion_id: str
    place: str
    org: str  # who pushed the retracted ingestion: the one who may retract from it
    provenance: Provenance  # the retracting statement

    @property
    def prefix(self) -> str:
        return f"{self.ingestion_id}#{self.place}"

    def covers(self, source_ref: str) -> bool:
        """Whether ``source_ref`` (an edge source) is one of the retracted assertions."""
        prefix = self.prefix
        if not source_ref.startswith(prefix):
            return False
        rest = source_ref[len(prefix) :]
        return rest == "" or rest.startswith(_CONTINUATIONS)


@dataclass(frozen=True, slots=True)
class RetractedEdge:
    """An edge a retraction touched: which of its sources were retracted, and whether
    any still stands (``retracted``: none does, so reads no longer follow it)."""

    source: str
    kind: EdgeKind
    target: str
    sources: tuple[str, ...]  # the assertions this retraction took back
    retracted: bool
