"""Which lots an EPCIS event names, and whose they are.

A lot is named by an LGTIN class or a Digital Link with a lot (in an EPC list or a
quantity list), or by an ``ilmd`` lot number completing the GTINs of the event's
serialised items or GTIN classes. Its maker is the owner of the GTIN's GS1 company
prefix (``Owners``). A lot that cannot be named or resolved becomes a located
``RecordRejection``; the others are still collected.

DSCSA-style documents ship serials (SGTINs) and pallets (SSCCs), not lots: a serial
is of the lot it was commissioned with (the event whose ilmd gave the lot), and a
container holds the lots of what an aggregation packed into it. ``Traced`` keeps both,
starting from what earlier pushes said (``ParseContext.heard``: the hub keeps the notes
every push yields, ``connectors.traces``) and adding what this document says, so that
an event naming only serials or a pallet still names its lots, whichever push
commissioned and packed them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from connectors.epcis.facts import EventFacts, Located
from connectors.epcis.gs1 import LotCode, Owners, Product, trade_item, unit_symbol
from connectors.traces import NOTHING_HEARD, Commissioned, Heard, TracedLot
from graph.intake import RecordRejection


@dataclass(frozen=True, slots=True)
class NamedLot:
    """A lot an event names, resolved to its maker."""

    maker: str
    number: str
    gtin: str
    quantity: float | None
    unit: str | None
    location: str

    @property
    def traced(self) -> TracedLot:
        return TracedLot(self.maker, self.gtin, self.number)


@dataclass(slots=True)
class Traced:
    """What earlier pushes (``heard``) and this document so far say of serials and
    containers; this document's word wins."""

    heard: Heard = NOTHING_HEARD
    serials: dict[str, TracedLot] = field(default_factory=dict)  # SGTIN -> its lot
    containers: dict[str, list[TracedLot]] = field(default_factory=dict)  # SSCC -> lots in it

    def lot_of(self, serial: str) -> TracedLot | None:
        return self.serials.get(serial) or self.heard.serials.get(serial)

    def held_in(self, container: str) -> list[TracedLot] | None:
        held = self.containers.get(container)
        if held is None and container in self.heard.containers:
            return list(self.heard.containers[container])
        return held

    def pack(self, container: str, lots: list[TracedLot], unpacked: bool) -> None:
        """An aggregation: ADD and OBSERVE put ``lots`` in ``container`` (with what it
        already held), DELETE takes them out."""
        held = {(lot.maker, lot.number): lot for lot in self.held_in(container) or []}
        for lot in lots:
            if unpacked:
                held.pop((lot.maker, lot.number), None)
            else:
                held.setdefault((lot.maker, lot.number), lot)
        self.containers[container] = list(held.values())


def is_serial(identifier: str) -> bool:
    """An identifier of one item (an SGTIN, or a Digital Link with a serial, AI 21)."""
    text = identifier.strip().lower()
    return text.startswith("urn:epc:id:sgtin:") or "/21/" in text


class LotCollector:
    """Collects the lots of one event's lists, with a rejection for each it cannot name."""

    def __init__(
        self,
        event: EventFacts,
        owners: Owners,
        ilmd_lot_fields: tuple[str, ...],
        traced: Traced | None = None,
    ) -> None:
        self.event = event
        self.owners = owners
        self.ilmd_lot_fields = ilmd_lot_fields
        self.traced = traced if traced is not None else Traced()
        self.problems: list[RecordRejection] = []
        self.commissioned: list[Commissioned] = []  # serials given a lot, by lot

    def collect(
        self, epc_lists: Iterable[str], quantity_lists: Iterable[str], *, with_ilmd: bool
    ) -> list[NamedLot]:
        lots: dict[tuple[str, str], NamedLot] = {}
        products: dict[str, tuple[Product, Located, float | None, str | None]] = {}
        serials: list[tuple[str, Product]] = []
        named: list[tuple[Located, float | None, str | None]] = [
            (epc, None, None) for name in epc_lists for epc in self.event.epcs.get(name, [])
        ]
        named += [
            (element.epc_class, element.quantity, unit_symbol(element.uom))
            for name in quantity_lists
            for element in self.event.quantities.get(name, [])
        ]
        for found, quantity, unit in named:
            try:
                code = trade_item(found.value)
            except ValueError as error:
                self.problems.append(RecordRejection(found.location, "epc", str(error)))
                continue
            key = found.value.strip()
            if isinstance(code, LotCode):
                self._add(lots, code, found, quantity, unit)
                continue
            if isinstance(code, Product):
                products.setdefault(code.gtin, (code, found, quantity, unit))
                if is_serial(found.value):
                    serials.append((key, code))
            if (commissioned := self.traced.lot_of(key)) is not None:
                lots.setdefault(
                    (commissioned.maker, commissioned.number),
                    _named(commissioned, quantity, unit, found.location),
                )
            # A container: a pallet (SSCC), or a case named by its own serial.
            for lot in self.traced.held_in(key) or ():
                lots.setdefault((lot.maker, lot.number), _named(lot, None, None, found.location))
        ilmd_lot = self._ilmd_lot() if with_ilmd else None
        if ilmd_lot is not None:
            made: dict[TracedLot, list[str]] = {}
            for serial, product in serials:  # commissioned in this lot
                prefix = self.owners.prefix_of(product)
                if prefix is None:
                    continue  # its GTIN's owner is unknown: rejected below, by _add
                lot = TracedLot(self.owners.org_of(prefix), product.gtin, ilmd_lot.value)
                self.traced.serials[serial] = lot
                made.setdefault(lot, []).append(serial)
            self.commissioned += [
                Commissioned(tuple(named), lot, self.event.place) for lot, named in made.items()
            ]
            if not products and not lots:
                self.problems.append(
                    RecordRejection(
                        ilmd_lot.location,
                        "ilmd",
                        f"lot {ilmd_lot.value!r} names no product: the event lists no GTIN "
                        "(SGTIN, GTIN class or Digital Link) for it to be a lot of",
                    )
                )
            for product, _, quantity, unit in products.values():
                self._add(lots, LotCode(product, ilmd_lot.value), ilmd_lot, quantity, unit)
        return list(lots.values())

    def _ilmd_lot(self) -> Located | None:
        for name in self.ilmd_lot_fields:
            found = self.event.ilmd.get(name)
            if found is not None and found.value.strip():
                return Located(found.value.strip(), found.location)
        return None

    def _add(
        self,
        lots: dict[tuple[str, str], NamedLot],
        code: LotCode,
        found: Located,
        quantity: float | None,
        unit: str | None,
    ) -> None:
        prefix = self.owners.prefix_of(code.product)
        if prefix is None:
            self.problems.append(unknown_prefix(found, "epc", f"GTIN {code.product.gtin}"))
            return
        maker = self.owners.org_of(prefix)
        known = lots.get((maker, code.lot))
        if known is None or (known.quantity is None and quantity is not None):
            # a lot named by its items and by a quantity: the quantity says more
            lots[maker, code.lot] = NamedLot(
                maker, code.lot, code.product.gtin, quantity, unit, found.location
            )


def _named(lot: TracedLot, quantity: float | None, unit: str | None, location: str) -> NamedLot:
    """``lot`` as named through a serial or a container at ``location`` (a container's
    amount is the pallet's, not the lot's: it gives none)."""
    return NamedLot(lot.maker, lot.number, lot.gtin, quantity, unit, location)


def unknown_prefix(found: Located, field: str, what: str) -> RecordRejection:
    """Why a GTIN or GLN has no owner, and what the partner can do about it."""
    return RecordRejection(
        found.location,
        field,
        f"cannot tell the GS1 company prefix of {what} (Digital Links do not mark where "
        "it ends): add the prefix and its organization to options.company_prefixes",
    )
