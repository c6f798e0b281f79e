"""Vendor scorecards: how a vendor made a product (or all it makes) over a period.

Computed from the lots ``GraphStore.batch_quality`` reads (``graph.oversight`` says
which lots count and who may see them). The definitions, which the GraphQL
descriptions repeat (``schema/oversight.py``):

- batches: lots the vendor made in the period, by manufacture date (a lot it only
  received is its maker's, not its own);
- dispositioned: lots with a disposition, i.e. RELEASED, REJECTED or RECALLED (a
  recalled lot was released first). PLANNED, IN_PROCESS, QUARANTINE or no status:
  not decided yet, so in neither side of the rate;
- right first time: a RELEASED lot with no deviation affecting it and no failed result
  (verdict OOS or FAIL, ``oversight.FAILED_VERDICTS``). Rate: right-first-time lots over
  dispositioned lots; None while no lot has a disposition;
- deviations: distinct deviations affecting the period's lots (one deviation on three
  lots counts once). Per 100 batches: deviations x 100 / batches;
- OOS rate: lots with a failed result over lots with any result (tested lots). Per lot
  rather than per result, so that a vendor testing more attributes per lot does not
  look better for it: the question is how often a lot misses its specification. The
  result counts are given beside it;
- days to release: ``released_on - manufactured_on`` over lots with both dates; the
  median and the 90th percentile, interpolated linearly between the ordered values
  (numpy's default, as a spreadsheet's PERCENTILE.INC).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from graph.model import BatchStatus
from graph.oversight import BatchQuality, Period

DISPOSITIONED: frozenset[BatchStatus] = frozenset(
    {BatchStatus.RELEASED, BatchStatus.REJECTED, BatchStatus.RECALLED}
)


@dataclass(frozen=True, slots=True)
class Scorecard:
    vendor: str  # organization id
    product: str | None  # product id; None: every lot of the vendor's in scope
    period: Period
    batches: int
    dispositioned: int
    right_first_time: int
    deviations: int
    tested_batches: int
    failed_batches: int  # tested lots with at least one OOS or FAIL result
    results: int
    failed_results: int
    release_days: tuple[int, ...]  # days from manufacture to release, ascending

    @property
    def right_first_time_rate(self) -> float | None:
        return _ratio(self.right_first_time, self.dispositioned)

    @property
    def deviations_per_100_batches(self) -> float | None:
        rate = _ratio(self.deviations, self.batches)
        return None if rate is None else 100 * rate

    @property
    def oos_rate(self) -> float | None:
        return _ratio(self.failed_batches, self.tested_batches)

    @property
    def median_days_to_release(self) -> float | None:
        return float(np.median(self.release_days)) if self.release_days else None

    @property
    def p90_days_to_release(self) -> float | None:
        return float(np.percentile(self.release_days, 90)) if self.release_days else None


def _ratio(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def scorecard(
    vendor: str, product: str | None, period: Period, lots: Iterable[BatchQuality]
) -> Scorecard:
    """The scorecard of ``lots``, all of them made by ``vendor``."""
    chosen = list(lots)
    strays = sorted({lot.vendor for lot in chosen} - {vendor})
    if strays:
        raise ValueError(f"lots: made by {', '.join(strays)}, not by the vendor {vendor}")
    dispositioned = [lot for lot in chosen if lot.status in DISPOSITIONED]
    tested = [lot for lot in chosen if lot.results]
    return Scorecard(
        vendor=vendor,
        product=product,
        period=period,
        batches=len(chosen),
        dispositioned=len(dispositioned),
        right_first_time=sum(
            1
            for lot in dispositioned
            if lot.status is BatchStatus.RELEASED and not lot.deviations and not lot.failed_results
        ),
        deviations=len({deviation for lot in chosen for deviation in lot.deviations}),
        tested_batches=len(tested),
        failed_batches=sum(1 for lot in tested if lot.failed_results),
        results=sum(lot.results for lot in chosen),
        failed_results=sum(lot.failed_results for lot in chosen),
        release_days=tuple(
            sorted(
                (lot.released_on - lot.manufactured_on).days
                for lot in chosen
                if lot.released_on is not None and lot.manufactured_on is not None
            )
        ),
    )


def scorecards_by_vendor(
    product: str | None, period: Period, lots: Iterable[BatchQuality]
) -> list[Scorecard]:
    """One scorecard per vendor among ``lots``, in vendor id order."""
    by_vendor: dict[str, list[BatchQuality]] = {}
    for lot in lots:
        by_vendor.setdefault(lot.vendor, []).append(lot)
    return [scorecard(vendor, product, period, by_vendor[vendor]) for vendor in sorted(by_vendor)]
