"""A product's results for one quality attribute as control charts, one per vendor and
site: continued process verification across vendors.

Each vendor's site runs its own process, so each gets its own chart, limits and
capability (``graph.quality.cpv``); results in different units are never mixed in one chart.
A chart's points are its results in time order: by the day the lot was made (the
result's test day for a lot without one), then by result id. Each result is a point: a
lot tested twice shows twice, as consecutive points.

The baseline is a period: the points of lots made in it (all points when it is open).
Points are ordered by the same day, so those of a period are consecutive. A chart whose
baseline holds fewer than two points has no limits; ``problem`` says why.

Specification limits are the sponsor's (``graph.quality.specifications``): each point is
judged by the specification in force on its day (the chart's day, above), and the
chart's capability by the one in force on its last point's day, the specification the
process is held to now. When the sponsor has none in force on that day, the chart falls
back to the limits the labs reported (the latest in the baseline that states them), and
says so (``specification_source``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date

from graph import lifecycle
from graph.oversight import Measurement, Period
from graph.quality.cpv import IndividualsChart, Specification, individuals_chart
from graph.quality.specifications import SpecificationSource, latest_in_force


@dataclass(frozen=True, slots=True)
class ProcessChart:
    vendor: str  # organization id
    site: str | None  # site id
    unit: str | None
    measurements: tuple[Measurement, ...]  # in chart order
    baseline: range  # indices of the baseline's points
    chart: IndividualsChart | None  # None when the baseline is too small
    problem: str | None = None  # why there is no chart
    specification_source: SpecificationSource = SpecificationSource.REPORTED
    # Per point, the sponsor's specification in force on its day (None: none in force).
    specifications: tuple[lifecycle.Specification | None, ...] = ()


def chart_order(measurement: Measurement) -> tuple[bool, date, str]:
    """Undated points last; then by day and result id."""
    day = measurement.on
    return (day is None, day or date.min, measurement.result)


def process_charts(
    measurements: Iterable[Measurement],
    baseline: Period | None = None,
    specifications: Sequence[lifecycle.Specification] = (),
) -> list[ProcessChart]:
    """One chart per (vendor, site, unit), in that order; ``specifications``: the
    sponsor's of the product for the charted test, every version
    (``graph.quality.specifications.in_force`` matches the test's name)."""
    groups: dict[tuple[str, str, str], list[Measurement]] = {}
    for measurement in measurements:
        key = (measurement.vendor, measurement.site or "", measurement.unit or "")
        groups.setdefault(key, []).append(measurement)
    return [
        _chart(sorted(group, key=chart_order), baseline or Period(), specifications)
        for _, group in sorted(groups.items())
    ]


def _chart(
    points: list[Measurement],
    baseline: Period,
    specifications: Sequence[lifecycle.Specification],
) -> ProcessChart:
    first = points[0]
    in_force_per_point = tuple(latest_in_force(specifications, point.on) for point in points)
    sponsors = latest_in_force(specifications, points[-1].on)
    inside = [index for index, point in enumerate(points) if baseline.holds(point.on)]
    chosen = range(inside[0], inside[-1] + 1) if inside else range(0)
    chart: IndividualsChart | None = None
    problem: str | None = None
    if len(chosen) < 2:
        problem = (
            f"the baseline period holds {len(chosen)} result(s) of lots made by "
            f"{first.vendor} at {first.site or 'an unknown site'}; at least 2 are needed "
            "to estimate variation from a moving range"
        )
    else:
        chart = individuals_chart(
            [point.value for point in points],
            baseline=chosen,
            specification=Specification(sponsors.spec_low, sponsors.spec_high)
            if sponsors is not None
            else _specification(points[chosen.start : chosen.stop]),
        )
    return ProcessChart(
        vendor=first.vendor,
        site=first.site,
        unit=first.unit,
        measurements=tuple(points),
        baseline=chosen,
        chart=chart,
        problem=problem,
        specification_source=SpecificationSource.SPONSOR
        if sponsors is not None
        else SpecificationSource.REPORTED,
        specifications=in_force_per_point,
    )


def _specification(baseline: list[Measurement]) -> Specification:
    """The specification in force over the baseline: that of its latest result that
    states one (specifications change rarely, and a change calls for a new baseline)."""
    for point in reversed(baseline):
        low, high = point.spec_low, point.spec_high
        inverted = low is not None and high is not None and low > high
        if (low is not None or high is not None) and not inverted:
            return Specification(low, high)  # inverted limits are bad data: look further back
    return Specification()
