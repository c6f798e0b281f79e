"""What a payload tells the hub beyond the graph, and what earlier payloads told it.

Some facts a later payload needs are not graph records: which lot a serial number
was commissioned in, what a pallet holds, where an event sat in the payload that
stated it. A connector hands them on as *notes* (``Commissioned``, ``Packed``,
``Stated``) beside its records; the ingest pipeline keeps them in the hub's database
(``hub.records.traces``), with the ingestion that said them. Before the next payload
is read, the connector says which identifiers and events it names (``Mentions``, a
cheap pre-scan) and gets back what earlier payloads said of just those (``Heard``, in
its ``ParseContext``), so that a shipment of a pallet names the lots commissioned and
packed in other pushes, maybe by other organizations.

A note is about identifiers, not about whose they are: it grants nothing. The records
made from it are checked for ownership like any others.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from graph.retraction import Retraction


@dataclass(frozen=True, slots=True)
class TracedLot:
    """A lot as a note names it: its maker, GTIN and number."""

    maker: str
    gtin: str
    number: str


@dataclass(frozen=True, slots=True)
class StatedEvent:
    """Where an earlier ingestion stated an event (by its id)."""

    ingestion_id: str
    place: str  # the event's path in that payload (no label)
    org: str  # the organization that pushed it


@dataclass(frozen=True, slots=True)
class Mentions:
    """What a payload names that earlier payloads may have said something of."""

    identifiers: frozenset[str] = frozenset()  # serials and containers
    events: frozenset[str] = frozenset()  # event ids it corrects

    def __bool__(self) -> bool:
        return bool(self.identifiers or self.events)


@dataclass(frozen=True, slots=True)
class Heard:
    """What earlier ingestions said of the identifiers and events a payload mentions."""

    serials: Mapping[str, TracedLot] = field(default_factory=dict)  # serial -> its lot
    containers: Mapping[str, tuple[TracedLot, ...]] = field(default_factory=dict)  # -> held
    events: Mapping[str, tuple[StatedEvent, ...]] = field(default_factory=dict)  # id -> where


NOTHING_HEARD = Heard()


@dataclass(frozen=True, slots=True)
class Commissioned:
    """``serials`` were commissioned in ``lot`` by the event at ``place``."""

    serials: tuple[str, ...]
    lot: TracedLot
    place: str


@dataclass(frozen=True, slots=True)
class Packed:
    """The event at ``place`` put ``lots`` into ``container`` (or took them out)."""

    container: str
    lots: tuple[TracedLot, ...]
    unpacked: bool
    place: str


@dataclass(frozen=True, slots=True)
class Stated:
    """The event ``event_id`` sits at ``place`` in this payload."""

    event_id: str
    place: str


Note = Commissioned | Packed | Stated | Retraction
