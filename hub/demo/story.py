"""The demo network from DESIGN.md ("The demo story") as canonical records.

Northwind Pharma's Zelvoxin 50 mg tablets: API lots made by Alder in India are
received at Birch in Ireland, compressed with Dogwood excipients, received and packed
at Cedar in the US, and shipped to distributors. Birch also makes tablets for a second
sponsor, Oakridge Bio. Three things are planted for the demo to find:

- the Northwind-Birch quality agreement ended on 2025-06-30, so the Birch batches made
  after it have no agreement in force (a compliance gap);
- Dogwood raised a deviation on one microcrystalline cellulose lot, which went into
  four Birch batches and their packed lots (a recall scope for impact analysis);
- assay at Birch drifts downwards through 2025, the last batch out of specification:
  its control chart fires the run rules for a trend and for points beyond the limits.

The records are what connectors would produce from the partners' exports, so every
partner uses its own lot numbers and item codes; ``SAME_LOT`` edges tie a lot as
received to the same lot at its maker, and ``CONSUMED`` edges point from each output
batch to its inputs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date

from graph.ids import NodeKind, make_id
from graph.lifecycle import (
    Agency,
    Audit,
    AuditFinding,
    AuditOutcome,
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
from graph.model import (
    Activity,
    AgreementStatus,
    Batch,
    BatchStatus,
    ChangeClass,
    Deviation,
    DeviationClass,
    DeviationStatus,
    Edge,
    EdgeKind,
    Material,
    Organization,
    OrgKind,
    Product,
    Provenance,
    Qualification,
    QualificationStatus,
    QualityAgreement,
    Record,
    Site,
    TestResult,
    ValidationStage,
    Verdict,
)

CONNECTOR = "demo.story"

SPONSOR_ORG_ID = "northwind"
# The day the demo is told as of: what is late, expired or overdue is so on this day.
DEMO_DAY = date(2025, 12, 1)
API_PRODUCT_ID = make_id(NodeKind.PRODUCT, "northwind", "NW-API-101")
TABLET_PRODUCT_ID = make_id(NodeKind.PRODUCT, "northwind", "NW-TAB-101")
OAKRIDGE_PRODUCT_ID = make_id(NodeKind.PRODUCT, "oakridge", "OK-TAB-220")

# A bottle packed at Cedar from Birch batch BT-25-041: made after the Birch agreement
# ended, with the deviated cellulose lot, and with assay already drifting. Its upstream
# lineage crosses Cedar -> Birch -> Alder and Dogwood.
FINISHED_LOT_ID = make_id(NodeKind.BATCH, "cedar", "P25-1214")
CONTAMINATED_EXCIPIENT_LOT_ID = make_id(NodeKind.BATCH, "dogwood", "DW-M-50402")
# Magnesium stearate lot used by Northwind and Oakridge batches alike: its downstream
# crosses sponsors, so each sponsor must see only its own part.
SHARED_EXCIPIENT_LOT_ID = make_id(NodeKind.BATCH, "dogwood", "DW-S-41020")
OOS_BATCH_ID = make_id(NodeKind.BATCH, "birch", "BT-25-055")
GAP_BATCH_ID = make_id(NodeKind.BATCH, "birch", "BT-25-041")
OAKRIDGE_BATCH_ID = make_id(NodeKind.BATCH, "birch", "BT-25-030")
EXPIRED_AGREEMENT_ID = make_id(NodeKind.QUALITY_AGREEMENT, "northwind", "QA-NW-BIR", "2")
# The tablet's transfer to Birch, verified by the first three lots of 2025.
TABLET_TRANSFER_ID = make_id(NodeKind.TECH_TRANSFER, "northwind", "birch", "TT-NW-BIR-01")
PPQ_LOTS = ("BT-25-004", "BT-25-011", "BT-25-019")
UNAPPROVED_CHANGE_ID = make_id(NodeKind.CHANGE_CONTROL, "birch", "northwind", "CC-BIR-25-014")

# Cedar's item codes for its packs are the GTINs printed on them (under GS1's example
# company prefix 0614141, which the demo registers as Cedar's): its shipments go out
# as EPCIS events naming lots by GTIN and lot number.
CEDAR_GS1_PREFIX = "0614141"
BOTTLE_OF_30_GTIN = "00614141100033"
BOTTLE_OF_90_GTIN = "00614141100095"

# org id: (name, kind, country, site code, site name, FDA FEI number)
_ORGANIZATIONS: dict[str, tuple[str, OrgKind, str, str | None, str | None, str | None]] = {
    "northwind": ("Northwind Pharma", OrgKind.SPONSOR, "US", None, None, None),
    "oakridge": ("Oakridge Bio", OrgKind.SPONSOR, "US", None, None, None),
    "alder": (
        "Alder Lifesciences",
        OrgKind.CMO,
        "IN",
        "HYD-1",
        "Alder Lifesciences, Genome Valley, Hyderabad",
        "3004567891",
    ),
    "birch": (
        "Birch Pharma Services",
        OrgKind.CDMO,
        "IE",
        "CRK-1",
        "Birch Pharma Services, Ringaskiddy, Cork",
        "3008123456",
    ),
    "cedar": (
        "Cedar Packaging Solutions",
        OrgKind.CMO,
        "US",
        "NJ-2",
        "Cedar Packaging Solutions, Somerset, New Jersey",
        "3011987654",
    ),
    "dogwood": (
        "Dogwood Excipients GmbH",
        OrgKind.SUPPLIER,
        "DE",
        "LU-1",
        "Dogwood Excipients, Ludwigshafen",
        None,
    ),
    "elm": ("Elm Analytical", OrgKind.TESTING_LAB, "IE", "GAL-1", "Elm Analytical, Galway", None),
    "maple": ("Maple Health Distribution", OrgKind.DISTRIBUTOR, "US", None, None, None),
    "spruce": ("Spruce Medical Supply", OrgKind.DISTRIBUTOR, "CA", None, None, None),
}
DEMO_PARTNERS: dict[str, OrgKind] = {org: kind for org, (_, kind, *_) in _ORGANIZATIONS.items()}
_SITES = {org: site for org, (_, _, _, site, _, _) in _ORGANIZATIONS.items() if site}

# org, item code, name, sponsor product the item is (None: not a sponsor product)
_MATERIALS: tuple[tuple[str, str, str, str | None], ...] = (
    ("alder", "ALD-7731", "Zelvoxin drug substance, micronised", API_PRODUCT_ID),
    ("oakridge", "OK-220-DS", "OK-220 drug substance", None),
    ("dogwood", "DW-MCC-102", "Microcrystalline cellulose PH-102", None),
    ("dogwood", "DW-MGS-01", "Magnesium stearate, vegetable grade", None),
    ("birch", "B-RM-0412", "Zelvoxin API (received)", API_PRODUCT_ID),
    ("birch", "B-RM-0588", "OK-220 API (received, sponsor-supplied)", None),
    ("birch", "B-EX-1102", "Microcrystalline cellulose PH-102 (received)", None),
    ("birch", "B-EX-1310", "Magnesium stearate (received)", None),
    ("birch", "B-FG-2050", "Zelvoxin 50 mg film-coated tablets, bulk", TABLET_PRODUCT_ID),
    ("birch", "B-FG-3220", "OK-220 10 mg tablets, bulk", OAKRIDGE_PRODUCT_ID),
    ("cedar", "C-IN-5010", "Zelvoxin 50 mg tablets, bulk (received)", TABLET_PRODUCT_ID),
    ("cedar", BOTTLE_OF_30_GTIN, "Zelvoxin 50 mg tablets, bottle of 30", TABLET_PRODUCT_ID),
    ("cedar", BOTTLE_OF_90_GTIN, "Zelvoxin 50 mg tablets, bottle of 90", TABLET_PRODUCT_ID),
)

# Alder API lots and the part of each received at Birch.
# Alder lot, made on, kg made, Birch receiving lot, kg received
_API_LOTS = (
    ("A-2207", date(2024, 11, 18), 98.4, "RM-25-0031", 25.0),
    ("A-2211", date(2025, 1, 27), 101.2, "RM-25-0118", 25.0),
    ("A-2302", date(2025, 4, 14), 96.7, "RM-25-0207", 25.0),
    ("A-2309", date(2025, 7, 21), 99.9, "RM-25-0311", 25.0),
)

# Dogwood lots and the part of each received at Birch.
# Dogwood lot, material, made on, kg made, Birch lot, Birch material, kg received
_EXCIPIENT_LOTS = (
    ("DW-M-50311", "DW-MCC-102", date(2024, 12, 2), 2000.0, "RM-25-0012", "B-EX-1102", 100.0),
    ("DW-M-50355", "DW-MCC-102", date(2025, 1, 20), 2000.0, "RM-25-0057", "B-EX-1102", 100.0),
    ("DW-M-50402", "DW-MCC-102", date(2025, 3, 10), 2000.0, "RM-25-0140", "B-EX-1102", 200.0),
    ("DW-M-50517", "DW-MCC-102", date(2025, 7, 7), 2000.0, "RM-25-0298", "B-EX-1102", 100.0),
    ("DW-S-40877", "DW-MGS-01", date(2024, 11, 11), 500.0, "RM-25-0009", "B-EX-1310", 10.0),
    ("DW-S-41020", "DW-MGS-01", date(2025, 5, 26), 500.0, "RM-25-0233", "B-EX-1310", 10.0),
)

# Northwind tablet batches at Birch, 240,000 tablets each: 12 kg API (50 mg a tablet),
# 38.4 kg cellulose, 0.96 kg magnesium stearate.
# number, made on, API lot, cellulose lot, stearate lot, assay %, dissolution % (30 min)
_NW_TABLETS = (
    ("BT-25-004", date(2025, 1, 20), "RM-25-0031", "RM-25-0012", "RM-25-0009", 100.6, 94.0),
    ("BT-25-011", date(2025, 2, 17), "RM-25-0031", "RM-25-0012", "RM-25-0009", 100.2, 95.0),
    ("BT-25-019", date(2025, 3, 24), "RM-25-0118", "RM-25-0140", "RM-25-0009", 99.7, 92.0),
    ("BT-25-026", date(2025, 4, 28), "RM-25-0118", "RM-25-0140", "RM-25-0009", 99.1, 93.0),
    ("BT-25-033", date(2025, 6, 9), "RM-25-0207", "RM-25-0140", "RM-25-0233", 98.4, 91.0),
    ("BT-25-041", date(2025, 7, 14), "RM-25-0207", "RM-25-0140", "RM-25-0233", 97.3, 90.0),
    ("BT-25-048", date(2025, 9, 1), "RM-25-0311", "RM-25-0298", "RM-25-0233", 95.9, 88.0),
    ("BT-25-055", date(2025, 10, 20), "RM-25-0311", "RM-25-0298", "RM-25-0233", 94.6, 86.0),
)
_TABLETS_PER_BATCH = 240_000.0
# Days from compression to release at Birch: Elm's results come back after six days,
# then QA reviews the record; BT-25-026 waited for its deviation to close. BT-25-055 is
# not released. Vendor scorecards show the median and 90th percentile of these.
_DAYS_TO_RELEASE = {
    "BT-25-004": 13, "BT-25-011": 12, "BT-25-019": 14, "BT-25-026": 21, "BT-25-030": 11,
    "BT-25-033": 13, "BT-25-041": 15, "BT-25-044": 12, "BT-25-048": 17,
}  # fmt: skip
_PACKED_DAYS_TO_RELEASE = 3

# Birch batch, Cedar receiving lot, packed lots: (number, material, bottles, distributor).
# BT-25-055 failed assay and stays in quarantine at Birch, so it never reached Cedar.
_PACKING = (
    ("BT-25-004", "R25-0107", (("P25-1012", BOTTLE_OF_30_GTIN, 8000, "maple"),)),
    (
        "BT-25-011",
        "R25-0142",
        (
            ("P25-1047", BOTTLE_OF_30_GTIN, 5000, "maple"),
            ("P25-1048", BOTTLE_OF_90_GTIN, 1000, "spruce"),
        ),
    ),
    ("BT-25-019", "R25-0188", (("P25-1093", BOTTLE_OF_30_GTIN, 8000, "maple"),)),
    (
        "BT-25-026",
        "R25-0231",
        (
            ("P25-1130", BOTTLE_OF_30_GTIN, 5000, "maple"),
            ("P25-1131", BOTTLE_OF_90_GTIN, 1000, "spruce"),
        ),
    ),
    ("BT-25-033", "R25-0276", (("P25-1178", BOTTLE_OF_30_GTIN, 8000, "maple"),)),
    (
        "BT-25-041",
        "R25-0315",
        (
            ("P25-1214", BOTTLE_OF_30_GTIN, 5000, "maple"),
            ("P25-1215", BOTTLE_OF_90_GTIN, 1000, "spruce"),
        ),
    ),
    ("BT-25-048", "R25-0368", (("P25-1262", BOTTLE_OF_30_GTIN, 8000, "maple"),)),
)


@dataclass
class _Story:
    """Collects records, giving each a readable location inside the (imagined) export."""

    ingestion_id: str
    records: list[Record] = field(default_factory=list)

    def at(self, location: str) -> Provenance:
        return Provenance(ingestion_id=self.ingestion_id, connector=CONNECTOR, location=location)

    def lot(
        self,
        maker: str,
        number: str,
        material: str,
        made_on: date,
        quantity: float,
        unit: str,
        status: BatchStatus = BatchStatus.RELEASED,
        released_after_days: int | None = None,
        validation_stage: ValidationStage | None = None,
    ) -> str:
        released_on = (
            None
            if released_after_days is None
            else date.fromordinal(made_on.toordinal() + released_after_days)
        )
        batch = Batch(
            maker=maker,
            number=number,
            material_code=material,
            site_code=_SITES.get(maker),
            status=status,
            manufactured_on=made_on,
            released_on=released_on,
            quantity=quantity,
            unit=unit,
            validation_stage=validation_stage,
            provenance=self.at(f"/batches/{maker}/{number}"),
        )
        self.records.append(batch)
        return batch.id

    def received(
        self,
        maker: str,
        number: str,
        material: str,
        lot_at_maker: str,
        made_on: date,
        quantity: float,
        unit: str,
    ) -> str:
        """A lot as booked in at a partner, tied to the same physical lot at its maker,
        which names the partner as a receiver (without that, the tie is only the
        receiver's claim: ``graph.trust``)."""
        self.shipped(lot_at_maker, maker)
        lot = self.lot(maker, number, material, made_on, quantity, unit)
        self.records.append(
            Edge(
                kind=EdgeKind.SAME_LOT,
                source=lot,
                target=lot_at_maker,
                provenance=self.at(f"/batches/{maker}/{number}/received-as"),
            )
        )
        return lot

    def consumed(self, output: str, inputs: Sequence[tuple[str, float, str]]) -> None:
        where = output.removeprefix("batch:")
        self.records += [
            Edge(
                kind=EdgeKind.CONSUMED,
                source=output,
                target=lot,
                quantity=quantity,
                unit=unit,
                provenance=self.at(f"/batches/{where}/inputs/{index}"),
            )
            for index, (lot, quantity, unit) in enumerate(inputs)
        ]

    def shipped(
        self,
        lot: str,
        to_org: str,
        on: date | None = None,
        quantity: float | None = None,
        unit: str | None = None,
    ) -> None:
        where = lot.removeprefix("batch:")
        self.records.append(
            Edge(
                kind=EdgeKind.SHIPPED_TO,
                source=lot,
                target=make_id(NodeKind.ORGANIZATION, to_org),
                quantity=quantity,
                unit=unit,
                occurred_on=on,
                provenance=self.at(f"/batches/{where}/shipments/{to_org}"),
            )
        )


def demo_records(ingestion_id: str = "demo-story") -> list[Record]:
    """The whole demo network, in an order a store can write in one batch."""
    story = _Story(ingestion_id)
    _partners(story)
    _agreements(story)
    _qualifications(story)
    _supply(story)
    _tablets(story)
    _packing(story)
    _quality_events(story)
    _lifecycle(story)
    return story.records


def _batch(maker: str, number: str) -> str:
    return make_id(NodeKind.BATCH, maker, number)


def _partners(story: _Story) -> None:
    for org, (name, kind, country, site, site_name, fei) in _ORGANIZATIONS.items():
        story.records.append(
            Organization(
                org_id=org,
                name=name,
                kind=kind,
                country=country,
                provenance=story.at(f"/organizations/{org}"),
            )
        )
        if site:
            story.records.append(
                Site(
                    org=org,
                    code=site,
                    name=site_name,
                    country=country,
                    fei_number=fei,
                    provenance=story.at(f"/organizations/{org}/sites/{site}"),
                )
            )
    products = (
        ("northwind", "NW-API-101", "Zelvoxin drug substance", "drug substance"),
        ("northwind", "NW-TAB-101", "Zelvoxin 50 mg film-coated tablets", "tablet"),
        ("oakridge", "OK-TAB-220", "OK-220 10 mg tablets", "tablet"),
    )
    for sponsor, code, name, form in products:
        story.records.append(
            Product(
                sponsor=sponsor,
                code=code,
                name=name,
                dosage_form=form,
                provenance=story.at(f"/products/{sponsor}/{code}"),
            )
        )
    for org, code, name, product in _MATERIALS:
        story.records.append(
            Material(
                org=org,
                code=code,
                name=name,
                product_id=product,
                provenance=story.at(f"/materials/{org}/{code}"),
            )
        )


def _agreements(story: _Story) -> None:
    def site(org: str) -> str:
        return make_id(NodeKind.SITE, org, _SITES[org])

    manufacture = (Activity.MANUFACTURE, Activity.TESTING, Activity.STORAGE)
    # id, version, sponsor, vendor, products, activities, from, to, status
    agreements = (
        ("QA-NW-ALD", "3", "northwind", "alder", (API_PRODUCT_ID,), manufacture,
         date(2023, 4, 1), date(2026, 3, 31), AgreementStatus.EFFECTIVE),
        ("QA-NW-BIR", "2", "northwind", "birch", (TABLET_PRODUCT_ID,), manufacture,
         date(2024, 1, 1), date(2025, 6, 30), AgreementStatus.EXPIRED),
        ("QA-NW-CED", "1", "northwind", "cedar", (TABLET_PRODUCT_ID,),
         (Activity.PACKAGING, Activity.STORAGE, Activity.DISTRIBUTION),
         date(2024, 7, 1), date(2027, 6, 30), AgreementStatus.EFFECTIVE),
        ("QA-NW-ELM", "1", "northwind", "elm", (TABLET_PRODUCT_ID,), (Activity.TESTING,),
         date(2024, 2, 1), date(2026, 1, 31), AgreementStatus.EFFECTIVE),
        ("QA-OK-BIR", "1", "oakridge", "birch", (OAKRIDGE_PRODUCT_ID,), manufacture,
         date(2024, 5, 1), date(2026, 4, 30), AgreementStatus.EFFECTIVE),
    )  # fmt: skip
    for (
        agreement_id,
        version,
        sponsor,
        vendor,
        products,
        activities,
        start,
        end,
        status,
    ) in agreements:
        story.records.append(
            QualityAgreement(
                agreement_id=agreement_id,
                version=version,
                sponsor=sponsor,
                vendor=vendor,
                product_ids=products,
                site_ids=(site(vendor),),
                activities=activities,
                effective_from=start,
                effective_to=end,
                status=status,
                specification_ids=_TABLET_SPECS if TABLET_PRODUCT_ID in products else (),
                provenance=story.at(f"/agreements/{agreement_id}/v{version}"),
            )
        )


def _qualifications(story: _Story) -> None:
    # qualifier, vendor, status, valid until, last audit. Dogwood is conditional: an
    # open CAPA from its April audit (raw-material bioburden trending). Each sponsor
    # qualifies its own vendors.
    qualifications = (
        ("northwind", "alder", QualificationStatus.APPROVED, date(2026, 9, 30), date(2024, 9, 12)),
        ("northwind", "birch", QualificationStatus.APPROVED, date(2026, 3, 31), date(2024, 3, 19)),
        ("northwind", "cedar", QualificationStatus.APPROVED, date(2027, 1, 31), date(2025, 1, 22)),
        ("northwind", "dogwood", QualificationStatus.CONDITIONAL, date(2025, 12, 31),
         date(2025, 4, 8)),
        ("northwind", "elm", QualificationStatus.APPROVED, date(2026, 6, 30), date(2024, 6, 4)),
        ("oakridge", "birch", QualificationStatus.APPROVED, date(2026, 5, 31), date(2024, 4, 23)),
    )  # fmt: skip
    for qualifier, vendor, status, valid_until, audited_on in qualifications:
        story.records.append(
            Qualification(
                qualifier=qualifier,
                vendor=vendor,
                site_code=_SITES[vendor],
                status=status,
                valid_until=valid_until,
                last_audit_on=audited_on,
                provenance=story.at(f"/qualifications/{qualifier}/{vendor}"),
            )
        )


def _supply(story: _Story) -> None:
    """API and excipient lots at their makers, and as received at Birch."""
    for number, made_on, kg_made, birch_number, kg_received in _API_LOTS:
        api_lot = story.lot("alder", number, "ALD-7731", made_on, kg_made, "kg")
        story.received("birch", birch_number, "B-RM-0412", api_lot, made_on, kg_received, "kg")
    for (
        number,
        material,
        made_on,
        kg_made,
        birch_number,
        birch_material,
        kg_received,
    ) in _EXCIPIENT_LOTS:
        # The deviated lot is on hold at Dogwood: what was left of it is quarantined.
        status = BatchStatus.QUARANTINE if number == "DW-M-50402" else BatchStatus.RELEASED
        lot = story.lot("dogwood", number, material, made_on, kg_made, "kg", status)
        story.received("birch", birch_number, birch_material, lot, made_on, kg_received, "kg")
    # Oakridge supplies its own drug substance to Birch (free-issue material).
    oakridge_api = story.lot("oakridge", "OKA-1187", "OK-220-DS", date(2025, 2, 3), 40.0, "kg")
    story.received("birch", "RM-25-0164", "B-RM-0588", oakridge_api, date(2025, 2, 3), 12.0, "kg")


def _tablets(story: _Story) -> None:
    for number, made_on, api, cellulose, stearate, _, _ in _NW_TABLETS:
        # The out-of-specification batch is held at Birch pending investigation.
        status = BatchStatus.QUARANTINE if number == "BT-25-055" else BatchStatus.RELEASED
        batch = story.lot(
            "birch",
            number,
            "B-FG-2050",
            made_on,
            _TABLETS_PER_BATCH,
            "tablets",
            status,
            _DAYS_TO_RELEASE.get(number),
            ValidationStage.PPQ if number in PPQ_LOTS else ValidationStage.COMMERCIAL,
        )
        story.consumed(
            batch,
            (
                (_batch("birch", api), 12.0, "kg"),
                (_batch("birch", cellulose), 38.4, "kg"),
                (_batch("birch", stearate), 0.96, "kg"),
            ),
        )
    # Oakridge's batches: another cellulose lot, but the same stearate lot as Northwind's.
    for number, made_on in (("BT-25-030", date(2025, 5, 19)), ("BT-25-044", date(2025, 8, 4))):
        batch = story.lot(
            "birch",
            number,
            "B-FG-3220",
            made_on,
            400_000.0,
            "tablets",
            released_after_days=_DAYS_TO_RELEASE[number],
        )
        story.consumed(
            batch,
            (
                (_batch("birch", "RM-25-0164"), 4.0, "kg"),
                (_batch("birch", "RM-25-0057"), 46.0, "kg"),
                (_batch("birch", "RM-25-0233"), 1.2, "kg"),
            ),
        )


def _packing(story: _Story) -> None:
    made_on = {number: made for number, made, *_ in _NW_TABLETS}
    for birch_number, cedar_number, packs in _PACKING:
        # Bulk reaches Cedar about three weeks after compression; packing follows.
        arrived = date.fromordinal(made_on[birch_number].toordinal() + 21)
        received = story.received(
            "cedar",
            cedar_number,
            "C-IN-5010",
            _batch("birch", birch_number),
            made_on[birch_number],
            _TABLETS_PER_BATCH,
            "tablets",
        )
        for number, material, bottles, distributor in packs:
            packed_on = date.fromordinal(arrived.toordinal() + 7)
            count = 30 if material == BOTTLE_OF_30_GTIN else 90
            packed = story.lot(
                "cedar",
                number,
                material,
                packed_on,
                float(bottles),
                "bottles",
                released_after_days=_PACKED_DAYS_TO_RELEASE,
            )
            story.consumed(packed, ((received, float(bottles * count), "tablets"),))
            # Shipped the day after release, every bottle to one distributor.
            shipped_on = date.fromordinal(packed_on.toordinal() + _PACKED_DAYS_TO_RELEASE + 1)
            story.shipped(packed, distributor, shipped_on, float(bottles), "bottles")


def _quality_events(story: _Story) -> None:
    """Elm's release testing of Birch's Northwind batches, and the deviations."""
    for index, (number, made_on, _, _, _, assay, dissolution) in enumerate(_NW_TABLETS):
        tested_on = date.fromordinal(made_on.toordinal() + 6)
        batch = _batch("birch", number)
        story.shipped(batch, "elm")  # release-testing samples
        assay_verdict = Verdict.PASS if 95.0 <= assay <= 105.0 else Verdict.OOS
        tests = (
            ("assay", "HPLC-UV, in-house method EL-231", assay, 95.0, 105.0, assay_verdict),
            ("dissolution", "USP <711> apparatus 2, 50 rpm, 30 min", dissolution, 80.0, None,
             Verdict.PASS),
        )  # fmt: skip
        for offset, (test, method, value, low, high, verdict) in enumerate(tests):
            result_id = f"ELM-25-{1010 + 10 * index + offset:04d}"
            story.records.append(
                TestResult(
                    lab="elm",
                    result_id=result_id,
                    batch_id=batch,
                    test=test,
                    method=method,
                    value=value,
                    unit="%",
                    spec_low=low,
                    spec_high=high,
                    verdict=verdict,
                    tested_on=tested_on,
                    provenance=story.at(f"/results/elm/{result_id}"),
                )
            )
    deviations = (
        ("dogwood", "DEV-DW-25-031",
         "Burkholderia cepacia complex found in retained sample of MCC lot DW-M-50402",
         DeviationClass.MAJOR, DeviationStatus.OPEN, date(2025, 9, 22), None,
         (CONTAMINATED_EXCIPIENT_LOT_ID,)),
        ("birch", "DEV-BIR-25-0064", "Hopper low-level alarm during compression",
         DeviationClass.MINOR, DeviationStatus.CLOSED, date(2025, 4, 29), date(2025, 5, 13),
         (_batch("birch", "BT-25-026"),)),
        ("birch", "DEV-BIR-25-0117", "Assay OOS on BT-25-055: 94.6 % against 95.0-105.0 %",
         DeviationClass.MAJOR, DeviationStatus.OPEN, date(2025, 10, 29), None, (OOS_BATCH_ID,)),
    )  # fmt: skip
    for org, deviation_id, title, classification, status, opened, closed, batches in deviations:
        story.records.append(
            Deviation(
                org=org,
                deviation_id=deviation_id,
                title=title,
                classification=classification,
                status=status,
                opened_on=opened,
                closed_on=closed,
                batch_ids=batches,
                provenance=story.at(f"/deviations/{org}/{deviation_id}"),
            )
        )


# Northwind's specifications of the tablet: assay, and dissolution tightened from Q 80 %
# to Q 85 % in August 2025 (Elm kept reporting the old limit: a finding to see).
_SPECIFICATIONS = (
    ("assay", "1", 95.0, 105.0, date(2024, 1, 1), None),
    ("dissolution", "1", 80.0, None, date(2024, 1, 1), date(2025, 7, 31)),
    ("dissolution", "2", 85.0, None, date(2025, 8, 1), None),
)
_TABLET_SPECS = tuple(
    make_id(NodeKind.SPECIFICATION, "northwind", "NW-TAB-101", test, version)
    for test, version, *_ in _SPECIFICATIONS
)


def _lifecycle(story: _Story) -> None:
    """The partnership around the lots: Northwind's specifications, its transfer of the
    tablet to Birch (three PPQ lots, the PPQ report late), an audit of Birch with an
    overdue CAPA, Birch's change implemented without Northwind's approval, and the
    agencies' inspections of Alder (FDA, observations) and Birch (MHRA)."""
    for test, version, low, high, start, end in _SPECIFICATIONS:
        story.records.append(
            Specification(
                sponsor="northwind",
                product_code="NW-TAB-101",
                test=test,
                version=version,
                spec_low=low,
                spec_high=high,
                unit="%",
                effective_from=start,
                effective_to=end,
                provenance=story.at(f"/specifications/NW-TAB-101/{test}/v{version}"),
            )
        )
    transfer = {"sponsor": "northwind", "vendor": "birch", "transfer_id": "TT-NW-BIR-01"}
    story.records.append(
        TechTransfer(
            **transfer,
            title="Zelvoxin 50 mg tablets: transfer of compression and coating to Cork",
            product_id=TABLET_PRODUCT_ID,
            site_code=_SITES["birch"],
            phase=TransferPhase.VERIFICATION,
            started_on=date(2024, 5, 6),
            target_on=date(2025, 6, 30),
            ppq_protocol_approved_on=date(2024, 12, 2),
            ppq_lots_planned=3,
            ppq_batch_ids=tuple(_batch("birch", number) for number in PPQ_LOTS),
            provenance=story.at("/transfers/TT-NW-BIR-01"),
        )
    )
    # milestone, name, planned, done, owner. The PPQ report is late.
    milestones = (
        ("M1", "Transfer plan and risk assessment approved", date(2024, 6, 14),
         date(2024, 6, 12), "northwind"),
        ("M2", "Analytical method transfer to Elm complete", date(2024, 9, 30),
         date(2024, 10, 4), "birch"),
        ("M3", "Engineering batch made", date(2024, 11, 15), date(2024, 11, 13), "birch"),
        ("M4", "PPQ protocol approved", date(2024, 12, 6), date(2024, 12, 2), "northwind"),
        ("M5", "PPQ batches made and released", date(2025, 4, 30), date(2025, 4, 7), "birch"),
        ("M6", "PPQ report approved", date(2025, 6, 15), None, "birch"),
    )  # fmt: skip
    for milestone_id, name, planned, done, owner in milestones:
        story.records.append(
            Milestone(
                **transfer,
                milestone_id=milestone_id,
                name=name,
                planned_on=planned,
                done_on=done,
                status=MilestoneStatus.DONE if done else MilestoneStatus.IN_PROGRESS,
                owner_org=owner,
                provenance=story.at(f"/transfers/TT-NW-BIR-01/milestones/{milestone_id}"),
            )
        )
    documents = (
        ("DOC-SPEC-101", "Zelvoxin 50 mg tablets specification", DocumentKind.SPECIFICATION,
         "4.0", "sha256:9f2c41e0b7d3a5c8e1f6042b9d7a3c5e8f1b2d4a6c8e0f2b4d6a8c0e2f4b6d8a"),
        ("DOC-PD-101", "Process description, compression and coating",
         DocumentKind.PROCESS_DESCRIPTION, "2.1",
         "sha256:1a3c5e7092b4d6f8a0c2e4f6b8d0a2c4e6f8b0d2a4c6e8f0b2d4a6c8e0f2a4c6"),
        ("DOC-AM-231", "Assay by HPLC-UV, method EL-231", DocumentKind.ANALYTICAL_METHOD, "3.0",
         "sha256:5b7d9f1a3c5e7b9d1f3a5c7e9b1d3f5a7c9e1b3d5f7a9c1e3b5d7f9a1c3e5b7d"),
        ("DOC-MBR-101", "Master batch record template", DocumentKind.BATCH_RECORD_TEMPLATE,
         "1.2", "sha256:c4e6a8b0d2f4c6e8a0b2d4f6c8e0a2b4d6f8c0e2a4b6d8f0c2e4a6b8d0f2c4e6"),
    )  # fmt: skip
    for document_id, title, kind, version, checksum in documents:
        story.records.append(
            TransferDocument(
                **transfer,
                document_id=document_id,
                title=title,
                kind=kind,
                version=version,
                checksum=checksum,
                reference=f"northwind-dms://{document_id}",
                sent_on=date(2024, 6, 20),
                provenance=story.at(f"/transfers/TT-NW-BIR-01/documents/{document_id}"),
            )
        )
    risks = (
        ("R1", "Tablet hardness differs on Birch's press (different tooling)", RiskLevel.HIGH,
         RiskLevel.MEDIUM, "Engineering batch and hardness profile before PPQ",
         RiskStatus.MITIGATED),
        ("R2", "Assay method not robust on Elm's HPLC columns", RiskLevel.MEDIUM, RiskLevel.LOW,
         "Method transfer protocol with comparative testing", RiskStatus.CLOSED),
        ("R3", "Single qualified source of magnesium stearate", RiskLevel.MEDIUM,
         RiskLevel.MEDIUM, "Qualify a second supplier in 2026", RiskStatus.OPEN),
    )  # fmt: skip
    for risk_id, description, severity, likelihood, mitigation, status in risks:
        story.records.append(
            TransferRisk(
                **transfer,
                risk_id=risk_id,
                description=description,
                severity=severity,
                likelihood=likelihood,
                mitigation=mitigation,
                status=status,
                provenance=story.at(f"/transfers/TT-NW-BIR-01/risks/{risk_id}"),
            )
        )
    story.records.append(
        ChangeControl(
            vendor="birch",
            sponsor="northwind",
            change_id="CC-BIR-25-014",
            title="Compression tooling replaced by a second supplier's punches and dies",
            kind=ChangeKind.EQUIPMENT,
            classification=ChangeClass.MAJOR,
            site_code=_SITES["birch"],
            product_id=TABLET_PRODUCT_ID,
            opened_on=date(2025, 7, 21),
            implemented_on=date(2025, 8, 18),
            status=ChangeStatus.IMPLEMENTED,
            provenance=story.at("/changes/birch/CC-BIR-25-014"),
        )
    )
    audit = {"auditor": "northwind", "vendor": "birch", "audit_id": "AUD-NW-25-007"}
    story.records.append(
        Audit(
            **audit,
            site_code=_SITES["birch"],
            audit_type="routine GMP",
            started_on=date(2025, 3, 18),
            ended_on=date(2025, 3, 20),
            outcome=AuditOutcome.ACCEPTABLE_WITH_CONDITIONS,
            provenance=story.at("/audits/AUD-NW-25-007"),
        )
    )
    findings = (
        ("F1", Criticality.MAJOR, "Cleaning validation of the compression line incomplete",
         "CAPA-BIR-25-031", date(2025, 6, 30), CapaStatus.OPEN, None),
        ("F2", Criticality.MINOR, "Two logbook entries corrected without a reason",
         "CAPA-BIR-25-032", date(2025, 5, 31), CapaStatus.CLOSED, date(2025, 5, 12)),
    )  # fmt: skip
    for finding_id, criticality, description, capa, due, capa_status, closed in findings:
        story.records.append(
            AuditFinding(
                **audit,
                finding_id=finding_id,
                criticality=criticality,
                description=description,
                capa_id=capa,
                capa_due_on=due,
                capa_status=capa_status,
                capa_closed_on=closed,
                provenance=story.at(f"/audits/AUD-NW-25-007/findings/{finding_id}"),
            )
        )
    inspections = (
        ("alder", Agency.FDA, date(2025, 2, 10), date(2025, 2, 14), InspectionOutcome.VAI, 3,
         "FEI 3004567891, Form 483"),
        ("birch", Agency.MHRA, date(2025, 9, 8), date(2025, 9, 11),
         InspectionOutcome.GMP_COMPLIANT, 4, "MHRA GMP inspection, 2 major deficiencies"),
    )  # fmt: skip
    for org, agency, start, end, outcome, observations, reference in inspections:
        story.records.append(
            Inspection(
                org=org,
                site_code=_SITES[org],
                agency=agency,
                started_on=start,
                ended_on=end,
                outcome=outcome,
                observations=observations,
                reference=reference,
                provenance=story.at(f"/inspections/{org}/{agency.value}/{start.isoformat()}"),
            )
        )
