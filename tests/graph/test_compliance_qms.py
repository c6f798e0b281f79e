"""Agreements and qualifications from a sponsor's QMS export, through ``qms.csv`` and the
shipped profile, into each store: the verdicts follow what the export says.

``qms_export.csv`` is Northwind's export of its agreements (with Alder, Birch, Cedar)
and of two supplier qualifications; ``qms_qualifications.csv`` is a later one: a third
version of the Birch agreement from 1 August 2025, open-ended; a terminated agreement
with Dogwood; Birch's site disqualified; Cedar qualified as a whole (no site).
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

from connectors.csv.connector import QmsCsvConnector
from connectors.csv.profile import example_profile
from graph.ids import NodeKind, make_id
from graph.model import Product, QualificationStatus, Record
from graph.quality.compliance import ComplianceScope, GapReason
from graph.store import GraphStore
from graph.visibility import Visibility
from tests.connectors.support import parse_bytes
from tests.graph.builders import PROVENANCE, batch, lot

FIXTURES = Path(__file__).parents[1] / "connectors" / "fixtures"
TABLETS = make_id(NodeKind.PRODUCT, "northwind", "NW-TAB-101")
API = make_id(NodeKind.PRODUCT, "northwind", "NW-API-101")


def qms_records() -> list[Record]:
    connector = QmsCsvConnector.for_profile(example_profile("qms_export"))
    found: list[Record] = []
    for name in ("qms_export.csv", "qms_qualifications.csv"):
        parsed = parse_bytes(
            connector, (FIXTURES / name).read_bytes(), org="northwind", filename=name
        )
        assert parsed.rejections == [], name
        found += parsed.records
    return found


LOTS = [
    batch("alder", "A-2302", site_code="HYD-1", product_id=API, manufactured_on=date(2025, 4, 14)),
    batch("birch", "BT-25-041", site_code="CRK-1", product_id=TABLETS,
          manufactured_on=date(2025, 7, 14)),
    batch("birch", "BT-25-060", site_code="CRK-1", product_id=TABLETS,
          manufactured_on=date(2025, 8, 1)),
    batch("cedar", "P25-1214", site_code="NJ-2", product_id=TABLETS,
          manufactured_on=date(2025, 8, 11)),
    batch("dogwood", "DW-T-1", site_code="LU-1", product_id=TABLETS,
          manufactured_on=date(2025, 3, 1)),
]  # fmt: skip


async def test_the_exports_agreements_and_qualifications_decide_the_verdicts(
    store: GraphStore,
) -> None:
    products = [
        Product(sponsor="northwind", code=code, provenance=PROVENANCE)
        for code in ("NW-TAB-101", "NW-API-101")
    ]
    await store.upsert([*products, *qms_records()])
    await store.upsert(LOTS)

    verdicts = await store.compliance_of([lot.id for lot in LOTS])
    reasons = {
        batch_id: [(gap.reason, gap.agreement_id or gap.qualification_id) for gap in gaps]
        for batch_id, gaps in verdicts.items()
    }
    birch_site = make_id(NodeKind.QUALIFICATION, "northwind", "birch", "CRK-1")
    assert reasons == {
        lot("alder", "A-2302"): [],
        # v2 ended on 30 June, v3 starts on 1 August; the site is disqualified since.
        lot("birch", "BT-25-041"): [
            (GapReason.AGREEMENT_EXPIRED, make_id(NodeKind.QUALITY_AGREEMENT, "northwind", "QA-NW-BIR", "2")),
            (GapReason.AGREEMENT_NOT_YET_EFFECTIVE,
             make_id(NodeKind.QUALITY_AGREEMENT, "northwind", "QA-NW-BIR", "3")),
            (GapReason.DISQUALIFIED, birch_site),
        ],
        lot("birch", "BT-25-060"): [(GapReason.DISQUALIFIED, birch_site)],
        lot("cedar", "P25-1214"): [],  # packaging agreement, qualified as a whole
        lot("dogwood", "DW-T-1"): [
            (GapReason.AGREEMENT_NOT_IN_FORCE, make_id(NodeKind.QUALITY_AGREEMENT, "northwind", "QA-NW-DOG", "1")),
            (GapReason.QUALIFICATION_CONDITIONAL, make_id(NodeKind.QUALIFICATION, "northwind", "dogwood", "LU-1")),
        ],
    }  # fmt: skip
    page = await store.compliance_gaps(ComplianceScope(product=TABLETS), 50)
    assert [found.batch_id for found in page.lots] == [
        lot("birch", "BT-25-041"),
        lot("birch", "BT-25-060"),
        lot("dogwood", "DW-T-1"),
    ]
    (disqualified,) = [gap for gap in verdicts[lot("birch", "BT-25-060")]]
    assert disqualified.message == (
        "the qualification of birch site CRK-1 is DISQUALIFIED (last audit 2025-09-03)"
    )


async def test_the_sponsor_reads_its_qualifications_and_each_vendor_its_own(
    store: GraphStore,
) -> None:
    await store.upsert(qms_records())
    ids = {
        vendor: make_id(NodeKind.QUALIFICATION, "northwind", vendor, *site)
        for vendor, site in (("alder", ["HYD-1"]), ("birch", ["CRK-1"]), ("cedar", []),
                             ("dogwood", ["LU-1"]))
    }  # fmt: skip

    operator = await store.get_nodes(list(ids.values()))
    northwind = await store.get_nodes(
        list(ids.values()), visibility=Visibility.for_org("northwind")
    )
    birch = await store.get_nodes(list(ids.values()), visibility=Visibility.for_org("birch"))

    cedar = operator[ids["cedar"]].record
    assert (cedar.site_code, cedar.status, cedar.valid_until, cedar.last_audit_on) == (  # type: ignore[attr-defined]
        None,
        QualificationStatus.APPROVED,
        date(2027, 1, 31),
        date(2025, 1, 22),
    )
    assert set(northwind) == set(ids.values()), "the export's qualifications are Northwind's own"
    assert set(birch) == {ids["birch"]}, "a vendor reads its own, not its peers'"
