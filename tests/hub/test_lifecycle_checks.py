"""Ingest-time checks of lifecycle records against the graph, through the real
pipeline: a transfer's PPQ lot of another product, an inspection of an unknown
organization, each a located rejection naming the field; the rest lands."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from connectors.csv.profile import example_profile
from graph.ids import NodeKind, make_id
from graph.model import Batch, Organization, Provenance
from graph.store import GraphStore
from hub.ingest.pipeline import IngestPipeline
from hub.ingest.profiles import with_profile
from hub.records.identifiers import ForConnectors
from hub.records.ledger import IngestionStatus, Received

TABLET = make_id(NodeKind.PRODUCT, "northwind", "NW-TAB")
CAPSULE = make_id(NodeKind.PRODUCT, "northwind", "NW-CAP")
SEEDED = Provenance(ingestion_id="seed", connector="test", location="/")


def received(
    org: str,
    owner_only: bool = True,
    all_or_nothing: bool = False,
    connector: str = "canonical.jsonl",
    options: dict[str, object] | None = None,
) -> Received:
    return Received(
        id=f"ing-{org}",
        connector=connector,
        org=org,
        submitted_by=org,
        filename="lifecycle.jsonl" if connector == "canonical.jsonl" else "export.csv",
        media_type="application/x-ndjson",
        options=dict(options or {}),
        received_at=datetime(2025, 11, 1, tzinfo=UTC),
        size=0,
        sha256="",
        status=IngestionStatus.RECEIVED,
        report=None,
        finished_at=None,
        all_or_nothing=all_or_nothing,
        owner_only=owner_only,
        supersedes=None,
        attempts=0,
        next_attempt_at=None,
    )


def payload(*lines: dict[str, object]) -> bytes:
    return "".join(json.dumps(line) + "\n" for line in lines).encode()


def transfer(transfer_id: str, product: str, *lots: str) -> dict[str, object]:
    return {
        "node": "TechTransfer",
        "sponsor": "northwind",
        "vendor": "birch",
        "transfer_id": transfer_id,
        "product_id": product,
        "ppq_batch_ids": [make_id(NodeKind.BATCH, "birch", lot) for lot in lots],
    }


def inspection(org: str, day: str) -> dict[str, object]:
    return {
        "node": "Inspection",
        "org": org,
        "site_code": "CRK-1",
        "agency": "FDA",
        "started_on": day,
    }


async def seed(store: GraphStore) -> None:
    await store.upsert(
        [
            Organization(org_id="birch", name="Birch Pharma Services", provenance=SEEDED),
            Batch(maker="birch", number="PPQ-1", product_id=TABLET, provenance=SEEDED),
            Batch(maker="birch", number="CAP-9", product_id=CAPSULE, provenance=SEEDED),
        ]
    )


async def test_a_ppq_lot_of_another_product_rejects_the_transfer_naming_the_lot(
    store: GraphStore,
) -> None:
    await seed(store)
    body = payload(
        transfer("TT-1", TABLET, "PPQ-1"),
        transfer("TT-2", TABLET, "PPQ-1", "CAP-9"),
        {
            "node": "Milestone",
            "sponsor": "northwind",
            "vendor": "birch",
            "transfer_id": "TT-2",
            "milestone_id": "M1",
        },
    )

    report = await IngestPipeline(store).apply(received("northwind"), body)

    assert report.status is IngestionStatus.PARTIAL
    assert (report.records, report.applied, report.rejected) == (2, 2, 1)
    (rejection,) = report.rejections
    assert (rejection.location, rejection.field) == ("line 2", "ppq_batch_ids")
    assert "batch:birch/CAP-9 is of product:northwind/NW-CAP" in rejection.message
    good = make_id(NodeKind.TECH_TRANSFER, "northwind", "birch", "TT-1")
    bad = make_id(NodeKind.TECH_TRANSFER, "northwind", "birch", "TT-2")
    found = await store.get_nodes([good, bad])
    assert good in found
    assert bad not in found or not found[bad].sources  # at most the milestone's placeholder


async def test_the_payloads_own_lot_decides_over_the_graph_and_unknown_lots_pass(
    store: GraphStore,
) -> None:
    body = payload(
        {"node": "Batch", "maker": "birch", "number": "PPQ-7", "product_id": CAPSULE},
        transfer("TT-3", TABLET, "PPQ-7"),
        transfer("TT-4", TABLET, "NEVER-SEEN"),
    )

    report = await IngestPipeline(store).apply(received("admin", owner_only=False), body)

    assert [(r.location, r.field) for r in report.rejections] == [("line 2", "ppq_batch_ids")]
    assert report.applied == 2


async def test_an_inspection_of_an_unknown_organization_is_rejected_naming_org(
    store: GraphStore,
) -> None:
    await seed(store)
    body = payload(inspection("birch", "2025-03-10"), inspection("brich", "2025-04-01"))

    report = await IngestPipeline(store).apply(received("admin", owner_only=False), body)

    assert report.status is IngestionStatus.PARTIAL
    (rejection,) = report.rejections
    assert (rejection.location, rejection.field) == ("line 2", "org")
    assert "'brich'" in rejection.message
    kept = make_id(NodeKind.INSPECTION, "birch", "CRK-1", "FDA", "2025-03-10")
    gone = make_id(NodeKind.INSPECTION, "brich", "CRK-1", "FDA", "2025-04-01")
    found = await store.get_nodes([kept, gone])
    assert kept in found and gone not in found


async def test_an_organization_in_the_payload_or_the_registry_is_known(
    store: GraphStore,
) -> None:
    body = payload(
        {"node": "Organization", "org_id": "elm", "name": "Elm Labs"},
        inspection("elm", "2025-05-05"),
        inspection("oak", "2025-05-06"),
    )
    registry = ForConnectors({}, {}, {"3012345678": "oak"})

    async def registered() -> ForConnectors:
        return registry

    report = await IngestPipeline(store, registry=registered).apply(
        received("admin", owner_only=False), body
    )

    assert report.rejections == [] and report.applied == 3


async def test_all_or_nothing_refuses_the_whole_payload_for_a_graph_check(
    store: GraphStore,
) -> None:
    body = payload(
        {"node": "Organization", "org_id": "birch"},
        inspection("nobody", "2025-03-10"),
    )

    report = await IngestPipeline(store).apply(
        received("admin", owner_only=False, all_or_nothing=True), body
    )

    assert report.status is IngestionStatus.REJECTED and report.applied == 0
    assert await store.get_nodes([make_id(NodeKind.ORGANIZATION, "birch")]) == {}


async def test_a_partner_pushing_its_own_inspections_is_known(store: GraphStore) -> None:
    body = payload(inspection("birch", "2025-03-10"), inspection("brich", "2025-04-01"))

    report = await IngestPipeline(store).apply(received("birch"), body)

    assert report.applied == 1
    (rejection,) = report.rejections  # the other is not its own: ownership refuses it
    assert (rejection.location, rejection.field) == ("line 2", "owner")


async def test_a_sponsors_transfer_tracker_through_qms_csv(store: GraphStore) -> None:
    """The shipped profile and sample, pushed by the sponsor: the Cork transfer names
    Birch's lot B-PPQ-02, which the graph says is a capsule lot."""
    await store.upsert(
        [Batch(maker="birch", number="B-PPQ-02", product_id=CAPSULE, provenance=SEEDED)]
    )
    options = with_profile({}, example_profile("qms_tech_transfers"))
    sample = Path(__file__).parents[1] / "connectors" / "fixtures" / "qms_tech_transfers.csv"

    report = await IngestPipeline(store).apply(
        received("northwind", connector="qms.csv", options=options), sample.read_bytes()
    )

    assert report.status is IngestionStatus.PARTIAL and report.applied == 1
    (rejection,) = report.rejections
    assert (rejection.location, rejection.field) == ("line 2", "ppq_batch_ids")
    assert "batch:birch/B-PPQ-02 is of product:northwind/NW-CAP" in rejection.message
    landed = make_id(NodeKind.TECH_TRANSFER, "northwind", "alder", "TT-2024-07")
    assert landed in await store.get_nodes([landed])
