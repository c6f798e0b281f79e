"""Continued process verification: an individuals (I-MR) control chart of one series,
its process capability and the Nelson run rules that fire on it.

Pure arithmetic (numpy) on numbers in time order; nothing here reads a store.
``graph.quality.control_charts`` turns a product's results into series and calls this.

The chart. Centre line and limits come from a *baseline*, the points that show the
process running as intended (by default the whole series):

- centre line: the mean of the baseline's individual values;
- MR-bar: the mean of the baseline's moving ranges ``|x[i] - x[i-1]|``;
- sigma: *within* (short-term) sigma, MR-bar / d2 with d2 = 1.128, the expected range
  of two normal values in sigmas. A drift or a shift hardly moves consecutive points
  apart, so it does not inflate this sigma: that is why the chart finds them;
- control limits: centre ± 3 sigma, i.e. ± 2.66 MR-bar. The tabulated 2.66 is 3 / 1.128
  rounded; the limits here use the unrounded 2.6596, so that the upper limit is exactly
  the 3-sigma line that rule 1 tests and that zones 1 and 2 sigma divide.

The run rules (Nelson, 1984; 1, 2, 5 and 6 are the Western Electric rules) are checked
over every point of the series, baseline included, against the baseline's centre line
and sigma. "More than k sigma from the centre line" and "within 1 sigma" are strict,
so a point exactly on a line is neither; a point exactly on the centre line is on
neither side, and equal consecutive values are neither increasing nor decreasing, so
each ends a run. For each rule that fires, a violation lists the points that make up
its pattern: every point of a qualifying run (rules 2, 3, 4, 7, 8), the point beyond
the limits (rule 1), or the points beyond the zone in a qualifying window (rules 5, 6).

Capability, against the specification, over the baseline:
Cpk = min(USL - mean, mean - LSL) / (3 sigma_within), with the within sigma above; with
one specification limit only, the side that exists (CPU or CPL). Ppk is the same with
the overall sigma (the baseline's sample standard deviation, n - 1). Cpk says what the
process can do, Ppk what it did: a process that drifts has a Ppk well below its Cpk.
Both are None when the baseline shows no variation (sigma 0).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

import numpy as np
import numpy.typing as npt
from numpy.lib.stride_tricks import sliding_window_view

Values = npt.NDArray[np.float64]
Flags = npt.NDArray[np.bool_]
Numbers = Sequence[float] | Values  # what the functions below take

D2 = 1.128  # expected range of two independent normal values, in sigmas


class NelsonRule(StrEnum):
    """The eight Nelson rules, in Nelson's order (``number``)."""

    BEYOND_LIMITS = "BEYOND_LIMITS"
    NINE_ON_ONE_SIDE = "NINE_ON_ONE_SIDE"
    SIX_TRENDING = "SIX_TRENDING"
    FOURTEEN_ALTERNATING = "FOURTEEN_ALTERNATING"
    TWO_OF_THREE_BEYOND_2_SIGMA = "TWO_OF_THREE_BEYOND_2_SIGMA"
    FOUR_OF_FIVE_BEYOND_1_SIGMA = "FOUR_OF_FIVE_BEYOND_1_SIGMA"
    FIFTEEN_WITHIN_1_SIGMA = "FIFTEEN_WITHIN_1_SIGMA"
    EIGHT_BEYOND_1_SIGMA = "EIGHT_BEYOND_1_SIGMA"

    @property
    def number(self) -> int:
        return list(NelsonRule).index(self) + 1

    @property
    def description(self) -> str:
        return _DESCRIPTIONS[self]


_DESCRIPTIONS = {
    NelsonRule.BEYOND_LIMITS: "One point more than 3 sigma from the centre line (beyond a "
    "control limit): an unusual event.",
    NelsonRule.NINE_ON_ONE_SIDE: "Nine points in a row on the same side of the centre "
    "line: the process mean has shifted.",
    NelsonRule.SIX_TRENDING: "Six points in a row steadily increasing or decreasing: a trend.",
    NelsonRule.FOURTEEN_ALTERNATING: "Fourteen points in a row alternating up and down: "
    "systematic oscillation (two alternating sources, over-adjustment).",
    NelsonRule.TWO_OF_THREE_BEYOND_2_SIGMA: "Two of three points in a row more than 2 "
    "sigma from the centre line on the same side: a shift.",
    NelsonRule.FOUR_OF_FIVE_BEYOND_1_SIGMA: "Four of five points in a row more than 1 "
    "sigma from the centre line on the same side: a smaller shift.",
    NelsonRule.FIFTEEN_WITHIN_1_SIGMA: "Fifteen points in a row within 1 sigma of the "
    "centre line: less variation than the baseline (stratified data, or limits too wide).",
    NelsonRule.EIGHT_BEYOND_1_SIGMA: "Eight points in a row more than 1 sigma from the "
    "centre line, on both sides, none within: a mixture of two processes.",
}


@dataclass(frozen=True, slots=True)
class ControlLimits:
    centre: float  # mean of the baseline
    mean_moving_range: float  # MR-bar of the baseline
    sigma: float  # within sigma, MR-bar / d2
    upper: float  # centre + 3 sigma
    lower: float  # centre - 3 sigma
    baseline_size: int


@dataclass(frozen=True, slots=True)
class Specification:
    """Specification limits; either may be missing (a one-sided specification)."""

    low: float | None = None
    high: float | None = None

    def __post_init__(self) -> None:
        if self.low is not None and self.high is not None and self.low > self.high:
            raise ValueError(
                f"specification: the low limit {self.low} is above the high limit {self.high}"
            )

    @property
    def given(self) -> bool:
        return self.low is not None or self.high is not None


@dataclass(frozen=True, slots=True)
class Capability:
    specification: Specification
    mean: float
    sigma_within: float
    sigma_overall: float
    cpl: float | None  # (mean - LSL) / 3 sigma_within; None without a low limit
    cpu: float | None  # (USL - mean) / 3 sigma_within; None without a high limit
    cpk: float | None  # the smaller of the two that exist
    ppk: float | None  # as Cpk, with the overall sigma


@dataclass(frozen=True, slots=True)
class RuleViolation:
    rule: NelsonRule
    points: tuple[int, ...]  # indices into the series, ascending


@dataclass(frozen=True, slots=True)
class IndividualsChart:
    values: tuple[float, ...]
    moving_ranges: tuple[float | None, ...]  # |x[i] - x[i-1]|; None for the first point
    baseline: range  # the indices the limits come from
    limits: ControlLimits
    violations: tuple[RuleViolation, ...]  # in rule order; only rules that fire
    capability: Capability | None  # None without a specification

    def rules_at(self, index: int) -> tuple[NelsonRule, ...]:
        """The rules whose patterns include the point at ``index``."""
        return tuple(found.rule for found in self.violations if index in found.points)


def _series(values: Numbers, argument: str) -> Values:
    series = np.asarray(values, dtype=np.float64)
    if series.ndim != 1:
        raise ValueError(f"{argument}: expected a sequence of numbers")
    bad = np.flatnonzero(~np.isfinite(series))
    if bad.size:
        raise ValueError(
            f"{argument}: point {int(bad[0])} is not a finite number ({float(series[bad[0]])})"
        )
    return series


def control_limits(baseline: Numbers) -> ControlLimits:
    """Centre line, MR-bar, within sigma and 3-sigma limits of an individuals chart."""
    values = _series(baseline, "baseline")
    if values.size < 2:
        raise ValueError(
            f"baseline: needs at least 2 points to estimate variation from a moving range, "
            f"got {values.size}"
        )
    centre = float(values.mean())
    mean_moving_range = float(np.abs(np.diff(values)).mean())
    sigma = mean_moving_range / D2
    return ControlLimits(
        centre=centre,
        mean_moving_range=mean_moving_range,
        sigma=sigma,
        upper=centre + 3 * sigma,
        lower=centre - 3 * sigma,
        baseline_size=int(values.size),
    )


def capability(baseline: Numbers, specification: Specification) -> Capability | None:
    """Cpk (within sigma) and Ppk (overall sigma) of the baseline; None without limits."""
    if not specification.given:
        return None
    values = _series(baseline, "baseline")
    limits = control_limits(values)
    overall = float(values.std(ddof=1))
    cpl, cpu = _indices(limits.centre, limits.sigma, specification)
    ppl, ppu = _indices(limits.centre, overall, specification)
    return Capability(
        specification=specification,
        mean=limits.centre,
        sigma_within=limits.sigma,
        sigma_overall=overall,
        cpl=cpl,
        cpu=cpu,
        cpk=_smaller(cpl, cpu),
        ppk=_smaller(ppl, ppu),
    )


def _indices(
    mean: float, sigma: float, specification: Specification
) -> tuple[float | None, float | None]:
    if sigma <= 0:  # no variation: the index is unbounded, so not a number to show
        return None, None
    low = None if specification.low is None else (mean - specification.low) / (3 * sigma)
    high = None if specification.high is None else (specification.high - mean) / (3 * sigma)
    return low, high


def _smaller(first: float | None, second: float | None) -> float | None:
    present = [index for index in (first, second) if index is not None]
    return min(present) if present else None


def run_rules(values: Numbers, limits: ControlLimits) -> tuple[RuleViolation, ...]:
    """The Nelson rules that fire on ``values`` against ``limits``, with their points."""
    series = _series(values, "values")
    offset = series - limits.centre
    sigma = limits.sigma
    above, below = offset > 0, offset < 0
    steps = np.diff(series)
    rising, falling = steps > 0, steps < 0
    # A pair of consecutive steps turns when one goes up and the other down.
    turns = np.sign(steps[:-1]) * np.sign(steps[1:]) < 0
    beyond_one = np.abs(offset) > sigma
    found: dict[NelsonRule, Flags] = {
        NelsonRule.BEYOND_LIMITS: (series > limits.upper) | (series < limits.lower),
        NelsonRule.NINE_ON_ONE_SIDE: _in_runs(above, 9) | _in_runs(below, 9),
        # Six points are five steps; each step joins two points.
        NelsonRule.SIX_TRENDING: _points_of(
            _in_runs(rising, 5) | _in_runs(falling, 5), 2, series.size
        ),
        # Fourteen points are twelve turns; each turn joins three points.
        NelsonRule.FOURTEEN_ALTERNATING: _points_of(_in_runs(turns, 12), 3, series.size),
        NelsonRule.TWO_OF_THREE_BEYOND_2_SIGMA: _k_of_n(offset > 2 * sigma, 2, 3)
        | _k_of_n(offset < -2 * sigma, 2, 3),
        NelsonRule.FOUR_OF_FIVE_BEYOND_1_SIGMA: _k_of_n(offset > sigma, 4, 5)
        | _k_of_n(offset < -sigma, 4, 5),
        NelsonRule.FIFTEEN_WITHIN_1_SIGMA: _in_runs(np.abs(offset) < sigma, 15),
        NelsonRule.EIGHT_BEYOND_1_SIGMA: _mixed_runs(beyond_one, above, below, 8),
    }
    return tuple(
        RuleViolation(rule, tuple(int(index) for index in np.flatnonzero(points)))
        for rule, points in found.items()
        if points.any()
    )


def _covered(windows: Flags, length: int, size: int) -> Flags:
    """Points inside any qualifying window; ``windows[s]`` is the window starting at s."""
    if windows.size == 0:
        return np.zeros(size, dtype=bool)
    # Point i is covered by the windows starting at i - length + 1 .. i.
    counts = np.convolve(windows.astype(np.int64), np.ones(length, dtype=np.int64))[:size]
    return counts > 0


def _windows(flags: Flags, length: int) -> npt.NDArray[np.bool_]:
    if flags.size < length:
        return np.zeros((0, length), dtype=bool)
    return sliding_window_view(flags, length)


def _in_runs(flags: Flags, length: int) -> Flags:
    """Points inside a run of ``length`` consecutive true flags."""
    return _covered(np.asarray(_windows(flags, length).all(axis=1)), length, flags.size)


def _k_of_n(flags: Flags, k: int, n: int) -> Flags:
    """Flagged points inside a window of ``n`` consecutive points holding ``k`` or more."""
    return _covered(_windows(flags, n).sum(axis=1) >= k, n, flags.size) & flags


def _mixed_runs(flags: Flags, above: Flags, below: Flags, length: int) -> Flags:
    """Points inside a run of ``length`` flagged points with some above and some below."""
    qualifying = np.asarray(
        _windows(flags, length).all(axis=1)
        & _windows(above, length).any(axis=1)
        & _windows(below, length).any(axis=1)
    )
    return _covered(qualifying, length, flags.size)


def _points_of(spans: Flags, width: int, size: int) -> Flags:
    """The points that flagged spans join, span s joining points s .. s + width - 1."""
    points = np.zeros(size, dtype=bool)
    for shift in range(width):
        points[shift : shift + spans.size] |= spans
    return points


def individuals_chart(
    values: Numbers,
    *,
    baseline: range | None = None,
    specification: Specification | None = None,
) -> IndividualsChart:
    """The I-MR chart of ``values`` (in time order), limits from the ``baseline`` points
    (indices; all of them by default), with the run rules and the capability."""
    series = _series(values, "values")
    chosen = range(series.size) if baseline is None else baseline
    if chosen.step != 1 or not 0 <= chosen.start <= chosen.stop <= series.size:
        raise ValueError(
            f"baseline: expected consecutive point indices within 0..{series.size}, got {chosen}"
        )
    reference = series[chosen.start : chosen.stop]
    limits = control_limits(reference)
    moving = np.abs(np.diff(series))
    return IndividualsChart(
        values=tuple(float(value) for value in series),
        moving_ranges=(None, *(float(value) for value in moving)) if series.size else (),
        baseline=chosen,
        limits=limits,
        violations=run_rules(series, limits),
        capability=capability(reference, specification or Specification()),
    )
