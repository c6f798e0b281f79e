"""The generated network: deterministic, the size asked for, and shaped like a supply chain."""

from __future__ import annotations

from collections import Counter
from itertools import islice

from graph.ids import NodeKind, make_id
from graph.lifecycle import Audit, ChangeControl, Inspection, Milestone, TechTransfer
from graph.lineage import Direction
from graph.loading import load
from graph.model import Batch, Edge, EdgeKind, Material, Qualification, QualityAgreement
from graph.store import GraphStore
from hub.demo.generator import Tier, generate_network, sample_batch_ids
from tests.graph.builders import unaccepted_claims


def fingerprint(batches: int, seed: int, first: int = 3_000) -> list[str]:
    return [record.model_dump_json() for record in islice(generate_network(batches, seed), first)]


def test_the_same_seed_gives_the_same_network_and_another_seed_another() -> None:
    assert fingerprint(5_000, 3) == fingerprint(5_000, 3)
    assert fingerprint(5_000, 3) != fingerprint(5_000, 4)


def test_it_makes_exactly_the_batches_asked_for_with_realistic_fan_in() -> None:
    records = list(generate_network(4_000, 11))
    batches = [record for record in records if isinstance(record, Batch)]
    inputs_per_output = Counter(
        record.source
        for record in records
        if isinstance(record, Edge) and record.kind is EdgeKind.CONSUMED
    )
    tablet_ids = set(sample_batch_ids(4_000, 11, Tier.DRUG_PRODUCT, 50))
    excipient_uses = Counter(
        record.target
        for record in records
        if isinstance(record, Edge)
        and record.kind is EdgeKind.CONSUMED
        and "/XR-" in record.target  # excipient lots as received at a CDMO
    )

    assert len(batches) == 4_000
    assert len({batch.id for batch in batches}) == 4_000, "batch numbers are unique per maker"
    assert tablet_ids and all(3 <= inputs_per_output[t] <= 20 for t in tablet_ids)
    assert max(excipient_uses.values()) >= 50, "an excipient lot feeds many batches"


def test_makers_ship_what_is_received_and_tested_and_sponsors_qualify_their_vendors() -> None:
    """Every claim across organizations is accepted by a shipment (``graph.trust``), and
    each vendor is qualified by exactly the sponsors that have an agreement with it."""
    records = list(generate_network(1_000, 13))
    unshipped = [r for r in records if not (isinstance(r, Edge) and r.kind is EdgeKind.SHIPPED_TO)]
    parties = {(a.sponsor, a.vendor) for a in records if isinstance(a, QualityAgreement)}

    assert unaccepted_claims(records) == []
    # Not vacuous: without the shipments, the receipts and the labs' tests are claims.
    assert {kind for _, kind, _ in unaccepted_claims(unshipped)} == {
        EdgeKind.SAME_LOT,
        EdgeKind.TESTED,
    }
    assert {(q.qualifier, q.vendor) for q in records if isinstance(q, Qualification)} == parties


async def test_a_finished_lot_goes_back_to_raw_material_across_vendors(store: GraphStore) -> None:
    await load(store, generate_network(3_000, 5))
    finished = sample_batch_ids(3_000, 5, Tier.FINISHED, 3)
    raw = set(sample_batch_ids(3_000, 5, Tier.RAW, 10_000))

    for lot_id in finished:
        lineage = await store.lineage(lot_id, Direction.UPSTREAM, 10)
        assert lineage is not None
        assert max(node.depth for node in lineage.nodes) >= 7
        assert raw & lineage.ids, "the genealogy reaches a supplier's raw-material lot"
        assert len({node_id.split("/")[0] for node_id in lineage.ids}) >= 4, "several makers"


def test_the_lifecycle_around_the_lots_names_real_lots_and_its_own_parties() -> None:
    records = list(generate_network(6_000, 5))
    batches = {record.id: record for record in records if isinstance(record, Batch)}
    product_of_material = {
        record.id: record.product_id for record in records if isinstance(record, Material)
    }
    transfers = [record for record in records if isinstance(record, TechTransfer)]
    assert transfers
    for transfer in transfers:
        # Verified by the receiving CDMO's own tablet lots of the product transferred.
        assert len(transfer.ppq_batch_ids) == 3
        for lot_id in transfer.ppq_batch_ids:
            lot = batches[lot_id]
            assert lot.maker == transfer.vendor
            material = make_id(NodeKind.MATERIAL, lot.maker, lot.material_code or "")
            assert product_of_material[material] == transfer.product_id
    agreements = {
        (record.sponsor, record.vendor)
        for record in records
        if isinstance(record, QualityAgreement)
    }
    # Audits and changes only between a sponsor and its vendors; every vendor inspected.
    assert {(r.auditor, r.vendor) for r in records if isinstance(r, Audit)} == agreements
    assert {(r.sponsor, r.vendor) for r in records if isinstance(r, ChangeControl)} == agreements
    assert {r.org for r in records if isinstance(r, Inspection)} == {v for _, v in agreements}
    late = [r for r in records if isinstance(r, Milestone) and r.done_on is None]
    assert late, "some transfer has a late milestone for readiness to find"
