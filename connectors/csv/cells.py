"""One cell of a partner's export to one typed value, or a ``CellError`` saying what was
expected.

A profile declares how a partner writes numbers (decimal comma or point), dates
(strptime formats tried in order), units, organization names and status words; these
converters apply it. A cell is a ``str`` from CSV, or any JSON value from JSON lines
(where a number is already a number and a list of codes may be a real list).

Converters are built once per file and called once per cell, so they precompute their
lookup tables; dates are cached because exports repeat the same day on many rows.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from enum import Enum, StrEnum

from connectors.base import org_slug

Convert = Callable[[object], object]

# One of the two code points partners use for "micro"; the other (U+00B5, MICRO SIGN) is
# folded into it, the form Unicode compatibility normalization (NFKC) also chooses.
MICRO = "\u03bc"
ISO = "iso"  # the date format name meaning ISO 8601 (a date, or a date and time)
_DATE_CACHE_LIMIT = 4096
_EXAMPLE_MOMENT = datetime(2022, 6, 24, 14, 34, 52)


class CellError(ValueError):
    """A cell that cannot be what its field needs; the message says what was expected."""


class As(Enum):
    """What a mapped field holds, and so how its cells are read."""

    TEXT = "text"
    ORG = "organization"  # a partner's name or code for an organization -> org id slug
    DATE = "date"
    NUMBER = "number"
    UNIT = "unit"


@dataclass(frozen=True, slots=True)
class Choice:
    """A field holding one member of a canonical enumeration, written in partner words
    listed under ``words.<words>`` in the profile."""

    enum: type[StrEnum]
    words: str
    label: str  # "batch status": how a rejection names what was expected


@dataclass(frozen=True, slots=True)
class ListOf:
    """A field holding several values in one cell (split on a separator) or a JSON list."""

    item: As | Choice


FieldType = As | Choice | ListOf


@dataclass(frozen=True, slots=True)
class CellSettings:
    """The profile's reading conventions, as the converters need them."""

    decimal: str = "."
    thousands: str = ""
    date_formats: tuple[str, ...] = (ISO,)
    list_separator: str = ";"
    # vocabulary name ("unit", "organization", "batch_status", ...) -> partner word -> canonical
    words: Mapping[str, Mapping[str, str]] | None = None

    def vocabulary(self, name: str) -> Mapping[str, str]:
        return (self.words or {}).get(name, {})


def fold_micro(text: str) -> str:
    return text.replace("\u00b5", MICRO)


def converter(
    field_type: FieldType,
    settings: CellSettings,
    *,
    date_formats: tuple[str, ...] | None = None,
    split: str | None = None,
    org_named: Callable[[str], str] = org_slug,
) -> Convert:
    """The function reading one present (non-empty) cell as ``field_type``; an
    organization not in the profile's words is ``org_named`` (registered numbers, else
    the name slugged)."""
    if isinstance(field_type, ListOf):
        return _list_of(
            converter(field_type.item, settings, date_formats=date_formats, org_named=org_named),
            split or settings.list_separator,
        )
    if isinstance(field_type, Choice):
        return _choice(field_type, settings.vocabulary(field_type.words))
    if field_type is As.NUMBER:
        return _number(settings.decimal, settings.thousands)
    if field_type is As.DATE:
        return _date(date_formats or settings.date_formats)
    if field_type is As.ORG:
        return _organization(settings.vocabulary("organization"), org_named)
    if field_type is As.UNIT:
        return _unit(settings.vocabulary("unit"))
    return text_of


def text_of(raw: object) -> str:
    if isinstance(raw, str):
        return raw.strip()
    if isinstance(raw, bool | int | float):
        return json.dumps(raw)  # JSON's own spelling: true, 12, 1.5
    raise CellError(f"expected a single value, got {_json_kind(raw)}")


def _number(decimal: str, thousands: str) -> Convert:
    integer = r"[0-9]+"
    if thousands:
        integer = rf"(?:[0-9]{{1,3}}(?:{re.escape(thousands)}[0-9]{{3}})+|[0-9]+)"
    mark = re.escape(decimal)
    pattern = re.compile(rf"[+-]?(?:{integer}(?:{mark}[0-9]*)?|{mark}[0-9]+)(?:[eE][+-]?[0-9]+)?")
    expected = f"a number with {decimal!r} as decimal mark"
    if thousands:
        expected += f" and {thousands!r} between thousands"

    def read(raw: object) -> float:
        if isinstance(raw, int | float) and not isinstance(raw, bool):
            try:
                value = float(raw)
            except OverflowError:  # a JSON integer beyond any float
                raise CellError("expected a number a float can hold, got a larger one") from None
        else:
            text = text_of(raw)
            # Only ASCII digits in the partner's notation: float() alone would also take
            # "12,5"-less surprises such as "nan", "1_000" or Arabic-Indic digits.
            if not pattern.fullmatch(text):
                raise CellError(f"expected {expected}, got {text!r}")
            if thousands:
                text = text.replace(thousands, "")
            value = float(text.replace(decimal, "."))
        if not math.isfinite(value):
            raise CellError(f"expected a finite number, got {raw!r}")
        return value

    return read


def describe_date_formats(formats: tuple[str, ...]) -> str:
    shown = [
        "ISO 8601 (2022-06-24)" if fmt == ISO else f"{fmt} ({_EXAMPLE_MOMENT.strftime(fmt)})"
        for fmt in formats
    ]
    return " or ".join(shown)


def parse_date(text: str, formats: tuple[str, ...]) -> date | None:
    for fmt in formats:
        try:
            if fmt == ISO:
                return datetime.fromisoformat(text).date()
            return datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    return None


def _date(formats: tuple[str, ...]) -> Convert:
    cache: dict[str, date] = {}
    expected = describe_date_formats(formats)

    def read(raw: object) -> date:
        if not isinstance(raw, str):
            raise CellError(f"expected a date as text in {expected}, got {_json_kind(raw)}")
        text = raw.strip()
        found = cache.get(text)
        if found is None:
            found = parse_date(text, formats)
            if found is None:
                raise CellError(f"expected a date in {expected}, got {text!r}")
            if len(cache) >= _DATE_CACHE_LIMIT:
                cache.clear()
            cache[text] = found
        return found

    return read


def word_key(word: str) -> str:
    """How partner words and canonical names are compared: case, spaces and hyphens
    do not matter ("In Process", "in-process" and IN_PROCESS are one word)."""
    return re.sub(r"[\s_-]+", "_", word.strip()).casefold()


def _choice(choice: Choice, words: Mapping[str, str]) -> Convert:
    table: dict[str, StrEnum] = {word_key(member.value): member for member in choice.enum}
    table.update({word_key(word): choice.enum(value) for word, value in words.items()})
    known = [*words, *(member.value for member in choice.enum)]
    listed = ", ".join(known[:15]) + (", ..." if len(known) > 15 else "")

    def read(raw: object) -> StrEnum:
        text = text_of(raw)
        try:
            return table[word_key(text)]
        except KeyError:
            raise CellError(f"unknown {choice.label} {text!r} (known: {listed})") from None

    return read


def _organization(words: Mapping[str, str], org_named: Callable[[str], str]) -> Convert:
    table = {word_key(word): slug for word, slug in words.items()}

    def read(raw: object) -> str:
        text = text_of(raw)
        known = table.get(word_key(text))
        if known is not None:
            return known
        try:
            return org_named(text)
        except ValueError as error:
            raise CellError(str(error)) from None

    return read


def _unit(words: Mapping[str, str]) -> Convert:
    exact = {fold_micro(word.strip()): fold_micro(unit) for word, unit in words.items()}
    # Case matters in units (mS vs ms), so a case-blind match is only the fallback for
    # spelled-out words such as "Percent".
    folded = {word.casefold(): unit for word, unit in exact.items()}

    def read(raw: object) -> str:
        text = fold_micro(text_of(raw))
        return exact.get(text) or folded.get(text.casefold()) or text

    return read


def _list_of(item: Convert, separator: str) -> Convert:
    def read(raw: object) -> tuple[object, ...]:
        parts = raw if isinstance(raw, list) else text_of(raw).split(separator)
        present = [
            part
            for part in parts
            if part is not None and not (isinstance(part, str) and not part.strip())
        ]
        return tuple(item(part) for part in present)

    return read


def _json_kind(raw: object) -> str:
    if isinstance(raw, list):
        return "a list"
    if isinstance(raw, dict):
        return "an object"
    if raw is None:
        return "null"
    return type(raw).__name__
