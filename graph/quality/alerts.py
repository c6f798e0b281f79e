"""Alerts: what, in records just written to the graph, a principal should hear about at once.

Four kinds, each judged as the principal it is for (a ``Visibility``), so an alert
names only what that principal may read and is raised only when it may read its
subject:

- ``OUT_OF_SPECIFICATION``: a test result with verdict OOS or FAIL, or a value below
  its ``spec_low`` or above its ``spec_high``; for whoever may read the result (its
  lab, the tested lot's maker and sponsors).
- ``RUN_RULE``: a numeric result that is a point of a Nelson run rule on its control
  chart (``graph.quality.control_charts``, limits from every point of the chart, as
  ``controlCharts`` draws it without a baseline). The chart is drawn as the principal
  sees it (``GraphStore.measurements``), so the rule fires on the figures it can read
  (a vendor's own lots, a sponsor's lots at every vendor), never because of a point
  it could not see. Only a rule that includes one of the new points raises an alert:
  an old violation does not ring again when an unrelated point arrives.
- ``DEVIATION``: a deviation this ingestion is the first to assert (the node's oldest
  source is this ingestion: a later delivery of the same deviation, a status change
  say, rings no bell); for whoever may read the deviation.
- ``COMPLIANCE_GAP``: a lot in the records that ``graph.quality.compliance`` judges not
  compliant, with the gaps the principal is shown (``GraphStore.compliance_of``: only
  the sponsor and the maker, and the operator, get a verdict). Raised when the verdict
  *changes* for that principal: the first time the lot is judged not compliant, or when
  the set of gap reasons differs from the last verdict. A partner re-sending its lots
  (a daily full export, a worker applying an ingestion again) would otherwise ring the
  same bell every time. The last verdict per (lot, principal) is kept by a
  ``VerdictMemory``: the hub keeps it in its database (``hub.records.verdicts``), so it
  holds across restarts and hub processes; ``RememberedVerdicts`` keeps it in memory.

Detection reads only the store, after the records are written; ``Chunk.of`` picks what
could raise an alert without any read, so a chunk with none costs nothing.

Every alert has an ``id`` derived from what it is about (kind, subject, ingestion):
the same alert raised again (an ingestion applied twice after a worker died) has the
same id, so a receiver, or the hub's outbox (``hub.notify``), can keep it once.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Protocol

from graph.ids import parse_id
from graph.model import Batch, Deviation, EdgeKind, Record, TestResult
from graph.oversight import FAILED_VERDICTS, MeasurementScope
from graph.quality.compliance import GapReason
from graph.quality.control_charts import process_charts
from graph.quality.cpv import NelsonRule
from graph.store import GraphStore, StoredNode
from graph.visibility import EVERYTHING, Visibility


class AlertKind(StrEnum):
    OUT_OF_SPECIFICATION = "OUT_OF_SPECIFICATION"
    RUN_RULE = "RUN_RULE"
    DEVIATION = "DEVIATION"
    COMPLIANCE_GAP = "COMPLIANCE_GAP"


ALL_KINDS: frozenset[AlertKind] = frozenset(AlertKind)


@dataclass(frozen=True, slots=True)
class Alert:
    kind: AlertKind
    subject_id: str  # the result, deviation or lot the alert is about
    batch_ids: tuple[str, ...]  # the lots concerned, those the recipient may read
    ingestion_id: str  # the ingestion whose records raised it
    message: str  # for people; names only what the recipient may read
    raised_at: datetime
    rules: tuple[NelsonRule, ...] = ()  # RUN_RULE: the rules that include the point
    gap_reasons: tuple[GapReason, ...] = ()  # COMPLIANCE_GAP: why, deduplicated

    @property
    def id(self) -> str:
        """Stable for the same alert: what it is about, not when or for whom it was raised."""
        about = f"{self.kind.value}\n{self.subject_id}\n{self.ingestion_id}"
        return "alert:" + hashlib.sha256(about.encode()).hexdigest()[:32]


class VerdictMemory(Protocol):
    """The last compliance verdict each audience was given on each lot."""

    async def changed(
        self, audience: Visibility, verdicts: Mapping[str, frozenset[GapReason]]
    ) -> set[str]:
        """Remember ``verdicts`` (lot -> gap reasons, empty: compliant) as the audience's
        last, and answer the lots whose verdict differs from the one remembered before
        (a lot never judged for the audience counts as changed)."""
        ...


class RememberedVerdicts:
    """A ``VerdictMemory`` in this process's memory (tests, tools; the hub keeps its own
    in the database)."""

    def __init__(self) -> None:
        self._last: dict[tuple[str | None, str], frozenset[GapReason]] = {}

    async def changed(
        self, audience: Visibility, verdicts: Mapping[str, frozenset[GapReason]]
    ) -> set[str]:
        changed = set()
        for batch_id, reasons in verdicts.items():
            key = (audience.org, batch_id)
            if self._last.get(key) != reasons:
                changed.add(batch_id)
            self._last[key] = reasons
        return changed


@dataclass(frozen=True, slots=True)
class Chunk:
    """What in a chunk of written records may raise an alert (found without a read)."""

    ingestion_id: str
    off_spec: tuple[TestResult, ...]  # results outside their specification
    measured: tuple[TestResult, ...]  # numeric results of a named test on a lot
    deviations: tuple[Deviation, ...]
    lots: tuple[str, ...]  # batch ids of the lot records, each once

    @classmethod
    def of(cls, ingestion_id: str, records: Iterable[Record]) -> Chunk:
        off_spec: list[TestResult] = []
        measured: list[TestResult] = []
        deviations: list[Deviation] = []
        lots: dict[str, None] = {}
        for record in records:
            if isinstance(record, TestResult):
                if out_of_specification(record):
                    off_spec.append(record)
                if record.value is not None and record.test and record.batch_id:
                    measured.append(record)
            elif isinstance(record, Deviation):
                deviations.append(record)
            elif isinstance(record, Batch):
                lots[record.id] = None
        return cls(ingestion_id, tuple(off_spec), tuple(measured), tuple(deviations), tuple(lots))

    @property
    def empty(self) -> bool:
        return not (self.off_spec or self.measured or self.deviations or self.lots)


def out_of_specification(result: TestResult) -> bool:
    """Whether the result says its lot missed the specification on that test."""
    if result.verdict in FAILED_VERDICTS:
        return True
    value, low, high = result.value, result.spec_low, result.spec_high
    return value is not None and (
        (low is not None and value < low) or (high is not None and value > high)
    )


class AlertDetector:
    """Turns a written chunk into the alerts each audience (a visibility, with the kinds
    it listens to) should receive."""

    def __init__(self, store: GraphStore, verdicts: VerdictMemory | None = None) -> None:
        self.store = store
        self.verdicts = verdicts if verdicts is not None else RememberedVerdicts()

    async def detect(
        self, chunk: Chunk, audiences: Mapping[Visibility, frozenset[AlertKind]]
    ) -> dict[Visibility, list[Alert]]:
        now = datetime.now(UTC)
        charts_of = (
            await self._charts_touched(chunk)
            if any(AlertKind.RUN_RULE in kinds for kinds in audiences.values())
            else {}
        )
        found: dict[Visibility, list[Alert]] = {}
        for visibility, kinds in audiences.items():
            alerts: list[Alert] = []
            if AlertKind.OUT_OF_SPECIFICATION in kinds and chunk.off_spec:
                alerts += await self._off_spec(chunk, visibility, now)
            if AlertKind.RUN_RULE in kinds and charts_of:
                alerts += await self._run_rules(chunk, charts_of, visibility, now)
            if AlertKind.DEVIATION in kinds and chunk.deviations:
                alerts += await self._deviations(chunk, visibility, now)
            if AlertKind.COMPLIANCE_GAP in kinds and chunk.lots:
                alerts += await self._compliance(chunk, visibility, now)
            found[visibility] = alerts
        return found

    async def _off_spec(self, chunk: Chunk, visibility: Visibility, now: datetime) -> list[Alert]:
        readable = await self._readable(
            [r.id for r in chunk.off_spec] + [r.batch_id for r in chunk.off_spec if r.batch_id],
            visibility,
        )
        return [
            Alert(
                AlertKind.OUT_OF_SPECIFICATION,
                result.id,
                _readable_lots([result.batch_id], readable),
                chunk.ingestion_id,
                _off_spec_message(result),
                now,
            )
            for result in chunk.off_spec
            if result.id in readable
        ]

    async def _charts_touched(self, chunk: Chunk) -> dict[tuple[str, str], set[str]]:
        """(product, test) -> the new results on its charts. Which charts to draw is
        found as the operator; each audience then draws them as it sees them."""
        batch_ids = sorted({r.batch_id for r in chunk.measured if r.batch_id})
        products = await self._products_of(batch_ids)
        touched: dict[tuple[str, str], set[str]] = {}
        for result in chunk.measured:
            assert result.batch_id is not None and result.test is not None
            for product in products.get(result.batch_id, ()):
                touched.setdefault((product, result.test), set()).add(result.id)
        return touched

    async def _products_of(self, batch_ids: Sequence[str]) -> dict[str, set[str]]:
        """Each lot's products, directly or through its material (as charts count them)."""
        if not batch_ids:
            return {}
        edges = await self.store.out_edges(
            batch_ids, (EdgeKind.FOR_PRODUCT, EdgeKind.OF_MATERIAL), visibility=EVERYTHING
        )
        products: dict[str, set[str]] = {}
        material_of: dict[str, set[str]] = {}
        for source, kind, target in edges:
            if kind is EdgeKind.FOR_PRODUCT:
                products.setdefault(source, set()).add(target)
            else:
                material_of.setdefault(target, set()).add(source)
        if material_of:
            for material, _, product in await self.store.out_edges(
                sorted(material_of), (EdgeKind.FOR_PRODUCT,), visibility=EVERYTHING
            ):
                for batch_id in material_of[material]:
                    products.setdefault(batch_id, set()).add(product)
        return products

    async def _run_rules(
        self,
        chunk: Chunk,
        charts_of: Mapping[tuple[str, str], set[str]],
        visibility: Visibility,
        now: datetime,
    ) -> list[Alert]:
        alerts: list[Alert] = []
        for (product, test), new_results in sorted(charts_of.items()):
            points = await self.store.measurements(
                MeasurementScope(product=product, test=test), visibility=visibility
            )
            for drawn in process_charts(points):
                if drawn.chart is None:
                    continue
                for index, point in enumerate(drawn.measurements):
                    rules = drawn.chart.rules_at(index) if point.result in new_results else ()
                    if not rules:
                        continue
                    site = f" site {parse_id(drawn.site).parts[1]}" if drawn.site else ""
                    vendor = parse_id(drawn.vendor).parts[0]
                    fired = ", ".join(f"{rule.number} ({rule.value})" for rule in rules)
                    unit = f" {point.unit}" if point.unit else ""
                    alerts.append(
                        Alert(
                            AlertKind.RUN_RULE,
                            point.result,
                            (point.batch_id,),
                            chunk.ingestion_id,
                            f"{test} {point.value:g}{unit} on {point.batch_id} (point {index + 1} "
                            f"of {len(drawn.measurements)} on the chart of {product} at "
                            f"{vendor}{site}) fires Nelson rule{'s' if len(rules) > 1 else ''} "
                            f"{fired}",
                            now,
                            rules=rules,
                        )
                    )
        return alerts

    async def _deviations(self, chunk: Chunk, visibility: Visibility, now: datetime) -> list[Alert]:
        readable = await self._readable(
            [d.id for d in chunk.deviations] + [b for d in chunk.deviations for b in d.batch_ids],
            visibility,
        )
        alerts = []
        for deviation in chunk.deviations:
            stored = readable.get(deviation.id)
            if stored is None or not _first_asserted_by(stored, chunk.ingestion_id):
                continue
            alerts.append(
                Alert(
                    AlertKind.DEVIATION,
                    deviation.id,
                    _readable_lots(deviation.batch_ids, readable),
                    chunk.ingestion_id,
                    _deviation_message(deviation),
                    now,
                )
            )
        return alerts

    async def _compliance(self, chunk: Chunk, visibility: Visibility, now: datetime) -> list[Alert]:
        verdicts = await self.store.compliance_of(chunk.lots, visibility=visibility)
        changed = await self.verdicts.changed(
            visibility,
            {
                batch_id: frozenset(gap.reason for gap in gaps)
                for batch_id, gaps in verdicts.items()
            },
        )
        alerts = []
        for batch_id in chunk.lots:
            gaps = verdicts.get(batch_id)
            if not gaps or batch_id not in changed:
                continue
            maker, number = parse_id(batch_id).parts
            alerts.append(
                Alert(
                    AlertKind.COMPLIANCE_GAP,
                    batch_id,
                    (batch_id,),
                    chunk.ingestion_id,
                    f"lot {number} of {maker} is not compliant: "
                    + "; ".join(dict.fromkeys(gap.message for gap in gaps)),
                    now,
                    gap_reasons=tuple(dict.fromkeys(gap.reason for gap in gaps)),
                )
            )
        return alerts

    async def _readable(self, ids: Iterable[str], visibility: Visibility) -> dict[str, StoredNode]:
        return await self.store.get_nodes(sorted(set(ids)), visibility=visibility)


def _readable_lots(
    batch_ids: Iterable[str | None], readable: Mapping[str, object]
) -> tuple[str, ...]:
    return tuple(b for b in dict.fromkeys(batch_ids) if b is not None and b in readable)


def _first_asserted_by(stored: StoredNode, ingestion_id: str) -> bool:
    return bool(stored.sources) and stored.sources[0].partition("#")[0] == ingestion_id


def _off_spec_message(result: TestResult) -> str:
    test = result.test or "a test"
    lot = f" on {result.batch_id}" if result.batch_id else ""
    verdict = f", verdict {result.verdict.value}" if result.verdict else ""
    if result.value is None:
        return f"{test}{lot} failed its specification{verdict} (result {result.result_id} of {result.lab})"
    unit = f" {result.unit}" if result.unit else ""
    low = "" if result.spec_low is None else f"{result.spec_low:g}"
    high = "" if result.spec_high is None else f"{result.spec_high:g}"
    spec = (
        f"{low}-{high}" if low and high else (f">= {low}" if low else f"<= {high}" if high else "")
    )
    against = f" against {spec}{unit}" if spec else ""
    return (
        f"{test} {result.value:g}{unit}{lot} is out of specification{against}{verdict} "
        f"(result {result.result_id} of {result.lab})"
    )


def _deviation_message(deviation: Deviation) -> str:
    grade = f"{deviation.classification.value} " if deviation.classification else ""
    opened = f" on {deviation.opened_on.isoformat()}" if deviation.opened_on else ""
    title = f": {deviation.title}" if deviation.title else ""
    return f"{grade}deviation {deviation.deviation_id} opened by {deviation.org}{opened}{title}"
