"""canonical.jsonl carries the partnership lifecycle by kind name, like the lot kinds."""

from __future__ import annotations

import io
import json

from connectors.base import ParseContext
from connectors.canonical import CanonicalJsonLines
from graph.intake import RecordRejection
from graph.model import NodeRecord
from tests.graph.test_lifecycle_contract import lifecycle_records


def line_of(record: NodeRecord) -> str:
    """What ``partnerhub generate --jsonl`` writes for a node."""
    fields = record.model_dump(mode="json", exclude_none=True)
    return json.dumps({"node": record.KIND.value, **fields})


def parse(lines: list[str]) -> list[object]:
    payload = io.BytesIO("\n".join(lines).encode())
    return list(CanonicalJsonLines().parse(payload, ParseContext("ing", "canonical.jsonl", "hub")))


def test_one_record_of_each_lifecycle_kind_comes_back_as_written() -> None:
    records = [r for r in lifecycle_records() if isinstance(r, NodeRecord)]
    kinds = {r.KIND.value for r in records}
    assert {
        "Specification",
        "TechTransfer",
        "Milestone",
        "TransferDocument",
        "TransferRisk",
        "ChangeControl",
        "Audit",
        "AuditFinding",
        "Inspection",
    } <= kinds

    back = parse([line_of(record) for record in records])

    assert [type(r) for r in back] == [type(r) for r in records]
    for sent, got in zip(records, back, strict=True):
        assert isinstance(got, NodeRecord)
        assert got.id == sent.id
        assert got.model_dump(exclude={"provenance"}) == sent.model_dump(exclude={"provenance"})
        assert got.provenance is not None and got.provenance.ingestion_id == "ing"


def test_a_bad_lifecycle_line_is_rejected_naming_the_field_and_the_others_land() -> None:
    lines = [
        '{"node": "Inspection", "org": "birch", "site_code": "CRK-1", "agency": "FDA",'
        ' "started_on": "2025-03-10", "ended_on": "2025-03-01"}',
        '{"node": "Audit", "auditor": "northwind", "vendor": "birch", "audit_id": "A-1"}',
        '{"node": "Specification", "sponsor": "northwind", "product_code": "NW-TAB",'
        ' "test": "pH", "version": "1", "spec_low": 8, "spec_high": 6.5}',
        '{"node": "TechTransfer", "sponsor": "northwind", "transfer_id": "TT-9"}',
        '{"node": "Inspection", "org": "birch", "site_code": "CRK-1", "agency": "PMDA",'
        ' "started_on": "2025-03-10"}',
    ]

    outcomes = parse(lines)

    rejections = [o for o in outcomes if isinstance(o, RecordRejection)]
    assert [(r.location, r.field) for r in rejections] == [
        ("line 1", "ended_on"),
        ("line 3", "spec_low"),
        ("line 4", "vendor"),
        ("line 5", "agency"),
    ]
    assert "before started_on" in rejections[0].message
    landed = [o for o in outcomes if isinstance(o, NodeRecord)]
    assert [r.KIND.value for r in landed] == ["Audit"]
