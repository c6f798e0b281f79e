"""What payloads said of serials, containers and events, kept for later payloads.

EPCIS documents name serials (SGTINs) and pallets (SSCCs) more often than lots, and a
partner's shipment of a pallet may come long after, and from another organization
than, the events that commissioned the serials in a lot and packed them. The
connectors' notes (``connectors.traces``) are kept here, each row with the ingestion
that said it, when that ingestion was received and where the event sat in it:

- ``traced_serials``: a serial and the lot it was commissioned in (maker, GTIN, number);
- ``traced_packings``: what an aggregation put into, or took out of, a container;
- ``traced_events``: where an event (by its eventID) sat, so that a later
  ``errorDeclaration`` can take back what it asserted.

A row is never deleted: a retraction of its event marks it (``retracted_by``, the
retracting record, and ``retracted_at``, when that ingestion was received). What an
ingestion hears (``heard``) is what ingestions received before it said and had not
yet retracted, so a replay of the ledger hears what the original run heard, in the
order the partners sent it. The index is derived from the ledger like the graph:
writing the same notes again changes nothing.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Sequence
from datetime import datetime
from types import MappingProxyType
from typing import Any, TypeVar

from sqlalchemy import (
    Boolean,
    Column,
    ColumnElement,
    DateTime,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    and_,
    or_,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from connectors.traces import (
    NOTHING_HEARD,
    Commissioned,
    Heard,
    Mentions,
    Note,
    Packed,
    Stated,
    StatedEvent,
    TracedLot,
)
from graph.retraction import Retraction
from hub.records.ledger import Received

T = TypeVar("T")

metadata = MetaData()

IDENTIFIER = 512  # an EPC URN or a Digital Link URI
PLACE = 1000  # a JSON pointer or an XPath in a payload


def _said(*columns: Any) -> list[Any]:
    """Who said it and whether it was taken back: the columns every trace has."""
    return [
        Column("ingestion_id", String(40), primary_key=True),
        *columns,
        Column("place", String(PLACE), nullable=False),  # the event's path in the payload
        Column("org", String(64), nullable=False),  # the organization that pushed it
        Column("declared_at", DateTime(timezone=True), nullable=False),  # when received
        Column("retracted_by", String(PLACE + 100), nullable=True),  # provenance ref
        Column("retracted_at", DateTime(timezone=True), nullable=True),
    ]


traced_serials = Table(
    "traced_serials",
    metadata,
    Column("serial", String(IDENTIFIER), primary_key=True),
    *_said(
        Column("maker", String(64), nullable=False),
        Column("gtin", String(14), nullable=False),
        Column("lot", String(200), nullable=False),
    ),
)
traced_packings = Table(
    "traced_packings",
    metadata,
    Column("container", String(IDENTIFIER), nullable=False),
    *_said(
        Column("position", Integer, primary_key=True),  # the packing's order in its payload
        Column("maker", String(64), primary_key=True),
        Column("lot", String(200), primary_key=True),
        Column("gtin", String(14), nullable=False),
        Column("unpacked", Boolean, nullable=False),  # a DELETE took the lot out
    ),
    Index("ix_traced_packings_container", "container"),
)
traced_events = Table(
    "traced_events",
    metadata,
    Column("event_id", String(IDENTIFIER), primary_key=True),
    *_said(),
)
_TABLES = (traced_serials, traced_packings, traced_events)
_IN_CHUNK = 500  # identifiers per IN (...) list, well under SQLite's parameter limit


def _standing(table: Table, before: datetime) -> ColumnElement[bool]:
    """Said by an ingestion received before ``before`` and not retracted by then."""
    return and_(
        table.c.declared_at < before,
        or_(table.c.retracted_at.is_(None), table.c.retracted_at >= before),
    )


class TraceIndex:
    """The traces in the hub's database (``engine``, migrated)."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    async def heard(self, mentions: Mentions, before: datetime) -> Heard:
        """What ingestions received before ``before`` said of what ``mentions`` names."""
        if not mentions:
            return NOTHING_HEARD
        identifiers = sorted(mentions.identifiers)
        async with self.engine.connect() as conn:
            serials = await _serials(conn, identifiers, before)
            containers = await _containers(conn, identifiers, before)
            events = await _events(conn, sorted(mentions.events), before)
        return Heard(
            MappingProxyType(serials), MappingProxyType(containers), MappingProxyType(events)
        )

    async def keep(self, received: Received, notes: Sequence[Note]) -> None:
        """Keep what ``received`` said (again is harmless), and mark what its
        retractions took back, in one transaction."""
        if not notes:
            return  # most payloads (every format but EPCIS) say nothing of the kind
        said: dict[str, Any] = {
            "ingestion_id": received.id,
            "org": received.org,
            "declared_at": received.received_at,
        }
        serials: list[dict[str, Any]] = []
        packings: list[dict[str, Any]] = []
        events: list[dict[str, Any]] = []
        packed = 0
        for note in notes:
            if isinstance(note, Commissioned):
                serials += [
                    {**said, "serial": serial, "place": note.place, **_lot(note.lot)}
                    for serial in note.serials
                ]
            elif isinstance(note, Packed):
                packed += 1
                packings += [
                    {
                        **said,
                        "container": note.container,
                        "position": packed,
                        "place": note.place,
                        "unpacked": note.unpacked,
                        **_lot(lot),
                    }
                    for lot in note.lots
                ]
            elif isinstance(note, Stated):
                events.append({**said, "event_id": note.event_id, "place": note.place})
        retractions = [note for note in notes if isinstance(note, Retraction)]
        async with self.engine.begin() as conn:
            for table, rows in ((traced_serials, serials), (traced_packings, packings)):
                await _insert_new(conn, table, rows)
            await _insert_new(conn, traced_events, events)
            for retraction in retractions:
                for table in _TABLES:
                    await conn.execute(
                        update(table)
                        .where(
                            table.c.ingestion_id == retraction.ingestion_id,
                            table.c.place == retraction.place,
                            table.c.retracted_by.is_(None),
                        )
                        .values(
                            retracted_by=retraction.provenance.ref,
                            retracted_at=received.received_at,
                        )
                    )


def _lot(lot: TracedLot) -> dict[str, str]:
    return {"maker": lot.maker, "gtin": lot.gtin, "lot": lot.number}


async def _insert_new(conn: AsyncConnection, table: Table, rows: list[dict[str, Any]]) -> None:
    if not rows:
        return
    insert = postgresql_insert if conn.dialect.name == "postgresql" else sqlite_insert
    # Duplicates within the rows (a serial commissioned twice in one payload): first wins.
    unique = {tuple(row[c.name] for c in table.primary_key.columns): row for row in reversed(rows)}
    for chunk in _chunks(list(unique.values())):
        await conn.execute(insert(table).on_conflict_do_nothing(), chunk)


def _chunks(values: Sequence[T]) -> Iterable[Sequence[T]]:
    for start in range(0, len(values), _IN_CHUNK):
        yield values[start : start + _IN_CHUNK]


async def _standing_rows(
    conn: AsyncConnection,
    table: Table,
    key: Column[str],
    keys: Sequence[str],
    before: datetime,
    columns: Sequence[Column[Any]],
    order: Sequence[Column[Any]],
) -> AsyncIterator[tuple[Any, ...]]:
    """The standing rows of ``table`` whose ``key`` is among ``keys``, in ``order`` per
    key (a key's rows all come in the same chunk)."""
    for chunk in _chunks(keys):
        rows = await conn.execute(
            select(*columns).where(key.in_(chunk), _standing(table, before)).order_by(*order)
        )
        for row in rows:
            yield tuple(row)


async def _serials(
    conn: AsyncConnection, identifiers: Sequence[str], before: datetime
) -> dict[str, TracedLot]:
    """Each serial's lot, as the latest standing commissioning says."""
    table = traced_serials
    found: dict[str, TracedLot] = {}
    columns = (table.c.serial, table.c.maker, table.c.gtin, table.c.lot)
    order = (table.c.declared_at, table.c.ingestion_id)
    async for serial, maker, gtin, lot in _standing_rows(
        conn, table, table.c.serial, identifiers, before, columns, order
    ):
        found[serial] = TracedLot(maker, gtin, lot)  # later rows win
    return found


async def _containers(
    conn: AsyncConnection, identifiers: Sequence[str], before: datetime
) -> dict[str, tuple[TracedLot, ...]]:
    """What each container holds: its standing packings, replayed in the order sent."""
    table = traced_packings
    held: dict[str, dict[tuple[str, str], TracedLot]] = {}
    columns = (table.c.container, table.c.maker, table.c.gtin, table.c.lot, table.c.unpacked)
    order = (
        table.c.declared_at,
        table.c.ingestion_id,
        table.c.position,
        table.c.maker,
        table.c.lot,
    )
    async for container, maker, gtin, lot, unpacked in _standing_rows(
        conn, table, table.c.container, identifiers, before, columns, order
    ):
        lots = held.setdefault(container, {})
        if unpacked:
            lots.pop((maker, lot), None)
        else:
            lots.setdefault((maker, lot), TracedLot(maker, gtin, lot))
    return {container: tuple(lots.values()) for container, lots in held.items() if lots}


async def _events(
    conn: AsyncConnection, event_ids: Sequence[str], before: datetime
) -> dict[str, tuple[StatedEvent, ...]]:
    """Where each event was stated, oldest first."""
    table = traced_events
    found: dict[str, list[StatedEvent]] = {}
    columns = (table.c.event_id, table.c.ingestion_id, table.c.place, table.c.org)
    order = (table.c.declared_at, table.c.ingestion_id)
    async for event_id, ingestion_id, place, org in _standing_rows(
        conn, table, table.c.event_id, event_ids, before, columns, order
    ):
        found.setdefault(event_id, []).append(StatedEvent(ingestion_id, place, org))
    return {event_id: tuple(stated) for event_id, stated in found.items()}
