"""The partnership lifecycle's records, the same on both stores: what each partner reads.

A transfer and its parts are read by the sponsor and the receiving vendor; a change by
the vendor and the sponsor notified; an audit and its findings by the auditor and the
vendor audited; a specification by its sponsor and the parties of the agreement that
names it; an inspection by everyone. Nobody else sees any of it, in look-ups and in
listings alike.
"""

from __future__ import annotations

from datetime import date

import pytest
from pydantic import ValidationError

from graph.ids import NodeKind, make_id
from graph.lifecycle import (
    Agency,
    Audit,
    AuditFinding,
    ChangeControl,
    Inspection,
    InspectionOutcome,
    Milestone,
    Specification,
    TechTransfer,
    TransferDocument,
    TransferRisk,
)
from graph.model import EdgeKind, Product, QualityAgreement, ValidationStage
from graph.store import GraphStore
from graph.visibility import EVERYTHING, Visibility
from tests.graph.builders import PROVENANCE, batch, lot

NORTHWIND, OAKRIDGE, BIRCH, ALDER = map(
    Visibility.for_org, ("northwind", "oakridge", "birch", "alder")
)
TABLET = make_id(NodeKind.PRODUCT, "northwind", "NW-TAB")
P = PROVENANCE


def lifecycle_records() -> list:
    tt = {"sponsor": "northwind", "vendor": "birch", "transfer_id": "TT-1", "provenance": P}
    return [
        Product(sponsor="northwind", code="NW-TAB", name="Tablet", provenance=P),
        Specification(
            sponsor="northwind",
            product_code="NW-TAB",
            test="assay",
            version="2",
            spec_low=95,
            spec_high=105,
            unit="%",
            effective_from=date(2025, 1, 1),
            provenance=P,
        ),
        QualityAgreement(
            sponsor="northwind",
            agreement_id="QA-B",
            version="1",
            vendor="birch",
            product_ids=(TABLET,),
            specification_ids=(
                make_id(NodeKind.SPECIFICATION, "northwind", "NW-TAB", "assay", "2"),
            ),
            provenance=P,
        ),
        batch("birch", "PPQ-1", product_id=TABLET, validation_stage=ValidationStage.PPQ),
        TechTransfer(
            **tt,
            product_id=TABLET,
            site_code="IE1",
            phase="VERIFICATION",
            started_on=date(2025, 2, 1),
            ppq_lots_planned=3,
            ppq_batch_ids=(lot("birch", "PPQ-1"),),
        ),
        Milestone(**tt, milestone_id="M1", name="Process fit", planned_on=date(2025, 4, 1)),
        TransferDocument(**tt, document_id="D1", version="3", checksum="sha256:ab"),
        TransferRisk(**tt, risk_id="R1", severity="HIGH", likelihood="LOW", status="OPEN"),
        ChangeControl(
            vendor="birch",
            sponsor="northwind",
            change_id="CC-7",
            kind="EQUIPMENT",
            classification="MAJOR",
            site_code="IE1",
            product_id=TABLET,
            opened_on=date(2025, 5, 1),
            implemented_on=date(2025, 6, 1),
            provenance=P,
        ),
        Audit(auditor="northwind", vendor="birch", audit_id="A-25", site_code="IE1", provenance=P),
        AuditFinding(
            auditor="northwind",
            vendor="birch",
            audit_id="A-25",
            finding_id="F1",
            criticality="CRITICAL",
            capa_due_on=date(2025, 8, 1),
            provenance=P,
        ),
        Inspection(
            org="alder",
            site_code="HYD",
            agency=Agency.FDA,
            started_on=date(2025, 3, 3),
            outcome=InspectionOutcome.VAI,
            observations=3,
            provenance=P,
        ),
    ]


SPEC = make_id(NodeKind.SPECIFICATION, "northwind", "NW-TAB", "assay", "2")
TRANSFER = make_id(NodeKind.TECH_TRANSFER, "northwind", "birch", "TT-1")
PARTS = [
    make_id(NodeKind.MILESTONE, "northwind", "birch", "TT-1", "M1"),
    make_id(NodeKind.TRANSFER_DOCUMENT, "northwind", "birch", "TT-1", "D1"),
    make_id(NodeKind.TRANSFER_RISK, "northwind", "birch", "TT-1", "R1"),
]
CHANGE = make_id(NodeKind.CHANGE_CONTROL, "birch", "northwind", "CC-7")
AUDIT = make_id(NodeKind.AUDIT, "northwind", "birch", "A-25")
FINDING = make_id(NodeKind.AUDIT_FINDING, "northwind", "birch", "A-25", "F1")
INSPECTION = make_id(NodeKind.INSPECTION, "alder", "HYD", "FDA", "2025-03-03")
LIFECYCLE = [SPEC, TRANSFER, *PARTS, CHANGE, AUDIT, FINDING, INSPECTION]


async def test_records_come_back_as_written(store: GraphStore) -> None:
    written = lifecycle_records()
    await store.upsert(written)
    found = await store.get_nodes(LIFECYCLE)
    assert set(found) == set(LIFECYCLE)
    by_id = {record.id: record for record in written}
    for node_id in LIFECYCLE:
        assert found[node_id].record == by_id[node_id].model_copy(update={"provenance": None})
        assert found[node_id].sources == (P.ref,)
    stage = (await store.get_nodes([lot("birch", "PPQ-1")]))[lot("birch", "PPQ-1")]
    assert stage.record.validation_stage is ValidationStage.PPQ  # type: ignore[attr-defined]


async def test_links_say_what_belongs_to_what(store: GraphStore) -> None:
    await store.upsert(lifecycle_records())
    out = set(
        await store.out_edges(
            [TRANSFER, *PARTS, CHANGE, FINDING, AUDIT, INSPECTION, SPEC],
            list(EdgeKind),
        )
    )
    site = make_id(NodeKind.SITE, "birch", "IE1")
    assert {
        (TRANSFER, EdgeKind.TRANSFERS, TABLET),
        (TRANSFER, EdgeKind.TRANSFERRED_TO, site),
        (TRANSFER, EdgeKind.VERIFIED_BY, lot("birch", "PPQ-1")),
        *((part, EdgeKind.WITHIN, TRANSFER) for part in PARTS),
        (CHANGE, EdgeKind.CONCERNS, site),
        (CHANGE, EdgeKind.CONCERNS, TABLET),
        (FINDING, EdgeKind.WITHIN, AUDIT),
        (AUDIT, EdgeKind.CONCERNS, site),
        (INSPECTION, EdgeKind.CONCERNS, make_id(NodeKind.SITE, "alder", "HYD")),
        (SPEC, EdgeKind.SPECIFIES, TABLET),
    } <= out


@pytest.mark.parametrize(
    ("visibility", "readable"),
    [
        (EVERYTHING, set(LIFECYCLE)),
        (NORTHWIND, set(LIFECYCLE)),
        # The receiving vendor, notifying vendor, audited vendor, bound by the agreement.
        (BIRCH, set(LIFECYCLE)),
        # Another sponsor, and a vendor with no part in it: the public inspection only.
        (OAKRIDGE, {INSPECTION}),
        (ALDER, {INSPECTION}),
    ],
)
async def test_each_partner_reads_its_part(
    store: GraphStore, visibility: Visibility, readable: set[str]
) -> None:
    await store.upsert(lifecycle_records())
    assert set(await store.get_nodes(LIFECYCLE, visibility=visibility)) == readable
    listed = set()
    for kind in (
        NodeKind.SPECIFICATION,
        NodeKind.TECH_TRANSFER,
        NodeKind.MILESTONE,
        NodeKind.TRANSFER_DOCUMENT,
        NodeKind.TRANSFER_RISK,
        NodeKind.CHANGE_CONTROL,
        NodeKind.AUDIT,
        NodeKind.AUDIT_FINDING,
        NodeKind.INSPECTION,
    ):
        page = await store.list_nodes(kind, (), 50, None, visibility=visibility)
        listed |= {node.id for node in page.nodes}
    assert listed == readable


async def test_a_specification_reaches_a_vendor_only_through_an_agreement_naming_it(
    store: GraphStore,
) -> None:
    records = [record for record in lifecycle_records() if not isinstance(record, QualityAgreement)]
    await store.upsert(records)
    assert SPEC not in await store.get_nodes([SPEC], visibility=BIRCH)
    # The agreement arrives later: the specification it names is shared from then on.
    await store.upsert(
        [record for record in lifecycle_records() if isinstance(record, QualityAgreement)]
    )
    assert SPEC in await store.get_nodes([SPEC], visibility=BIRCH)


@pytest.mark.parametrize(
    ("make", "field"),
    [
        (
            lambda: Specification(
                sponsor="n", product_code="T", test="assay", version="1", spec_low=5, spec_high=1
            ),
            "spec_low",
        ),
        (
            lambda: Specification(
                sponsor="n",
                product_code="T",
                test="assay",
                version="1",
                effective_from=date(2025, 2, 1),
                effective_to=date(2025, 1, 1),
            ),
            "effective_to",
        ),
        (
            lambda: ChangeControl(
                vendor="b",
                sponsor="n",
                change_id="C",
                opened_on=date(2025, 2, 1),
                implemented_on=date(2025, 1, 1),
            ),
            "implemented_on",
        ),
        (
            lambda: Inspection(
                org="a",
                site_code="S",
                agency="FDA",
                started_on=date(2025, 2, 1),
                ended_on=date(2025, 1, 30),
            ),
            "ended_on",
        ),
        (
            lambda: TechTransfer(
                sponsor="n",
                vendor="b",
                transfer_id="T",
                started_on=date(2025, 2, 1),
                completed_on=date(2024, 1, 1),
            ),
            "completed_on",
        ),
    ],
)
def test_days_out_of_order_and_crossed_limits_are_refused_naming_the_field(
    make: object, field: str
) -> None:
    with pytest.raises(ValidationError, match=field):
        make()  # type: ignore[operator]


@pytest.mark.parametrize("findings_first", [True, False])
async def test_findings_pushed_apart_from_their_audit_say_nothing_of_what_it_audited(
    store: GraphStore, findings_first: bool
) -> None:
    audit, finding = (
        record for record in lifecycle_records() if isinstance(record, Audit | AuditFinding)
    )
    for push in ([finding], [audit]) if findings_first else ([audit], [finding]):
        await store.upsert(push)
    concerns = await store.out_edges([AUDIT], [EdgeKind.CONCERNS])
    assert concerns == [(AUDIT, EdgeKind.CONCERNS, make_id(NodeKind.SITE, "birch", "IE1"))]
    assert (FINDING, EdgeKind.WITHIN, AUDIT) in await store.out_edges([FINDING], [EdgeKind.WITHIN])
