"""Control limits, capability and the eight Nelson rules, against values worked out by
hand or by an independent method (the standard library's statistics)."""

from __future__ import annotations

import itertools
import random
import statistics

import pytest

from graph.quality.cpv import (
    D2,
    ControlLimits,
    NelsonRule,
    Specification,
    capability,
    control_limits,
    individuals_chart,
    run_rules,
)

# Centre 0 and sigma 1, so that a series reads directly in sigmas.
UNIT = ControlLimits(
    centre=0.0, mean_moving_range=D2, sigma=1.0, upper=3.0, lower=-3.0, baseline_size=20
)


def fired(values: list[float], limits: ControlLimits = UNIT) -> dict[NelsonRule, tuple[int, ...]]:
    return {violation.rule: violation.points for violation in run_rules(values, limits)}


def test_limits_of_a_small_baseline_by_hand() -> None:
    # mean 58 / 5 = 11.6; moving ranges 2, 1, 2, 1: MR-bar 1.5; sigma 1.5 / 1.128.
    limits = control_limits([10.0, 12.0, 11.0, 13.0, 12.0])

    assert limits.centre == pytest.approx(11.6)
    assert limits.mean_moving_range == pytest.approx(1.5)
    assert limits.sigma == pytest.approx(1.329787, abs=1e-6)
    assert limits.upper == pytest.approx(15.589362, abs=1e-6)
    assert limits.lower == pytest.approx(7.610638, abs=1e-6)
    assert limits.baseline_size == 5
    # The tabulated constant: centre ± 2.66 MR-bar, to the rounding of 2.66.
    assert limits.upper == pytest.approx(11.6 + 2.66 * 1.5, abs=0.002)


def test_limits_agree_with_the_standard_library_on_random_series() -> None:
    rng = random.Random(11)
    for _ in range(25):
        values = [rng.gauss(100, 2) for _ in range(rng.randint(2, 60))]
        moving = [abs(b - a) for a, b in itertools.pairwise(values)]
        centre = statistics.fmean(values)
        sigma = statistics.fmean(moving) / 1.128

        limits = control_limits(values)

        assert limits.centre == pytest.approx(centre)
        assert limits.sigma == pytest.approx(sigma)
        assert (limits.lower, limits.upper) == pytest.approx(
            (centre - 3 * sigma, centre + 3 * sigma)
        )


@pytest.mark.parametrize("baseline", [[], [99.5]])
def test_a_baseline_of_fewer_than_two_points_is_refused_by_name(baseline: list[float]) -> None:
    with pytest.raises(ValueError, match=r"^baseline: needs at least 2 points.*got "):
        control_limits(baseline)


def test_a_chart_whose_baseline_range_holds_one_point_is_refused() -> None:
    with pytest.raises(ValueError, match=r"^baseline: needs at least 2 points"):
        individuals_chart([1.0, 2.0, 3.0], baseline=range(1, 2))
    with pytest.raises(ValueError, match=r"^baseline: expected consecutive point indices"):
        individuals_chart([1.0, 2.0, 3.0], baseline=range(1, 5))


def test_a_value_that_is_not_a_number_is_named() -> None:
    with pytest.raises(ValueError, match=r"^values: point 2 is not a finite number \(nan\)"):
        individuals_chart([1.0, 2.0, float("nan")])


def test_capability_of_a_centred_process_by_hand() -> None:
    # mean 100; moving ranges 2, 1, 2, 4: MR-bar 2.25, sigma within 1.994681;
    # squares of deviations 1 + 1 + 0 + 4 + 4 = 10: overall sigma sqrt(10 / 4) = 1.581139.
    baseline = [99.0, 101.0, 100.0, 102.0, 98.0]

    found = capability(baseline, Specification(95.0, 105.0))

    assert found is not None
    assert found.sigma_within == pytest.approx(1.994681, abs=1e-6)
    assert found.sigma_overall == pytest.approx(1.581139, abs=1e-6)
    assert found.cpk == pytest.approx(5 / (3 * 1.994681), abs=1e-6)  # 0.835556
    assert found.cpl == found.cpu == found.cpk
    assert found.ppk == pytest.approx(5 / (3 * statistics.stdev(baseline)))  # 1.054093


def test_capability_of_an_off_centre_process_takes_the_nearer_limit() -> None:
    found = capability([99.0, 101.0, 100.0, 102.0, 98.0], Specification(96.0, 110.0))

    assert found is not None
    assert found.cpl == pytest.approx(4 / 5.984043, abs=1e-6)  # 0.668445
    assert found.cpu == pytest.approx(10 / 5.984043, abs=1e-6)  # 1.671111
    assert found.cpk == found.cpl


@pytest.mark.parametrize(
    ("specification", "side"),
    [(Specification(high=103.0), "cpu"), (Specification(low=97.0), "cpl")],
)
def test_a_one_sided_specification_gives_the_side_that_exists(
    specification: Specification, side: str
) -> None:
    found = capability([99.0, 101.0, 100.0, 102.0, 98.0], specification)

    assert found is not None
    assert found.cpk == pytest.approx(3 / 5.984043, abs=1e-6)  # 0.501333
    assert getattr(found, side) == found.cpk
    other = "cpl" if side == "cpu" else "cpu"
    assert getattr(found, other) is None


def test_capability_needs_a_specification_and_some_variation() -> None:
    assert capability([99.0, 101.0, 100.0], Specification()) is None
    flat = capability([100.0, 100.0, 100.0], Specification(95.0, 105.0))
    assert flat is not None and flat.cpk is None and flat.ppk is None
    with pytest.raises(ValueError, match=r"^specification: the low limit 105.0 is above"):
        Specification(105.0, 95.0)


# Each rule: a series that fires it (and nothing else), and near misses that do not.
FIRES = [
    (NelsonRule.BEYOND_LIMITS, [0.5, -0.5, 3.2, 0.1], (2,)),
    (NelsonRule.NINE_ON_ONE_SIDE, [0.5, 0.2, 0.6, 0.3, 0.5, 0.2, 0.4, 0.3, 0.5], tuple(range(9))),
    (NelsonRule.SIX_TRENDING, [0.0, 0.1, 0.3, 0.4, 0.6, 0.8], tuple(range(6))),
    (NelsonRule.FOURTEEN_ALTERNATING, [0.5, -0.5] * 7, tuple(range(14))),
    (NelsonRule.TWO_OF_THREE_BEYOND_2_SIGMA, [0.1, 2.5, 0.3, 2.4, 0.2], (1, 3)),
    (NelsonRule.FOUR_OF_FIVE_BEYOND_1_SIGMA, [1.5, 1.2, 0.3, 1.4, 1.6], (0, 1, 3, 4)),
    (
        NelsonRule.FIFTEEN_WITHIN_1_SIGMA,
        [0.2, -0.3, -0.1, 0.4, 0.1, -0.2, -0.4, 0.3, 0.5, -0.1, -0.3, 0.2, 0.1, -0.2, 0.3],
        tuple(range(15)),
    ),
    (
        NelsonRule.EIGHT_BEYOND_1_SIGMA,
        [1.5, -1.5, 1.8, -1.2, 1.3, -1.6, 1.4, -1.9],
        tuple(range(8)),
    ),
]
NEAR_MISSES = [
    # exactly on the limit is not beyond it; opposite sides are no pattern
    (NelsonRule.BEYOND_LIMITS, [2.9, 0.1, -2.9, 0.2, 3.0]),
    (NelsonRule.NINE_ON_ONE_SIDE, [0.5, 0.2, 0.6, 0.3, 0.5, 0.2, 0.4, 0.3, -0.5]),  # eight
    (NelsonRule.NINE_ON_ONE_SIDE, [0.5, 0.2, 0.6, 0.3, 0.0, 0.2, 0.4, 0.3, 0.5]),  # on the line
    (NelsonRule.SIX_TRENDING, [0.0, 0.1, 0.3, 0.4, 0.6, 0.6]),  # a tie ends the trend
    (NelsonRule.SIX_TRENDING, [0.0, 0.1, 0.3, 0.4, 0.6, 0.5]),
    (NelsonRule.FOURTEEN_ALTERNATING, [0.5, -0.5] * 6 + [0.5]),  # thirteen
    (NelsonRule.FOURTEEN_ALTERNATING, [0.5, -0.5] * 3 + [-0.5] + [0.5, -0.5] * 3 + [0.5]),
    (NelsonRule.TWO_OF_THREE_BEYOND_2_SIGMA, [0.1, 2.5, -2.4, 0.2]),  # opposite sides
    (NelsonRule.TWO_OF_THREE_BEYOND_2_SIGMA, [2.5, 0.1, 0.2, 2.4]),  # four points apart
    (NelsonRule.FOUR_OF_FIVE_BEYOND_1_SIGMA, [1.5, 1.2, 0.3, 1.4, 0.5, 1.6]),  # three of five
    (
        NelsonRule.FIFTEEN_WITHIN_1_SIGMA,
        [0.2, -0.3, -0.1, 0.4, 0.1, -0.2, -0.4, 1.2, 0.5, -0.1, -0.3, 0.2, 0.1, -0.2, 0.3],
    ),
    (NelsonRule.EIGHT_BEYOND_1_SIGMA, [1.5, -1.5, 1.8, -1.2, 1.3, -1.6, 1.4, 0.5]),
    # all beyond 1 sigma, but on one side: a shift (rule 6), not a mixture
    (NelsonRule.EIGHT_BEYOND_1_SIGMA, [1.5, 1.2, 1.8, 1.2, 1.3, 1.6, 1.4, 1.9]),
]


@pytest.mark.parametrize(("rule", "values", "points"), FIRES, ids=[rule for rule, *_ in FIRES])
def test_each_rule_fires_on_its_pattern_with_the_points_of_it(
    rule: NelsonRule, values: list[float], points: tuple[int, ...]
) -> None:
    assert fired(values) == {rule: points}


@pytest.mark.parametrize(("rule", "values"), NEAR_MISSES, ids=[r for r, _ in NEAR_MISSES])
def test_a_near_miss_does_not_fire_the_rule(rule: NelsonRule, values: list[float]) -> None:
    assert rule not in fired(values)


def test_rules_are_numbered_and_described_in_nelsons_order() -> None:
    assert [rule.number for rule in NelsonRule] == list(range(1, 9))
    assert NelsonRule.SIX_TRENDING.description.startswith("Six points in a row")


def test_a_drift_after_a_stable_baseline_fires_by_hand() -> None:
    # Baseline: 100.6, 100.2, 99.7, 99.1: mean 99.9; moving ranges 0.4, 0.5, 0.6:
    # MR-bar 0.5; sigma 0.443262; limits 98.570213 and 101.229787.
    assay = [100.6, 100.2, 99.7, 99.1, 98.4, 97.3, 95.9, 94.6]

    chart = individuals_chart(assay, baseline=range(4), specification=Specification(95.0, 105.0))

    assert chart.limits.centre == pytest.approx(99.9)
    assert chart.limits.mean_moving_range == pytest.approx(0.5)
    assert chart.limits.lower == pytest.approx(98.570213, abs=1e-6)
    violations = {violation.rule: violation.points for violation in chart.violations}
    assert violations[NelsonRule.BEYOND_LIMITS] == (4, 5, 6, 7)
    assert violations[NelsonRule.SIX_TRENDING] == tuple(range(8))
    assert chart.rules_at(0) == (NelsonRule.SIX_TRENDING,)
    assert chart.moving_ranges[0] is None
    assert chart.moving_ranges[7] == pytest.approx(1.3)
    assert chart.capability is not None and chart.capability.cpk == pytest.approx(3.6848)
