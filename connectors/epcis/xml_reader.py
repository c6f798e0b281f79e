"""EPCIS 2.0 and 1.2 XML documents to ``EventFacts``, streamed, by local name.

Read through ``connectors.xml`` (no DTD, no entity expansion, no network). Events are
handed on as each one closes and then dropped from the tree, so a large document
needs memory for one event at a time.

EPCIS 1.2 puts newer fields in ``extension`` elements (``quantityList``, ``ilmd``,
``sourceList`` inside the event's ``extension``; ``eventID`` and
``errorDeclaration`` in ``baseExtension``; a ``TransformationEvent`` wrapped in an
``extension`` of the event list). Fields are therefore looked up among all of an
event's descendants by local name, which reads 1.2 and 2.0 alike.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from typing import IO

from lxml import etree

from connectors.base import PayloadError
from connectors.epcis.facts import (
    EPC_LISTS,
    EVENT_TYPES,
    QUANTITY_LISTS,
    EventFacts,
    Located,
    QuantityElement,
    local_day,
)
from connectors.epcis.gs1 import cbv_word
from connectors.field_values import finite_number
from connectors.xml import child, children, iterparse, local_name, steps_to, text_of
from graph.intake import RecordRejection

EPCIS_ROOTS = ("EPCISDocument", "EPCISQueryDocument")


class _Malformed(Exception):
    def __init__(self, location: str, field: str, message: str) -> None:
        super().__init__(message)
        self.rejection = RecordRejection(location, field, message)


def xml_events(payload: IO[bytes]) -> Iterator[EventFacts | RecordRejection]:
    list_path = ""
    positions: dict[str, int] = {}  # children of the event list seen so far, by name
    root_seen = False
    for phase, element in iterparse(payload, events=("start", "end")):
        name = local_name(element)
        if phase == "start":
            if not root_seen:
                root_seen = True
                if name not in EPCIS_ROOTS:
                    raise PayloadError(
                        f"line {element.sourceline}",
                        f"not an EPCIS document: the root element is <{name}>, "
                        "expected <EPCISDocument> or <EPCISQueryDocument>",
                    )
            elif name == "EventList":
                list_path = "/" + "/".join(local_name(e) for e in _lineage(element))
                positions = {}
            continue
        holder = element.getparent()
        if holder is None or local_name(holder) != "EventList":
            continue
        # Counted here, not from the tree: earlier events have been dropped from it.
        # Positions from the second same-named sibling on, as connectors.xml writes them.
        positions[name] = positions.get(name, 0) + 1
        step = name if positions[name] == 1 else f"{name}[{positions[name]}]"
        path = f"{list_path}/{step}"
        event = _wrapped_event(element) if name == "extension" else element
        if event is not None:
            if event is not element:
                path += f"/{local_name(event)}"
            yield _event_or_rejection(event, path)
        # Done with this event: drop it and what came before, so memory stays flat.
        element.clear()
        while element.getprevious() is not None:
            del holder[0]


def _lineage(element: etree._Element) -> list[etree._Element]:
    chain = []
    node: etree._Element | None = element
    while node is not None:
        chain.append(node)
        node = node.getparent()
    return chain[::-1]


def _wrapped_event(extension: etree._Element) -> etree._Element | None:
    """EPCIS 1.1 / 1.2 wrap a TransformationEvent in an ``extension`` of the list."""
    return next((e for e in extension if local_name(e) in EVENT_TYPES), None)


class _Places:
    """Locations inside one event: XPath by local names with the line, and its id."""

    def __init__(self, event: etree._Element, path: str, label: str) -> None:
        self.event = event
        self.path = path
        self.label = label

    def of(self, element: etree._Element) -> str:
        path = "/".join([self.path, *steps_to(element, above=self.event)])
        return f"{path} (line {element.sourceline}; {self.label})"


def _event_or_rejection(event: etree._Element, path: str) -> EventFacts | RecordRejection:
    event_id = text_of(next(_descendants(event, "eventID"), None))
    if event_id:
        label = f"eventID {event_id}"
    else:
        digest = hashlib.sha256(etree.tostring(event)).hexdigest()[:16]
        label = f"event sha-256 {digest}"
    places = _Places(event, path, label)
    try:
        return _event(event, places)
    except _Malformed as problem:
        return problem.rejection


def _event(event: etree._Element, places: _Places) -> EventFacts:
    facts = EventFacts(location=places.of(event), kind=local_name(event))
    facts.event_id = text_of(next(_descendants(event, "eventID"), None)) or None
    facts.biz_step = cbv_word(text_of(child(event, "bizStep")))
    facts.action = (text_of(child(event, "action")) or "").upper() or None
    stamp = child(event, "eventTime")
    if (written := text_of(stamp)) and stamp is not None:
        try:
            facts.occurred_on = local_day(written, text_of(child(event, "eventTimeZoneOffset")))
        except ValueError:
            message = f"{written!r} is not an ISO 8601 date-time"
            raise _Malformed(places.of(stamp), "eventTime", message) from None
    facts.retracted = next(_descendants(event, "errorDeclaration"), None) is not None
    parent = child(event, "parentID")
    if (parent_text := text_of(parent)) and parent is not None:
        facts.parent_id = Located(parent_text, places.of(parent))
    facts.read_point = _place_id(event, "readPoint", places)
    facts.biz_location = _place_id(event, "bizLocation", places)
    for name in EPC_LISTS:
        facts.epcs[name] = [
            Located(text, places.of(epc))
            for holder in _descendants(event, name)
            for epc in children(holder, "epc")
            if (text := text_of(epc))
        ]
    for name in QUANTITY_LISTS:
        facts.quantities[name] = [
            _quantity(element, places)
            for holder in _descendants(event, name)
            for element in children(holder, "quantityElement")
        ]
    facts.sources = _parties(event, "sourceList", "source", places)
    facts.destinations = _parties(event, "destinationList", "destination", places)
    ilmd = next(_descendants(event, "ilmd"), None)
    if ilmd is not None:
        facts.ilmd = {
            local_name(field): Located(text, places.of(field))
            for field in ilmd
            if local_name(field) and (text := text_of(field))
        }
    return facts


def _descendants(event: etree._Element, name: str) -> Iterator[etree._Element]:
    return (element for element in event.iter() if local_name(element) == name)


def _place_id(event: etree._Element, name: str, places: _Places) -> Located | None:
    holder = child(event, name)
    identifier = child(holder, "id") if holder is not None else None
    text = text_of(identifier)
    return Located(text, places.of(identifier)) if text and identifier is not None else None


def _quantity(element: etree._Element, places: _Places) -> QuantityElement:
    epc_class = child(element, "epcClass")
    class_text = text_of(epc_class)
    if class_text is None or epc_class is None:
        raise _Malformed(places.of(element), "epcClass", "missing: a quantity names its class")
    amount = child(element, "quantity")
    amount_text = text_of(amount)
    quantity = finite_number(amount_text)
    if amount_text is not None and quantity is None:
        raise _Malformed(places.of(element), "quantity", f"not a number: {amount_text!r}")
    return QuantityElement(
        Located(class_text, places.of(element)), quantity, text_of(child(element, "uom"))
    )


def _parties(
    event: etree._Element, list_name: str, name: str, places: _Places
) -> list[tuple[str | None, Located]]:
    return [
        (cbv_word(entry.get("type")), Located(text, places.of(entry)))
        for holder in _descendants(event, list_name)
        for entry in children(holder, name)
        if (text := text_of(entry))
    ]
