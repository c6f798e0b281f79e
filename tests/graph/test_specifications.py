"""The rules that judge a result against the sponsor's specification in force."""

from __future__ import annotations

from datetime import date

from graph.lifecycle import Specification
from graph.model import TestResult, Verdict
from graph.quality.specifications import (
    FindingKind,
    findings,
    in_force,
    limits_match,
    verdict_against,
)


def spec(
    version: str, low: float, high: float, start: date, end: date | None = None
) -> Specification:
    return Specification(
        sponsor="s1", product_code="P1", test="Assay", version=version, spec_low=low,
        spec_high=high, unit="%", effective_from=start, effective_to=end,
    )  # fmt: skip


V1 = spec("1", 95.0, 105.0, date(2025, 1, 1), date(2025, 5, 31))
V2 = spec("2", 98.0, 102.0, date(2025, 6, 1))


def result(value: float | None, tested_on: date | None, **more: object) -> TestResult:
    fields: dict[str, object] = {
        "lab": "m1", "result_id": "R1", "test": "assay", "value": value, "unit": "%",
        "spec_low": 95.0, "spec_high": 105.0, "verdict": Verdict.PASS, "tested_on": tested_on,
    }  # fmt: skip
    return TestResult(**{**fields, **more})


def test_the_test_is_matched_trimmed_and_case_insensitively_on_its_day() -> None:
    assert in_force([V1, V2], "  ASSAY ", date(2025, 5, 31)) == V1
    assert in_force([V1, V2], "assay", date(2025, 6, 1)) == V2
    assert in_force([V1, V2], "assay", date(2024, 12, 31)) is None
    assert in_force([V1, V2], "dissolution", date(2025, 6, 1)) is None
    assert in_force([V1, V2], "assay", None) is None


def test_of_overlapping_versions_the_latest_to_take_effect_wins() -> None:
    open_ended = spec("1", 95.0, 105.0, date(2025, 1, 1))

    assert in_force([V2, open_ended], "assay", date(2025, 7, 1)) == V2


def test_within_the_labs_limits_but_out_of_the_specification_is_a_finding() -> None:
    stale = result(97.0, date(2025, 7, 1))

    assert verdict_against(stale, V2) is Verdict.OOS
    assert limits_match(stale, V2) is False
    found = findings("result:m1/R1", stale, V2)
    assert found is not None
    assert found.kinds == (
        FindingKind.LIMITS_DIFFER,
        FindingKind.PASSES_REPORTED_FAILS_SPECIFICATION,
    )


def test_matching_limits_and_a_pass_are_no_finding() -> None:
    good = result(100.0, date(2025, 7, 1), spec_low=98.0, spec_high=102.0)

    assert (verdict_against(good, V2), limits_match(good, V2)) == (Verdict.PASS, True)
    assert findings("result:m1/R1", good, V2) is None


def test_unknown_without_limits_value_or_specification() -> None:
    assert limits_match(result(97.0, None, spec_low=None, spec_high=None), V2) is None
    assert limits_match(result(97.0, None), None) is None
    assert verdict_against(result(None, None), V2) is None
    assert limits_match(result(97.0, None, spec_low=98.0, spec_high=102.0, unit="mg"), V2) is False
