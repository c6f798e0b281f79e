"""Terse constructors for genealogies in tests."""

from __future__ import annotations

from collections.abc import Iterable

from graph import trust
from graph.ids import NodeKind, make_id, parse_id
from graph.model import Batch, Edge, EdgeKind, NodeRecord, Provenance, Record, TestResult

PROVENANCE = Provenance(ingestion_id="ing-test", connector="test", location="/fixture")


def lot(maker: str, number: str) -> str:
    return make_id(NodeKind.BATCH, maker, number)


def batch(
    maker: str, number: str, provenance: Provenance = PROVENANCE, **attributes: object
) -> Batch:
    return Batch(maker=maker, number=number, provenance=provenance, **attributes)  # type: ignore[arg-type]


def consumed(
    output: str, input_: str, quantity: float | None = None, unit: str | None = None
) -> Edge:
    return Edge(
        kind=EdgeKind.CONSUMED,
        source=output,
        target=input_,
        quantity=quantity,
        unit=unit,
        provenance=PROVENANCE,
    )


def same_lot(received: str, origin: str) -> Edge:
    return Edge(kind=EdgeKind.SAME_LOT, source=received, target=origin, provenance=PROVENANCE)


def shipped(lot_id: str, to_org: str) -> Edge:
    """The maker names ``to_org`` as a receiver of its lot: what makes the receiver's
    claims on it (genealogy, results, deviations) count (``graph.trust``)."""
    return Edge(
        kind=EdgeKind.SHIPPED_TO,
        source=lot_id,
        target=make_id(NodeKind.ORGANIZATION, to_org),
        provenance=PROVENANCE,
    )


def with_samples_shipped(records: list[Record]) -> list[Record]:
    """``records`` and, for every test result on another organization's lot, the
    maker's shipment of that lot to the lab."""
    shipments = {
        (record.batch_id, record.lab)
        for record in records
        if isinstance(record, TestResult)
        and record.batch_id
        and parse_id(record.batch_id).parts[0] != record.lab
    }
    return [*records, *(shipped(lot_id, lab) for lot_id, lab in sorted(shipments))]


def unaccepted_claims(records: Iterable[Record]) -> list[tuple[str, EdgeKind, str]]:
    """The claims among ``records`` (loose edges and those their nodes imply) that no
    shipment among them accepts (``graph.trust``): each grants nothing."""
    edges: list[Edge] = []
    for record in records:
        edges += record.implied_edges() if isinstance(record, NodeRecord) else [record]
    receivers: dict[str, set[str]] = {}
    for edge in edges:
        if edge.kind is EdgeKind.SHIPPED_TO:
            receivers.setdefault(edge.source, set()).add(trust.receiver(edge.target))
    return [
        edge.key
        for edge in edges
        if trust.is_claim(edge.kind, edge.source, edge.target)
        and not trust.accepted(edge.source, edge.target, receivers.get(edge.target, ()))
    ]
