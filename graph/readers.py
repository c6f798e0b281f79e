"""Who may read each node: the partner-scoping rules, applied when a plan is written.

Every node keeps the set of organizations (slugs) that may read it, its *readers*;
reads filter on that set inside the query (``graph.visibility``). The sets are
maintained here, at write time, for both stores alike:

- Organization, Site: every principal (directory data; no readers kept, see
  ``visibility.PUBLIC_KINDS``).
- Batch: its maker; the lab of a TestResult that ``TESTED`` it; its *sponsors*.
- Product: its sponsor; the makers of batches for it (directly or through their
  material) and the owners of materials for it; the parties to an agreement covering it.
- Material: its owner; the sponsors of the products it is ``FOR_PRODUCT``.
- QualityAgreement: the organizations ``PARTY_TO`` it.
- Qualification: its vendor; the sponsor of every agreement whose vendor it is (a
  sponsor judges its vendors by their qualifications: ``graph.compliance``).
  Experiment: its organization.
- TestResult: its lab; the tested batch's maker and sponsors.
- Deviation: its organization; the makers and sponsors of the batches it ``AFFECTS``.

A batch's sponsors are the sponsors of its product (``FOR_PRODUCT``, or
``OF_MATERIAL`` then ``FOR_PRODUCT``) and, carried upstream through genealogy
(``CONSUMED``, ``SAME_LOT``: both point from a lot to where it came from), the sponsors
of every batch downstream of it: a sponsor reads the whole upstream of its products'
lots. Sponsors are kept apart from the other readers because they alone travel
upstream: a maker or a lab reads its own lots, not what went into them.

Sets only grow (nothing is deleted), so each rule is applied to what a plan touches,
joined with what the store already holds, and sponsors are carried upstream until a
batch already has them: the sets reach the same fixpoint whatever order records come
in, and carrying stops on cycles. A store runs the look-ups ``lookups`` names, hands
their answers to ``changes``, then writes the grants, carries the sponsor seeds
upstream, copies each touched batch's sponsors to its test results and deviations,
and shares qualifications with their vendors' sponsors (``contracts`` says which), all
in the plan's own transaction.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from graph.ids import NodeKind, parse_id
from graph.model import LINEAGE_EDGES, EdgeKind
from graph.write_plan import WritePlan

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
    }
)

# Nodes that report on a batch, and so are read by its maker and sponsors.
REPORT_EDGES: tuple[EdgeKind, ...] = (EdgeKind.TESTED, EdgeKind.AFFECTS)


def key_readers(node_id: str) -> list[str]:
    """The organization a node's own key makes a reader of it (none for the rest)."""
    ref = parse_id(node_id)
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
    sponsored_lots: tuple[str, ...]  # lots gaining an input: their sponsors, to carry

    @property
    def neighbours(self) -> tuple[Neighbours, ...]:
        return (
            self.products_of_materials,
            self.lots_of_materials,
            self.parties_to_agreements,
            self.covered_by_agreements,
        )


def lookups(plan: WritePlan) -> Lookups:
    materials_used: set[str] = set()
    materials_for: set[str] = set()
    covering: set[str] = set()
    joined: set[str] = set()
    consumers: set[str] = set()
    for source, kind, target in plan.edges:
        if kind is EdgeKind.OF_MATERIAL:
            materials_used.add(target)
        elif kind is EdgeKind.FOR_PRODUCT and parse_id(source).kind is NodeKind.MATERIAL:
            materials_for.add(source)
        elif kind is EdgeKind.COVERS and parse_id(target).kind is NodeKind.PRODUCT:
            covering.add(source)
        elif kind is EdgeKind.PARTY_TO:
            joined.add(target)
        elif kind in LINEAGE_EDGES:
            consumers.add(source)
    return Lookups(
        Neighbours(EdgeKind.FOR_PRODUCT, True, tuple(sorted(materials_used))),
        Neighbours(EdgeKind.OF_MATERIAL, False, tuple(sorted(materials_for))),
        Neighbours(EdgeKind.PARTY_TO, False, tuple(sorted(covering))),
        Neighbours(EdgeKind.COVERS, True, tuple(sorted(joined))),
        tuple(sorted(consumers)),
    )


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
    plan: WritePlan,
    asked: Lookups,
    found: dict[Neighbours, dict[str, set[str]]],
    sponsors: dict[str, set[str]],
) -> ReaderChanges:
    """Readers granted and sponsors seeded by the plan's edges, given the look-ups'
    answers (``found``: far ends by id for each of ``asked.neighbours``; ``sponsors``:
    the stored sponsors of ``asked.sponsored_lots``)."""
    products_of = found[asked.products_of_materials]
    lots_of = found[asked.lots_of_materials]
    parties_of = found[asked.parties_to_agreements]
    covered_by = found[asked.covered_by_agreements]
    out = ReaderChanges()
    for source, kind, target in plan.edges:
        if kind is EdgeKind.TESTED:
            out.grant(target, _owner(source))  # the lab reads the lot it tested
            out.grant(source, _owner(target))  # the maker reads results on its lot
            out.reported_lots.add(target)
        elif kind is EdgeKind.AFFECTS:
            out.grant(source, _owner(target))
            out.reported_lots.add(target)
        elif kind is EdgeKind.FOR_PRODUCT:
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
                if parse_id(covered).kind is NodeKind.PRODUCT:
                    out.grant(covered, party)
        elif kind is EdgeKind.COVERS and parse_id(target).kind is NodeKind.PRODUCT:
            parties = parties_of.get(source)
            if parties:
                out.grant(target, *(_owner(party) for party in parties))
    return out


@dataclass(frozen=True, slots=True)
class Contracts:
    """What a plan changes in who reads qualifications. The rule is stated on the
    agreement's own ``sponsor`` and ``vendor`` fields, which a store looks up after the
    plan is written: a qualification the plan writes is read by the sponsors of its
    vendor's stored agreements, and an agreement the plan writes shares its vendor's
    stored qualifications with its sponsor. Both ways, whatever the order they come in."""

    qualifications: tuple[str, ...]  # qualification ids the plan writes
    agreements: tuple[tuple[str, str], ...]  # (sponsor, vendor) of agreements it writes


def contracts(plan: WritePlan) -> Contracts:
    qualifications = sorted(
        node_id
        for nodes in (plan.nodes, plan.placeholders)
        for node_id, node in nodes.items()
        if node.kind is NodeKind.QUALIFICATION
    )
    agreements = sorted(
        {
            (node.properties["sponsor"], node.properties["vendor"])
            for node in plan.nodes.values()
            if node.kind is NodeKind.QUALITY_AGREEMENT
            and "sponsor" in node.properties
            and "vendor" in node.properties
        }
    )
    return Contracts(tuple(qualifications), tuple(agreements))
