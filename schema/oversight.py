"""Vendor oversight over GraphQL: scorecards and control charts across vendors.

Three root fields (``Query`` takes them from here): ``vendorScorecards`` and
``vendorScorecard`` (``graph.quality.scorecard``) and ``controlCharts``
(``graph.quality.control_charts``, ``graph.quality.cpv``). Each is one store read as the
asking principal (``graph.oversight`` says what a principal's figures count: its own
lots, the lots it sponsors), then pure
arithmetic. The definitions are in the field descriptions, so they reach the SDL.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated

import strawberry
from strawberry.types import Info

from graph.ids import NodeKind
from graph.oversight import BatchScope, MeasurementScope, Period
from graph.quality import cpv
from graph.quality.control_charts import ProcessChart, process_charts
from graph.quality.scorecard import Scorecard, scorecard, scorecards_by_vendor
from graph.quality.specifications import SpecificationSource, normalized_test
from schema.context import context_of
from schema.errors import bad_input, checked_id
from schema.nodes import Batch, Organization, Product, Site, TestResult, load_one

strawberry.enum(cpv.NelsonRule, description="The eight Nelson run rules, in Nelson's order.")
strawberry.enum(
    SpecificationSource,
    description="Where a control chart's specification limits come from: SPONSOR (the "
    "sponsor's specification in force on the chart's last point's day) or REPORTED (the "
    "limits the labs reported: the sponsor has none in force).",
)

From = Annotated[
    date | None,
    strawberry.argument(
        name="from", description="First day of the period (lots' manufacture dates), inclusive."
    ),
]
To = Annotated[date | None, strawberry.argument(description="Last day of the period, inclusive.")]
MAX_TEST_NAME = 200


def _period(start: date | None, end: date | None, names: tuple[str, str]) -> Period:
    if start is not None and end is not None and start > end:
        raise bad_input(f"{names[0]}: {start} is after {names[1]}: {end}")
    return Period(start, end)


@strawberry.type(
    description="How a vendor made a product (or everything it makes) over a period. "
    "Counts the lots the vendor made, by manufacture date; a lot it only received counts "
    "for its maker. A vendor reads its own figures, a sponsor those of the lots it "
    "sponsors, at every vendor; no one else's."
)
class VendorScorecard:
    card: strawberry.Private[Scorecard]
    from_: date | None = strawberry.field(name="from", description="First day, inclusive.")
    to: date | None = strawberry.field(description="Last day, inclusive.")
    batches: int = strawberry.field(description="Lots the vendor made in the period.")
    dispositioned: int = strawberry.field(
        description="Lots with a disposition: RELEASED, REJECTED or RECALLED (a recalled lot "
        "was released first). PLANNED, IN_PROCESS and QUARANTINE lots are undecided."
    )
    right_first_time: int = strawberry.field(
        description="RELEASED lots with no deviation affecting them and no result whose "
        "verdict is OOS or FAIL."
    )
    right_first_time_rate: float | None = strawberry.field(
        description="rightFirstTime / dispositioned, from 0 to 1; null while no lot has a "
        "disposition."
    )
    deviations: int = strawberry.field(
        description="Distinct deviations affecting the period's lots (one on three lots "
        "counts once)."
    )
    deviations_per_100_batches: float | None = strawberry.field(
        description="deviations x 100 / batches; null without lots."
    )
    tested_batches: int = strawberry.field(description="Lots with at least one test result.")
    oos_batches: int = strawberry.field(
        description="Tested lots with at least one result whose verdict is OOS or FAIL "
        "(outside its specification)."
    )
    results: int = strawberry.field(description="Test results on the period's lots.")
    oos_results: int = strawberry.field(description="Of which with verdict OOS or FAIL.")
    oos_rate: float | None = strawberry.field(
        description="oosBatches / testedBatches, from 0 to 1: how often a lot misses its "
        "specification. Per lot, not per result, so that testing more attributes per lot "
        "does not flatter a vendor. Null without tested lots."
    )
    released_with_dates: int = strawberry.field(
        description="Lots with both a manufacture and a release date: those the release "
        "times below are over."
    )
    median_days_to_release: float | None = strawberry.field(
        description="Median of days from manufacture to release; null without such lots."
    )
    p90_days_to_release: float | None = strawberry.field(
        name="p90DaysToRelease",
        description="90th percentile of days from manufacture to release, interpolated "
        "linearly between the ordered values (as PERCENTILE.INC); null without such lots.",
    )

    @classmethod
    def of(cls, card: Scorecard) -> VendorScorecard:
        return cls(
            card=card,
            from_=card.period.start,
            to=card.period.end,
            batches=card.batches,
            dispositioned=card.dispositioned,
            right_first_time=card.right_first_time,
            right_first_time_rate=card.right_first_time_rate,
            deviations=card.deviations,
            deviations_per_100_batches=card.deviations_per_100_batches,
            tested_batches=card.tested_batches,
            oos_batches=card.failed_batches,
            results=card.results,
            oos_results=card.failed_results,
            oos_rate=card.oos_rate,
            released_with_dates=len(card.release_days),
            median_days_to_release=card.median_days_to_release,
            p90_days_to_release=card.p90_days_to_release,
        )

    @strawberry.field
    async def vendor(self, info: Info) -> Organization | None:
        return await load_one(info, Organization, self.card.vendor)

    @strawberry.field(description="The product; null for a card over all the vendor's lots.")
    async def product(self, info: Info) -> Product | None:
        return await load_one(info, Product, self.card.product)


@strawberry.type(description="One result on a control chart.")
class ChartPoint:
    index: int = strawberry.field(description="Position on the chart, from 0.")
    value: float
    moving_range: float | None = strawberry.field(
        description="|value - previous value|; null for the first point."
    )
    on: date | None = strawberry.field(
        description="The lot's manufacture date (its test date for a lot without one)."
    )
    in_baseline: bool = strawberry.field(description="Whether the limits were computed from it.")
    rules: list[cpv.NelsonRule] = strawberry.field(
        description="The run rules whose patterns include this point."
    )
    result_id: strawberry.ID
    batch_id: strawberry.ID
    spec_low: float | None = strawberry.field(
        default=None,
        description="The low limit the point is judged by: the sponsor's specification in "
        "force on its day, or, when there is none, the limit the lab reported.",
    )
    spec_high: float | None = strawberry.field(default=None, description="As specLow.")
    specification_source: SpecificationSource = strawberry.field(
        default=SpecificationSource.REPORTED,
        description="Whether specLow and specHigh are the sponsor's or the lab's.",
    )

    @strawberry.field
    async def result(self, info: Info) -> TestResult | None:
        return await load_one(info, TestResult, self.result_id)

    @strawberry.field
    async def batch(self, info: Info) -> Batch | None:
        return await load_one(info, Batch, self.batch_id)


@strawberry.type(
    description="Process capability over the baseline, against the sponsor's specification "
    "in force on the chart's last point's day (else the limits of the baseline's latest "
    "result that reports them: the chart's specificationSource). Cpk uses the within sigma (MR-bar / 1.128): what the process can do; "
    "Ppk the overall sigma (sample standard deviation): what it did. With one "
    "specification limit, the side that exists. Indices are null when the baseline shows "
    "no variation."
)
class Capability:
    spec_low: float | None
    spec_high: float | None
    mean: float
    sigma_within: float
    sigma_overall: float
    cpl: float | None = strawberry.field(description="(mean - specLow) / (3 sigmaWithin).")
    cpu: float | None = strawberry.field(description="(specHigh - mean) / (3 sigmaWithin).")
    cpk: float | None = strawberry.field(description="The smaller of cpl and cpu.")
    ppk: float | None = strawberry.field(description="As cpk, with sigmaOverall.")


@strawberry.type(description="A run rule that fires, and the points that make up its pattern.")
class RuleViolation:
    rule: cpv.NelsonRule
    number: int = strawberry.field(description="Nelson's number for the rule, 1 to 8.")
    description: str
    points: list[int] = strawberry.field(description="Indices of the chart's points.")


@strawberry.type(
    description="Centre line and limits from the baseline, and what they show. Centre = "
    "mean of the baseline; sigma = MR-bar / 1.128 (within); limits = centre ± 3 sigma "
    "(± 2.66 MR-bar). Run rules are checked on every point against them."
)
class ChartAnalysis:
    baseline_size: int
    centre_line: float
    mean_moving_range: float
    sigma: float
    upper_control_limit: float
    lower_control_limit: float
    capability: Capability | None = strawberry.field(
        description="Null when the results state no specification."
    )
    violations: list[RuleViolation] = strawberry.field(description="Rules that fire, in order.")

    @classmethod
    def of(cls, chart: cpv.IndividualsChart) -> ChartAnalysis:
        limits, found = chart.limits, chart.capability
        return cls(
            baseline_size=limits.baseline_size,
            centre_line=limits.centre,
            mean_moving_range=limits.mean_moving_range,
            sigma=limits.sigma,
            upper_control_limit=limits.upper,
            lower_control_limit=limits.lower,
            capability=None
            if found is None
            else Capability(
                spec_low=found.specification.low,
                spec_high=found.specification.high,
                mean=found.mean,
                sigma_within=found.sigma_within,
                sigma_overall=found.sigma_overall,
                cpl=found.cpl,
                cpu=found.cpu,
                cpk=found.cpk,
                ppk=found.ppk,
            ),
            violations=[
                RuleViolation(
                    rule=violation.rule,
                    number=violation.rule.number,
                    description=violation.rule.description,
                    points=list(violation.points),
                )
                for violation in chart.violations
            ],
        )


@strawberry.type(
    description="An individuals (I-MR) control chart of one quality attribute at one vendor "
    "site: its results in time order (by the lot's manufacture date, then result id)."
)
class ControlChart:
    found: strawberry.Private[ProcessChart]
    test: str
    unit: str | None
    points: list[ChartPoint]
    specification_source: SpecificationSource = strawberry.field(
        description="Where the capability's specification limits come from: SPONSOR, the "
        "sponsor's specification in force on the day of the chart's last point; REPORTED, "
        "the limits the labs reported (the latest in the baseline), when the sponsor has none "
        "in force then."
    )

    @classmethod
    def of(cls, found: ProcessChart, test: str) -> ControlChart:
        chart = found.chart
        specifications = found.specifications or (None,) * len(found.measurements)
        points = [
            ChartPoint(
                index=index,
                value=measurement.value,
                moving_range=None
                if index == 0
                else abs(measurement.value - found.measurements[index - 1].value),
                on=measurement.on,
                in_baseline=index in found.baseline,
                rules=[] if chart is None else list(chart.rules_at(index)),
                result_id=strawberry.ID(measurement.result),
                batch_id=strawberry.ID(measurement.batch_id),
                spec_low=measurement.spec_low if spec is None else spec.spec_low,
                spec_high=measurement.spec_high if spec is None else spec.spec_high,
                specification_source=SpecificationSource.REPORTED
                if spec is None
                else SpecificationSource.SPONSOR,
            )
            for index, (measurement, spec) in enumerate(
                zip(found.measurements, specifications, strict=True)
            )
        ]
        return cls(
            found=found,
            test=test,
            unit=found.unit,
            points=points,
            specification_source=found.specification_source,
        )

    @strawberry.field
    async def vendor(self, info: Info) -> Organization | None:
        return await load_one(info, Organization, self.found.vendor)

    @strawberry.field
    async def site(self, info: Info) -> Site | None:
        return await load_one(info, Site, self.found.site)

    @strawberry.field(
        description="Limits, capability and run rules; null, with a BAD_USER_INPUT error, "
        "when the baseline holds fewer than 2 points."
    )
    def analysis(self) -> ChartAnalysis | None:
        if self.found.chart is None:
            raise bad_input(f"baselineFrom, baselineTo: {self.found.problem}")
        return ChartAnalysis.of(self.found.chart)


async def _vendor_scorecards(
    info: Info,
    product_id: strawberry.ID,
    from_: From = None,
    to: To = None,
) -> list[VendorScorecard]:
    context = context_of(info)
    product = checked_id(product_id, NodeKind.PRODUCT, "productId")
    period = _period(from_, to, ("from", "to"))
    lots = await context.store.batch_quality(
        BatchScope(product=product, made=period), visibility=context.visibility
    )
    return [VendorScorecard.of(card) for card in scorecards_by_vendor(product, period, lots)]


async def _vendor_scorecard(
    info: Info,
    vendor_id: strawberry.ID,
    product_id: strawberry.ID | None = None,
    from_: From = None,
    to: To = None,
) -> VendorScorecard | None:
    context = context_of(info)
    vendor = checked_id(vendor_id, NodeKind.ORGANIZATION, "vendorId")
    product = None if product_id is None else checked_id(product_id, NodeKind.PRODUCT, "productId")
    period = _period(from_, to, ("from", "to"))
    if await load_one(info, Organization, vendor) is None:
        return None
    lots = await context.store.batch_quality(
        BatchScope(vendor=vendor, product=product, made=period), visibility=context.visibility
    )
    return VendorScorecard.of(scorecard(vendor, product, period, lots))


async def _control_charts(
    info: Info,
    product_id: strawberry.ID,
    test: str,
    from_: From = None,
    to: To = None,
    baseline_from: Annotated[
        date | None,
        strawberry.argument(description="First day of the baseline period, inclusive."),
    ] = None,
    baseline_to: Annotated[
        date | None,
        strawberry.argument(description="Last day of the baseline period, inclusive."),
    ] = None,
) -> list[ControlChart]:
    context = context_of(info)
    product = checked_id(product_id, NodeKind.PRODUCT, "productId")
    if not test.strip() or len(test) > MAX_TEST_NAME:
        raise bad_input(f"test: expected a test name of 1 to {MAX_TEST_NAME} characters")
    period = _period(from_, to, ("from", "to"))
    baseline = _period(baseline_from, baseline_to, ("baselineFrom", "baselineTo"))
    found = await context.store.measurements(
        MeasurementScope(product=product, test=test, made=period), visibility=context.visibility
    )
    if not found:
        return []
    sponsors = [
        spec
        for spec in await context.loaders.specifications_of([product])
        if normalized_test(spec.test) == normalized_test(test)
    ]
    return [ControlChart.of(chart, test) for chart in process_charts(found, baseline, sponsors)]


vendor_scorecards = strawberry.field(
    resolver=_vendor_scorecards,
    description="One scorecard per vendor of a product, in vendor id order: the vendors "
    "whose lots of it the asker may count (a sponsor: all of them; a vendor: itself).",
)
vendor_scorecard = strawberry.field(
    resolver=_vendor_scorecard,
    description="One vendor's scorecard, for one product or (without productId) over all "
    "the lots of its the asker may count; null if the vendor is unknown.",
)
control_charts = strawberry.field(
    resolver=_control_charts,
    description="Continued process verification across vendors: an individuals (I-MR) chart "
    "of one test (quality attribute, e.g. assay; named exactly as the results name it) on a "
    "product's lots, one per vendor site and unit, in vendor and site order. Limits come "
    "from the baseline period (default: every point); run rules and capability with them. "
    "Specification limits are the sponsor's in force (specificationSource).",
)
