"""The mapping profile of one partner's CSV (or JSON lines) export, read from YAML.

Onboarding a partner's export is writing one of these, not code: how the file is
written (delimiter, encoding, header line, decimal mark, date formats), which partner
words mean which canonical units, organizations and statuses, and which columns fill
which fields of which records (``records:``, one or more record kinds per row). The
record kinds and their fields are in ``connectors.csv.fields``; the example profiles in
``connectors/csv/profiles/`` show each connector's use.

Every mistake in a profile is a ``ProfileError`` naming the YAML key path
(``records[0].fields: unknown key 'nmber'; did you mean 'number'?``), so a profile is
checked once, when loaded, and never fails row by row for a reason of its own.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Mapping, Sequence
from datetime import datetime
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    AfterValidator,
    Field,
    PositiveInt,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_core import ErrorDetails

from connectors.csv.cells import (
    ISO,
    CellError,
    CellSettings,
    converter,
    describe_date_formats,
)
from connectors.csv.fields import Strict, Words, mapped_groups
from connectors.csv.kinds import RECORD_KINDS, AnyRecords

RecordSpec = Annotated[AnyRecords, Field(discriminator="kind")]

_DATE_CHECK = datetime(2022, 6, 24, 14, 34, 52)
_KEY_IN_MESSAGE = re.compile(
    r"^([A-Za-z_]\w*(?:\[\d+\])*(?:\.[A-Za-z_]\w*(?:\[\d+\])*)*): (.*)$", re.S
)


class ProfileError(ValueError):
    """A profile that cannot be used; ``problems`` lists (key path, what is wrong)."""

    def __init__(self, problems: Sequence[tuple[str, str]], source: str = "") -> None:
        self.problems = list(problems)
        self.source = source
        lines = "\n".join(f"  {where}: {message}" for where, message in self.problems)
        super().__init__(f"profile {source or '(inline)'} is not usable:\n{lines}")


def _whole_date_format(fmt: str) -> str:
    problem = date_format_problem(fmt)
    if problem:
        raise ValueError(f"{fmt!r} {problem}")
    return fmt


def date_format_problem(fmt: str) -> str | None:
    """Why ``fmt`` cannot read a whole date, or None when it can."""
    if fmt == ISO:
        return None
    if "%" not in fmt:
        return "is not a strptime format (e.g. '%d.%m.%Y'), nor 'iso'"
    try:
        parsed = datetime.strptime(_DATE_CHECK.strftime(fmt), fmt)
    except ValueError as error:
        return f"is not a strptime format: {error}"
    if parsed.date() != _DATE_CHECK.date():
        return "does not hold a whole date (it needs year, month and day)"
    return None


class Profile(Strict):
    """How to read one partner's export and what to make of each row."""

    description: str = ""  # for people: which partner, system and export this is
    format: Literal["auto", "csv", "jsonl"] = "auto"  # auto: by file name, else by content
    delimiter: str = ","
    quote: str = '"'
    encoding: str = "utf-8"  # a UTF-8 byte order mark is always accepted
    header_row: PositiveInt = 1  # the physical line holding the column names
    decimal: Literal[".", ","] = "."
    thousands: Literal["", ".", ",", " ", "'"] = ""
    # strptime formats, tried in order; "iso" = ISO 8601
    date_formats: tuple[Annotated[str, AfterValidator(_whole_date_format)], ...] = Field(
        (ISO,), min_length=1
    )
    list_separator: str = ";"  # between values in one cell of a list field
    missing: tuple[str, ...] = ("N/A", "n/a")  # cell texts meaning "no value", like an empty cell
    words: Words = Words()
    records: tuple[RecordSpec, ...]

    @field_validator("delimiter", "quote")
    @classmethod
    def _one_character(cls, value: str) -> str:
        if len(value) != 1 or value in "\r\n":
            raise ValueError(f"must be one character other than a line break, got {value!r}")
        return value

    @field_validator("list_separator")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be empty or blank")
        return value

    @field_validator("encoding")
    @classmethod
    def _text_encoding(cls, value: str) -> str:
        try:
            codecs.lookup(value)
            "".encode(value)  # refuses bytes-to-bytes codecs such as base64
        except LookupError as error:
            raise ValueError(f"{value!r} is not a known text encoding ({error})") from None
        return value

    @model_validator(mode="after")
    def _consistent(self) -> Profile:
        if not self.records:
            raise ValueError("records: list at least one record kind to make from each row")
        if self.thousands and self.thousands == self.decimal:
            raise ValueError(f"thousands: cannot be the decimal mark {self.decimal!r} too")
        if self.delimiter == self.quote:
            raise ValueError("quote: cannot be the delimiter too")
        _check_constants(self)
        return self

    @property
    def cell_settings(self) -> CellSettings:
        return CellSettings(
            decimal=self.decimal,
            thousands=self.thousands,
            date_formats=self.date_formats,
            list_separator=self.list_separator,
            words=self.words.vocabularies(),
        )

    @property
    def kinds(self) -> frozenset[str]:
        return frozenset(spec.kind for spec in self.records)


def _check_constants(profile: Profile) -> None:
    """Constant values and defaults are read now, so a wrong one is a profile error
    naming its key instead of a rejection on every row."""
    settings = profile.cell_settings
    for index, spec in enumerate(profile.records):
        for path, group in mapped_groups(spec, f"records[{index}]"):
            for field in group:
                formats = (*(field.source.date_formats or profile.date_formats), ISO)
                read = converter(
                    field.type, settings, date_formats=formats, split=field.source.split
                )
                for key in ("value", "default"):
                    given = getattr(field.source, key)
                    if given is None:
                        continue
                    try:
                        read(given)
                    except CellError as error:
                        raise ValueError(f"{path}.{field.name}.{key}: {error}") from None
                if field.source.date_formats:
                    for fmt in field.source.date_formats:
                        problem = date_format_problem(fmt)
                        if problem:
                            raise ValueError(f"{path}.{field.name}.date_formats: {fmt!r} {problem}")


def key_path(error: ErrorDetails) -> str:
    """``('records', 0, 'Batch', 'fields', 'number')`` as ``records[0].fields.number``."""
    loc: list[Any] = list(error["loc"])
    path = ""
    for position, part in enumerate(loc):
        if isinstance(part, int):
            path += f"[{part}]"
        elif position > 0 and isinstance(loc[position - 1], int) and part in RECORD_KINDS:
            continue  # the union tag pydantic puts after records[i]
        else:
            path += f".{part}" if path else str(part)
    return path or "(top level)"


def problems_of(error: ValidationError) -> list[tuple[str, str]]:
    found = []
    for detail in error.errors():
        message = detail["msg"].removeprefix("Value error, ")
        where = key_path(detail)
        if detail["type"] == "union_tag_invalid":
            tag = detail.get("ctx", {}).get("tag")
            where, message = (
                f"{where}.kind",
                f"unknown record kind {tag!r} (known: {', '.join(RECORD_KINDS)})",
            )
        elif detail["type"] == "union_tag_not_found":
            where, message = f"{where}.kind", f"missing (one of {', '.join(RECORD_KINDS)})"
        # A check across several keys starts its message with the key it is about.
        named = _KEY_IN_MESSAGE.match(message)
        if named:
            prefix, message = named.groups()
            where = prefix if where == "(top level)" else f"{where}.{prefix}"
        found.append((where, message))
    return found


class _UniqueKeyLoader(yaml.SafeLoader):
    """SafeLoader that refuses a key given twice in one mapping: plain safe_load keeps
    the last silently, which in a profile hides a mapping mistake."""


def _mapping_without_repeats(loader: _UniqueKeyLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    seen: set[Any] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"key {key!r} is given twice", key_node.start_mark
            )
        seen.add(key)
    return dict(loader.construct_mapping(node))


_UniqueKeyLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG,
    _mapping_without_repeats,
)


def parse_profile(text: str, source: str = "") -> Profile:
    """A profile from YAML text; ProfileError names each problem's key path."""
    try:
        data = yaml.load(text, Loader=_UniqueKeyLoader)  # a SafeLoader subclass: safe
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "YAML"
        problem = getattr(error, "problem", None) or str(error)
        raise ProfileError([(where, f"not valid YAML: {problem}")], source) from None
    return profile_from_data(data, source)


def profile_from_data(data: object, source: str = "") -> Profile:
    if not isinstance(data, Mapping):
        raise ProfileError(
            [("(top level)", "a profile is a YAML mapping (key: value lines)")], source
        )
    try:
        return Profile.model_validate(data)
    except ValidationError as error:
        raise ProfileError(problems_of(error), source) from None


def load_profile(path: Path) -> Profile:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise ProfileError([("(file)", f"cannot be read: {error}")], str(path)) from None
    return parse_profile(text, str(path))


def example_profile(name: str) -> Profile:
    """One of the profiles shipped in ``connectors/csv/profiles/`` (name without .yaml)."""
    resource = resources.files("connectors.csv").joinpath("profiles", f"{name}.yaml")
    return parse_profile(
        resource.read_text(encoding="utf-8"), f"connectors/csv/profiles/{name}.yaml"
    )


def example_profile_names() -> list[str]:
    folder = resources.files("connectors.csv").joinpath("profiles")
    return sorted(
        item.name.removesuffix(".yaml") for item in folder.iterdir() if item.name.endswith(".yaml")
    )


__all__ = [
    "Profile",
    "ProfileError",
    "RecordSpec",
    "describe_date_formats",
    "example_profile",
    "example_profile_names",
    "load_profile",
    "parse_profile",
    "profile_from_data",
]
