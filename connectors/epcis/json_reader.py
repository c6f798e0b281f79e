"""EPCIS 2.0 JSON / JSON-LD documents to ``EventFacts``.

The document is read whole, so the order of its keys does not matter (``@context``
may come last). JSON-LD terms are read by their compact names, as the standard
context defines them; the context itself is not fetched (no network access while
parsing). Events sit in ``epcisBody.eventList`` of a capture document or in
``epcisBody.queryResults.resultsBody.eventList`` of a query document; a payload that
is a single event is read as one.

A document that is not EPCIS at all is a ``PayloadError``; an event whose fields have
the wrong JSON types is one ``RecordRejection`` and the other events still land.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from typing import Any

from connectors.base import PayloadError
from connectors.epcis.facts import (
    EPC_LISTS,
    EVENT_TYPES,
    QUANTITY_LISTS,
    EventFacts,
    Located,
    QuantityElement,
    local_day,
    local_part,
)
from connectors.epcis.gs1 import cbv_word
from connectors.field_values import finite_number
from connectors.json_source import pointer
from graph.intake import RecordRejection


class _Malformed(Exception):
    """An event field of the wrong shape; the event is rejected as a whole."""

    def __init__(self, location: str, field: str, message: str) -> None:
        super().__init__(message)
        self.rejection = RecordRejection(location, field, message)


@dataclass(frozen=True, slots=True)
class _EventPlace:
    """Locations inside one event: its pointer, plus its id to find it by."""

    base: str
    label: str  # "eventID urn:uuid:..." or "event sha-256 1a2b..."

    def at(self, *steps: str | int) -> str:
        return f"{pointer(self.base, *steps) or '/'} ({self.label})"


def json_events(document: Any) -> Iterator[EventFacts | RecordRejection]:
    if not isinstance(document, dict):
        raise PayloadError("/", "an EPCIS JSON document is an object with an 'epcisBody'")
    kind = document.get("type")
    if isinstance(kind, str) and kind in EVENT_TYPES:
        yield _event_or_rejection(document, "")
        return
    body = document.get("epcisBody")
    if not isinstance(body, dict):
        raise PayloadError(
            "/epcisBody",
            "missing or not an object: an EPCIS document carries its events in "
            "'epcisBody.eventList'",
        )
    events, where = body.get("eventList"), "/epcisBody/eventList"
    results = body.get("queryResults")
    if (
        events is None
        and isinstance(results, dict)
        and isinstance(results.get("resultsBody"), dict)
    ):
        events = results["resultsBody"].get("eventList")
        where = "/epcisBody/queryResults/resultsBody/eventList"
    if events is None:
        return  # a document without events says nothing
    if not isinstance(events, list):
        raise PayloadError(where, "must be a list of events")
    for index, raw in enumerate(events):
        if isinstance(raw, dict):
            yield _event_or_rejection(raw, pointer(where, index))
        else:
            yield RecordRejection(pointer(where, index), "event", "an event is a JSON object")


def _event_or_rejection(raw: dict[str, Any], where: str) -> EventFacts | RecordRejection:
    event_id = raw.get("eventID")
    if isinstance(event_id, str) and event_id.strip():
        label = f"eventID {event_id.strip()}"
    else:
        canonical = json.dumps(raw, sort_keys=True, ensure_ascii=True)
        label = f"event sha-256 {hashlib.sha256(canonical.encode()).hexdigest()[:16]}"
    try:
        return _event(raw, _EventPlace(where, label))
    except _Malformed as problem:
        return problem.rejection


def _event(raw: dict[str, Any], place: _EventPlace) -> EventFacts:
    kind = _text(raw, "type", place)
    if kind is None:
        raise _Malformed(place.at("type"), "type", "missing: an event names its type")
    facts = EventFacts(location=place.at(), kind=kind)
    event_id = raw.get("eventID")
    facts.event_id = event_id.strip() or None if isinstance(event_id, str) else None
    facts.biz_step = cbv_word(_text(raw, "bizStep", place))
    facts.action = (_text(raw, "action", place) or "").upper() or None
    facts.occurred_on = _day(
        _text(raw, "eventTime", place),
        _text(raw, "eventTimeZoneOffset", place),
        place.at("eventTime"),
    )
    facts.retracted = raw.get("errorDeclaration") is not None
    if parent := _text(raw, "parentID", place):
        facts.parent_id = Located(parent, place.at("parentID"))
    facts.read_point = _place_id(raw, "readPoint", place)
    facts.biz_location = _place_id(raw, "bizLocation", place)
    for name in EPC_LISTS:
        facts.epcs[name] = [
            Located(epc, place.at(name, index))
            for index, epc in enumerate(_items(raw, name, place))
            if _is_text(epc, place.at(name, index), name)
        ]
    for name in QUANTITY_LISTS:
        facts.quantities[name] = [
            _quantity(element, place, name, index)
            for index, element in enumerate(_items(raw, name, place))
        ]
    facts.sources = _parties(raw, "sourceList", "source", place)
    facts.destinations = _parties(raw, "destinationList", "destination", place)
    ilmd = raw.get("ilmd")
    if isinstance(ilmd, dict):
        facts.ilmd = {
            local_part(key): Located(str(value).strip(), place.at("ilmd", key))
            for key, value in ilmd.items()
            if isinstance(value, str | int | float) and not isinstance(value, bool)
        }
    return facts


def _day(stamp: str | None, offset: str | None, location: str) -> date | None:
    try:
        return local_day(stamp, offset) if stamp else None
    except ValueError:
        raise _Malformed(location, "eventTime", f"{stamp!r} is not an ISO 8601 date-time") from None


def _text(raw: dict[str, Any], key: str, place: _EventPlace) -> str | None:
    value = raw.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise _Malformed(place.at(key), key, "must be a string")
    return value.strip() or None


def _is_text(value: Any, location: str, field: str) -> bool:
    if not isinstance(value, str):
        raise _Malformed(location, field, "an identifier is a string")
    return bool(value.strip())


def _items(raw: dict[str, Any], key: str, place: _EventPlace) -> list[Any]:
    value = raw.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise _Malformed(place.at(key), key, "must be a list")
    return value


def _place_id(raw: dict[str, Any], key: str, place: _EventPlace) -> Located | None:
    """``readPoint`` / ``bizLocation``: ``{"id": "urn:epc:id:sgln:..."}``."""
    value = raw.get(key)
    if value is None:
        return None
    if not isinstance(value, dict):
        raise _Malformed(place.at(key), key, "must be an object with an 'id'")
    identifier = _text(value, "id", _EventPlace(pointer(place.base, key), place.label))
    return Located(identifier, place.at(key, "id")) if identifier else None


def _quantity(element: Any, place: _EventPlace, name: str, index: int) -> QuantityElement:
    where = place.at(name, index)
    if not isinstance(element, dict) or not isinstance(element.get("epcClass"), str):
        raise _Malformed(where, name, "a quantity element is an object with an 'epcClass'")
    amount = element.get("quantity")
    quantity = finite_number(amount)
    if amount is not None and quantity is None:
        raise _Malformed(place.at(name, index, "quantity"), "quantity", "must be a number")
    uom = element.get("uom")
    if uom is not None and not isinstance(uom, str):
        raise _Malformed(place.at(name, index, "uom"), "uom", "must be a string")
    return QuantityElement(Located(element["epcClass"], where), quantity, uom)


def _parties(
    raw: dict[str, Any], key: str, value_key: str, place: _EventPlace
) -> list[tuple[str | None, Located]]:
    """``sourceList`` / ``destinationList``: ``[{"type": ..., "<value_key>": ...}]``."""
    parties = []
    for index, entry in enumerate(_items(raw, key, place)):
        where = place.at(key, index)
        if not isinstance(entry, dict) or not isinstance(entry.get(value_key), str):
            raise _Malformed(where, key, f"an entry is an object with a '{value_key}'")
        kind = entry.get("type")
        parties.append(
            (cbv_word(kind) if isinstance(kind, str) else None, Located(entry[value_key], where))
        )
    return parties
