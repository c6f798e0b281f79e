"""``lims.animl``: AnIML documents (ASTM E1947) from a partner's LIMS or instruments.

The 0.90 draft namespace, 1.0 and documents without a namespace read alike: elements
are matched by local name. The document is streamed (spectra make AnIML files large);
samples come before experiment steps in AnIML, which is what lets a step find the lots
of the samples it names.

What becomes what (every record at the place it was read, by path and line):

- ``Sample`` → the lot it is a sample of, as a Batch, when the sample says which: a
  Parameter (anywhere in its Categories) or a Tag named like "Lot", "Lot Number",
  "Batch" (see ``SAMPLE_FIELDS``; more through ``sample_fields``), or the attribute
  ``lot_attribute`` names. AnIML has no lot field, and ``sampleID`` or ``barcode`` are
  by default not taken for one: they name a vial or a plate as often as a lot. The
  lot's maker is the sample's "Manufacturer" / "Supplier" parameter when there is one
  (through ``maker_orgs``, else slugged), else ``lot_maker``, else the partner that
  pushed the file (a LIMS describing its own site's lots).
- A sample a step *produced* (``samplePurpose="produced"``) that names no lot is still
  a made thing: a formulation or a synthesis product that the export identifies by its
  ``sampleID`` only. It becomes a Batch keyed by that sampleID (made by ``lot_maker``,
  else the pushing partner: the step that produced it is theirs), so
  that what went into it is not lost. A consumed sample without a lot stays unknown:
  an ingredient is traceable only by its lot.
- ``ExperimentStep`` → Experiment (experimentStepID, name, Infrastructure/Timestamp,
  the lots of its consumed and produced SampleReferences), and a CONSUMED edge from
  every produced lot to every consumed lot. When the step consumed one lot, the amount
  it records of it (a Result parameter named like "Actual Amount", "Amount Added",
  "Dispensed Quantity", "Net Weight"; see ``AMOUNT_NAMES``, more through
  ``amount_parameters``) is the edge's quantity and unit, not a test result: it is how
  much of that lot went in. The amount added of an ingredient without a lot is not a
  result of the product either: it is left out (it stays in the stored payload).
- Each Parameter in a step's Results, and each value of a dependent Series there →
  TestResult: lab is the pushing partner, ``result_id`` is ``<step id>/<name>`` (a
  Series of several values adds ``/<index>``; a repeated name gets ``#2``...), value
  (or ``text_value`` for strings, booleans and non-finite numbers), unit, method
  (Method, else Technique name), ``tested_on`` the step's timestamp. Independent Series
  are axes, not results. Method and Sample parameters are settings and descriptions,
  not results.
- A result belongs to a lot when the step makes that clear: its one produced lot (a
  synthesis step's yield or purity), else its one consumed lot (the sample under
  test). A result whose step names no lot, or several, is kept without ``batch_id``:
  the measurement is real and stays traceable to the file; only its lot is unknown.

Rejected, with the place and field: a step without experimentStepID (with it, its
results, which have no id without it); a step timestamp that is not a date; a result
parameter without name or value.

A warning, the step and its other results landing: a dependent Series longer than
``max_series_points`` or given as encoded or auto-incremented values. A spectrum or a
chromatogram is a curve, not a set of test results: it is left unread (it stays in the
stored payload), which is not the record being wrong.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from typing import IO, Literal

from lxml import etree
from pydantic import BaseModel, ConfigDict, Field

from connectors.base import Connector, Outcome, ParseContext
from connectors.field_values import date_of, finite_number, normalise_unit
from connectors.record_building import build
from connectors.vocabulary import word_key
from connectors.xml import Streamed, child, children, local_name, stream, text_of
from graph.intake import RecordRejection, RecordWarning
from graph.model import Batch, Edge, EdgeKind, Experiment, Slug, TestResult

SampleField = Literal["lot", "maker"]

SAMPLE_FIELDS: dict[str, SampleField] = {
    **dict.fromkeys(
        ("lot", "lotnumber", "lotno", "lotid", "batch", "batchnumber", "batchno", "batchid"),
        "lot",
    ),
    **dict.fromkeys(
        ("manufacturer", "manufacturername", "maker", "supplier", "suppliername", "vendor"),
        "maker",
    ),
}
# Result parameters that record how much of the consumed lot a step used (word keys).
AMOUNT_NAMES = frozenset(
    {
        "actualamount", "amountadded", "addedamount", "actualquantity", "quantityadded",
        "actualweight", "weightadded", "dispensedamount", "dispensedquantity",
        "dispensedweight", "chargedamount", "chargedquantity", "netweight", "actualmass",
    }
)  # fmt: skip
NUMBERS = frozenset({"I", "L", "F", "D"})
VALUES = NUMBERS | {"S", "Boolean", "DateTime"}


class AnimlOptions(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    sample_fields: dict[str, SampleField] = Field(
        default_factory=dict,
        description="Sample Parameter or Tag names holding the lot number or the lot's "
        "maker, added to the defaults (case, spaces and punctuation ignored).",
    )
    lot_attribute: Literal["sampleID", "barcode", "containerID"] | None = Field(
        default=None, description="A Sample attribute that holds the lot number."
    )
    lot_maker: Slug | None = Field(
        default=None,
        description="Who made the lots when a sample does not say; default: the partner "
        "that pushed the file.",
    )
    maker_orgs: dict[str, Slug] = Field(
        default_factory=dict,
        description="Manufacturer names as samples write them, to PartnerHub organization ids.",
    )
    amount_parameters: list[str] = Field(
        default_factory=list,
        description="Result parameter names that record the amount of the consumed lot a "
        "step used, added to the defaults (case, spaces and punctuation ignored).",
    )
    max_series_points: int = Field(
        default=1000, ge=1, description="Longer Series are curves, not test results."
    )


@dataclass(slots=True)
class _Step:
    """What every result of one experiment step shares."""

    step_id: str
    batch_id: str | None
    method: str | None
    tested_on: date | None
    amount: etree._Element | None = None  # the consumed amount: an edge's, not a result
    result_ids: set[str] = field(default_factory=set)

    def result_id(self, name: str) -> str:
        wanted = f"{self.step_id}/{name}"
        candidate, repeat = wanted, 1
        while candidate in self.result_ids:
            repeat += 1
            candidate = f"{wanted}#{repeat}"
        self.result_ids.add(candidate)
        return candidate


class AnimlConnector(Connector):
    name = "lims.animl"
    media_types = ("application/xml", "text/xml")
    Options = AnimlOptions
    description = "AnIML XML: samples with lot numbers, experiment steps, results"
    options: AnimlOptions

    def parse(self, payload: IO[bytes], context: ParseContext) -> Iterator[Outcome]:
        reader = _Reader(self.options, context)
        for item in stream(payload, ("Sample", "ExperimentStep")):
            if local_name(item.element) == "Sample":
                yield from reader.sample(item)
            else:
                yield from reader.step(item)


class _Reader:
    def __init__(self, options: AnimlOptions, context: ParseContext) -> None:
        self.options = options
        self.context = context
        self.sample_fields = SAMPLE_FIELDS | {
            word_key(name): role for name, role in options.sample_fields.items()
        }
        self.maker_orgs = {name.casefold(): org for name, org in options.maker_orgs.items()}
        self.amount_names = AMOUNT_NAMES | {word_key(name) for name in options.amount_parameters}
        self.lot_of_sample: dict[str, str] = {}  # sampleID -> batch id
        self.unlotted: dict[str, str] = {}  # sampleID -> where a sample without a lot is
        self.lots_written: set[str] = set()

    def sample(self, item: Streamed) -> Iterator[Outcome]:
        element = item.element
        lot, where, maker_name = None, item.location, None
        if self.options.lot_attribute:
            lot = (element.get(self.options.lot_attribute) or "").strip() or None
        for node in element.iter():
            tag = local_name(node)
            if tag == "Parameter":
                value_element = next((c for c in node if local_name(c) in VALUES), None)
                value = text_of(value_element)
            elif tag == "Tag":
                value = (node.get("value") or "").strip() or None
            else:
                continue
            role = self.sample_fields.get(word_key(node.get("name") or ""))
            if role == "lot" and lot is None and value:
                lot, where = value, item.location_of(node)
            elif role == "maker" and maker_name is None and value:
                maker_name = value
        if lot is None:
            if sample_id := (element.get("sampleID") or "").strip():
                self.unlotted[sample_id] = item.location
            return
        maker = self.options.lot_maker or self.context.org
        if maker_name:
            try:
                maker = self.maker_orgs.get(maker_name.casefold()) or self.context.org_named(
                    maker_name
                )
            except ValueError as error:
                yield RecordRejection(where, "maker", str(error))
                return
        batch = build(Batch, self.context, where, maker=maker, number=lot)
        if isinstance(batch, RecordRejection):
            yield batch
            return
        if sample_id := (element.get("sampleID") or "").strip():
            self.lot_of_sample[sample_id] = batch.id
        if batch.id not in self.lots_written:  # many samples of one lot: one record
            self.lots_written.add(batch.id)
            yield batch

    def step(self, item: Streamed) -> Iterator[Outcome]:
        element = item.element
        step_id = (element.get("experimentStepID") or "").strip()
        if not step_id:
            yield RecordRejection(
                item.location,
                "experimentStepID",
                "an ExperimentStep needs an experimentStepID; its results are not kept",
            )
            return
        infrastructure = child(element, "Infrastructure")
        stamp = child(infrastructure, "Timestamp") if infrastructure is not None else None
        tested_on = None
        if (stamp_text := text_of(stamp)) and stamp is not None:
            try:
                tested_on = date_of(stamp_text)
            except ValueError:
                message = f"{stamp_text!r} is not an ISO 8601 date-time"
                yield RecordRejection(item.location_of(stamp), "Timestamp", message)
                return
        used: dict[str, str] = {}  # consumed lot's batch id -> where the step names it
        produced: dict[str, str] = {}
        references = (
            child(infrastructure, "SampleReferenceSet") if infrastructure is not None else None
        )
        consumed_samples = 0  # samples the step consumed, traceable by their lot or not
        for reference in children(references, "SampleReference") if references is not None else []:
            sample_id = (reference.get("sampleID") or "").strip()
            purpose = word_key(reference.get("samplePurpose") or "")
            consumed_samples += purpose == "consumed" and sample_id != ""
            if purpose == "produced" and sample_id in self.unlotted:
                yield from self.produced_without_lot(sample_id)
            lot = self.lot_of_sample.get(sample_id)
            if lot and purpose in ("consumed", "produced"):
                lots = used if purpose == "consumed" else produced
                lots.setdefault(lot, item.location_of(reference))
        name = (element.get("name") or "").strip() or None
        experiment = build(
            Experiment,
            self.context,
            item.location,
            org=self.context.org,
            experiment_id=step_id,
            title=name,
            performed_on=tested_on,
            used_ids=tuple(used),
            produced_ids=tuple(produced),
        )
        yield experiment
        if isinstance(experiment, RecordRejection):
            return  # the results' ids are made from the step id that was refused
        # How much of a consumed sample went in is never a result of what it went into:
        # the edge's quantity when the sample is a known lot, else nothing.
        amount = self.consumed_amount(element) if consumed_samples and produced else None
        # One amount is one sample's: with two consumed, even if only one has a lot, it
        # cannot be told whose it is.
        single = consumed_samples == 1 and len(used) == 1
        quantity, unit = _amount(amount) if single else (None, None)
        for output in produced:
            for source, where in used.items():
                if source != output:
                    yield build(
                        Edge,
                        self.context,
                        where,
                        kind=EdgeKind.CONSUMED,
                        source=output,
                        target=source,
                        quantity=quantity,
                        unit=unit if quantity is not None else None,
                    )
        tested = [*produced] if len(produced) == 1 else [*used] if len(used) == 1 else []
        method = child(element, "Method")
        technique = child(element, "Technique")
        context = _Step(
            step_id,
            tested[0] if tested else None,
            _name(method) or _name(technique),
            tested_on,
            amount=amount,
        )
        for result in children(element, "Result"):
            yield from self.results(item, result, context)

    def produced_without_lot(self, sample_id: str) -> Iterator[Outcome]:
        """The Batch of a produced sample that names no lot, keyed by its sampleID."""
        where = self.unlotted.pop(sample_id)
        maker = self.options.lot_maker or self.context.org
        batch = build(Batch, self.context, where, maker=maker, number=sample_id)
        if isinstance(batch, RecordRejection):
            yield batch
            return
        self.lot_of_sample[sample_id] = batch.id
        if batch.id not in self.lots_written:
            self.lots_written.add(batch.id)
            yield batch

    def consumed_amount(self, step: etree._Element) -> etree._Element | None:
        """The first Result parameter, at any depth, that records the amount used."""
        for result in children(step, "Result"):
            for node in result.iter():
                if local_name(node) == "Parameter" and (
                    word_key(node.get("name") or "") in self.amount_names
                ):
                    return node
        return None

    def results(self, item: Streamed, container: etree._Element, step: _Step) -> Iterator[Outcome]:
        """Parameters and Series under a Result, at any depth of Categories."""
        for node in container:
            tag = local_name(node)
            if tag == "Category":
                yield from self.results(item, node, step)
            elif tag == "Parameter" and node is not step.amount:
                yield from self.parameter(item, node, step)
            elif tag == "SeriesSet":
                for series in children(node, "Series"):
                    yield from self.series(item, series, step)

    def parameter(
        self, item: Streamed, parameter: etree._Element, step: _Step
    ) -> Iterator[Outcome]:
        where = item.location_of(parameter)
        name = (parameter.get("name") or "").strip()
        value = next((c for c in parameter if local_name(c) in VALUES), None)
        if not name:
            yield RecordRejection(where, "name", "a result Parameter needs a name")
        elif value is None or text_of(value) is None:
            yield RecordRejection(where, "value", f"result parameter {name!r} has no value")
        else:
            yield self.result(step, where, name, name, value, _unit(parameter))

    def series(self, item: Streamed, series: etree._Element, step: _Step) -> Iterator[Outcome]:
        if (series.get("dependency") or "").strip() == "independent":
            return  # an axis (position, wavelength, time) of the dependent series
        where = item.location_of(series)
        name = (series.get("name") or "").strip()
        if not name:
            yield RecordRejection(where, "name", "a result Series needs a name")
            return
        points: list[tuple[etree._Element, str]] = []
        for value_set in series:
            kind = local_name(value_set)
            if kind in ("EncodedValueSet", "AutoIncrementedValueSet"):
                message = (
                    f"series {name!r} gives its values as {kind}: a curve, kept in the stored "
                    "payload, not read as test results"
                )
                yield RecordWarning(where, kind, message)
                return
            if kind == "IndividualValueSet":
                set_path = item.path_to(value_set)
                positions: dict[str, int] = {}
                for value in value_set:
                    if (tag := local_name(value)) in VALUES:
                        positions[tag] = positions.get(tag, 0) + 1
                        step_name = tag if positions[tag] == 1 else f"{tag}[{positions[tag]}]"
                        line = f" (line {value.sourceline})" if value.sourceline else ""
                        points.append((value, f"{set_path}/{step_name}{line}"))
        if len(points) > self.options.max_series_points:
            yield RecordWarning(
                where,
                "Series",
                f"series {name!r} has {len(points)} values, more than max_series_points "
                f"({self.options.max_series_points}): a curve is kept in the stored payload, "
                "not as test results",
            )
            return
        unit = _unit(series)
        for index, (value, value_where) in enumerate(points):
            if text_of(value) is None:
                yield RecordRejection(value_where, "value", f"series {name!r} has an empty value")
                continue
            key = name if len(points) == 1 else f"{name}/{index}"
            yield self.result(step, value_where, key, name, value, unit)

    def result(
        self,
        step: _Step,
        where: str,
        key: str,
        test: str,
        value: etree._Element,
        unit: str | None,
    ) -> TestResult | RecordRejection:
        text = text_of(value) or ""
        number = finite_number(text) if local_name(value) in NUMBERS else None
        return build(
            TestResult,
            self.context,
            where,
            lab=self.context.org,
            result_id=step.result_id(key),
            batch_id=step.batch_id,
            test=test,
            method=step.method,
            value=number,
            text_value=None if number is not None else text,
            unit=unit,
            tested_on=step.tested_on,
        )


def _name(element: etree._Element | None) -> str | None:
    return ((element.get("name") or "").strip() or None) if element is not None else None


def _amount(parameter: etree._Element | None) -> tuple[float | None, str | None]:
    """A parameter's finite number and unit, or (None, None) when it has no number."""
    if parameter is None:
        return None, None
    value = next((c for c in parameter if local_name(c) in NUMBERS), None)
    number = finite_number(text_of(value) or "") if value is not None else None
    return (number, _unit(parameter)) if number is not None else (None, None)


def _unit(holder: etree._Element) -> str | None:
    unit = child(holder, "Unit")
    return normalise_unit(unit.get("label")) if unit is not None else None
