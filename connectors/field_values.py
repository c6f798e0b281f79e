"""Scalar values as partners write them: missing markers, numbers, dates and units.

Instrument and supply-chain exports write "no value" in many ways ("N/A", "", "-"),
put numbers in strings, and spell the micro prefix with two different characters.
These helpers read such values the same way in every connector.
"""

from __future__ import annotations

import math
import re
from datetime import date, datetime
from typing import Any

# Written where a value is absent; compared case-insensitively after stripping.
MISSING_MARKERS = frozenset(
    {"", "n/a", "na", "n.a.", "none", "null", "nan", "-", "--", "not available", "not applicable"}
)

# U+00B5 MICRO SIGN and U+03BC GREEK SMALL LETTER MU both appear as the micro prefix.
# Unicode's compatibility normalisation (NFKC) maps the former to the latter, so the
# Greek letter is the one form kept: "µg/mL" and "μg/mL" become the same unit.
MICRO_SIGN = "\u00b5"
GREEK_MU = "\u03bc"


def is_missing(value: Any) -> bool:
    """True for None and for the strings partners use to say "no value"."""
    return value is None or (isinstance(value, str) and value.strip().lower() in MISSING_MARKERS)


def text_value(value: Any) -> str | None:
    """A scalar as stripped text, None when missing or not a scalar."""
    if is_missing(value) or isinstance(value, dict | list):
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value).strip()


def finite_number(value: Any) -> float | None:
    """A finite float from a JSON number or a numeric string; None otherwise.

    Booleans are not numbers here, and NaN, infinities and numbers too large for a
    float are refused rather than passed on to a store."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        number = value
    elif isinstance(value, str):
        try:
            number = float(value.strip())
        except ValueError:
            return None
    else:
        return None
    try:
        result = float(number)
    except OverflowError:
        return None
    return result if math.isfinite(result) else None


def date_of(value: str) -> date:
    """The calendar date of an ISO 8601 date or timestamp, as written (no time-zone
    shift: a test run at 23:30 local time happened on that local day).
    ValueError when it is not one."""
    return datetime.fromisoformat(value.strip()).date()


def normalise_unit(unit: Any) -> str | None:
    """A unit as text with one spelling of the micro prefix; None when missing."""
    text = text_value(unit)
    return text.replace(MICRO_SIGN, GREEK_MU) if text else None


# A GUID / UUID as systems write them: converters put run and measurement ids in this form.
GUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
