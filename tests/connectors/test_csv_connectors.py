"""Each kind of profile export through its connector: MES batches with inputs, a
receiving log, a QMS export, and LIMS results as JSON lines."""

from __future__ import annotations

import csv
import io
import json
from datetime import date
from pathlib import Path

import pytest

from connectors.base import ParseContext
from connectors.csv.connector import (
    LimsCsvConnector,
    MesCsvConnector,
    ProfileCsvConnector,
    QmsCsvConnector,
)
from connectors.csv.profile import Profile, example_profile, load_profile
from graph.ids import NodeKind, make_id
from graph.model import (
    Activity,
    AgreementStatus,
    Batch,
    BatchStatus,
    Deviation,
    DeviationClass,
    DeviationStatus,
    EdgeKind,
    Material,
    Qualification,
    QualificationStatus,
    QualityAgreement,
    Record,
    TestResult,
    Verdict,
)
from tests.connectors.support import Parsed, parse_bytes

FIXTURES = Path(__file__).parent / "fixtures"


def batch(maker: str, number: str) -> str:
    return make_id(NodeKind.BATCH, maker, number)


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def mes(profile: str = "mes_batches") -> ProfileCsvConnector:
    return MesCsvConnector.for_profile(example_profile(profile))


def without_provenance(records: list[Record]) -> list[dict[str, object]]:
    return [record.model_dump(exclude={"provenance"}) for record in records]


@pytest.fixture(scope="module")
def mes_batches() -> Parsed:
    return parse_bytes(mes(), fixture("mes_batches.csv"), org="birch", filename="batches.csv")


def test_mes_rows_make_batches_of_the_pushing_maker(mes_batches: Parsed) -> None:
    assert mes_batches.rejections == []
    batches = {b.number: b for b in mes_batches.nodes(Batch) if isinstance(b, Batch)}
    assert sorted(batches) == ["BT-25-004", "BT-25-030", "BT-25-041", "BT-25-055"]
    first = batches["BT-25-004"]
    assert first.id == batch("birch", "BT-25-004")
    assert first.material_code == "B-FG-2050"
    assert first.site_code == "CRK-1"
    assert first.product_id == make_id(NodeKind.PRODUCT, "northwind", "NW-TAB-101")
    assert (first.quantity, first.unit) == (240000.0, "tablets")
    assert first.status is BatchStatus.RELEASED
    assert batches["BT-25-055"].status is BatchStatus.QUARANTINE  # "QA Hold"
    assert batches["BT-25-055"].expires_on is None  # empty cell: not known, not an error
    # The customer column decides whose product a batch is.
    assert batches["BT-25-030"].product_id == make_id(NodeKind.PRODUCT, "oakridge", "OK-TAB-220")


def test_mes_dates_are_read_day_first(mes_batches: Parsed) -> None:
    batches = {b.number: b for b in mes_batches.nodes(Batch) if isinstance(b, Batch)}
    assert batches["BT-25-004"].manufactured_on == date(2025, 1, 20)
    assert batches["BT-25-030"].manufactured_on == date(2025, 5, 12)  # 12/05: 12 May
    assert batches["BT-25-030"].expires_on == date(2027, 5, 31)


def test_mes_input_columns_become_consumed_edges_with_quantities(mes_batches: Parsed) -> None:
    consumed = mes_batches.edges(EdgeKind.CONSUMED)
    assert len(consumed) == 11  # three inputs on three rows, two on the Oakridge row
    of_004 = {
        e.target: (e.quantity, e.unit) for e in consumed if e.source == batch("birch", "BT-25-004")
    }
    assert of_004 == {
        batch("birch", "RM-25-0031"): (12.0, "kg"),
        batch("birch", "RM-25-0012"): (38.4, "kg"),
        batch("birch", "RM-25-0009"): (0.96, "kg"),
    }
    assert all(e.provenance and e.provenance.location.startswith("line ") for e in consumed)
    locations = {
        e.provenance.location for e in consumed if e.provenance and e.source.endswith("BT-25-030")
    }
    assert locations == {"line 3"}


def test_mes_rows_also_describe_their_items(mes_batches: Parsed) -> None:
    items = {m.code: m for m in mes_batches.nodes(Material) if isinstance(m, Material)}
    assert items["B-FG-3220"].name == "OK-220 10 mg tablets, bulk"  # quoted comma kept
    assert items["B-FG-3220"].org == "birch"
    assert items["B-FG-3220"].product_id == make_id(NodeKind.PRODUCT, "oakridge", "OK-TAB-220")


def test_a_bom_and_crlf_change_nothing(mes_batches: Parsed) -> None:
    windows = b"\xef\xbb\xbf" + fixture("mes_batches.csv").replace(b"\n", b"\r\n")

    parsed = parse_bytes(mes(), windows, org="birch")

    assert parsed.rejections == []
    assert parsed.records == mes_batches.records  # provenance included: same lines


def test_receiving_rows_tie_received_lots_to_the_suppliers_lots() -> None:
    payload = fixture("receiving_log.csv")
    assert payload.startswith(b"\xef\xbb\xbf") and b"\r\n" in payload  # as Excel writes it

    parsed = parse_bytes(mes("receiving_log"), payload, org="birch")

    assert parsed.rejections == []
    same_lot = {e.source: e.target for e in parsed.edges(EdgeKind.SAME_LOT)}
    assert same_lot == {
        batch("birch", "RM-25-0031"): batch("alder", "A-2207"),
        batch("birch", "RM-25-0012"): batch("dogwood", "DW-M-50311"),
        batch("birch", "RM-25-0140"): batch("dogwood", "DW-M-50402"),
        batch("birch", "RM-25-0233"): batch("dogwood", "DW-S-41020"),
    }
    received = {b.number: b for b in parsed.nodes(Batch) if isinstance(b, Batch)}
    assert len(received) == 5  # the internal lot without a supplier lot lands, unlinked
    assert batch("birch", "RM-25-0290") not in same_lot


def test_receiving_numbers_and_dates_in_a_german_locale() -> None:
    parsed = parse_bytes(mes("receiving_log"), fixture("receiving_log.csv"), org="birch")

    received = {b.number: b for b in parsed.nodes(Batch) if isinstance(b, Batch)}
    assert received["RM-25-0031"].quantity == 25.0  # "25,0"
    assert received["RM-25-0290"].quantity == 1250.5  # "1.250,5"
    assert received["RM-25-0031"].manufactured_on == date(2024, 11, 18)  # "18.11.2024"
    assert received["RM-25-0140"].status is BatchStatus.QUARANTINE  # "Quality Inspection"
    assert received["RM-25-0031"].unit == "kg"  # "KG" through words.unit


DISPATCH_PROFILE = {
    "description": "a dispatch log: one row per delivery of a lot",
    "date_formats": ["%d/%m/%Y"],
    "words": {"organization": {"Cedar Packaging Solutions": "cedar"}},
    "records": [
        {
            "kind": "Batch",
            "fields": {"number": "Lot"},
            "shipped_to": {"to": "Ship To", "on": "Shipped", "quantity": "Qty", "unit": "UoM"},
        }
    ],
}


def test_dispatch_rows_name_who_received_each_lot() -> None:
    text = (
        "Lot,Ship To,Shipped,Qty,UoM\n"
        "BT-25-041,Cedar Packaging Solutions,04/08/2025,240000,tablets\n"
        "BT-25-041,elm,,,\n"  # retained samples to the lab: no date or amount kept
    )
    connector = MesCsvConnector.for_profile(Profile.model_validate(DISPATCH_PROFILE))

    parsed = parse_bytes(connector, text.encode(), org="birch")

    assert parsed.rejections == []
    shipped = {
        e.target: (e.occurred_on, e.quantity, e.unit) for e in parsed.edges(EdgeKind.SHIPPED_TO)
    }
    assert shipped == {
        "org:cedar": (date(2025, 8, 4), 240000.0, "tablets"),
        "org:elm": (None, None, None),
    }
    assert {e.source for e in parsed.edges(EdgeKind.SHIPPED_TO)} == {batch("birch", "BT-25-041")}


def test_a_bad_dispatch_row_is_a_located_rejection_naming_its_column() -> None:
    text = (
        "Lot,Ship To,Shipped,Qty,UoM\n"
        "BT-25-041,Cedar Packaging Solutions,31/02/2025,5,kg\n"
        "BT-25-041,,01/02/2025,5,kg\n"
    )
    connector = MesCsvConnector.for_profile(Profile.model_validate(DISPATCH_PROFILE))

    parsed = parse_bytes(connector, text.encode(), org="birch")

    assert parsed.edges(EdgeKind.SHIPPED_TO) == []
    assert [(r.location, r.field) for r in parsed.rejections] == [
        ("line 2", "Shipped (shipping date)"),
        ("line 3", "Ship To (consignee)"),
    ]
    assert "31/02/2025" in parsed.rejections[0].message


@pytest.fixture(scope="module")
def qms() -> Parsed:
    connector = QmsCsvConnector.for_profile(example_profile("qms_export"))
    return parse_bytes(connector, fixture("qms_export.csv"), org="northwind")


def test_qms_agreements_carry_products_sites_activities_and_dates(qms: Parsed) -> None:
    assert qms.rejections == []
    agreements = {
        a.agreement_id: a for a in qms.nodes(QualityAgreement) if isinstance(a, QualityAgreement)
    }
    assert sorted(agreements) == ["QA-NW-ALD", "QA-NW-BIR", "QA-NW-CED"]
    birch = agreements["QA-NW-BIR"]
    assert birch.id == make_id(NodeKind.QUALITY_AGREEMENT, "northwind", "QA-NW-BIR", "2")
    assert (birch.sponsor, birch.vendor) == ("northwind", "birch")
    assert birch.product_ids == (make_id(NodeKind.PRODUCT, "northwind", "NW-TAB-101"),)
    assert birch.site_ids == (make_id(NodeKind.SITE, "birch", "CRK-1"),)
    assert birch.activities == (Activity.MANUFACTURE, Activity.TESTING, Activity.STORAGE)
    assert (birch.effective_from, birch.effective_to) == (date(2024, 1, 1), date(2025, 6, 30))
    assert birch.status is AgreementStatus.EXPIRED
    assert agreements["QA-NW-CED"].activities == (
        Activity.PACKAGING,
        Activity.STORAGE,
        Activity.DISTRIBUTION,
    )


def test_qms_qualifications_and_deviations_come_from_their_own_rows(qms: Parsed) -> None:
    qualifications = {q.vendor: q for q in qms.nodes(Qualification) if isinstance(q, Qualification)}
    # No qualifier column: the pushing sponsor is the one who qualified (graph.trust).
    assert {q.qualifier for q in qualifications.values()} == {"northwind"}
    assert qualifications["dogwood"].id == make_id(
        NodeKind.QUALIFICATION, "northwind", "dogwood", "LU-1"
    )
    assert qualifications["dogwood"].status is QualificationStatus.CONDITIONAL
    assert qualifications["dogwood"].site_code == "LU-1"
    assert qualifications["dogwood"].valid_until == date(2025, 12, 31)
    assert qualifications["alder"].last_audit_on == date(2024, 9, 12)
    (deviation,) = [d for d in qms.nodes(Deviation) if isinstance(d, Deviation)]
    assert deviation.id == make_id(NodeKind.DEVIATION, "northwind", "DEV-2025-0117")
    assert deviation.classification is DeviationClass.MAJOR
    assert deviation.status is DeviationStatus.OPEN  # "CAPA Pending"
    assert deviation.batch_ids == (batch("dogwood", "DW-M-50402"),)
    assert deviation.provenance is not None and deviation.provenance.location == "line 7"


def test_a_profiles_qualifier_column_names_who_qualified() -> None:
    profile = example_profile("qms_export").model_dump()
    (rule,) = [r for r in profile["records"] if r["kind"] == "Qualification"]
    rule["fields"]["qualifier"] = "Qualified By"
    connector = QmsCsvConnector.for_profile(Profile.model_validate(profile))
    header, *rows = fixture("qms_export.csv").decode().splitlines()
    # Birch's own assessment of its API supplier; Dogwood's row leaves the cell empty.
    text = "\n".join(
        [f"{header},Qualified By"]
        + [f"{row},{'Birch Pharma Services' if 'Alder' in row else ''}" for row in rows]
    )

    parsed = parse_bytes(connector, text.encode(), org="northwind")

    assert parsed.rejections == []
    qualifications = {
        q.vendor: (q.qualifier, q.id)
        for q in parsed.nodes(Qualification)
        if isinstance(q, Qualification)
    }
    assert qualifications == {
        "alder": ("birch", make_id(NodeKind.QUALIFICATION, "birch", "alder", "HYD-1")),
        # an empty cell: the organization that pushed the file
        "dogwood": ("northwind", make_id(NodeKind.QUALIFICATION, "northwind", "dogwood", "LU-1")),
    }


@pytest.fixture(scope="module")
def elm_results() -> Parsed:
    connector = LimsCsvConnector.for_profile(load_profile(FIXTURES / "elm_results.yaml"))
    return parse_bytes(connector, fixture("elm_results.jsonl"), org="elm")


def test_json_lines_results_with_numbers_texts_and_verdicts(elm_results: Parsed) -> None:
    assert elm_results.rejections == []
    results = {r.result_id: r for r in elm_results.nodes(TestResult) if isinstance(r, TestResult)}
    assay = results["ELM-25-0412-01"]
    assert assay.id == make_id(NodeKind.TEST_RESULT, "elm", "ELM-25-0412-01")
    assert assay.batch_id == batch("birch", "BT-25-041")  # the lot owner's lot, not Elm's
    assert (assay.value, assay.unit, assay.spec_low, assay.spec_high) == (97.3, "%", 95.0, 105.0)
    assert assay.verdict is Verdict.PASS
    assert assay.provenance is not None and assay.provenance.location == "line 1"
    assert results["ELM-25-0412-02"].text_value == "White, round, film-coated tablet"
    assert results["ELM-25-0412-02"].value is None
    assert results["ELM-25-0412-03"].value == 0.8  # a number sent as a string
    assert results["ELM-25-0412-03"].tested_on == date(2025, 7, 23)  # an ISO timestamp
    assert results["ELM-25-0466-01"].verdict is Verdict.FAIL


def test_both_micro_characters_give_one_unit(elm_results: Parsed) -> None:
    units = {
        r.unit
        for r in elm_results.nodes(TestResult)
        if isinstance(r, TestResult) and r.test and "ethanol" in r.test
    }
    assert units == {"\u03bcg/mL"}


def test_json_lines_read_through_a_csv_profile_give_the_same_records(mes_batches: Parsed) -> None:
    rows = csv.DictReader(io.StringIO(fixture("mes_batches.csv").decode()))
    as_json = "".join(json.dumps(row) + "\n" for row in rows).encode()

    parsed = parse_bytes(mes(), as_json, org="birch", filename="batches.jsonl")

    assert parsed.rejections == []
    assert without_provenance(parsed.records) == without_provenance(mes_batches.records)
    assert parsed.records[0].provenance is not None
    assert parsed.records[0].provenance.location == "line 1"  # no header line in JSON lines


def test_json_lines_are_recognised_without_a_file_name(mes_batches: Parsed) -> None:
    rows = csv.DictReader(io.StringIO(fixture("mes_batches.csv").decode()))
    as_json = "\n" + "".join(json.dumps(row) + "\r\n" for row in rows)

    parsed = parse_bytes(mes(), as_json.encode(), org="birch")

    assert without_provenance(parsed.records) == without_provenance(mes_batches.records)


def test_the_payload_is_left_open_for_the_caller() -> None:
    payload = io.BytesIO(fixture("mes_batches.csv"))

    outcomes = list(mes().parse(payload, ParseContext("ing", "mes.csv", "birch")))

    assert outcomes
    assert not payload.closed


class _CountingExport(io.RawIOBase):
    """A large export made up as it is read, counting the bytes handed out."""

    def __init__(self, header: bytes, row: bytes, rows: int) -> None:
        self.pending = header
        self.row, self.rows_left, self.served = row, rows, 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        while len(self.pending) < len(buffer) and self.rows_left:
            self.pending += self.row
            self.rows_left -= 1
        size = min(len(buffer), len(self.pending))
        buffer[:size] = self.pending[:size]
        self.pending = self.pending[size:]
        self.served += size
        return size


def test_rows_are_read_as_they_are_needed_not_the_file_first() -> None:
    header, first_row = fixture("mes_batches.csv").split(b"\n")[:2]
    export = _CountingExport(header + b"\n", first_row + b"\n", rows=50_000)  # about 9 MB
    outcomes = mes().parse(io.BufferedReader(export), ParseContext("ing", "mes.csv", "birch"))

    first_hundred = [next(outcomes) for _ in range(100)]

    assert len(first_hundred) == 100
    assert export.served < 200_000
