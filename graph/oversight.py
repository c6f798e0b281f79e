"""Quality oversight reads: the facts vendor scorecards and control charts are made of.

Two store reads feed the sponsor's oversight of its vendors, and both stores answer
them identically (``tests/graph/test_oversight_contract.py``):

- ``GraphStore.batch_quality(scope)``: one ``BatchQuality`` per lot a vendor made (of a
  product, in a period): its disposition, dates, the deviations affecting it and how
  many of its results failed (``graph.quality.scorecard`` turns them into figures);
- ``GraphStore.measurements(scope)``: every numeric result of one test (a critical
  quality attribute, e.g. "assay") on a product's lots (``graph.quality.control_charts`` turns
  them into one control chart per vendor and site).

Lots made, not lots received: a lot as booked in at a partner (a ``SAME_LOT`` edge to
its maker's lot) is the maker's work, so it counts in no one's figures; the maker's own
lot does.

Who reads oversight figures. A figure about a vendor judges its process, so it is
read by the vendor itself, by the sponsors of the lots it counts, and by the operator:
under a restricted visibility a read counts a lot only when the organization is its
maker or one of its sponsors (``graph.readers``: the sponsor of its product and, carried
upstream, of everything it went into), and a result or deviation only when the
organization may read it. A lab that tested a lot may read the lot, but sees it in no
scorecard: it could not read the maker's deviations on it, and a figure made of part of
the facts would be a wrong one. Like every other visibility rule, this one is applied
inside the stores' queries.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from graph.ids import InvalidNodeId, NodeKind, make_id, parse_id, shown, with_article
from graph.model import BatchStatus, Verdict

# Verdicts of a result outside its specification: OOS for a measured value (it needs an
# investigation), FAIL for a test judged pass or fail. Both mean the lot did not meet
# its specification on that test.
FAILED_VERDICTS: frozenset[Verdict] = frozenset({Verdict.OOS, Verdict.FAIL})


@dataclass(frozen=True, slots=True)
class Period:
    """Days from ``start`` to ``end``, both included; a missing bound is open."""

    start: date | None = None
    end: date | None = None

    def __post_init__(self) -> None:
        if self.start is not None and self.end is not None and self.start > self.end:
            raise ValueError(f"period: starts on {self.start}, after it ends on {self.end}")

    @property
    def bounded(self) -> bool:
        return self.start is not None or self.end is not None

    def holds(self, day: date | None) -> bool:
        """Whether ``day`` lies in the period; an unknown day lies only in an open one."""
        if day is None:
            return not self.bounded
        return (self.start is None or day >= self.start) and (self.end is None or day <= self.end)


def _checked(node_id: str, kind: NodeKind, argument: str, example: str) -> str:
    try:
        matches = parse_id(node_id).kind is kind
    except InvalidNodeId:
        matches = False
    if not matches:
        raise ValueError(
            f"{argument}: {shown(node_id)} is not {with_article(kind)} id (expected e.g. {example!r})"
        )
    return node_id


@dataclass(frozen=True, slots=True)
class BatchScope:
    """The lots a scorecard counts: a vendor's, a product's, or one vendor's of one
    product, made (by manufacture date) in ``made``. With a bounded period, a lot
    without a manufacture date is not counted."""

    vendor: str | None = None  # organization id of the maker
    product: str | None = None  # product id: lots for it, directly or through their material
    made: Period = field(default_factory=Period)

    def __post_init__(self) -> None:
        if self.vendor is None and self.product is None:
            raise ValueError("scope: name a vendor, a product or both")
        if self.vendor is not None:
            _checked(self.vendor, NodeKind.ORGANIZATION, "vendor", "org:birch")
        if self.product is not None:
            _checked(self.product, NodeKind.PRODUCT, "product", "product:northwind/NW-TAB-101")

    @property
    def maker(self) -> str | None:
        """The vendor's slug, as lots name their maker."""
        return None if self.vendor is None else parse_id(self.vendor).parts[0]


@dataclass(frozen=True, slots=True)
class BatchQuality:
    """One lot a vendor made, with what a scorecard needs to know about it."""

    batch_id: str
    vendor: str  # organization id of the maker
    product: str | None  # the product it is for (the scope's, or the first one readable)
    status: BatchStatus | None
    manufactured_on: date | None
    released_on: date | None
    deviations: tuple[str, ...]  # ids of the readable deviations affecting it, sorted
    results: int  # readable test results on it
    failed_results: int  # of which with verdict OOS or FAIL (see FAILED_VERDICTS)


@dataclass(frozen=True, slots=True)
class MeasurementScope:
    """Numeric results of ``test`` (None: of every test, in one read) on the lots of
    ``product`` (those ``vendor`` made, when given), the lots made in ``made`` (by manufacture date, or the result's test
    date for a lot without one)."""

    product: str
    test: str | None
    made: Period = field(default_factory=Period)
    vendor: str | None = None  # organization id: only the lots it made

    def __post_init__(self) -> None:
        _checked(self.product, NodeKind.PRODUCT, "product", "product:northwind/NW-TAB-101")
        if self.vendor is not None:
            _checked(self.vendor, NodeKind.ORGANIZATION, "vendor", "org:birch")
        if self.test is not None and not self.test.strip():
            raise ValueError("test: name the test or quality attribute, e.g. 'assay'")


@dataclass(frozen=True, slots=True)
class Measurement:
    """One numeric result on a lot a vendor made, placed in time by the lot."""

    result: str  # the test result's id
    batch_id: str
    vendor: str  # organization id of the lot's maker
    site: str | None  # site id where the lot was made
    value: float
    unit: str | None
    spec_low: float | None
    spec_high: float | None
    verdict: Verdict | None
    tested_on: date | None
    manufactured_on: date | None
    test: str = ""  # the test or attribute measured, as the result names it

    @property
    def on(self) -> date | None:
        """The day the point belongs to on a chart: when the lot was made, or, for a lot
        without a manufacture date, when it was tested."""
        return self.manufactured_on or self.tested_on

    @classmethod
    def from_row(cls, row: Sequence[Any]) -> Measurement:
        """From a store's row: result id, batch id, site code, value, unit, spec low,
        spec high, verdict, tested on and made on (ISO dates), test, in that order."""
        result_id, batch_id, site, value, unit, low, high, verdict, tested, made, test = row
        maker = parse_id(batch_id).parts[0]
        return cls(
            result=result_id,
            batch_id=batch_id,
            vendor=make_id(NodeKind.ORGANIZATION, maker),
            site=None if site is None else make_id(NodeKind.SITE, maker, site),
            value=float(value),
            unit=unit,
            spec_low=None if low is None else float(low),
            spec_high=None if high is None else float(high),
            verdict=None if verdict is None else Verdict(verdict),
            tested_on=None if tested is None else date.fromisoformat(tested),
            manufactured_on=None if made is None else date.fromisoformat(made),
            test=test or "",
        )
