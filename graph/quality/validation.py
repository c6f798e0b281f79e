"""Process validation per product (and site), by the FDA's three stages (2011 guidance),
each judged with the checks of ``graph.quality.readiness`` (PASS, WARN, FAIL with
evidence and a message):

- Stage 1, process design: every quality attribute (test) measured on the product's
  lots (made at the site, when one is named) by the day has a specification in force
  on the day; a test without one: FAIL, naming the test (an attribute measured but never
  specified cannot be verified). Nothing measured yet: WARN.
- Stage 2, process qualification: a tech transfer's PPQ protocol approved by the day
  (none approved: FAIL; no transfer on record: WARN); the planned number of PPQ lots
  (the largest ``ppq_lots_planned`` of the transfers, or ``DEFAULT_PPQ_LOTS``, three, the
  long-standing convention, when none says) released: the lots VERIFIED_BY a transfer
  or whose ``validation_stage`` is PPQ (fewer: WARN, or FAIL when a transfer is
  COMPLETE); and every numeric result on those lots within the specification in force
  on its test day (one outside: FAIL; a test with no specification then: WARN).
- Stage 3, continued process verification: the control charts of each measured test,
  per vendor site (``readiness.cpv_check``: run rules among the recent points WARN, Cpk
  against the specification in force below 1.33 WARN, below 1.0 FAIL).

Reads, as the asker: the product's specifications, its results (a page at a time), the
lots they are on, its transfers, their PPQ lots, the product's PPQ-stage lots, and one
measurement read per specified test: a fixed number, never one per lot.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from typing import TYPE_CHECKING

from graph.ids import NodeKind, parse_id
from graph.lifecycle import Specification, TechTransfer, TransferPhase
from graph.model import Batch, EdgeKind, TestResult, ValidationStage
from graph.oversight import Measurement
from graph.quality.readiness import (
    Check,
    CheckStatus,
    Evidence,
    Found,
    as_found,
    cited_results,
    cpv_check,
    measurements_by_test,
    read_all,
    records_of,
    released_on,
    specification_in_force,
    verified_lots,
    worst,
)
from graph.queries import PRODUCT_OF_BATCH, Equals, LinkedTo
from graph.visibility import Visibility

if TYPE_CHECKING:
    from graph.store import GraphStore

DEFAULT_PPQ_LOTS = 3
RESULT_OF_PRODUCT = tuple((EdgeKind.TESTED, *path) for path in PRODUCT_OF_BATCH)


class Stage(StrEnum):
    STAGE_1_PROCESS_DESIGN = "STAGE_1_PROCESS_DESIGN"
    STAGE_2_PROCESS_QUALIFICATION = "STAGE_2_PROCESS_QUALIFICATION"
    STAGE_3_CONTINUED_VERIFICATION = "STAGE_3_CONTINUED_VERIFICATION"


@dataclass(frozen=True, slots=True)
class StageReport:
    stage: Stage
    checks: tuple[Check, ...]

    @property
    def status(self) -> CheckStatus:
        return worst(check.status for check in self.checks)


@dataclass(frozen=True, slots=True)
class ValidationFacts:
    product: str
    site: str | None
    as_of: date
    specifications: tuple[Found, ...] = ()
    results: tuple[Found, ...] = ()  # the results on the PPQ lots
    cited: dict[str, Found] = field(default_factory=dict)  # results the CPV check cites
    transfers: tuple[Found, ...] = ()
    verified: dict[str, tuple[Found, ...]] = field(default_factory=dict)  # by transfer
    ppq_stage_lots: tuple[Found, ...] = ()
    measurements: dict[str, tuple[Measurement, ...]] = field(default_factory=dict)


def _at_site(batch: Batch, site: str | None) -> bool:
    if site is None:
        return True
    org, code = parse_id(site).parts[:2]
    return batch.maker == org and batch.site_code == code


def stage_1(facts: ValidationFacts) -> tuple[Check, ...]:
    specifications = records_of(facts.specifications, Specification)
    # Measurements are of lots made (or tested) by asOf, at the site when one is named.
    tests = sorted(test for test, points in facts.measurements.items() if points)
    if not tests:
        return (Check("specifications", CheckStatus.WARN, "no result measured on the lots yet"),)
    in_force = {test: specification_in_force(specifications, test, facts.as_of) for test in tests}
    missing = [test for test, spec in in_force.items() if spec is None]
    evidence = tuple(spec[0].evidence for spec in in_force.values() if spec is not None)
    if missing:
        return (
            Check(
                "specifications",
                CheckStatus.FAIL,
                f"measured without a specification in force on {facts.as_of}: "
                + ", ".join(missing),
                evidence,
            ),
        )
    return (
        Check(
            "specifications",
            CheckStatus.PASS,
            f"every measured test ({', '.join(tests)}) has a specification in force",
            evidence,
        ),
    )


def _transfers(facts: ValidationFacts) -> list[tuple[Found, TechTransfer]]:
    code = None if facts.site is None else parse_id(facts.site).parts[1]
    vendor = None if facts.site is None else parse_id(facts.site).parts[0]
    return [
        (item, transfer)
        for item, transfer in records_of(facts.transfers, TechTransfer)
        if code is None or (transfer.vendor == vendor and transfer.site_code in (None, code))
    ]


def ppq_lots(facts: ValidationFacts) -> list[tuple[Found, Batch]]:
    transfers = {item.evidence.id for item, _ in _transfers(facts)}
    lots: dict[str, tuple[Found, Batch]] = {}
    for transfer, items in facts.verified.items():
        if transfer in transfers:
            for item, batch in records_of(items, Batch):
                lots[item.evidence.id] = (item, batch)
    for item, batch in records_of(facts.ppq_stage_lots, Batch):
        if _at_site(batch, facts.site):
            lots[item.evidence.id] = (item, batch)
    return [lots[key] for key in sorted(lots)]


def stage_2(facts: ValidationFacts) -> tuple[Check, ...]:
    transfers = _transfers(facts)
    approved = [
        item
        for item, transfer in transfers
        if transfer.ppq_protocol_approved_on is not None
        and transfer.ppq_protocol_approved_on <= facts.as_of
    ]
    if approved:
        protocol = Check(
            "ppq_protocol",
            CheckStatus.PASS,
            f"PPQ protocol approved in {len(approved)} transfer(s)",
            tuple(item.evidence for item in approved),
        )
    elif transfers:
        protocol = Check(
            "ppq_protocol",
            CheckStatus.FAIL,
            f"no transfer's PPQ protocol is approved by {facts.as_of}",
            tuple(item.evidence for item, _ in transfers),
        )
    else:
        protocol = Check("ppq_protocol", CheckStatus.WARN, "no tech transfer on record")
    lots = ppq_lots(facts)
    planned_counts = [t.ppq_lots_planned for _, t in transfers if t.ppq_lots_planned is not None]
    planned = max(planned_counts, default=DEFAULT_PPQ_LOTS)
    released = [(item, batch) for item, batch in lots if released_on(batch, facts.as_of)]
    complete = any(t.phase is TransferPhase.COMPLETE for _, t in transfers)
    if len(released) >= planned:
        status = CheckStatus.PASS
    else:
        status = CheckStatus.FAIL if complete else CheckStatus.WARN
    released_check = Check(
        "ppq_lots",
        status,
        f"{len(released)} of {planned} planned PPQ lot(s) released",
        tuple(item.evidence for item, _ in released),
    )
    return (protocol, released_check, _ppq_results(facts, [item for item, _ in lots]))


def _ppq_results(facts: ValidationFacts, lots: Sequence[Found]) -> Check:
    lot_ids = {item.evidence.id for item in lots}
    specifications = records_of(facts.specifications, Specification)
    outside: list[Evidence] = []
    failed = 0
    unspecified: set[str] = set()
    used: list[Evidence] = []
    judged = 0
    for item, result in records_of(facts.results, TestResult):
        if result.batch_id not in lot_ids or result.value is None or not result.test:
            continue
        day = result.tested_on or facts.as_of
        if day > facts.as_of:
            continue
        judged += 1
        spec = specification_in_force(specifications, result.test, day)
        if spec is None:
            unspecified.add(result.test)
            continue
        low, high = spec[1].spec_low, spec[1].spec_high
        used.append(spec[0].evidence)
        if (low is not None and result.value < low) or (high is not None and result.value > high):
            failed += 1
            outside += [item.evidence, spec[0].evidence]
    if outside:
        return Check(
            "ppq_results",
            CheckStatus.FAIL,
            f"{failed} PPQ result(s) outside the specification in force",
            tuple(dict.fromkeys(outside)),
        )
    if not judged:
        return Check("ppq_results", CheckStatus.WARN, "no numeric result on the PPQ lots")
    if unspecified:
        return Check(
            "ppq_results",
            CheckStatus.WARN,
            f"no specification in force for {', '.join(sorted(unspecified))} on the test days",
            tuple(dict.fromkeys(used)),
        )
    return Check(
        "ppq_results",
        CheckStatus.PASS,
        f"all {judged} PPQ result(s) within the specification in force",
        tuple(dict.fromkeys(used)),
    )


def stage_3(facts: ValidationFacts) -> tuple[Check, ...]:
    by_test = {
        test: [m for m in points if facts.site is None or m.site == facts.site]
        for test, points in facts.measurements.items()
    }
    specifications = records_of(facts.specifications, Specification)
    return (cpv_check(by_test, specifications, facts.cited, facts.as_of),)


def judge_validation(facts: ValidationFacts) -> list[StageReport]:
    return [
        StageReport(Stage.STAGE_1_PROCESS_DESIGN, stage_1(facts)),
        StageReport(Stage.STAGE_2_PROCESS_QUALIFICATION, stage_2(facts)),
        StageReport(Stage.STAGE_3_CONTINUED_VERIFICATION, stage_3(facts)),
    ]


async def gather_validation(
    store: GraphStore,
    *,
    product: str,
    site: str | None,
    as_of: date,
    visibility: Visibility,
) -> ValidationFacts:
    sponsor = parse_id(product).parts[0]
    specifications = await read_all(
        store,
        NodeKind.SPECIFICATION,
        [Equals("sponsor", sponsor), LinkedTo(((EdgeKind.SPECIFIES,),), product)],
        visibility,
    )
    transfers = await read_all(
        store, NodeKind.TECH_TRANSFER, [LinkedTo(((EdgeKind.TRANSFERS,),), product)], visibility
    )
    verified = await verified_lots(store, [item.evidence.id for item in transfers], visibility)
    ppq_stage_lots = await read_all(
        store,
        NodeKind.BATCH,
        [
            Equals("validation_stage", ValidationStage.PPQ.value),
            LinkedTo(PRODUCT_OF_BATCH, product),
        ],
        visibility,
    )
    # The results judged one by one are the PPQ lots' (a few); every other result is a
    # point on a chart, read in one measurements read for every test.
    ppq_ids = {item.evidence.id for items in verified.values() for item in items}
    ppq_ids |= {item.evidence.id for item in ppq_stage_lots}
    tested = await store.in_edges(sorted(ppq_ids), (EdgeKind.TESTED,), visibility=visibility)
    found = await store.get_nodes(
        sorted({source for source, _, _ in tested}), visibility=visibility
    )
    results = tuple(as_found(node) for _, node in sorted(found.items()))
    measurements = await measurements_by_test(store, product, None, as_of, visibility, site=site)
    cited = sorted(cited_results(measurements))
    nodes = await store.get_nodes(cited, visibility=visibility) if cited else {}
    return ValidationFacts(
        product=product,
        site=site,
        as_of=as_of,
        specifications=specifications,
        results=results,
        transfers=transfers,
        verified=verified,
        ppq_stage_lots=ppq_stage_lots,
        measurements=measurements,
        cited={node_id: as_found(node) for node_id, node in nodes.items()},
    )


async def process_validation(
    store: GraphStore,
    *,
    product: str,
    site: str | None = None,
    as_of: date,
    visibility: Visibility,
) -> list[StageReport]:
    facts = await gather_validation(
        store, product=product, site=site, as_of=as_of, visibility=visibility
    )
    return judge_validation(facts)
