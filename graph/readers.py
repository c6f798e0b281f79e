"""Who may read each node: the partner-scoping rules, applied when a plan is written.

Every node keeps the set of organizations (slugs) that may read it, its *readers*;
reads filter on that set inside the query (``graph.visibility``). The sets are
maintained here, at write time, for both stores alike:

- Organization, Site: no readers kept; the partner directory's rule
  (``graph.directory``) decides in the query, from the readers of everything else.
- Batch: its maker; the lab of an accepted TestResult that ``TESTED`` it; its *sponsors*.
- Product: its sponsor; the makers of batches for it (directly or through their
  material) and the owners of materials for it; the parties to an agreement of that
  sponsor covering it.
- Material: its owner; the sponsors of the products it is ``FOR_PRODUCT``.
- QualityAgreement: the organizations ``PARTY_TO`` it (the sponsor and vendor its
  sponsor named).
- Specification: its sponsor; the parties to an agreement of that sponsor naming it.
- Qualification, and the lifecycle's two-party records (``graph.lifecycle``): the two
  organizations their key names (qualifier and vendor, sponsor and receiving vendor,
  vendor and sponsor notified, auditor and audited).
- Inspection: every principal (public record; no readers kept).
- Experiment: its organization.
- TestResult: its lab; if accepted, the tested batch's maker and sponsors.
- Deviation: its organization; if accepted, the makers and sponsors of the batches it
  ``AFFECTS``.

A batch's sponsors are the sponsors of its product (``FOR_PRODUCT``, or
``OF_MATERIAL`` then ``FOR_PRODUCT``) and, carried upstream through accepted genealogy
(``CONSUMED``, ``SAME_LOT``, ``PART_OF``: all point from a lot to where it came from), the sponsors
of every batch downstream of it: a sponsor reads the whole upstream of its products'
lots. Sponsors are kept apart from the other readers because they alone travel
upstream: a maker or a lab reads its own lots, not what went into them.

*Accepted* is ``graph.trust``'s word: an edge between two owners' nodes grants read
rights only once the far lot's owner shipped that lot to the claimant. Carrying
sponsors upstream checks it on every hop, in the store's query.

Sets only grow (nothing is deleted), so each rule is applied to what a plan touches,
joined with what the store already holds, and sponsors are carried upstream until a
batch already has them: the sets reach the same fixpoint whatever order records come
in, and carrying stops on cycles. A store runs the look-ups ``lookups`` names, hands
their answers to ``effective_edges`` (the plan's accepted edges and the stored claims
its shipments accept), looks up the stored sponsors of ``sponsored_lots``, hands all
to ``changes``, then writes the grants, carries the sponsor seeds upstream and copies
each touched batch's sponsors to its accepted test results and deviations, all in the
plan's own transaction.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from graph import trust
from graph.ids import NodeKind, parse_id
from graph.model import LINEAGE_EDGES, EdgeKind
from graph.write_plan import WritePlan

# Kinds whose key names the organization that asserts them and then the one they are
# about (a qualified vendor, a transfer's receiving vendor, the sponsor notified of a
# change, an audited vendor): both read them.
TWO_PARTY_KINDS: frozenset[NodeKind] = frozenset(
    {
        NodeKind.QUALIFICATION,
        NodeKind.TECH_TRANSFER,
        NodeKind.MILESTONE,
        NodeKind.TRANSFER_DOCUMENT,
        NodeKind.TRANSFER_RISK,
        NodeKind.CHANGE_CONTROL,
        NodeKind.AUDIT,
        NodeKind.AUDIT_FINDING,
    }
)

# Kinds read by the organization their key names first (a batch's maker, a product's
# sponsor, a result's lab, ...): known from the id alone, the moment the node exists.
OWNED_KINDS: frozenset[NodeKind] = frozenset(
    {
        NodeKind.BATCH,
        NodeKind.MATERIAL,
        NodeKind.PRODUCT,
        NodeKind.TEST_RESULT,
        NodeKind.DEVIATION,
        NodeKind.EXPERIMENT,
        NodeKind.QUALIFICATION,
        NodeKind.SPECIFICATION,
        *TWO_PARTY_KINDS,
    }
)

# Nodes that report on a batch, and so are read by its maker and sponsors.
REPORT_EDGES: tuple[EdgeKind, ...] = (EdgeKind.TESTED, EdgeKind.AFFECTS)


def key_readers(node_id: str) -> list[str]:
    """The organizations a node's own key makes readers of it (none for the rest): its
    owner, and for a two-party record also the organization it is about."""
    ref = parse_id(node_id)
    if ref.kind in TWO_PARTY_KINDS:
        return list(dict.fromkeys(ref.parts[:2]))
    return [ref.parts[0]] if ref.kind in OWNED_KINDS else []


def _owner(node_id: str) -> str:
    """The organization slug an id names first (an org's own id, a batch's maker, ...)."""
    return parse_id(node_id).parts[0]


@dataclass(frozen=True, slots=True)
class Neighbours:
    """A look-up: the far ends of ``kind`` edges leaving (``outgoing``) or entering ``ids``."""

    kind: EdgeKind
    outgoing: bool
    ids: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Lookups:
    """What a plan's readers depend on that the store may already hold."""

    products_of_materials: Neighbours  # materials gaining a lot: the products they are for
    lots_of_materials: Neighbours  # materials gaining a product: their lots
    parties_to_agreements: Neighbours  # agreements gaining a product: their parties
    covered_by_agreements: Neighbours  # agreements gaining a party: what they cover
    receivers_of_claimed: Neighbours  # lots named by a claim: where they were shipped
    claims_on_shipped: tuple[Neighbours, ...]  # lots gaining a shipment: claims on them

    @property
    def neighbours(self) -> tuple[Neighbours, ...]:
        return (
            self.products_of_materials,
            self.lots_of_materials,
            self.parties_to_agreements,
            self.covered_by_agreements,
            self.receivers_of_claimed,
            *self.claims_on_shipped,
        )


def lookups(plan: WritePlan) -> Lookups:
    materials_used: set[str] = set()
    materials_for: set[str] = set()
    covering: set[str] = set()
    joined: set[str] = set()
    claimed: set[str] = set()
    shipped: set[str] = set()
    for source, kind, target in plan.edges:
        if kind is EdgeKind.OF_MATERIAL:
            materials_used.add(target)
        elif kind is EdgeKind.FOR_PRODUCT and parse_id(source).kind is NodeKind.MATERIAL:
            materials_for.add(source)
        elif kind is EdgeKind.COVERS and parse_id(target).kind in SHARED_BY_AGREEMENT:
            covering.add(source)
        elif kind is EdgeKind.PARTY_TO:
            joined.add(target)
        elif kind is EdgeKind.SHIPPED_TO:
            shipped.add(source)
        if trust.is_claim(kind, source, target):
            claimed.add(target)
    lots = tuple(sorted(shipped))
    return Lookups(
        Neighbours(EdgeKind.FOR_PRODUCT, True, tuple(sorted(materials_used))),
        Neighbours(EdgeKind.OF_MATERIAL, False, tuple(sorted(materials_for))),
        Neighbours(EdgeKind.PARTY_TO, False, tuple(sorted(covering))),
        Neighbours(EdgeKind.COVERS, True, tuple(sorted(joined))),
        Neighbours(EdgeKind.SHIPPED_TO, True, tuple(sorted(claimed))),
        tuple(Neighbours(kind, False, lots) for kind in sorted(trust.CLAIM_EDGES)),
    )


EdgeKey = tuple[str, EdgeKind, str]


def effective_edges(
    plan: WritePlan, asked: Lookups, found: dict[Neighbours, dict[str, set[str]]]
) -> list[EdgeKey]:
    """The edges whose reader rules apply now: the plan's own, less the claims not
    (yet) accepted (``graph.trust``), plus the stored claims that the plan's shipments
    accept."""
    shipped_to: dict[str, set[str]] = {
        lot: {trust.receiver(far) for far in fars}
        for lot, fars in found[asked.receivers_of_claimed].items()
    }
    for source, kind, target in plan.edges:
        if kind is EdgeKind.SHIPPED_TO:
            shipped_to.setdefault(source, set()).add(trust.receiver(target))
    edges = [
        (source, kind, target)
        for source, kind, target in plan.edges
        if not trust.is_claim(kind, source, target)
        or trust.accepted(source, target, shipped_to.get(target, ()))
    ]
    for lookup in asked.claims_on_shipped:
        for lot, claimants in found[lookup].items():
            receivers = shipped_to.get(lot, set())
            edges += [
                (claimant, lookup.kind, lot)
                for claimant in sorted(claimants)
                if trust.owner(claimant) in receivers
                and (claimant, lookup.kind, lot) not in plan.edges
            ]
    return edges


def sponsored_lots(edges: list[EdgeKey]) -> tuple[str, ...]:
    """Lots gaining an input: their stored sponsors are carried to it."""
    return tuple(sorted({source for source, kind, _ in edges if kind in LINEAGE_EDGES}))


@dataclass(slots=True)
class ReaderChanges:
    """What a plan adds, once its look-ups are answered."""

    grants: dict[str, set[str]] = field(default_factory=dict)  # node id -> new readers
    sponsor_seeds: dict[str, set[str]] = field(default_factory=dict)  # lot -> sponsors to carry
    reported_lots: set[str] = field(default_factory=set)  # lots gaining a result or deviation

    def grant(self, node_id: str, *orgs: str) -> None:
        self.grants.setdefault(node_id, set()).update(orgs)

    def sponsor(self, lot: str, *orgs: str) -> None:
        self.sponsor_seeds.setdefault(lot, set()).update(orgs)


def changes(
    edges: list[EdgeKey],
    asked: Lookups,
    found: dict[Neighbours, dict[str, set[str]]],
    sponsors: dict[str, set[str]],
) -> ReaderChanges:
    """Readers granted and sponsors seeded by ``edges`` (``effective_edges``), given
    the look-ups' answers (``found``: far ends by id for each of ``asked.neighbours``;
    ``sponsors``: the stored sponsors of ``sponsored_lots(edges)``)."""
    products_of = found[asked.products_of_materials]
    lots_of = found[asked.lots_of_materials]
    parties_of = found[asked.parties_to_agreements]
    covered_by = found[asked.covered_by_agreements]
    out = ReaderChanges()
    for source, kind, target in edges:
        if kind is EdgeKind.TESTED:
            out.grant(target, _owner(source))  # the lab reads the lot it tested
            out.grant(source, _owner(target))  # the maker reads results on its lot
            out.reported_lots.add(target)
        elif kind is EdgeKind.AFFECTS:
            out.grant(source, _owner(target))
            out.reported_lots.add(target)
        elif kind is EdgeKind.FOR_PRODUCT:
            # The sponsor reads what claims to be its product. The maker reads the
            # product it makes (a name and a dosage form: see graph.trust on why).
            sponsor = _owner(target)
            if parse_id(source).kind is NodeKind.BATCH:
                out.sponsor(source, sponsor)
                out.grant(target, _owner(source))
            else:  # a material
                out.grant(source, sponsor)
                out.grant(target, _owner(source))
                for lot in lots_of.get(source, ()):
                    out.sponsor(lot, sponsor)
                    out.grant(target, _owner(lot))
        elif kind is EdgeKind.OF_MATERIAL:
            for product in products_of.get(target, ()):
                out.sponsor(source, _owner(product))
                out.grant(product, _owner(source))
        elif kind in LINEAGE_EDGES:
            carried = sponsors.get(source)
            if carried:
                out.sponsor(target, *carried)
        elif kind is EdgeKind.PARTY_TO:
            party = _owner(source)
            out.grant(target, party)
            for covered in covered_by.get(target, ()):
                if _shares_own(target, covered):
                    out.grant(covered, party)
        elif kind is EdgeKind.COVERS and _shares_own(source, target):
            parties = parties_of.get(source)
            if parties:
                out.grant(target, *(_owner(party) for party in parties))
    return out


# What an agreement gives its parties to read: the products it covers and the
# specifications it binds them to.
SHARED_BY_AGREEMENT: frozenset[NodeKind] = frozenset({NodeKind.PRODUCT, NodeKind.SPECIFICATION})


def _shares_own(agreement: str, covered: str) -> bool:
    """An agreement gives its parties a product or specification only if it is its own
    sponsor's."""
    return parse_id(covered).kind in SHARED_BY_AGREEMENT and _owner(covered) == _owner(agreement)
