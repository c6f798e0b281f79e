"""Rows to records: a profile's record specs bound to one file's columns.

Binding happens once per file, when the header (or, for JSON lines, nothing) says
where each column is; after that a row costs one closure call per mapped field. A
row's trouble is located by the caller's ``line N`` and named by the column it came
from ("Batch ID (batch number)"), so a partner can find and fix the cell.

Failure is as small as the data allows: a bad input lot loses its CONSUMED edge, not
the batch; a bad pH cell loses the pH result, not the row's other results; a bad lot
number loses everything that row would have said about that lot.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from connectors.base import Outcome, ParseContext, org_slug
from connectors.csv.cells import (
    As,
    CellError,
    CellSettings,
    Convert,
    converter,
    text_of,
    word_key,
)
from connectors.csv.fields import (
    PLACEHOLDER,
    BatchRecords,
    MappedField,
    ResultColumn,
    ResultRecords,
    Source,
    mapped,
    mapped_groups,
)
from connectors.csv.kinds import BUILDERS, AnyRecords
from connectors.csv.profile import Profile
from connectors.csv.reading import Cell, Locate, Row
from connectors.csv.records import (
    NEEDED_WITH,
    PROFILE_NAME_OF,
    consumed,
    received_as,
    result_fields,
    shipped,
)
from graph.intake import RecordRejection
from graph.model import Batch, Edge, Provenance, TestResult

Read = Callable[[Row], Any]  # one field's typed value, or None when its cell is empty
EdgeMaker = Callable[[Mapping[str, Any], Batch, Provenance], Edge]


class RowProblem(Exception):
    """A field of one row that cannot be read: which (the label) and why."""

    def __init__(self, label: str, message: str) -> None:
        super().__init__(f"{label}: {message}")
        self.label = label
        self.message = message


def referenced_columns(profile: Profile) -> dict[str, bool]:
    """Every column the profile reads, and whether the file must have it."""
    columns: dict[str, bool] = {}

    def need(name: str, needed: bool = True) -> None:
        columns[name] = columns.get(name, False) or needed

    for index, spec in enumerate(profile.records):
        if spec.when is not None:
            need(spec.when.column)
        for _, group in mapped_groups(spec, f"records[{index}]"):
            for field in group:
                if field.source.column is not None:
                    need(field.source.column, not field.source.optional)
                for name in field.source.placeholders:
                    need(name)
        if isinstance(spec, ResultRecords):
            for entry in spec.results:
                need(entry.column, not entry.optional)
    return columns


class _Binder:
    """Makes field readers for one file: its columns, conventions and empty-cell words."""

    def __init__(
        self,
        profile: Profile,
        locate: Locate,
        empty_word: str,
        org_named: Callable[[str], str] = org_slug,
    ) -> None:
        self.settings: CellSettings = profile.cell_settings
        self.org_named = org_named
        self.locate = locate
        self.empty_word = empty_word
        self.missing = frozenset(word.strip().casefold() for word in profile.missing)

    def present(self, raw: object) -> bool:
        if raw is None:
            return False
        if isinstance(raw, str):
            text = raw.strip()
            return bool(text) and text.casefold() not in self.missing
        return raw != []

    def field(self, field: MappedField) -> tuple[str, Read]:
        """The rejection label and the reader of one mapped field (None when empty)."""
        source = field.source
        convert = converter(
            field.type,
            self.settings,
            date_formats=source.date_formats,
            split=source.split,
            org_named=self.org_named,
        )
        origin = source.column or source.template or f"{field.name}: {source.value}"
        default = None if source.default is None else convert(source.default)
        return f"{origin} ({field.meaning})", self._reader(source, convert, default)

    def _reader(self, source: Source, convert: Convert, default: Any) -> Read:
        if source.value is not None:
            constant = convert(source.value)
            return lambda row: constant
        if source.template is not None:
            return self._template(source.template, convert, default)
        cell = self.locate(source.column or "")
        if cell is None:  # an optional column this file does not have
            return lambda row: default
        present = self.present

        def read(row: Row) -> Any:
            raw = cell(row)
            return convert(raw) if present(raw) else default

        return read

    def _template(self, template: str, convert: Convert, default: Any) -> Read:
        pieces = PLACEHOLDER.split(template)  # literal, name, literal, name, ..., literal
        cells = [self.locate(name) for name in pieces[1::2]]
        present = self.present

        def read(row: Row) -> Any:
            parts = []
            for cell in cells:
                raw = cell(row) if cell is not None else None
                if not present(raw):
                    return default  # an id from half its parts would name another thing
                parts.append(text_of(raw))
            filled = [
                piece if index % 2 == 0 else parts[index // 2] for index, piece in enumerate(pieces)
            ]
            return convert("".join(filled))

        return read

    def when(self, spec: AnyRecords) -> Callable[[Row], bool] | None:
        if spec.when is None:
            return None
        cell = self.locate(spec.when.column)
        accepted = frozenset(word_key(word) for word in spec.when.equals)

        def matches(row: Row) -> bool:
            raw = cell(row) if cell is not None else None
            try:
                return self.present(raw) and word_key(text_of(raw)) in accepted
            except CellError:
                return False

        return matches


class _Group:
    """The mapped fields of one fields model, bound: reads a row into a value dict."""

    def __init__(self, fields: list[MappedField], binder: _Binder) -> None:
        self.readers = [(field.name, *binder.field(field), field.required) for field in fields]
        self.labels = {name: label for name, label, _, _ in self.readers}
        self.empty = f"required, the {binder.empty_word} is empty"
        self.needed_with = [
            (given, needed)
            for given, needed in NEEDED_WITH.items()
            if given in self.labels and needed in self.labels
        ]

    def read(self, row: Row) -> dict[str, Any]:
        values: dict[str, Any] = {}
        for name, label, read, required in self.readers:
            try:
                value = read(row)
            except CellError as error:
                raise RowProblem(label, str(error)) from None
            if value is None and required:
                raise RowProblem(label, self.empty)
            values[name] = value
        for given, needed in self.needed_with:
            if values[given] is not None and values[needed] is None:
                raise RowProblem(
                    self.labels[needed], f"{self.empty}, but {self.labels[given]} has a value"
                )
        return values

    def read_if_any(self, row: Row) -> dict[str, Any] | None:
        """For optional parts (an input lot slot, a supplier lot): None when all its
        cells are empty; otherwise the values, its required fields checked."""
        values: dict[str, Any] = {}
        for name, label, read, _ in self.readers:
            try:
                values[name] = read(row)
            except CellError as error:
                raise RowProblem(label, str(error)) from None
        given = [self.labels[name] for name, value in values.items() if value is not None]
        if not given:
            return None
        for name, label, _, required in self.readers:
            if required and values[name] is None:
                raise RowProblem(label, f"{self.empty}, but {given[0]} has a value")
        return values


def _rejection(location: str, labels: Mapping[str, str], error: ValidationError) -> RecordRejection:
    first = error.errors()[0]
    message = first["msg"].removeprefix("Value error, ")
    if first["loc"]:
        model_field = str(first["loc"][0])
        name = PROFILE_NAME_OF.get(model_field, model_field)
        return RecordRejection(location, labels.get(name, name), message)
    # A check across fields (days out of order, crossed limits) starts its message
    # with the field it refuses: name that field's column when the profile maps it.
    first_word = message.split(" ", 1)[0]
    name = PROFILE_NAME_OF.get(first_word, first_word)
    return RecordRejection(location, labels.get(name, "record"), message)


class _BoundSpec:
    """One record spec of the profile bound to a file."""

    def __init__(self, spec: AnyRecords, binder: _Binder, org: str) -> None:
        self.org = org
        self.applies = binder.when(spec)
        self.fields = _Group(mapped(spec.fields), binder)
        self.build = BUILDERS[spec.kind]
        self.inputs: list[_Group] = []
        self.received_from: _Group | None = None
        self.shipped_to: _Group | None = None
        self.results: list[_WideColumn] = []
        if isinstance(spec, BatchRecords):
            self.inputs = [_Group(mapped(lot), binder) for lot in spec.inputs]
            if spec.received_from is not None:
                self.received_from = _Group(mapped(spec.received_from), binder)
            if spec.shipped_to is not None:
                self.shipped_to = _Group(mapped(spec.shipped_to), binder)
        if isinstance(spec, ResultRecords):
            self.results = [_WideColumn.bind(entry, binder) for entry in spec.results]

    def outcomes(
        self, row: Row, location: str, provenance: Provenance, binder: _Binder
    ) -> Iterator[Outcome]:
        try:
            values = self.fields.read(row)
        except RowProblem as problem:
            yield RecordRejection(location, problem.label, problem.message)
            return
        if self.results:
            yield from self._wide_results(row, location, provenance, values, binder)
            return
        try:
            node = self.build(values, self.org, provenance)
        except ValidationError as error:
            yield _rejection(location, self.fields.labels, error)
            return
        yield node
        if isinstance(node, Batch):
            yield from self._lineage(row, location, provenance, node)

    def _lineage(
        self, row: Row, location: str, provenance: Provenance, batch: Batch
    ) -> Iterator[Outcome]:
        parts: list[tuple[_Group, EdgeMaker]] = [(group, consumed) for group in self.inputs]
        if self.received_from is not None:
            parts.append((self.received_from, received_as))
        if self.shipped_to is not None:
            parts.append((self.shipped_to, shipped))
        for group, make_edge in parts:
            try:
                values = group.read_if_any(row)
                if values is not None:
                    yield make_edge(values, batch, provenance)
            except RowProblem as problem:
                yield RecordRejection(location, problem.label, problem.message)
            except ValidationError as error:
                yield _rejection(location, group.labels, error)

    def _wide_results(
        self,
        row: Row,
        location: str,
        provenance: Provenance,
        shared: dict[str, Any],
        binder: _Binder,
    ) -> Iterator[Outcome]:
        # What the row gives every result (lab, lot, date, the shared method and
        # limits), read at its first measured column; each column adds its own.
        fields: dict[str, Any] | None = None
        present = binder.present
        for column in self.results:
            raw = column.cell(row) if column.cell is not None else None
            if not present(raw):
                continue  # the instrument did not measure this analyte on this sample
            try:
                measured = column.read(raw)
            except CellError as error:
                yield RecordRejection(location, column.label, str(error))
                continue
            if fields is None:
                fields = result_fields(shared, self.org, provenance)
            own = {
                **fields,
                **column.fields,
                "result_id": f"{fields['result_id']}/{column.test}",
                column.value_field: measured,
            }
            try:
                yield TestResult(**own)
            except ValidationError as error:
                yield _rejection(location, {**self.fields.labels, "value": column.label}, error)


@dataclass(frozen=True, slots=True)
class _WideColumn:
    """One results entry of a wide layout, bound to the file's column."""

    entry: ResultColumn
    label: str  # "pH (pH result)"
    cell: Cell | None  # None: an optional column the file does not have
    read: Convert
    unit: str | None
    test: str  # the entry's test name, the end of its result ids
    # Its own model fields over the row's: test and unit always, method and limits
    # when the entry gives them (else the row's, if the profile maps them).
    fields: Mapping[str, Any]
    value_field: str  # where the cell's reading goes: "value", or "text_value"

    @classmethod
    def bind(cls, entry: ResultColumn, binder: _Binder) -> _WideColumn:
        converted = converter(As.UNIT, binder.settings)(entry.unit) if entry.unit else None
        unit = str(converted) if converted is not None else None
        test = entry.test_name
        given = {"method": entry.method, "spec_low": entry.spec_low, "spec_high": entry.spec_high}
        return cls(
            entry=entry,
            label=f"{entry.column} ({test} result)",
            cell=binder.locate(entry.column),
            read=converter(As.TEXT if entry.text else As.NUMBER, binder.settings),
            unit=unit,
            test=test,
            fields={
                "test": test,
                "unit": unit,
                **{name: value for name, value in given.items() if value is not None},
            },
            value_field="text_value" if entry.text else "value",
        )


class RowMapper:
    """All record specs of a profile bound to one file; ``outcomes`` maps one row."""

    def __init__(
        self, profile: Profile, locate: Locate, context: ParseContext, empty_word: str = "cell"
    ) -> None:
        self.binder = _Binder(profile, locate, empty_word, context.org_named)
        self.context = context
        self.specs = [_BoundSpec(spec, self.binder, context.org) for spec in profile.records]
        conditions = [spec.when for spec in profile.records if spec.when is not None]
        self.always = any(spec.when is None for spec in profile.records)
        self.when_label = ", ".join(dict.fromkeys(when.column for when in conditions))
        expected = [word for when in conditions for word in when.equals]
        self.when_expected = ", ".join(dict.fromkeys(expected))

    def outcomes(self, row: Row, location: str) -> Iterator[Outcome]:
        provenance = self.context.provenance(location)
        matched = self.always
        for bound in self.specs:
            if bound.applies is not None:
                if not bound.applies(row):
                    continue
                matched = True
            yield from bound.outcomes(row, location, provenance, self.binder)
        if not matched:
            yield RecordRejection(
                location,
                self.when_label,
                f"matches no record kind of the profile (expected one of: {self.when_expected})",
            )
