"""``eln.rocrate``: ELN exports in the ELN Consortium's ``.eln`` format, an RO-Crate.

A ``.eln`` file is a zip with one folder holding ``ro-crate-metadata.json`` and the
entries' files; eLabFTW, SampleDB, RSpace, Kadi4Mat, PASTA, AI4Green and others write
it. A bare ``ro-crate-metadata.json`` is read too. RO-Crate 1.1 requires that file to
be flattened, compacted JSON-LD: one ``@graph`` of entities, each with an ``@id``,
referring to each other by ``{"@id": ...}``; that is what is read here (a general
JSON-LD processor, or ro-crate-py, which unpacks the archive to disk first, adds
nothing for this). Only the metadata member is read from the zip; the files stay in
the stored payload, named and checksummed in the crate, and are not expanded.

What becomes what (every record at the zip member and JSON pointer of its entity):

- An ELN entry (a ``Dataset`` other than the crate's root, or a ``CreateAction``: a run
  or a step; not the action that created the crate, nor a Dataset that only links to
  another entry) → Experiment of the pushing partner: ``identifier`` when it is text, else
  the ``@id``; ``name``; ``dateCreated``, else ``endTime`` or ``startTime``, as its day;
  its files (``hasPart`` Files) by reference, with their SHA-256 when the crate gives it.
- A sample, material or other entity that names its lot (a ``PropertyValue`` in its
  ``variableMeasured`` or ``additionalProperty`` whose ``propertyID`` or ``name`` is a
  lot word: "Lot", "Lot Number", "Batch", "Batch ID"... see ``LOT_WORDS``, more through
  ``lot_properties``; or its own ``lotNumber`` / ``batchNumber``) → Batch, made by
  ``lot_maker`` or else the pushing partner. Names, serial numbers and run ids are
  never taken for lots.
- What an entry used and made: a ``CreateAction``'s ``object`` (its inputs) and
  ``result`` (its outputs), and the entities an entry ``mentions`` (eLabFTW's linked
  items, inputs of the entry) → the experiment's used and produced lots, and a
  CONSUMED edge from every lot it made to every lot it used. An entity
  ``isBasedOn`` / ``wasDerivedFrom`` another → CONSUMED from it to the other when both
  name lots.

Refused before anything is expanded: a zip whose end record declares more than
``MAX_MEMBERS`` members (read before its directory is listed), or
whose metadata member is larger than ``MAX_METADATA_BYTES`` (declared or read); a zip
without ``ro-crate-metadata.json``; a document without ``@graph``. A malformed entity
is a located rejection, and the rest of the crate still lands.
"""

from __future__ import annotations

import io
import lzma
import zipfile
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date
from typing import IO, Any

from pydantic import BaseModel, ConfigDict, Field

from connectors.base import Connector, Outcome, ParseContext, PayloadError
from connectors.field_values import date_of
from connectors.json_source import load_json, pointer
from connectors.record_building import build
from connectors.vocabulary import word_key
from graph.intake import RecordRejection
from graph.model import Batch, Edge, EdgeKind, Experiment, Slug

METADATA = "ro-crate-metadata.json"
MAX_MEMBERS = 10_000
MAX_METADATA_BYTES = 64 * 2**20
LOT_WORDS = frozenset(
    {"lot", "lotnumber", "lotno", "lotid", "batch", "batchnumber", "batchno", "batchid"}
)
# Links from an entity to where it came from (schema.org, PROV-O as crates write them).
DERIVED_FROM = ("isBasedOn", "wasDerivedFrom", "prov:wasDerivedFrom")


class RoCrateOptions(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    lot_properties: list[str] = Field(
        default_factory=list,
        description="PropertyValue names or propertyIDs that hold a lot number, added to "
        "the defaults (case, spaces and punctuation ignored).",
    )
    lot_maker: Slug | None = Field(
        default=None,
        description="Who made the lots the crate names; default: the partner that pushed it.",
    )


@dataclass(frozen=True, slots=True)
class _Entity:
    index: int
    data: dict[str, Any]

    @property
    def id(self) -> str:
        return str(self.data["@id"])

    def types(self) -> set[str]:
        kind = self.data.get("@type")
        return {kind} if isinstance(kind, str) else {k for k in kind or [] if isinstance(k, str)}


class RoCrateConnector(Connector):
    name = "eln.rocrate"
    media_types = ("application/zip", "application/vnd.eln+zip", "application/ld+json")
    Options = RoCrateOptions
    description = (
        "ELN Consortium .eln (RO-Crate zip) or ro-crate-metadata.json: entries, lots, links"
    )
    options: RoCrateOptions

    def parse(self, payload: IO[bytes], context: ParseContext) -> Iterator[Outcome]:
        member, document = _metadata(payload)
        graph = document.get("@graph") if isinstance(document, dict) else None
        if not isinstance(graph, list):
            raise PayloadError(f"{member} /", "an RO-Crate's metadata has an @graph list")
        reader = _Reader(self.options, context, member)
        yield from reader.read(graph)


class _Reader:
    def __init__(self, options: RoCrateOptions, context: ParseContext, member: str) -> None:
        self.context = context
        self.member = member
        self.maker = options.lot_maker or context.org
        self.lot_words = LOT_WORDS | {word_key(name) for name in options.lot_properties}
        self.entities: dict[str, _Entity] = {}
        self.lots: dict[str, str] = {}  # entity @id -> batch id

    def at(self, entity: _Entity, *steps: str | int) -> str:
        return f"{self.member} {pointer('/@graph', entity.index, *steps)}"

    def read(self, graph: list[Any]) -> Iterator[Outcome]:
        for index, item in enumerate(graph):
            if not isinstance(item, dict) or not isinstance(item.get("@id"), str):
                where = f"{self.member} {pointer('/@graph', index)}"
                yield RecordRejection(where, "@id", "an RO-Crate entity is an object with an @id")
                continue
            self.entities[item["@id"]] = _Entity(index, item)
        for entity in self.entities.values():
            yield from self.lot_of(entity)
        for entity in self.entities.values():
            yield from self.derivations(entity)
        for entity in self.entities.values():
            if self.is_entry(entity):
                yield from self.entry(entity)

    def is_entry(self, entity: _Entity) -> bool:
        """An ELN entry: a Dataset or a CreateAction; not the crate's root or descriptor,
        not the action that made the crate (its object or result is the root), and not a
        Dataset that only points at another entry (RSpace's linked documents)."""
        if entity.id == "./" or entity.id.endswith(METADATA):
            return False
        data = entity.data
        if "./" in _refs(data.get("object")) + _refs(data.get("result")):
            return False
        identifier = data.get("identifier")
        if isinstance(identifier, str) and identifier != entity.id and identifier in self.entities:
            return False
        return bool(entity.types() & {"Dataset", "CreateAction"})

    def lot_of(self, entity: _Entity) -> Iterator[Outcome]:
        found = self.named_lot(entity)
        if found is None:
            return
        number, where = found
        batch = build(Batch, self.context, where, maker=self.maker, number=number)
        yield batch
        if isinstance(batch, Batch):
            self.lots[entity.id] = batch.id

    def named_lot(self, entity: _Entity) -> tuple[str, str] | None:
        """The lot number an entity names and where, or None."""
        for key in ("lotNumber", "batchNumber"):
            if isinstance(value := entity.data.get(key), str | int) and str(value).strip():
                return str(value).strip(), self.at(entity, key)
        for holder in ("variableMeasured", "additionalProperty"):
            given = entity.data.get(holder)
            for position, item in enumerate(given if isinstance(given, list) else [given]):
                if not isinstance(item, dict):
                    continue
                prop = self.entities.get(item["@id"]) if isinstance(item.get("@id"), str) else None
                data = prop.data if prop is not None else item
                names = (data.get("propertyID"), data.get("name"))
                if any(isinstance(n, str) and _last_word(n) in self.lot_words for n in names):
                    value = data.get("value")
                    if isinstance(value, str | int) and str(value).strip():
                        where = (
                            self.at(prop, "value")
                            if prop is not None
                            else self.at(entity, holder, position, "value")
                        )
                        return str(value).strip(), where
        return None

    def derivations(self, entity: _Entity) -> Iterator[Outcome]:
        made = self.lots.get(entity.id)
        if made is None:
            return
        for key in DERIVED_FROM:
            for origin in _refs(entity.data.get(key)):
                source = self.lots.get(origin)
                if source and source != made:
                    yield self.consumed(made, source, self.at(entity, key))

    def entry(self, entity: _Entity) -> Iterator[Outcome]:
        data = entity.data
        identifier = data.get("identifier")
        entry_id = (
            identifier.strip() if isinstance(identifier, str) and identifier.strip() else entity.id
        )
        day: date | None = None
        for key in ("dateCreated", "endTime", "startTime"):
            if isinstance(stamp := data.get(key), str) and stamp.strip():
                try:
                    day = date_of(stamp)
                except ValueError:
                    message = f"{stamp!r} is not an ISO 8601 date-time"
                    yield RecordRejection(self.at(entity, key), key, message)
                    return
                break
        is_action = "CreateAction" in entity.types()
        used_refs = _refs(data.get("object")) if is_action else _refs(data.get("mentions"))
        used = _unique(self.lots[ref] for ref in used_refs if ref in self.lots)
        produced = _unique(self.lots[ref] for ref in _refs(data.get("result")) if ref in self.lots)
        name = data.get("name")
        files = tuple(self.file_of(ref) for ref in _refs(data.get("hasPart")) if self.is_file(ref))
        yield build(
            Experiment,
            self.context,
            self.at(entity),
            org=self.context.org,
            experiment_id=entry_id,
            title=name.strip() if isinstance(name, str) and name.strip() else None,
            performed_on=day,
            used_ids=used,
            produced_ids=produced,
            files=files,
        )
        for output in produced:
            for source in used:
                if source != output:
                    yield self.consumed(output, source, self.at(entity, "object"))

    def is_file(self, ref: str) -> bool:
        found = self.entities.get(ref)
        return found is not None and "File" in found.types()

    def file_of(self, ref: str) -> str:
        """A file by reference: its path in the export, and its checksum if given."""
        checksum = self.entities[ref].data.get("sha256")
        return f"{ref} sha256:{checksum}" if isinstance(checksum, str) and checksum else ref

    def consumed(self, output: str, source: str, where: str) -> Outcome:
        return build(
            Edge, self.context, where, kind=EdgeKind.CONSUMED, source=output, target=source
        )


def _metadata(payload: IO[bytes]) -> tuple[str, Any]:
    """The metadata member's name and its parsed JSON, from a zip or a bare document."""
    head = payload.read(4)
    payload.seek(0)
    if head != b"PK\x03\x04":
        return METADATA, load_json(payload)
    declared = _declared_members(payload)
    if declared > MAX_MEMBERS:
        raise PayloadError("zip", f"{declared} members, more than {MAX_MEMBERS}")
    try:
        archive = zipfile.ZipFile(payload)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, OSError) as error:
        raise PayloadError("zip", f"not a readable zip: {error}") from None
    with archive:
        members = archive.infolist()
        if len(members) > MAX_MEMBERS:
            raise PayloadError("zip", f"{len(members)} members, more than {MAX_MEMBERS}")
        found = sorted(
            (m for m in members if m.filename.rsplit("/", 1)[-1] == METADATA),
            key=lambda m: m.filename.count("/"),
        )
        if not found:
            raise PayloadError("zip", f"no {METADATA}: not an RO-Crate (.eln) export")
        member = found[0]
        if member.file_size > MAX_METADATA_BYTES:
            raise PayloadError(
                member.filename, f"{member.file_size} bytes, more than {MAX_METADATA_BYTES}"
            )
        try:
            with archive.open(member) as opened:
                raw = opened.read(MAX_METADATA_BYTES + 1)
        except (
            zipfile.BadZipFile,
            NotImplementedError,  # a compression method zipfile lacks
            RuntimeError,  # an encrypted member
            OSError,
            EOFError,
            zlib.error,  # a damaged deflate stream
            lzma.LZMAError,
        ) as error:
            raise PayloadError(member.filename, f"cannot be read: {error}") from None
        if len(raw) > MAX_METADATA_BYTES:
            raise PayloadError(member.filename, f"expands past {MAX_METADATA_BYTES} bytes")
    try:
        return member.filename, load_json(io.BytesIO(raw))
    except PayloadError as error:
        raise PayloadError(f"{member.filename} {error.location}", error.message) from None


_END_OF_DIRECTORY = b"PK\x05\x06"


def _declared_members(payload: IO[bytes]) -> int:
    """How many members the zip's end record says it has, read before its directory is
    (a directory of a million entries costs hundreds of MB to list). A zip64 archive,
    which writes 0xFFFF here, has more members than any ELN export needs."""
    payload.seek(0, io.SEEK_END)
    size = payload.tell()
    payload.seek(max(0, size - 22 - 65_535))  # the record, then a comment of at most 64 KiB
    tail = payload.read()
    payload.seek(0)
    at = tail.rfind(_END_OF_DIRECTORY)
    if at < 0 or len(tail) < at + 22:
        raise PayloadError("zip", "not a readable zip: no end of central directory record")
    return int.from_bytes(tail[at + 10 : at + 12], "little")


def _refs(value: Any) -> list[str]:
    """The ``@id``s a property refers to (one reference or a list of them)."""
    items = value if isinstance(value, list) else [value]
    return [
        item["@id"] for item in items if isinstance(item, dict) and isinstance(item.get("@id"), str)
    ]


def _last_word(name: str) -> str:
    """``"chemistry/lot"``, ``"meta.Lot Number"`` -> the key of their last part."""
    for separator in ("/", ".", "#", ":"):
        name = name.rsplit(separator, 1)[-1]
    return word_key(name)


def _unique(ids: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(ids))
