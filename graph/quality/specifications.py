"""Results against the sponsor's specification in force, not only the lab's limits.

A lab reports each result with the limits it tested against and its own verdict. The
sponsor's specification (``graph.lifecycle.Specification``) is what the agreement binds
the lab and the maker to, and it changes by version over time, so a result is judged
twice: against its reported limits, and against the sponsor's specification in force on
its test day. When the two disagree the lab tested against the wrong (an outdated, a
mistyped) limit, which is itself a finding, and the worst one is a result the lab passed
that the sponsor's specification fails.

The rules, for both stores and every reader alike (pure functions, no store reads):

- **Which specification.** The sponsor's specification of the tested lot's product for
  the same test: names compared trimmed and case-insensitively ("Assay ", "assay" and
  "ASSAY" are one test), because labs and sponsors type them in their own systems. It
  must be in force on the result's test day (``Specification.in_force_on``, both ends
  inclusive); a result without a test day has none. When versions overlap, the one that
  took effect last wins (then the higher version, then the id), as a new version
  supersedes the old from its first day.
- **Verdict against it.** PASS when the value lies within the specification's limits
  (inclusive; a missing limit is open), OOS otherwise; none without a numeric value.
- **Limits match.** The reported low and high limits equal the specification's (a
  limit missing on one side must be missing on the other), and the units, when both
  state one, are the same (trimmed, case-insensitive). Unknown (None) when the result
  reports no limits or there is no specification in force.
- **Findings.** A result whose limits do not match, or that passes its reported limits
  (no OOS or FAIL verdict, value within them) yet is OOS against the specification.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from graph.lifecycle import Specification
from graph.model import TestResult, Verdict
from graph.oversight import FAILED_VERDICTS


class SpecificationSource(StrEnum):
    """Where a chart's specification limits come from."""

    SPONSOR = "SPONSOR"  # the sponsor's specification in force
    REPORTED = "REPORTED"  # the limits the lab reported (the sponsor has none in force)


class FindingKind(StrEnum):
    LIMITS_DIFFER = "LIMITS_DIFFER"  # reported limits are not the specification's
    PASSES_REPORTED_FAILS_SPECIFICATION = "PASSES_REPORTED_FAILS_SPECIFICATION"


def normalized_test(name: str | None) -> str:
    """A test's name as compared: trimmed, case-folded."""
    return (name or "").strip().casefold()


def in_force(
    specifications: Iterable[Specification], test: str | None, day: date | None
) -> Specification | None:
    """The specification of ``test`` in force on ``day`` among ``specifications`` (one
    product's), the latest to take effect when versions overlap; None if there is none."""
    key = normalized_test(test)
    if not key:
        return None
    return latest_in_force([s for s in specifications if normalized_test(s.test) == key], day)


def latest_in_force(
    specifications: Iterable[Specification], day: date | None
) -> Specification | None:
    """Of one test's specifications, the one in force on ``day`` that took effect last."""
    if day is None:
        return None
    found = [s for s in specifications if s.in_force_on(day)]
    if not found:
        return None
    return max(found, key=lambda s: (s.effective_from or date.min, s.version, s.id))


def within(value: float, low: float | None, high: float | None) -> bool:
    return (low is None or value >= low) and (high is None or value <= high)


def verdict_against(result: TestResult, specification: Specification | None) -> Verdict | None:
    """PASS or OOS of the result's value against ``specification``; None without either."""
    if specification is None or result.value is None:
        return None
    inside = within(result.value, specification.spec_low, specification.spec_high)
    return Verdict.PASS if inside else Verdict.OOS


def limits_match(result: TestResult, specification: Specification | None) -> bool | None:
    """Whether the reported limits are the specification's; None when the result reports
    no limits or there is no specification."""
    if specification is None or (result.spec_low is None and result.spec_high is None):
        return None
    units = result.unit, specification.unit
    same_unit = None in units or normalized_test(units[0]) == normalized_test(units[1])
    return (
        same_unit
        and _same(result.spec_low, specification.spec_low)
        and _same(result.spec_high, specification.spec_high)
    )


def _same(reported: float | None, specified: float | None) -> bool:
    if reported is None or specified is None:
        return reported is specified
    return math.isclose(reported, specified, rel_tol=1e-9, abs_tol=1e-12)


def passes_reported(result: TestResult) -> bool:
    """The lab's own judgement: no OOS or FAIL verdict, and a value within its limits."""
    if result.verdict in FAILED_VERDICTS:
        return False
    return result.value is None or within(result.value, result.spec_low, result.spec_high)


@dataclass(frozen=True, slots=True)
class SpecificationFinding:
    result_id: str
    specification_id: str
    kinds: tuple[FindingKind, ...]


def findings(result_id: str, result: TestResult, specification: Specification | None) -> (
    SpecificationFinding | None
):  # fmt: skip
    """What is wrong with ``result`` against the specification in force, if anything."""
    if specification is None:
        return None
    kinds: list[FindingKind] = []
    if limits_match(result, specification) is False:
        kinds.append(FindingKind.LIMITS_DIFFER)
    if passes_reported(result) and verdict_against(result, specification) is Verdict.OOS:
        kinds.append(FindingKind.PASSES_REPORTED_FAILS_SPECIFICATION)
    return SpecificationFinding(result_id, specification.id, tuple(kinds)) if kinds else None
