"""What a partner may assert, and which assertions give anyone read rights.

PartnerHub takes data from organizations that do not trust each other. The rules
below decide who may write what (``hub.ingest.ownership`` applies them to every push; the
operator's ``admin`` pushes are taken as they come) and which facts grant read rights
(``graph.readers`` applies them at write time in both stores).

**Who may assert a record.** The organization its id names first, and nobody else:

| record | key (id) | asserted by |
|---|---|---|
| Organization | ``org:<org>`` | the organization |
| Site, Material, Deviation, Experiment | ``<kind>:<org>/...`` | ``org`` |
| Product | ``product:<sponsor>/<code>`` | the sponsor |
| Batch | ``batch:<maker>/<number>`` | the maker |
| TestResult | ``result:<lab>/<id>`` | the lab |
| QualityAgreement | ``agreement:<sponsor>/<id>/<version>`` | the sponsor (the vendor cannot create, change or end it) |
| Qualification | ``qualification:<qualifier>/<vendor>[/<site>]`` | the qualifier (a vendor's word about itself qualifies it for nobody else) |
| Specification | ``spec:<sponsor>/<product>/<test>/<version>`` | the sponsor |
| TechTransfer, Milestone, TransferDocument, TransferRisk | ``<kind>:<sponsor>/<vendor>/<transfer>...`` | the sponsor |
| ChangeControl | ``change:<vendor>/<sponsor>/<id>`` | the vendor (its approval day is the vendor's word: see the README) |
| Audit, AuditFinding | ``<kind>:<auditor>/<vendor>/<audit>...`` | the auditor |
| Inspection | ``inspection:<org>/<site>/<agency>/<day>`` | the inspected organization (or the operator, from the agency's data) |
| any edge | its source's id | the owner of the edge's source node |

**Claims.** An edge from your node to someone else's node is a *claim*: it is kept,
with its provenance, and shown to you, but it grants you nothing about the other
organization's node until that organization's own data agrees. The kinds that could
grant read rights are the genealogy edges (``CONSUMED``, ``SAME_LOT``, ``PART_OF``:
they carry a sponsor's read rights upstream) and the report edges (``TESTED``, ``AFFECTS``: they
let a lab read the lot and put its result in the lot's sponsors' views). Such an edge
is **accepted** when

- both ends have the same owner (a maker's own genealogy, a maker testing its own lot), or
- the owner of the far lot names the claimant as a receiver of it: the lot is
  ``SHIPPED_TO`` the claimant's organization or one of its sites. A maker names who
  received its lot; a lab tests what was sent to it.

An accepted edge grants exactly what the reader rules in ``graph.readers`` say; a
claim that is not accepted grants nothing: the claimant's own nodes stay readable to
it, the far lot appears to it at most as a redacted stub, and the claim's results and
deviations stay out of the lot's maker's and sponsors' views (lists, scorecards,
control charts, alerts). A claim becomes accepted the moment the shipment arrives, in
whichever order the two come.

**Other read rights** come only from what the owner asserted: a product's sponsor
grants its agreements' parties (``COVERS``); an agreement is read by the two parties
its sponsor named; a qualification by its qualifier and the vendor it is about; a
lot, material, result or deviation by its owner. A lot that claims to be for a
sponsor's product (``FOR_PRODUCT``) is shown to that sponsor (it is the maker's own
data, and compliance flags it when no agreement covers the maker). One claim still
grants a read, on purpose for now: the maker of a lot (or owner of a material) for a
product reads that product's node (its name and dosage form), so that its own
compliance verdicts, scorecards and control charts can name it; the agreement the
sponsor asserts is the right source of that read, and moving to it is listed in the
README.

**Compliance** judges a lot of sponsor S's product only by S's agreements and S's
qualifications: an agreement or qualification asserted by anyone else (the vendor
itself) clears no gap.
"""

from __future__ import annotations

from collections.abc import Iterable

from graph.ids import NodeKind, parse_id
from graph.model import EdgeKind

# Edges whose acceptance gives read rights across organizations.
CLAIM_EDGES: frozenset[EdgeKind] = frozenset(
    {EdgeKind.CONSUMED, EdgeKind.SAME_LOT, EdgeKind.PART_OF, EdgeKind.TESTED, EdgeKind.AFFECTS}
)


def owner(node_id: str) -> str:
    """The organization an id names first: the one that may assert the node."""
    return parse_id(node_id).parts[0]


def receiver(destination: str) -> str:
    """The organization a ``SHIPPED_TO`` destination (an organization or a site) names."""
    return owner(destination)


def accepted(source: str, target: str, receivers: Iterable[str]) -> bool:
    """Whether a claim edge from ``source`` to the lot ``target`` is accepted, given the
    organizations ``receivers`` the lot was shipped to (its ``SHIPPED_TO`` far ends'
    owners)."""
    claimant = owner(source)
    return claimant == owner(target) or claimant in set(receivers)


def is_claim(kind: EdgeKind, source: str, target: str) -> bool:
    """A claim edge between two owners: it grants only once accepted."""
    return (
        kind in CLAIM_EDGES
        and parse_id(target).kind is NodeKind.BATCH
        and owner(source) != owner(target)
    )


def sees_shipment(org: str, lot: str, destination: str, lot_sponsors: Iterable[str]) -> bool:
    """Whether ``org``, which may read ``lot``, is shown the lot's shipment to
    ``destination`` (a ``SHIPPED_TO`` far end). Whom a maker ships to is its customer
    list: the maker sees every shipment, the sponsors of the lot's product see them all
    (where their product went is what a recall needs), and anyone else (a lab that
    tested the lot, a sponsor reading it upstream of its own product) sees only the
    shipments to itself."""
    return org in (owner(lot), receiver(destination)) or org in set(lot_sponsors)
