"""Terse constructors for genealogies in tests."""

from __future__ import annotations

from graph.ids import NodeKind, make_id
from graph.model import Batch, Edge, EdgeKind, Provenance

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
