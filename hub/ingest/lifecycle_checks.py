"""Lifecycle records whose sense depends on the rest of the graph, checked at ingest.

Two facts a record cannot check alone, because they live in other records:

- a ``TechTransfer``'s PPQ lots verify *its* product: a lot that the graph, or the
  same payload, says is of another product is a mistake in the export (a lot number
  mistyped, the wrong transfer), and would make ``processValidation`` count a lot of
  another product;
- an ``Inspection`` concerns a site of a known organization: one asserted as an
  ``Organization`` record (in the graph or in the payload), registered by the
  operator (``partnerhub orgs``, ``hub.records.identifiers``), or the partner pushing
  as itself (the operator registered its client). An unknown one is
  almost always a slug mistyped, which would otherwise open a stray organization
  whose inspections no sponsor would ever see next to its vendor.

Either is a located rejection naming the field, and keeps nothing of that record (nor
the loose edges leaving it); the other records land. What the checks need is gathered
during the pipeline's survey pass (``Needs``), the payload's own batches and
organizations are read in one more pass only when some transfer or inspection needs
them, and the store is read once for the rest (``verdicts``): a payload without
transfers or inspections costs nothing.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator
from dataclasses import dataclass, field

from connectors.base import Outcome
from graph.ids import NodeKind, make_id
from graph.intake import RecordRejection
from graph.lifecycle import Inspection, TechTransfer
from graph.model import Batch, Edge, NodeRecord, Organization
from graph.store import GraphStore

# A rejected record by its id and where it was read: the same id at another line is
# another assertion, judged on its own.
Place = tuple[str, str]


def _place(record: NodeRecord | Edge) -> str:
    return record.provenance.location if record.provenance else ""


@dataclass(slots=True)
class Needs:
    """The lots and organizations the payload's transfers and inspections name, seen
    on the survey pass (records only: a few per transfer or inspection)."""

    transfers: list[TechTransfer] = field(default_factory=list)
    inspections: list[Inspection] = field(default_factory=list)

    def see(self, outcome: Outcome) -> None:
        if isinstance(outcome, TechTransfer) and outcome.product_id and outcome.ppq_batch_ids:
            self.transfers.append(outcome)
        elif isinstance(outcome, Inspection):
            self.inspections.append(outcome)

    @property
    def lots(self) -> set[str]:
        return {lot for transfer in self.transfers for lot in transfer.ppq_batch_ids}

    @property
    def organizations(self) -> set[str]:
        return {make_id(NodeKind.ORGANIZATION, inspection.org) for inspection in self.inspections}

    def __bool__(self) -> bool:
        return bool(self.transfers or self.inspections)


@dataclass(slots=True)
class Known:
    """What the payload and the graph say of the needed lots and organizations."""

    products: dict[str, str] = field(default_factory=dict)  # lot id -> product id
    organizations: set[str] = field(default_factory=set)  # organization node ids


def from_payload(outcomes: Iterator[Outcome], needs: Needs) -> Known:
    """The payload's own word on the needed lots' products and organizations (it wins
    over the graph's: it is what this payload will write)."""
    lots, organizations = needs.lots, needs.organizations
    known = Known()
    for outcome in outcomes:
        if isinstance(outcome, Batch) and outcome.id in lots and outcome.product_id:
            known.products[outcome.id] = outcome.product_id
        elif isinstance(outcome, Organization) and outcome.id in organizations:
            known.organizations.add(outcome.id)
    return known


async def verdicts(
    store: GraphStore, needs: Needs, payload: Known, registered: Collection[str]
) -> dict[Place, RecordRejection]:
    """The needed transfers and inspections refused, by (id, location); one store read
    for the lots and organizations the payload does not settle."""
    unsettled = [lot for lot in needs.lots if lot not in payload.products]
    unsettled += [org for org in needs.organizations if org not in payload.organizations]
    stored = await store.get_nodes(unsettled) if unsettled else {}
    products = dict(payload.products)
    for node in stored.values():
        if isinstance(node.record, Batch) and node.record.product_id and node.id not in products:
            products[node.id] = node.record.product_id
    # A placeholder (an organization only named by an edge) was asserted by no one.
    organizations = payload.organizations | {
        node.id for node in stored.values() if node.kind is NodeKind.ORGANIZATION and node.sources
    }
    organizations |= {make_id(NodeKind.ORGANIZATION, org) for org in registered}

    refused: dict[Place, RecordRejection] = {}
    for transfer in needs.transfers:
        others = [
            f"{lot} is of {products[lot]}"
            for lot in transfer.ppq_batch_ids
            if lot in products and products[lot] != transfer.product_id
        ]
        if others:
            refused[(transfer.id, _place(transfer))] = RecordRejection(
                _place(transfer) or "record",
                "ppq_batch_ids",
                f"a PPQ lot of transfer {transfer.transfer_id} must be of its product "
                f"{transfer.product_id}: {'; '.join(others)}",
            )
    for inspection in needs.inspections:
        org_id = make_id(NodeKind.ORGANIZATION, inspection.org)
        if org_id not in organizations:
            refused[(inspection.id, _place(inspection))] = RecordRejection(
                _place(inspection) or "record",
                "org",
                f"{inspection.org!r} is no known organization (none in the graph, the "
                "payload or the registry): register it first, or check the spelling",
            )
    return refused


def without_refused(
    outcomes: Iterator[Outcome], refused: dict[Place, RecordRejection]
) -> Iterator[Outcome]:
    """The outcomes with each refused record (and the loose edges leaving it) left out."""
    if not refused:
        yield from outcomes
        return
    gone = {record_id for record_id, _ in refused}
    for outcome in outcomes:
        if isinstance(outcome, NodeRecord) and (outcome.id, _place(outcome)) in refused:
            continue
        if isinstance(outcome, Edge) and outcome.source in gone:
            continue
        yield outcome
