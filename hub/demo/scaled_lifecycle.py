"""The partnership lifecycle of a generated network (``hub.demo.generator``), at scale.

Around the lots the generator makes, what a sponsor's quality system holds about its
vendors, so that the lifecycle's reads (``inspectionReadiness``, ``processValidation``,
the listings) are benchmarked on a network of realistic size:

- each sponsor's specifications of its products (assay, dissolution; purity of the API);
- a tech transfer per product and CDMO (six milestones, one late in four; documents;
  risk items), verified by the CDMO's first three tablet batches of that product;
- per sponsor and vendor: two audits with three findings each (CAPAs, some overdue)
  and two change controls (one in five major and implemented without approval);
- per vendor site: one or two agency inspections, mostly NAI, some VAI, a few OAI.

Drawn from a Random of its own, so the lots the seed makes are the same with or
without it.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from datetime import date, timedelta
from typing import Protocol

from graph.lifecycle import (
    Agency,
    Audit,
    AuditFinding,
    CapaStatus,
    ChangeControl,
    ChangeKind,
    ChangeStatus,
    Criticality,
    DocumentKind,
    Inspection,
    InspectionOutcome,
    Milestone,
    MilestoneStatus,
    RiskLevel,
    RiskStatus,
    Specification,
    TechTransfer,
    TransferDocument,
    TransferPhase,
    TransferRisk,
)
from graph.model import ChangeClass, Provenance, Record

PPQ_LOTS = 3
_MILESTONES = (
    "Transfer plan approved",
    "Analytical methods transferred",
    "Engineering batch made",
    "PPQ protocol approved",
    "PPQ batches released",
    "PPQ report approved",
)
_DOCUMENTS = (
    (DocumentKind.SPECIFICATION, "Product specification"),
    (DocumentKind.PROCESS_DESCRIPTION, "Process description"),
    (DocumentKind.ANALYTICAL_METHOD, "Assay method"),
)


class Product(Protocol):
    @property
    def sponsor(self) -> str: ...

    @property
    def code(self) -> str: ...

    @property
    def api_code(self) -> str: ...

    @property
    def id(self) -> str: ...


class Lane(Protocol):
    @property
    def product(self) -> Product: ...

    @property
    def api_cmo(self) -> str: ...

    @property
    def cdmo(self) -> str: ...

    @property
    def packager(self) -> str: ...


class Layout(Protocol):
    """What of the generator's layout this needs (``hub.demo.generator._Layout``)."""

    @property
    def orgs(self) -> dict[str, tuple[str, ...]]: ...

    @property
    def products(self) -> tuple[Product, ...]: ...

    @property
    def lanes(self) -> tuple[Lane, ...]: ...

    @property
    def campaigns(self) -> int: ...

    def lane(self, campaign: int) -> Lane: ...

    def day(self, campaign: int, offset: int) -> date: ...


def lifecycle_records(
    layout: Layout,
    seed: int,
    at: Callable[[str], Provenance],
    tablet_batch_id: Callable[[int], str],
    site_code: str,
) -> Iterator[Record]:
    """The lifecycle records of the network ``layout`` describes; ``tablet_batch_id``
    names the first tablet batch of a campaign, ``at`` places a record in the export."""
    rng = random.Random(f"{seed}/lifecycle")
    yield from _specifications(layout, at)
    yield from _transfers(layout, rng, at, tablet_batch_id, site_code)
    # Every sponsor's vendors: its lanes' makers and the contract labs.
    pairs = sorted(
        {
            (lane.product.sponsor, vendor)
            for lane in layout.lanes
            for vendor in (lane.api_cmo, lane.cdmo, lane.packager, *layout.orgs["lab"])
        }
    )
    for sponsor, vendor in pairs:
        yield from _audits(rng, at, sponsor, vendor, site_code)
        yield from _changes(rng, at, sponsor, vendor, site_code)
    vendors = sorted({vendor for _, vendor in pairs})
    for vendor in vendors:
        yield from _inspections(rng, at, vendor, site_code)


def _specifications(layout: Layout, at: Callable[[str], Provenance]) -> Iterator[Record]:
    for product in layout.products:
        for code, test, low, high in (
            (product.code, "assay", 95.0, 105.0),
            (product.code, "dissolution", 80.0, None),
            (product.api_code, "purity", 99.0, 100.0),
        ):
            yield Specification(
                sponsor=product.sponsor,
                product_code=code,
                test=test,
                version="1",
                spec_low=low,
                spec_high=high,
                unit="%",
                effective_from=date(2022, 1, 1),
                provenance=at(f"/specification/{product.sponsor}/{code}/{test}"),
            )


def _first_campaigns(layout: Layout) -> dict[tuple[str, str], list[int]]:
    """The first PPQ_LOTS campaigns of each (product, CDMO), in one pass."""
    wanted = {(lane.product.id, lane.cdmo) for lane in layout.lanes}
    found: dict[tuple[str, str], list[int]] = {key: [] for key in wanted}
    open_keys = set(wanted)
    for campaign in range(layout.campaigns):
        if not open_keys:
            break
        lane = layout.lane(campaign)
        key = (lane.product.id, lane.cdmo)
        if key in open_keys:
            found[key].append(campaign)
            if len(found[key]) == PPQ_LOTS:
                open_keys.discard(key)
    return found


def _transfers(
    layout: Layout,
    rng: random.Random,
    at: Callable[[str], Provenance],
    tablet_batch_id: Callable[[int], str],
    site_code: str,
) -> Iterator[Record]:
    firsts = _first_campaigns(layout)
    products = {product.id: product for product in layout.products}
    for (product_id, cdmo), campaigns in sorted(firsts.items()):
        product = products[product_id]
        transfer_id = f"TT-{product.code}-{cdmo}"
        keys = {"sponsor": product.sponsor, "vendor": cdmo, "transfer_id": transfer_id}
        where = f"/transfer/{product.sponsor}/{transfer_id}"
        start = layout.day(campaigns[0], 0) - timedelta(days=300) if campaigns else date(2022, 6, 1)
        complete = len(campaigns) == PPQ_LOTS and rng.random() < 0.6
        yield TechTransfer(
            **keys,
            title=f"{product.code} to {cdmo}",
            product_id=product_id,
            site_code=site_code,
            phase=TransferPhase.COMPLETE if complete else TransferPhase.VERIFICATION,
            started_on=start,
            target_on=start + timedelta(days=420),
            completed_on=start + timedelta(days=400) if complete else None,
            ppq_protocol_approved_on=start + timedelta(days=200),
            ppq_lots_planned=PPQ_LOTS,
            ppq_batch_ids=tuple(tablet_batch_id(campaign) for campaign in campaigns),
            provenance=at(where),
        )
        late = rng.random() < 0.25
        for index, name in enumerate(_MILESTONES):
            planned = start + timedelta(days=70 * (index + 1))
            last = index == len(_MILESTONES) - 1
            done = None if (late and last) else planned + timedelta(days=rng.randint(-5, 5))
            yield Milestone(
                **keys,
                milestone_id=f"M{index + 1}",
                name=name,
                planned_on=planned,
                done_on=done,
                status=MilestoneStatus.DONE if done else MilestoneStatus.IN_PROGRESS,
                owner_org=cdmo if index % 2 else product.sponsor,
                provenance=at(f"{where}/milestone/{index + 1}"),
            )
        for index, (kind, title) in enumerate(_DOCUMENTS):
            yield TransferDocument(
                **keys,
                document_id=f"D{index + 1}",
                title=title,
                kind=kind,
                version=f"{rng.randint(1, 4)}.0",
                checksum=f"sha256:{rng.getrandbits(256):064x}",
                sent_on=start + timedelta(days=30),
                provenance=at(f"{where}/document/{index + 1}"),
            )
        for index in range(2):
            yield TransferRisk(
                **keys,
                risk_id=f"R{index + 1}",
                description="Equipment differences" if index == 0 else "Method robustness",
                severity=rng.choice(list(RiskLevel)),
                likelihood=rng.choice(list(RiskLevel)),
                status=rng.choice(list(RiskStatus)),
                provenance=at(f"{where}/risk/{index + 1}"),
            )


def _audits(
    rng: random.Random, at: Callable[[str], Provenance], sponsor: str, vendor: str, site: str
) -> Iterator[Record]:
    for year in (2023, 2025):
        audit_id = f"AUD-{sponsor}-{vendor}-{year}"
        keys = {"auditor": sponsor, "vendor": vendor, "audit_id": audit_id}
        started = date(year, rng.randint(1, 9), rng.randint(1, 28))
        yield Audit(
            **keys,
            site_code=site,
            audit_type="routine GMP",
            started_on=started,
            ended_on=started + timedelta(days=2),
            provenance=at(f"/audit/{audit_id}"),
        )
        for index in range(3):
            due = started + timedelta(days=rng.randint(60, 180))
            closed = rng.random() < (0.95 if year == 2023 else 0.6)
            yield AuditFinding(
                **keys,
                finding_id=f"F{index + 1}",
                criticality=rng.choices(list(Criticality), weights=(6, 3, 1))[0],
                description="Finding",
                capa_id=f"CAPA-{audit_id}-{index + 1}",
                capa_due_on=due,
                capa_status=CapaStatus.CLOSED if closed else CapaStatus.OPEN,
                capa_closed_on=due - timedelta(days=7) if closed else None,
                provenance=at(f"/audit/{audit_id}/finding/{index + 1}"),
            )


def _changes(
    rng: random.Random, at: Callable[[str], Provenance], sponsor: str, vendor: str, site: str
) -> Iterator[Record]:
    for index in range(2):
        change_id = f"CC-{vendor}-{sponsor}-{index + 1}"
        opened = date(2024, rng.randint(1, 12), rng.randint(1, 28))
        unapproved = rng.random() < 0.2
        implemented = opened + timedelta(days=rng.randint(20, 90))
        yield ChangeControl(
            vendor=vendor,
            sponsor=sponsor,
            change_id=change_id,
            title="Change",
            kind=rng.choice(list(ChangeKind)),
            classification=ChangeClass.MAJOR if unapproved else rng.choice(list(ChangeClass)),
            site_code=site,
            opened_on=opened,
            sponsor_approved_on=None if unapproved else opened + timedelta(days=10),
            implemented_on=implemented,
            status=ChangeStatus.IMPLEMENTED,
            provenance=at(f"/change/{change_id}"),
        )


def _inspections(
    rng: random.Random, at: Callable[[str], Provenance], vendor: str, site: str
) -> Iterator[Record]:
    for _ in range(rng.randint(1, 2)):
        agency = rng.choice((Agency.FDA, Agency.EMA, Agency.MHRA))
        started = date(rng.randint(2022, 2025), rng.randint(1, 12), rng.randint(1, 28))
        if agency is Agency.FDA:
            outcome = rng.choices(
                (InspectionOutcome.NAI, InspectionOutcome.VAI, InspectionOutcome.OAI),
                weights=(6, 3, 1),
            )[0]
        else:
            outcome = rng.choices(
                (InspectionOutcome.GMP_COMPLIANT, InspectionOutcome.NON_COMPLIANT),
                weights=(9, 1),
            )[0]
        yield Inspection(
            org=vendor,
            site_code=site,
            agency=agency,
            started_on=started,
            ended_on=started + timedelta(days=4),
            outcome=outcome,
            observations=rng.randint(0, 8),
            provenance=at(f"/inspection/{vendor}/{agency.value}/{started.isoformat()}"),
        )
