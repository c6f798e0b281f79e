"""What every connector is: a name, the media types it reads, an options model, and a
generator from one payload to canonical records or located rejections.

A connector does no I/O beyond reading the payload it is handed, and never touches a
store. It reports two kinds of trouble:

- a ``RecordRejection`` (yielded): one record is unusable (a missing lot number, a date
  that is not a date); the records around it still land;
- a ``PayloadError`` (raised): the payload as a whole cannot be read (malformed XML at
  line 12, a CSV without the profile's columns); nothing of it lands.

Beside records a connector may yield *notes* for the hub's database (``connectors.traces``:
what a serial was commissioned in, what a pallet holds) and retractions of what an
earlier payload stated (``graph.retraction``); ``mentions`` is its pre-scan saying which
identifiers it would like to hear about first.

Both name where: a line, an XPath or a JSON pointer, and the field when there is one.
Any other exception escaping a connector is a bug in the connector.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import IO, Any, ClassVar

from pydantic import BaseModel, ConfigDict, ValidationError

from connectors.traces import NOTHING_HEARD, Heard, Mentions, Note
from graph.intake import RecordRejection, RecordWarning
from graph.model import Provenance, Record


class PayloadError(Exception):
    """The payload as a whole cannot be read; ``location`` says where it went wrong."""

    def __init__(self, location: str, message: str) -> None:
        super().__init__(f"{location}: {message}")
        self.location = location
        self.message = message


class NoOptions(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


@dataclass(frozen=True, slots=True)
class ParseContext:
    """Who sent the payload and under which ingestion: what provenance is made of."""

    ingestion_id: str
    connector: str
    org: str  # slug of the organization that pushed the payload (whose records these are)
    filename: str = ""
    # GS1 company prefix -> organization, as registered with the hub (its organizations'
    # identifiers): whose lots and places GS1 keys name, without each push saying so.
    gs1_prefixes: Mapping[str, str] = field(default_factory=dict)
    glns: Mapping[str, str] = field(default_factory=dict)  # registered GLN -> organization
    # Registered numbers that name an organization wherever an export names one (a
    # supplier's DUNS in an ERP export, a site's FDA FEI, a GLN): number -> organization.
    numbers: Mapping[str, str] = field(default_factory=dict)
    # What earlier ingestions said of the serials, containers and events the payload
    # mentions (``Connector.mentions``); read-only, the same for every pass.
    heard: Heard = NOTHING_HEARD

    def org_named(self, name: str) -> str:
        """The organization an export names: by a number registered with the hub (FEI,
        DUNS or GLN; spaces, dashes and dots aside), else by ``org_slug`` of the name."""
        digits = _NUMBER_SEPARATORS.sub("", name)
        if digits.isdigit() and (registered := self.numbers.get(digits)) is not None:
            return registered
        return org_slug(name)

    def provenance(self, location: str) -> Provenance:
        return Provenance(
            ingestion_id=self.ingestion_id, connector=self.connector, location=location
        )


Outcome = Record | RecordRejection | RecordWarning | Note


class Connector(ABC):
    """Subclasses set ``name``, ``media_types`` and ``Options``, and implement ``parse``.

    A subclass narrows ``options`` by annotation (``options: MyOptions``)."""

    name: ClassVar[str]
    media_types: ClassVar[tuple[str, ...]]
    Options: ClassVar[type[BaseModel]] = NoOptions
    description: ClassVar[str] = ""

    def __init__(self, options: BaseModel | None = None) -> None:
        self.options = options if options is not None else self.Options()

    @classmethod
    def with_options(cls, raw: dict[str, Any] | None) -> Connector:
        """A connector configured from plain options; PayloadError names a bad option."""
        try:
            options = cls.Options.model_validate(raw or {})
        except ValidationError as error:
            first = error.errors()[0]
            where = ".".join(str(part) for part in first["loc"]) or "options"
            raise PayloadError(f"options.{where}", first["msg"]) from None
        return cls(options)

    @abstractmethod
    def parse(self, payload: IO[bytes], context: ParseContext) -> Iterator[Outcome]:
        """Records and rejections, in payload order; raise PayloadError if unreadable."""

    def mentions(self, payload: IO[bytes]) -> Mentions:
        """What the payload names that earlier payloads may have said something of (a
        pre-scan, before ``parse``); most formats need nothing. An unreadable payload
        mentions nothing: ``parse`` says why."""
        return Mentions()


_NUMBER_SEPARATORS = re.compile(r"[\s.\-]")


def org_slug(name: str) -> str:
    """An organization id slug from a partner's own name or code for it
    (``"Dogwood Excipients GmbH"`` -> ``"dogwood-excipients-gmbh"``); PayloadError-free:
    raises ValueError when nothing usable is left, for the caller to reject the record."""
    slug = "".join(char if char.isalnum() else "-" for char in name.strip().lower())
    slug = "-".join(part for part in slug.split("-") if part)[:64]
    if not slug or not slug[0].isalnum() or not slug.isascii():
        raise ValueError(f"{name!r} does not give an organization id (letters and digits)")
    return slug
