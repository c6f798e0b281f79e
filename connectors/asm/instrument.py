"""``lims.instrument``: what the instrument wrote (Empower, Chromeleon, NovaBio Flex2,
Vi-CELL, NanoDrop, QuantStudio, HIAC, ...), not ASM, read through Benchling's
``allotropy``, which converts 50+ instrument formats to the Allotrope Simple Model; the
ASM it makes is then read exactly as ``eln.asm`` reads an ASM file.

The ``instrument`` option is allotropy's vendor name (``NOVABIO_FLEX2``,
``BENCHLING_EMPOWER``, ``BECKMAN_VI_CELL_BLU``...); the other options are ``eln.asm``'s
(where a lot is named). The pushed file's name tells allotropy its format (``.csv``,
``.xlsx``, ``.txt``); without one, the instrument's first supported extension is
assumed. Every record's location is the JSON pointer into the ASM allotropy made,
prefixed with the file it was made from and allotropy's version, so it traces back to
the stored payload and can be reproduced.

allotropy invents a random UUID for each measurement the file gives no id to; those
become ids derived from the file's SHA-256 and their order (ids the file itself holds
are kept), so the same file makes the same result ids every time: pushing it again,
the two passes of one ingestion and a replay all change nothing.

allotropy raises whatever its parsers raise on a file that is not the instrument's
export; each such failure is the payload's (a ``PayloadError`` naming the instrument
and the error), never a failed ingestion.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import io
import json
from collections.abc import Iterator
from typing import IO, TYPE_CHECKING, Any

from pydantic import field_validator

from connectors.asm.connector import AsmConnector, AsmOptions
from connectors.base import Connector, Outcome, ParseContext, PayloadError
from connectors.field_values import GUID
from graph.intake import RecordRejection, RecordWarning
from graph.model import Edge, NodeRecord

if TYPE_CHECKING:
    from allotropy.parser_factory import Vendor

ALLOTROPY_VERSION = importlib.metadata.version("allotropy")


def _vendors() -> type[Vendor]:
    # allotropy imports all its parsers (pandas, openpyxl...) on import, seconds of start-up
    # that every hub process and CLI call would pay: it is loaded when first needed.
    from allotropy.parser_factory import Vendor

    return Vendor


class InstrumentOptions(AsmOptions):
    """An instrument (allotropy's vendor name), and where its samples name lots."""

    instrument: str

    @field_validator("instrument")
    @classmethod
    def _known_instrument(cls, value: str) -> str:
        if value in _vendors().__members__:
            return value
        raise ValueError(f"not an instrument allotropy reads: {value!r} (e.g. NOVABIO_FLEX2)")


class InstrumentConnector(Connector):
    name = "lims.instrument"
    media_types = ("text/csv", "text/plain", "application/octet-stream")
    Options = InstrumentOptions
    description = "Raw instrument exports, through allotropy to ASM (option instrument)"
    options: InstrumentOptions

    def parse(self, payload: IO[bytes], context: ParseContext) -> Iterator[Outcome]:
        vendor = _vendors()[self.options.instrument]
        filename = _filename(context.filename, vendor.supported_extensions)
        asm = _converted(payload.read(), filename, vendor)
        options = AsmOptions(lot_field=self.options.lot_field, lot_maker=self.options.lot_maker)
        prefix = f"{filename} as ASM (allotropy {ALLOTROPY_VERSION} {vendor.name})"
        for outcome in AsmConnector(options).parse(io.BytesIO(asm), context):
            yield _located(outcome, prefix)


def _filename(given: str, extensions: list[str]) -> str:
    if any(given.lower().endswith(f".{extension}") for extension in extensions):
        return given
    return f"{given or 'export'}.{extensions[0]}"


def _converted(contents: bytes, filename: str, vendor: Vendor) -> bytes:
    from allotropy.to_allotrope import allotrope_from_io

    try:
        asm = allotrope_from_io(io.BytesIO(contents), filename, vendor)
    except Exception as error:  # allotropy's parsers raise anything on a foreign file
        message = f"allotropy could not read it as {vendor.display_name}: {error}"
        raise PayloadError("file", message) from None
    return json.dumps(_stable_ids(asm, contents)).encode()


def _stable_ids(asm: Any, contents: bytes) -> Any:
    """``asm`` with every UUID allotropy invented (one the file does not hold) replaced
    by ``<file sha-256 prefix>-<n>``, n counting distinct ones in document order."""
    digest = hashlib.sha256(contents).hexdigest()[:16]
    invented: dict[str, str] = {}

    def stable(value: Any) -> Any:
        if isinstance(value, dict):
            return {key: stable(item) for key, item in value.items()}
        if isinstance(value, list):
            return [stable(item) for item in value]
        if isinstance(value, str) and GUID.fullmatch(value) and value.encode() not in contents:
            return invented.setdefault(value, f"{digest}-{len(invented) + 1}")
        return value

    return stable(asm)


def _located(outcome: Outcome, prefix: str) -> Outcome:
    """``outcome`` with its location prefixed by the file and conversion it came from."""
    if isinstance(outcome, RecordRejection | RecordWarning):
        return type(outcome)(f"{prefix} {outcome.location}", outcome.field, outcome.message)
    if not isinstance(outcome, NodeRecord | Edge):
        return outcome  # notes: ASM makes none
    provenance = outcome.require_provenance()
    moved = provenance.model_copy(update={"location": f"{prefix} {provenance.location}"})
    return outcome.model_copy(update={"provenance": moved})
