"""``eln.asm``: Allotrope Simple Model (ASM) JSON, as instrument data converters write it.

One ASM file is one instrument run: a ``<technique> aggregate document`` holding
measurement documents (each with a measurement identifier, a time, the sample
measured and its results) and the data system and device that produced them.

What lands:

- one ``TestResult`` per measured quantity (see ``connectors.asm.measurements``), owned by the
  pushing lab, its id made from the measurement identifier and the quantity's place,
  so re-ingesting the file changes nothing;
- one ``Batch`` per lot tested, when the partner's samples name lots (``lot_field``),
  and the results point at it;
- one ``Experiment`` for the run (id from the data system document's file
  identifier), titled by technique, device and software, with the lots it used.

``batch identifier`` is not always a manufacturing lot: Empower writes its sample-set
id there, other systems a run GUID or a date. A lot therefore comes only from the field
the partner's ``lot_field`` option declares, or, when it declares none, from the
technique's default (``TECHNIQUE_LOT_FIELDS``: bioprocess analyzers and cell counters
write the culture's batch there; chromatography data systems, plate readers,
spectrophotometers and qPCR do not, so by default they name no lot). Even then, a
default field's value that is a date or a GUID is not taken for a lot: the results land
without one, and a warning says why.

An eLabFTW / ELN-consortium RO-Crate (``ro-crate-metadata.json`` of a ``.eln`` file)
is refused with a ``PayloadError``: it is schema.org JSON-LD describing notebook
entries, not ASM measurements; ``eln.rocrate`` reads it.
"""

from __future__ import annotations

import re
from collections.abc import Generator, Iterator
from datetime import date
from typing import IO, Any

from pydantic import BaseModel, ConfigDict, field_validator

from connectors.asm.measurements import Measurement, measurement_documents, quantities
from connectors.base import Connector, Outcome, ParseContext, PayloadError
from connectors.field_values import GUID, date_of, finite_number, normalise_unit, text_value
from connectors.json_source import load_json, pointer
from connectors.record_building import build
from graph.intake import RecordRejection, RecordWarning
from graph.model import Batch, Experiment, Slug, TestResult

LOT_FIELDS = ("batch identifier", "sample identifier", "none")
# Where a technique's converters put the tested lot when the partner does not say.
TECHNIQUE_LOT_FIELDS = {
    "solution analyzer": "batch identifier",  # bioprocess analyzers: the culture's batch
    "cell counting": "batch identifier",
    "cell culture analyzer": "batch identifier",
}
# Values converters write in "batch identifier" that are not lots.
_NOT_A_LOT = re.compile(rf"\d{{4}}-\d{{2}}-\d{{2}}([T ].*)?|{GUID.pattern}")  # a day or a GUID
CUSTOM_PREFIX = "custom:"


class AsmOptions(BaseModel):
    """How one partner's ASM files name lots."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # Where the tested lot's number is: a sample document field, a key of the sample's
    # custom information document ("custom:Lot Number"), or nowhere ("none").
    # None: the technique's default (TECHNIQUE_LOT_FIELDS, else "none").
    lot_field: str | None = None
    # Whose lot numbers these are; by default the pushing organization's own.
    lot_maker: Slug | None = None

    @field_validator("lot_field")
    @classmethod
    def _known_lot_field(cls, value: str | None) -> str | None:
        if (
            value is None
            or value in LOT_FIELDS
            or (value.startswith(CUSTOM_PREFIX) and value[7:].strip())
        ):
            return value
        raise ValueError(
            "expected 'batch identifier', 'sample identifier', "
            "'custom:<key of the sample's custom information document>' or 'none'"
        )


class AsmConnector(Connector):
    name = "eln.asm"
    media_types = ("application/json",)
    Options = AsmOptions
    description = "Allotrope Simple Model JSON: measurements, samples and the lots tested"

    options: AsmOptions

    def parse(self, payload: IO[bytes], context: ParseContext) -> Iterator[Outcome]:
        document = load_json(payload)
        for technique, where, aggregate in _aggregates(document):
            run = _RunReader(self.options, context, technique, aggregate, where)
            yield from run.outcomes()


class _RunReader:
    """One aggregate document: its measurements, then the run as an Experiment."""

    def __init__(
        self,
        options: AsmOptions,
        context: ParseContext,
        technique: str,
        aggregate: dict[str, Any],
        where: str,
    ) -> None:
        self.options = options
        self.context = context
        self.technique = technique
        self.aggregate = aggregate
        self.where = where
        self.software = _joined(_section(aggregate, "data system document"), SOFTWARE_KEYS)
        self.device = _joined(_section(aggregate, "device system document"), DEVICE_KEYS)
        self.batch_ids: dict[str, None] = {}  # lots tested, in first-seen order
        self.not_taken: set[str] = set()  # batch identifiers said once not to be lots
        self.result_ids: set[str] = set()
        self.dates: list[date] = []

    def outcomes(self) -> Iterator[Outcome]:
        for found in measurement_documents(self.aggregate, self.where):
            if isinstance(found, RecordRejection):
                yield found
            else:
                yield from self._measurement(found)
        yield from self._experiment()

    def _measurement(self, measurement: Measurement) -> Iterator[Outcome]:
        identifier = text_value(measurement.document.get("measurement identifier"))
        if identifier is None:
            yield RecordRejection(
                measurement.location,
                "measurement identifier",
                "missing: every result's id is made from it",
            )
            return
        tested_on: date | None = None
        time = measurement.inherited("measurement time")
        if time is not None and text_value(time[0]) is not None:
            try:
                tested_on = date_of(str(time[0]))
            except ValueError:
                yield RecordRejection(
                    time[1], "measurement time", f"not an ISO 8601 date or time: {time[0]!r}"
                )
                return
            self.dates.append(tested_on)
        batch_id = yield from self._tested_lot(measurement)
        method = _method_text(
            measurement.method_name(),
            " ".join(part for part in (measurement.device_type(), self.device) if part),
            self.software,
        )
        for quantity in quantities(measurement):
            value = finite_number(quantity.value)
            yield build(
                TestResult,
                self.context,
                quantity.location,
                lab=self.context.org,
                result_id=self._unique_result_id("/".join((identifier, *quantity.id_steps))),
                test=quantity.test,
                value=value,
                text_value=None if value is not None else text_value(quantity.value),
                unit=normalise_unit(quantity.unit),
                tested_on=tested_on,
                method=method,
                batch_id=batch_id,
            )

    def _tested_lot(self, measurement: Measurement) -> Generator[Outcome, None, str | None]:
        """Yield the tested lot's Batch the first time it is seen; return its id."""
        declared = self.options.lot_field
        field = declared or TECHNIQUE_LOT_FIELDS.get(self.technique, "none")
        found = measurement.inherited("sample document")
        if found is None or not isinstance(found[0], dict):
            return None
        if field == "none":
            if declared is None and (written := text_value(found[0].get("batch identifier"))):
                yield from self._not_taken(written, pointer(found[1], "batch identifier"))
            return None
        sample, sample_at = found
        if field.startswith(CUSTOM_PREFIX):
            key = field.removeprefix(CUSTOM_PREFIX).strip()
            custom = sample.get("custom information document")
            custom = custom if isinstance(custom, dict) else {}
            # Exact key first; converters vary in capitalisation between versions.
            actual = key if key in custom else _casefold_match(custom, key)
            number = text_value(custom.get(actual)) if actual else None
            where = pointer(sample_at, "custom information document", actual or key)
        else:
            number = text_value(sample.get(field))
            where = pointer(sample_at, field)
        if number is None:
            return None
        if declared is None and _NOT_A_LOT.fullmatch(number):
            yield RecordWarning(
                where,
                field,
                f"{number!r} is a date or a GUID, not taken for a lot; declare the field "
                "that holds lots with the lot_field option",
            )
            return None
        maker = self.options.lot_maker or self.context.org
        batch = build(Batch, self.context, where, maker=maker, number=number)
        if isinstance(batch, RecordRejection):
            yield batch
            return None
        if batch.id not in self.batch_ids:
            self.batch_ids[batch.id] = None
            yield batch
        return batch.id

    def _not_taken(self, written: str, where: str) -> Iterator[Outcome]:
        """Say once per run that a batch identifier was not taken for a lot."""
        if written in self.not_taken:
            return
        self.not_taken.add(written)
        yield RecordWarning(
            where,
            "batch identifier",
            f"{written!r} is not taken for a lot: {self.technique} exports write other "
            "things there (a sample set, a run); if it is your lot, say so with lot_field",
        )

    def _unique_result_id(self, result_id: str) -> str:
        """The id, suffixed when a malformed file repeats a measurement identifier."""
        candidate, count = result_id, 1
        while candidate in self.result_ids:
            count += 1
            candidate = f"{result_id} ({count})"
        self.result_ids.add(candidate)
        return candidate

    def _experiment(self) -> Iterator[Outcome]:
        data_system = _section(self.aggregate, "data system document")
        experiment_id = next(
            (
                value
                for key in ("ASM file identifier", "file name")
                if (value := text_value(data_system.get(key)))
            ),
            text_value(self.context.filename),
        )
        if experiment_id is None:
            return  # nothing names the run; its results stand on their own
        title = f"{self.technique} on {self.device}" if self.device else self.technique
        yield build(
            Experiment,
            self.context,
            pointer(self.where, "data system document") if data_system else self.where,
            org=self.context.org,
            experiment_id=experiment_id,
            title=f"{title} ({self.software})" if self.software else title,
            performed_on=min(self.dates) if self.dates else None,
            used_ids=tuple(self.batch_ids),
        )


SOFTWARE_KEYS = ("software name", "software version")
DEVICE_KEYS = ("product manufacturer", "model number", "asset management identifier")


def _aggregates(document: Any) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """``(technique, pointer, aggregate document)`` for each top-level aggregate."""
    if not isinstance(document, dict):
        raise PayloadError("/", f"an ASM document is a JSON object, not a {_json_type(document)}")
    found = [
        (key.removesuffix(" aggregate document"), pointer("", key), value)
        for key, value in document.items()
        if key.endswith(" aggregate document") and isinstance(value, dict)
    ]
    if not found:
        if "@graph" in document:
            raise PayloadError(
                "/@graph",
                "an RO-Crate (.eln) metadata document, not Allotrope Simple Model: its "
                "notebook entries are schema.org Datasets, not ASM measurement documents; "
                "push it to eln.rocrate",
            )
        raise PayloadError(
            "/",
            "not an Allotrope Simple Model document: expected a '<technique> aggregate "
            "document' object at the top level (e.g. 'solution analyzer aggregate document')",
        )
    yield from found


def _section(aggregate: dict[str, Any], key: str) -> dict[str, Any]:
    value = aggregate.get(key)
    return value if isinstance(value, dict) else {}


def _joined(section: dict[str, Any], keys: tuple[str, ...]) -> str | None:
    parts = [text for key in keys if (text := text_value(section.get(key)))]
    return " ".join(parts) or None


def _method_text(name: str | None, device: str | None, software: str | None) -> str | None:
    """ "method X; device Y; software Z", with whichever parts the file names."""
    parts = [
        f"{label} {value}"
        for label, value in (("method", name), ("device", device), ("software", software))
        if value
    ]
    return "; ".join(parts) or None


def _casefold_match(mapping: dict[str, Any], key: str) -> str | None:
    wanted = key.casefold()
    return next((candidate for candidate in mapping if candidate.casefold() == wanted), None)


def _json_type(value: Any) -> str:
    return {list: "list", str: "string", bool: "boolean", type(None): "null"}.get(
        type(value), "number"
    )
