"""Scalar values as partners write them."""

from __future__ import annotations

from datetime import date

import pytest

from connectors.base import ParseContext
from connectors.field_values import date_of, finite_number, is_missing, normalise_unit, text_value


@pytest.mark.parametrize(
    "value", [None, "", " N/A ", "n/a", "NA", "-", "null", "NaN", "not applicable"]
)
def test_missing_markers(value: object) -> None:
    assert is_missing(value)
    assert text_value(value) is None


@pytest.mark.parametrize(
    ("value", "number"),
    [
        (1, 1.0),
        (2.5, 2.5),
        (" 3.25 ", 3.25),
        (True, None),
        ("1e999", None),
        (float("nan"), None),
        (10**400, None),
        ("abc", None),
        ([1], None),
    ],
)
def test_finite_numbers_only(value: object, number: float | None) -> None:
    assert finite_number(value) == number


def test_dates_and_timestamps_give_the_written_day() -> None:
    assert date_of("2022-06-24T23:34:52-05:00") == date(2022, 6, 24)
    assert date_of("2022-06-24") == date(2022, 6, 24)
    with pytest.raises(ValueError):
        date_of("24-6-2022  14:34:52")


def test_micro_is_spelled_one_way() -> None:
    assert normalise_unit("\u00b5mol/L") == normalise_unit("\u03bcmol/L") == "\u03bcmol/L"
    assert normalise_unit("N/A") is None


def test_a_registered_number_names_its_organization_and_anything_else_is_slugged() -> None:
    context = ParseContext(
        "ing-test", "mes.csv", "birch", numbers={"315227684": "dogwood", "3004567891": "alder"}
    )

    assert context.org_named("31-522-7684") == "dogwood"  # D-U-N-S as ERPs write it
    assert context.org_named("3004567891") == "alder"  # an FDA FEI number
    assert context.org_named("Dogwood Excipients GmbH") == "dogwood-excipients-gmbh"
    assert context.org_named("999999999") == "999999999"  # unregistered: a name like any
