"""What the EPCIS readers hand on: one event's facts, each value with its location.

The JSON and the XML reader both produce ``EventFacts``, so what an event means
(``events``) is decided once, whatever syntax it came in. Every value keeps the
location it was read from (JSON pointer, or XPath with line, plus the event's id), so
each record made from it points back to its place in the file.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone

EVENT_TYPES = frozenset(
    {
        "ObjectEvent",
        "AggregationEvent",
        "TransactionEvent",
        "TransformationEvent",
        "AssociationEvent",
    }
)
# Lists of instance identifiers (EPCs) and of class quantities, by EPCIS name.
EPC_LISTS = ("epcList", "childEPCs", "inputEPCList", "outputEPCList")
QUANTITY_LISTS = ("quantityList", "childQuantityList", "inputQuantityList", "outputQuantityList")


@dataclass(frozen=True, slots=True)
class Located:
    value: str
    location: str


@dataclass(frozen=True, slots=True)
class QuantityElement:
    epc_class: Located
    quantity: float | None
    uom: str | None


@dataclass(slots=True)
class EventFacts:
    location: str  # the event: pointer or XPath (line), and its eventID or hash
    kind: str  # "ObjectEvent", ...
    event_id: str | None = None
    biz_step: str | None = None  # the bare CBV word ("shipping"), or the extension's URI
    occurred_on: date | None = None  # eventTime's day, as written where it happened
    retracted: bool = False  # carries an errorDeclaration
    action: str | None = None  # ADD, OBSERVE or DELETE
    parent_id: Located | None = None  # an aggregation's container (an SSCC, a case)
    read_point: Located | None = None
    biz_location: Located | None = None
    epcs: dict[str, list[Located]] = field(default_factory=dict)  # by EPC_LISTS name
    quantities: dict[str, list[QuantityElement]] = field(default_factory=dict)
    sources: list[tuple[str | None, Located]] = field(default_factory=list)  # (bare type, id)
    destinations: list[tuple[str | None, Located]] = field(default_factory=list)
    ilmd: dict[str, Located] = field(default_factory=dict)  # by local name ("lotNumber")

    @property
    def place(self) -> str:
        """The event's path in the payload, without its label: what every location of
        a record made from it starts with."""
        return self.location.partition(" (")[0]

    def identifiers(self) -> Iterator[str]:
        """Every identifier the event names, for the company prefixes they state."""
        for epcs in self.epcs.values():
            yield from (epc.value for epc in epcs)
        for elements in self.quantities.values():
            yield from (element.epc_class.value for element in elements)
        for where in (self.read_point, self.biz_location):
            if where is not None:
                yield where.value
        for _, party in (*self.sources, *self.destinations):
            yield party.value


def local_part(name: str) -> str:
    """``cbvmda:lotNumber``, ``urn:epcglobal:cbv:mda:lotNumber`` or
    ``https://ref.gs1.org/cbv/mda#lotNumber`` -> ``lotNumber``."""
    for separator in ("#", "/", ":"):
        name = name.rpartition(separator)[2]
    return name


def local_day(event_time: str, offset: str | None) -> date:
    """The day an event happened where it happened: ``eventTime`` (often written in UTC)
    moved to ``eventTimeZoneOffset`` when the event gives one. ValueError when either is
    not ISO 8601."""
    moment = datetime.fromisoformat(event_time.strip())
    if offset and moment.tzinfo is not None:
        sign = -1 if offset.strip().startswith("-") else 1
        hours, _, minutes = offset.strip().lstrip("+-").partition(":")
        shift = timedelta(hours=int(hours), minutes=int(minutes or 0))
        moment = moment.astimezone(timezone(sign * shift))
    return moment.date()
