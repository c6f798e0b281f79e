"""``supply.epcis``: GS1 EPCIS supply-chain events, 2.0 JSON / JSON-LD and 1.2 / 2.0 XML.

EPCIS tells where lots were made, what they were made from, and where they went:
commissioning, transformation, shipping and receiving events. This connector reads
the syntax (``json_reader``, ``xml_reader``) into one shape (``facts``) and maps
what each event means to batches, genealogy edges and sites (``events``); GS1
identifiers and CBV words are read in ``gs1``.

The payload says which syntax it is: ingestion does not pass the media type on, and
a partner labelling XML as "application/json" should still be read. A JSON document
starts with ``{``, an XML one with ``<``.

What earlier pushes said of serials, containers and events comes in the context
(``ParseContext.heard``), for what ``mentions`` (a pre-scan) says the payload names.

Whose lot it is: the maker of a lot is the owner of its GTIN's GS1 company prefix.
The prefixes registered with the hub (``partnerhub orgs add-identifier``, handed over
in the ``ParseContext``) say whose each is, and the push's ``company_prefixes`` option
adds or overrides; a prefix neither maps stands for an organization of its own,
``gs1-<prefix>``.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import IO, Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from connectors.base import Connector, Outcome, ParseContext, PayloadError
from connectors.epcis.events import EventMapper
from connectors.epcis.facts import EventFacts
from connectors.epcis.gs1 import COMPANY_PREFIX, trade_item
from connectors.epcis.json_reader import json_events
from connectors.epcis.lots import is_serial
from connectors.epcis.xml_reader import xml_events
from connectors.json_source import load_json
from connectors.traces import Mentions
from graph.intake import RecordRejection
from graph.model import Slug

CompanyPrefix = Annotated[str, StringConstraints(pattern=rf"^{COMPANY_PREFIX}$")]
_SNIFF_BYTES = 512
_UTF8_BOM = b"\xef\xbb\xbf"
_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")


class EpcisOptions(BaseModel):
    """Which organizations a partner's GS1 identifiers stand for."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # GS1 company prefix (6-12 digits) -> organization slug, e.g. {"0614141": "alder"}.
    company_prefixes: dict[CompanyPrefix, Slug] = Field(default_factory=dict)
    # ilmd fields (local names) holding the lot number of the event's items: the CBV
    # "lotNumber", plus any a partner uses in its own namespace (e.g. "batch").
    ilmd_lot_fields: tuple[str, ...] = ("lotNumber",)


class EpcisConnector(Connector):
    name = "supply.epcis"
    media_types = ("application/ld+json", "application/json", "application/xml", "text/xml")
    Options = EpcisOptions
    description = "GS1 EPCIS events: lots commissioned, transformed, shipped and received"

    options: EpcisOptions

    def parse(self, payload: IO[bytes], context: ParseContext) -> Iterator[Outcome]:
        # The push's own options win over the hub's registry for the prefixes they name.
        prefixes = {**context.gs1_prefixes, **self.options.company_prefixes}
        mapper = EventMapper(context, prefixes, self.options.ilmd_lot_fields)
        for event in _events(payload):
            if isinstance(event, RecordRejection):
                yield event
            else:
                yield from mapper.outcomes(event)

    def mentions(self, payload: IO[bytes]) -> Mentions:
        """The serials and containers the events name (an earlier push may have
        commissioned or packed them) and the events they declare erroneous."""
        identifiers: set[str] = set()
        events: set[str] = set()
        try:
            for event in _events(payload):
                if isinstance(event, RecordRejection):
                    continue
                if event.retracted and event.event_id is not None:
                    events.add(event.event_id)
                if event.parent_id is not None:
                    identifiers.add(event.parent_id.value.strip())
                for epcs in event.epcs.values():
                    identifiers.update(epc.value.strip() for epc in epcs if _traceable(epc.value))
        except PayloadError:
            return Mentions()  # parse says why
        return Mentions(frozenset(identifiers), frozenset(events))


def _events(payload: IO[bytes]) -> Iterator[EventFacts | RecordRejection]:
    first, stream = _first_character(payload)
    if first == "<":
        return xml_events(stream)
    if first in ("{", "["):
        return json_events(load_json(stream))
    if first == "":
        raise PayloadError("line 1, column 1", "empty document")
    raise PayloadError(
        "line 1, column 1",
        f"neither JSON nor XML: an EPCIS document starts with '{{' or '<', not {first!r}",
    )


def _traceable(identifier: str) -> bool:
    """A serial or a container (what a note may have named), not a lot class."""
    try:
        return is_serial(identifier) or trade_item(identifier) is None
    except ValueError:
        return False  # a malformed GS1 key: parse rejects it


def _first_character(payload: IO[bytes]) -> tuple[str, IO[bytes]]:
    """The payload's first non-blank character, and the payload to read from the start."""
    head = payload.read(_SNIFF_BYTES)
    if payload.seekable():
        payload.seek(0)
        stream = payload
    else:  # a pipe cannot rewind: keep what was read in front of the rest
        stream = io.BytesIO(head + payload.read())
    if head.startswith(_UTF16_BOMS):
        text = head.decode("utf-16", errors="ignore")
    else:
        text = head.removeprefix(_UTF8_BOM).decode("utf-8", errors="ignore")
    stripped = text.lstrip()
    return stripped[:1], stream
