"""Inspection readiness: the checks an inspector (or the sponsor's auditor) makes of a
vendor site for one product, each PASS, WARN or FAIL with the records behind it.

A readiness is about one vendor (one of its sites, or all of them), one product and
its sponsor, judged on one day (``as_of``): every fact is taken as it stood that day,
so a report can be drawn again for any past day. Its status is the worst of its
checks'. Each check names its evidence: the nodes that support the verdict, with the
records they came from (their sources), so a person can open the export behind it.

The rules, and why each threshold:

- ``agreement``: a quality agreement between the sponsor and the vendor, covering the
  product (and the site, when the agreement names sites), EFFECTIVE or without a status,
  in force on the day. None: FAIL (EU GMP chapter 7 and 21 CFR 211.22 require one
  before work). In force but effective for more than ``AGREEMENT_REVIEW_DAYS`` (two
  years, the usual review cycle written into agreements) with no newer version: WARN,
  since the review is due.
- ``qualification``: the sponsor's qualification of the site (a site's own record wins
  over the vendor-wide one; with no site named, the vendor-wide one, else a site's),
  APPROVED and valid on the day: PASS; CONDITIONAL: WARN; none, expired or
  DISQUALIFIED: FAIL (21 CFR 211.84, EU GMP 5.29: materials from approved suppliers).
- ``last_audit``: the sponsor's newest audit of the vendor (site), by its last day.
  Older than ``AUDIT_WARN_DAYS`` (two years, the common risk-based cycle for a
  manufacturing site): WARN; older than ``AUDIT_FAIL_DAYS`` (three, the longest any
  guidance tolerates for a low-risk site) or none: FAIL.
- ``findings``: the findings of those audits open on the day. An open CRITICAL finding
  or an overdue CAPA: FAIL (a critical finding stops supply until it is closed; a late
  CAPA is itself an inspection finding); an open MAJOR one: WARN.
- ``deviations``: the vendor's deviations open on the day and opened at least
  ``DEVIATION_AGE_DAYS`` before (30 days: the usual deadline to close an
  investigation). A CRITICAL one: FAIL; others: WARN. Only those the asker may read.
- ``changes``: changes implemented by the day without the sponsor's approval in time,
  where the agreement in force asks for it (``graph.lifecycle.unapproved``): FAIL.
- ``ppq``: each tech transfer of the product to the vendor (site): its planned PPQ lots
  released (VERIFIED_BY lots, RELEASED by the day): PASS; fewer while the transfer runs:
  WARN; fewer with the transfer COMPLETE: FAIL (commercial supply on an unfinished
  qualification). No transfer: PASS, nothing to verify.
- ``milestones``: the transfers' milestones overdue on the day
  (``Milestone.overdue_on``): WARN; one planned more than ``MILESTONE_LATE_DAYS``
  (30) before the day: FAIL.
- ``cpv``: the product's control charts at the vendor (site), per test with a
  specification, lots made by the day. A Nelson rule firing among the last
  ``CPV_RECENT_POINTS`` (25, a usual CPV review window) points: WARN; Cpk against the
  specification in force on the day below ``CPK_TARGET`` (1.33, the industry's capable
  process): WARN, below ``CPK_FLOOR`` (1.0: the process spreads beyond its limits): FAIL.
- ``inspections``: the newest agency inspection of the vendor's site(s) in the last
  ``INSPECTION_LOOKBACK_DAYS`` (two years, as agencies and sponsors weigh them): an
  adverse outcome (``ADVERSE_OUTCOMES``): FAIL; VAI: WARN; a later, clean inspection
  supersedes an earlier adverse one.
- ``audit_trail``: whether the hub's audit trail (the hash chain over the deliveries)
  holds for the vendor's deliveries: broken: FAIL (records that cannot be shown
  untouched are no evidence, 21 CFR Part 11). When the hub cannot say (no trail
  configured, or unreadable) or the asker may not ask (only the operator, the vendor
  and the parties of an agreement with it that the asker reads): WARN, "not available".

Everything is read as the asker (``Visibility``) through the store: a node the asker
may not read is not evidence, and a check over nothing it may read says so. (Agency
inspections are public, so they are evidence for anyone.) ``gather`` makes a fixed
number of reads: one listing per record kind (paged), two for the transfers' PPQ lots,
one measurement read per specified test and one look-up of those results; never one
per lot. ``judge`` and the ``check_*`` functions are pure.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, TypeVar

from graph.ids import NodeKind, make_id, parse_id
from graph.lifecycle import (
    ADVERSE_OUTCOMES,
    Audit,
    AuditFinding,
    ChangeControl,
    Criticality,
    Inspection,
    InspectionOutcome,
    Milestone,
    Specification,
    TechTransfer,
    TransferPhase,
    unapproved,
)
from graph.model import (
    AgreementStatus,
    Batch,
    BatchStatus,
    Deviation,
    DeviationClass,
    DeviationStatus,
    EdgeKind,
    Qualification,
    QualificationStatus,
    QualityAgreement,
)
from graph.oversight import Measurement, MeasurementScope, Period
from graph.quality import cpv
from graph.quality.control_charts import ProcessChart, process_charts
from graph.quality.cpv import RuleViolation
from graph.quality.specifications import in_force, normalized_test
from graph.queries import Between, Condition, LinkedTo, parties
from graph.visibility import Visibility

if TYPE_CHECKING:
    from graph.store import GraphStore, StoredNode

R = TypeVar("R")

AGREEMENT_REVIEW_DAYS = 2 * 365
AUDIT_WARN_DAYS = 2 * 365
AUDIT_FAIL_DAYS = 3 * 365
DEVIATION_AGE_DAYS = 30
MILESTONE_LATE_DAYS = 30
INSPECTION_LOOKBACK_DAYS = 2 * 365
CPV_RECENT_POINTS = 25
CPK_TARGET = 1.33
CPK_FLOOR = 1.0


class CheckStatus(StrEnum):
    """In rising order of concern."""

    PASS = "PASS"
    WARN = "WARN"
    FAIL = "FAIL"


def worst(statuses: Iterable[CheckStatus]) -> CheckStatus:
    order = tuple(CheckStatus)
    return max(statuses, key=order.index, default=CheckStatus.PASS)


@dataclass(frozen=True, slots=True)
class Evidence:
    """A node behind a verdict, and the records (``<ingestion id>#<location>``) it came from."""

    id: str
    kind: NodeKind
    sources: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Check:
    name: str
    status: CheckStatus
    message: str
    evidence: tuple[Evidence, ...] = ()


@dataclass(frozen=True, slots=True)
class Readiness:
    vendor: str  # organization id
    site: str | None  # site id
    product: str | None  # product id
    as_of: date
    checks: tuple[Check, ...]

    @property
    def status(self) -> CheckStatus:
        return worst(check.status for check in self.checks)


@dataclass(frozen=True, slots=True)
class AuditTrailVerdict:
    """What the hub's audit trail says of one organization's deliveries."""

    intact: bool
    deliveries: int  # the organization's deliveries the trail records
    reason: str = ""  # where the chain breaks (or why it could not be read)
    available: bool = True  # False: the trail could not be read, so it says nothing


# Given an organization id, the verdict of the audit trail over its deliveries.
AuditTrail = Callable[[str], Awaitable[AuditTrailVerdict]]


@dataclass(frozen=True, slots=True)
class Found:
    """A record as read, with what makes it evidence."""

    evidence: Evidence
    record: object


def found(node_id: str, kind: NodeKind, record: object, sources: Sequence[str]) -> Found:
    return Found(Evidence(node_id, kind, tuple(sources)), record)


@dataclass(frozen=True, slots=True)
class Facts:
    """Everything one readiness is judged from, as the asker reads it."""

    vendor: str
    site: str | None
    product: str | None
    as_of: date
    agreements: tuple[Found, ...] = ()
    qualifications: tuple[Found, ...] = ()
    audits: tuple[Found, ...] = ()
    findings: tuple[Found, ...] = ()
    deviations: tuple[Found, ...] = ()
    changes: tuple[Found, ...] = ()
    transfers: tuple[Found, ...] = ()
    ppq_lots: dict[str, tuple[Found, ...]] = field(default_factory=dict)  # by transfer id
    milestones: tuple[Found, ...] = ()
    inspections: tuple[Found, ...] = ()
    specifications: tuple[Found, ...] = ()
    measurements: dict[str, tuple[Measurement, ...]] = field(default_factory=dict)  # by test
    results: dict[str, Found] = field(default_factory=dict)  # test results by id
    audit_trail: AuditTrailVerdict | None = None
    audit_trail_known: bool = False  # whether the hub could be asked at all


def records_of(items: Iterable[Found], cls: type[R]) -> list[tuple[Found, R]]:
    return [(item, item.record) for item in items if isinstance(item.record, cls)]


def _site_code(site: str | None) -> str | None:
    return None if site is None else parse_id(site).parts[1]


def _age(day: date | None, as_of: date) -> int | None:
    return None if day is None else (as_of - day).days


# -- the checks --


def agreement_in_force(facts: Facts) -> tuple[Found, QualityAgreement] | None:
    """The newest agreement in force on the day for the site (if named)."""
    day = facts.as_of
    candidates = [
        (item, agreement)
        for item, agreement in records_of(facts.agreements, QualityAgreement)
        if agreement.status in (None, AgreementStatus.EFFECTIVE)
        and (agreement.effective_from is None or agreement.effective_from <= day)
        and (agreement.effective_to is None or day <= agreement.effective_to)
        and (facts.site is None or not agreement.site_ids or facts.site in agreement.site_ids)
        and (facts.product is None or facts.product in agreement.product_ids)
    ]
    return (
        max(candidates, key=lambda pair: (pair[1].effective_from or date.min, pair[0].evidence.id))
        if candidates
        else None
    )


def check_agreement(facts: Facts) -> Check:
    chosen = agreement_in_force(facts)
    if chosen is None:
        return Check(
            "agreement",
            CheckStatus.FAIL,
            f"no quality agreement with {facts.vendor} covering "
            f"{facts.product or 'the product'} is in force on {facts.as_of}",
        )
    item, agreement = chosen
    age = _age(agreement.effective_from, facts.as_of)
    if age is None or age > AGREEMENT_REVIEW_DAYS:
        since = "an unknown day" if age is None else str(agreement.effective_from)
        return Check(
            "agreement",
            CheckStatus.WARN,
            f"agreement {agreement.agreement_id} v{agreement.version} is in force, effective "
            f"since {since}: its review (every {AGREEMENT_REVIEW_DAYS} days) is due",
            (item.evidence,),
        )
    return Check(
        "agreement",
        CheckStatus.PASS,
        f"agreement {agreement.agreement_id} v{agreement.version} is in force since "
        f"{agreement.effective_from}",
        (item.evidence,),
    )


def check_qualification(facts: Facts) -> Check:
    code = _site_code(facts.site)
    pairs = records_of(facts.qualifications, Qualification)
    own_site = [pair for pair in pairs if code is not None and pair[1].site_code == code]
    vendor_wide = [pair for pair in pairs if pair[1].site_code is None]
    chosen = (own_site or vendor_wide or ([] if code is not None else pairs))[:1]
    if not chosen:
        return Check("qualification", CheckStatus.FAIL, f"no qualification of {facts.vendor}")
    item, record = chosen[0]
    valid = record.valid_until is None or record.valid_until >= facts.as_of
    if not valid:
        status, message = CheckStatus.FAIL, f"the qualification expired on {record.valid_until}"
    elif record.status is QualificationStatus.APPROVED:
        status, message = CheckStatus.PASS, "APPROVED and valid"
    elif record.status is QualificationStatus.CONDITIONAL:
        status, message = CheckStatus.WARN, "CONDITIONAL: approved under conditions"
    else:
        status, message = CheckStatus.FAIL, f"status {record.status or 'unknown'}"
    if record.valid_until is not None and valid:
        message += f" until {record.valid_until}"
    return Check("qualification", status, message, (item.evidence,))


def _audit_day(audit: Audit) -> date | None:
    return audit.ended_on or audit.started_on


def _audits_held(facts: Facts) -> list[tuple[Found, Audit]]:
    code = _site_code(facts.site)
    return [
        (item, audit)
        for item, audit in records_of(facts.audits, Audit)
        if (day := _audit_day(audit)) is not None
        and day <= facts.as_of
        and (code is None or audit.site_code in (None, code))
    ]


def check_last_audit(facts: Facts) -> Check:
    held = _audits_held(facts)
    if not held:
        return Check("last_audit", CheckStatus.FAIL, f"no audit of {facts.vendor} on record")
    item, audit = max(held, key=lambda pair: (_audit_day(pair[1]) or date.min, pair[0].evidence.id))
    age = (facts.as_of - (_audit_day(audit) or facts.as_of)).days
    status = (
        CheckStatus.FAIL
        if age > AUDIT_FAIL_DAYS
        else CheckStatus.WARN
        if age > AUDIT_WARN_DAYS
        else CheckStatus.PASS
    )
    return Check(
        "last_audit",
        status,
        f"last audit {audit.audit_id} ended {_audit_day(audit)}, {age} days before {facts.as_of}",
        (item.evidence,),
    )


def check_findings(facts: Facts) -> Check:
    audits = {item.evidence.id for item, _ in _audits_held(facts)}
    day = facts.as_of
    critical, overdue, major = [], [], []
    for item, finding in records_of(facts.findings, AuditFinding):
        if finding.audit not in audits or not finding.open_on(day):
            continue
        if finding.capa_due_on is not None and finding.capa_due_on < day:
            overdue.append(item)
        if finding.criticality is Criticality.CRITICAL:
            critical.append(item)
        elif finding.criticality is Criticality.MAJOR:
            major.append(item)
    failing = list(dict.fromkeys([*critical, *overdue]))
    if failing:
        return Check(
            "findings",
            CheckStatus.FAIL,
            f"{len(critical)} open critical finding(s), {len(overdue)} overdue CAPA(s)",
            tuple(item.evidence for item in failing),
        )
    if major:
        return Check(
            "findings",
            CheckStatus.WARN,
            f"{len(major)} open major finding(s)",
            tuple(item.evidence for item in major),
        )
    return Check("findings", CheckStatus.PASS, "no open critical or major finding, no late CAPA")


def _deviation_open_on(deviation: Deviation, day: date) -> bool:
    if deviation.closed_on is not None:
        return deviation.closed_on > day
    return deviation.status is not DeviationStatus.CLOSED


def check_deviations(facts: Facts) -> Check:
    cutoff = facts.as_of - timedelta(days=DEVIATION_AGE_DAYS)
    old = [
        (item, deviation)
        for item, deviation in records_of(facts.deviations, Deviation)
        if deviation.opened_on is not None
        and deviation.opened_on <= cutoff
        and _deviation_open_on(deviation, facts.as_of)
    ]
    if not old:
        return Check(
            "deviations", CheckStatus.PASS, f"no deviation open over {DEVIATION_AGE_DAYS} days"
        )
    critical = any(deviation.classification is DeviationClass.CRITICAL for _, deviation in old)
    return Check(
        "deviations",
        CheckStatus.FAIL if critical else CheckStatus.WARN,
        f"{len(old)} deviation(s) open over {DEVIATION_AGE_DAYS} days"
        + (", one or more CRITICAL" if critical else ""),
        tuple(item.evidence for item, _ in old),
    )


def check_changes(facts: Facts) -> Check:
    chosen = agreement_in_force(facts)
    approval_from = None if chosen is None else chosen[1].change_approval_from
    late = [
        item
        for item, change in records_of(facts.changes, ChangeControl)
        if change.implemented_on is not None
        and change.implemented_on <= facts.as_of
        and unapproved(change, approval_from)
    ]
    if not late:
        return Check("changes", CheckStatus.PASS, "no change implemented without approval")
    return Check(
        "changes",
        CheckStatus.FAIL,
        f"{len(late)} change(s) implemented without the sponsor's approval in time",
        tuple(item.evidence for item in late),
    )


def released_on(lot: Batch, day: date) -> bool:
    return lot.status is BatchStatus.RELEASED and (
        lot.released_on is None or lot.released_on <= day
    )


def _transfers(facts: Facts) -> list[tuple[Found, TechTransfer]]:
    code = _site_code(facts.site)
    return [
        (item, transfer)
        for item, transfer in records_of(facts.transfers, TechTransfer)
        if (code is None or transfer.site_code in (None, code))
        and (transfer.started_on is None or transfer.started_on <= facts.as_of)
    ]


def ppq_check(
    transfers: Sequence[tuple[Found, TechTransfer]],
    lots: dict[str, tuple[Found, ...]],
    day: date,
    name: str = "ppq",
) -> Check:
    if not transfers:
        return Check(name, CheckStatus.PASS, "no tech transfer: no PPQ to complete")
    statuses, messages, evidence = [], [], []
    for item, transfer in transfers:
        released = [
            lot
            for lot, batch in records_of(lots.get(item.evidence.id, ()), Batch)
            if released_on(batch, day)
        ]
        planned = transfer.ppq_lots_planned
        evidence += [item.evidence, *(lot.evidence for lot in released)]
        if planned is not None and len(released) >= planned:
            statuses.append(CheckStatus.PASS)
        elif transfer.phase is TransferPhase.COMPLETE:
            statuses.append(CheckStatus.FAIL)
        else:
            statuses.append(CheckStatus.WARN)
        messages.append(
            f"{transfer.transfer_id}: {len(released)} of {planned if planned is not None else '?'}"
            f" PPQ lot(s) released ({transfer.phase or 'phase unknown'})"
        )
    return Check(name, worst(statuses), "; ".join(messages), tuple(evidence))


def overdue_milestones(milestones: Iterable[Milestone], day: date) -> list[Milestone]:
    return [milestone for milestone in milestones if milestone.overdue_on(day)]


def check_milestones(facts: Facts) -> Check:
    transfers = {item.evidence.id for item, _ in _transfers(facts)}
    late = [
        (item, milestone)
        for item, milestone in records_of(facts.milestones, Milestone)
        if milestone.transfer in transfers and milestone.overdue_on(facts.as_of)
    ]
    if not late:
        return Check("milestones", CheckStatus.PASS, "no overdue milestone")
    cutoff = facts.as_of - timedelta(days=MILESTONE_LATE_DAYS)
    very_late = any(m.planned_on is not None and m.planned_on < cutoff for _, m in late)
    return Check(
        "milestones",
        CheckStatus.FAIL if very_late else CheckStatus.WARN,
        f"{len(late)} overdue milestone(s)"
        + (f", one or more by over {MILESTONE_LATE_DAYS} days" if very_late else ""),
        tuple(item.evidence for item, _ in late),
    )


def specification_in_force(
    specifications: Iterable[tuple[Found, Specification]], test: str | None, day: date
) -> tuple[Found, Specification] | None:
    """The specification of ``test`` in force on ``day``, with where it was found: the
    rule results and charts are judged by (``graph.quality.specifications.in_force``)."""
    pairs = list(specifications)
    chosen = in_force([spec for _, spec in pairs], test, day)
    return next((pair for pair in pairs if pair[1] is chosen), None) if chosen else None


def recent_violations(chart: ProcessChart) -> tuple[int, list[RuleViolation]]:
    """Where a chart's recent points start, and the run-rule violations among them."""
    assert chart.chart is not None
    start = max(0, len(chart.measurements) - CPV_RECENT_POINTS)
    return start, [v for v in chart.chart.violations if any(i >= start for i in v.points)]


def cited_results(by_test: Mapping[str, Sequence[Measurement]]) -> set[str]:
    """The results a CPV check cites as evidence: the recent points of its rule
    violations (``cpv_check``), found before it runs so that only those are read."""
    cited: set[str] = set()
    for points in by_test.values():
        for chart in process_charts(points):
            if chart.chart is None:
                continue
            start, recent = recent_violations(chart)
            cited |= {chart.measurements[i].result for v in recent for i in v.points if i >= start}
    return cited


def cpv_check(
    by_test: Mapping[str, Sequence[Measurement]],
    specifications: Sequence[tuple[Found, Specification]],
    results: dict[str, Found],
    day: date,
    name: str = "cpv",
) -> Check:
    """Control charts per test (and vendor site): run rules among the recent points,
    Cpk against the specification in force on ``day``."""
    statuses: list[CheckStatus] = []
    messages: list[str] = []
    evidence: list[Evidence] = []
    for test, points in sorted(by_test.items()):
        spec = specification_in_force(specifications, test, day)
        for chart in process_charts(points):
            where = f"{test} at {chart.site or chart.vendor}"
            if chart.chart is None:
                messages.append(f"{where}: too few points for a chart")
                continue
            recent_start, recent = recent_violations(chart)
            if recent:
                statuses.append(CheckStatus.WARN)
                rules = ", ".join(violation.rule.value for violation in recent)
                messages.append(f"{where}: run rules fire ({rules})")
                flagged = sorted(
                    {i for violation in recent for i in violation.points if i >= recent_start}
                )
                evidence += [
                    results[chart.measurements[i].result].evidence
                    for i in flagged
                    if chart.measurements[i].result in results
                ]
            if spec is None:
                continue
            limits = cpv.Specification(spec[1].spec_low, spec[1].spec_high)
            baseline = chart.chart.values[chart.baseline.start : chart.baseline.stop]
            capability = cpv.capability(baseline, limits)
            cpk = None if capability is None else capability.cpk
            if cpk is None:
                continue
            evidence.append(spec[0].evidence)
            if cpk < CPK_FLOOR:
                statuses.append(CheckStatus.FAIL)
            elif cpk < CPK_TARGET:
                statuses.append(CheckStatus.WARN)
            messages.append(f"{where}: Cpk {cpk:.2f} against specification v{spec[1].version}")
    if not any(by_test.values()):
        return Check(name, CheckStatus.PASS, "no measured result to chart")
    return Check(
        name,
        worst(statuses),
        "; ".join(messages) or "in control",
        tuple(dict.fromkeys(evidence)),
    )


def check_cpv(facts: Facts) -> Check:
    by_test = {
        test: [
            m
            for m in points
            if m.vendor == facts.vendor and (facts.site is None or m.site == facts.site)
        ]
        for test, points in facts.measurements.items()
    }
    return cpv_check(
        by_test, records_of(facts.specifications, Specification), facts.results, facts.as_of
    )


def check_inspections(facts: Facts) -> Check:
    since = facts.as_of - timedelta(days=INSPECTION_LOOKBACK_DAYS)
    code = _site_code(facts.site)
    recent = [
        (item, inspection)
        for item, inspection in records_of(facts.inspections, Inspection)
        if since <= inspection.started_on <= facts.as_of
        and (code is None or inspection.site_code == code)
    ]
    if not recent:
        return Check("inspections", CheckStatus.PASS, f"no agency inspection since {since}")
    item, latest = max(recent, key=lambda pair: (pair[1].started_on, pair[0].evidence.id))
    outcome = latest.outcome
    if outcome in ADVERSE_OUTCOMES:
        status = CheckStatus.FAIL
    elif outcome is InspectionOutcome.VAI:
        status = CheckStatus.WARN
    else:
        status = CheckStatus.PASS
    return Check(
        "inspections",
        status,
        f"{latest.agency} inspection of {latest.site_code} from {latest.started_on}: "
        f"{outcome or 'outcome unknown'}",
        (item.evidence,),
    )


def check_audit_trail(facts: Facts) -> Check:
    verdict = facts.audit_trail
    if not facts.audit_trail_known or verdict is None:
        return Check("audit_trail", CheckStatus.WARN, "the audit trail is not available")
    if not verdict.available:
        return Check("audit_trail", CheckStatus.WARN, f"not available: {verdict.reason}")
    if verdict.intact:
        return Check(
            "audit_trail",
            CheckStatus.PASS,
            f"the hash chain holds over {verdict.deliveries} delivery record(s) of {facts.vendor}",
        )
    return Check("audit_trail", CheckStatus.FAIL, f"the hash chain is broken: {verdict.reason}")


CHECKS: tuple[Callable[[Facts], Check], ...] = (
    check_agreement,
    check_qualification,
    check_last_audit,
    check_findings,
    check_deviations,
    check_changes,
    lambda facts: ppq_check(_transfers(facts), facts.ppq_lots, facts.as_of),
    check_milestones,
    check_cpv,
    check_inspections,
    check_audit_trail,
)


def judge(facts: Facts) -> Readiness:
    return Readiness(
        vendor=facts.vendor,
        site=facts.site,
        product=facts.product,
        as_of=facts.as_of,
        checks=tuple(check(facts) for check in CHECKS),
    )


# -- reading the facts: a fixed number of store reads per readiness --

PAGE_SIZE = 500


def as_found(node: StoredNode) -> Found:
    return found(node.id, node.kind, node.record, node.sources)


async def read_all(
    store: GraphStore, kind: NodeKind, conditions: Sequence[Condition], visibility: Visibility
) -> tuple[Found, ...]:
    """Every visible node of ``kind`` meeting ``conditions``, a page at a time."""
    items: list[Found] = []
    after: str | None = None
    while True:
        page = await store.list_nodes(kind, conditions, PAGE_SIZE, after, visibility=visibility)
        items += [as_found(node) for node in page.nodes]
        if not page.has_next or not page.nodes:
            return tuple(items)
        after = page.nodes[-1].id


def _slug(org: str) -> str:
    return parse_id(org).parts[0]


async def vendors_of(store: GraphStore, product: str, visibility: Visibility) -> list[str]:
    """The vendors of a product the asker may know of: parties to the agreements that
    cover it and receivers of its transfers (two reads)."""
    agreements = await read_all(
        store, NodeKind.QUALITY_AGREEMENT, [LinkedTo(((EdgeKind.COVERS,),), product)], visibility
    )
    transfers = await read_all(
        store, NodeKind.TECH_TRANSFER, [LinkedTo(((EdgeKind.TRANSFERS,),), product)], visibility
    )
    slugs = {agreement.vendor for _, agreement in records_of(agreements, QualityAgreement)}
    slugs |= {transfer.vendor for _, transfer in records_of(transfers, TechTransfer)}
    return sorted(make_id(NodeKind.ORGANIZATION, slug) for slug in slugs)


async def measurements_by_test(
    store: GraphStore,
    product: str,
    tests: Iterable[str] | None,
    as_of: date,
    visibility: Visibility,
    *,
    vendor: str | None = None,
    site: str | None = None,
) -> dict[str, tuple[Measurement, ...]]:
    """The product's numeric results in one store read, grouped under the names of
    ``tests`` (matched as specifications match a result: trimmed, case-folded) or, when
    None, under each test measured; only the lots ``vendor`` made (at ``site``) when
    given."""
    scope = MeasurementScope(product, None, Period(end=as_of), vendor=vendor)
    found = await store.measurements(scope, visibility=visibility)
    named = None if tests is None else {normalized_test(test): test for test in tests}
    by_test: dict[str, list[Measurement]] = {test: [] for test in (named or {}).values()}
    for measurement in found:
        if vendor is not None and measurement.vendor != vendor:
            continue
        if site is not None and measurement.site != site:
            continue
        key = normalized_test(measurement.test)
        name = measurement.test if named is None else named.get(key)
        if name:
            by_test.setdefault(name, []).append(measurement)
    return {test: tuple(points) for test, points in sorted(by_test.items())}


async def gather(
    store: GraphStore,
    *,
    vendor: str,
    site: str | None,
    product: str | None,
    as_of: date,
    visibility: Visibility,
    audit_trail: AuditTrail | None = None,
) -> Facts:
    """The facts of one readiness, as the asker reads them."""
    sponsor = None if product is None else make_id(NodeKind.ORGANIZATION, _slug(product))
    covering: list[Condition] = (
        [] if product is None else [LinkedTo(((EdgeKind.COVERS,),), product)]
    )
    transferring: list[Condition] = (
        [] if product is None else [LinkedTo(((EdgeKind.TRANSFERS,),), product)]
    )
    cutoff = as_of - timedelta(days=DEVIATION_AGE_DAYS)

    async def read(kind: NodeKind, conditions: list[Condition]) -> tuple[Found, ...]:
        return await read_all(store, kind, conditions, visibility)

    agreements = await read(
        NodeKind.QUALITY_AGREEMENT, parties(vendor=vendor, sponsor=sponsor) + covering
    )
    qualifications = await read(NodeKind.QUALIFICATION, parties(vendor=vendor, qualifier=sponsor))
    audits = await read(NodeKind.AUDIT, parties(vendor=vendor, auditor=sponsor))
    findings = await read(NodeKind.AUDIT_FINDING, parties(vendor=vendor, auditor=sponsor))
    deviations = await read(
        NodeKind.DEVIATION, [*parties(org=vendor), Between("opened_on", None, cutoff)]
    )
    changes = tuple(
        item
        for item in await read(NodeKind.CHANGE_CONTROL, parties(vendor=vendor, sponsor=sponsor))
        if isinstance(item.record, ChangeControl) and item.record.product_id in (None, product)
    )
    transfers = await read(
        NodeKind.TECH_TRANSFER, parties(vendor=vendor, sponsor=sponsor) + transferring
    )
    milestones = await read(NodeKind.MILESTONE, parties(vendor=vendor, sponsor=sponsor))
    ppq_lots = await verified_lots(store, [item.evidence.id for item in transfers], visibility)
    inspections = await read(NodeKind.INSPECTION, parties(org=vendor))
    specifications: tuple[Found, ...] = ()
    measurements: dict[str, tuple[Measurement, ...]] = {}
    results: dict[str, Found] = {}
    if product is not None:
        specifications = await read(
            NodeKind.SPECIFICATION,
            [*parties(sponsor=sponsor), LinkedTo(((EdgeKind.SPECIFIES,),), product)],
        )
        tests = [spec.test for _, spec in records_of(specifications, Specification)]
        measurements = await measurements_by_test(
            store, product, tests, as_of, visibility, vendor=vendor, site=site
        )
        # Only the points the CPV check will cite are read whole, for their sources.
        cited = sorted(cited_results(measurements))
        nodes = await store.get_nodes(cited, visibility=visibility) if cited else {}
        results = {node_id: as_found(node) for node_id, node in nodes.items()}
    verdict: AuditTrailVerdict | None = None
    if audit_trail is not None:
        # How many deliveries a vendor made is its own business and its sponsors': the
        # hub is asked only for the operator, the vendor, or a party to an agreement
        # with it that the asker reads.
        if visibility.org is None or visibility.org == _slug(vendor) or agreements:
            verdict = await audit_trail(vendor)
        else:
            verdict = AuditTrailVerdict(
                False, 0, "only the vendor and its sponsors may ask", available=False
            )
    return Facts(
        vendor=vendor,
        site=site,
        product=product,
        as_of=as_of,
        agreements=agreements,
        qualifications=qualifications,
        audits=audits,
        findings=findings,
        deviations=deviations,
        changes=changes,
        transfers=transfers,
        ppq_lots=ppq_lots,
        milestones=milestones,
        inspections=inspections,
        specifications=specifications,
        measurements=measurements,
        results=results,
        audit_trail=verdict,
        audit_trail_known=audit_trail is not None,
    )


async def verified_lots(
    store: GraphStore, transfers: Sequence[str], visibility: Visibility
) -> dict[str, tuple[Found, ...]]:
    """The PPQ lots (``VERIFIED_BY``) of each transfer: two reads for all of them."""
    if not transfers:
        return {}
    edges = await store.out_edges(transfers, (EdgeKind.VERIFIED_BY,), visibility=visibility)
    nodes = await store.get_nodes(sorted({target for _, _, target in edges}), visibility=visibility)
    lots: dict[str, list[Found]] = {}
    for source, _, target in edges:
        if target in nodes:
            lots.setdefault(source, []).append(as_found(nodes[target]))
    return {source: tuple(items) for source, items in lots.items()}


async def readiness(
    store: GraphStore,
    *,
    vendor: str | None = None,
    site: str | None = None,
    product: str | None = None,
    as_of: date,
    visibility: Visibility,
    audit_trail: AuditTrail | None = None,
) -> Readiness:
    """The readiness of a vendor (site) for a product. The vendor is the site's when
    only a site is named, and the product's one vendor (that the asker knows of) when
    only a product is. Without a product, the checks are judged over every product the
    asker may read of the vendor (a CMO asking about itself: all its sponsors', its
    agreements, audits and transfers together); pass a product for one sponsor's view.
    Raise ValueError when the ids do not hold together or name no one vendor."""
    if vendor is None and site is None and product is None:
        raise ValueError("name a vendor, a site or a product (or several)")
    if site is not None:
        if vendor is not None and _slug(site) != _slug(vendor):
            raise ValueError(f"site {site} is not one of {vendor}'s")
        vendor = make_id(NodeKind.ORGANIZATION, _slug(site))
    if vendor is None:
        assert product is not None
        vendors = await vendors_of(store, product, visibility)
        if len(vendors) != 1:
            named = ", ".join(vendors) or "none that you may read"
            raise ValueError(f"name the vendor: product {product} has vendors {named}")
        vendor = vendors[0]
    facts = await gather(
        store,
        vendor=vendor,
        site=site,
        product=product,
        as_of=as_of,
        visibility=visibility,
        audit_trail=audit_trail,
    )
    return judge(facts)
