"""Bad exports: a whole file refused with the reason, or bad rows rejected by line and
column while the good rows around them land."""

from __future__ import annotations

import io

import pytest

from connectors.base import Outcome, ParseContext, PayloadError
from connectors.csv.connector import (
    LimsCsvConnector,
    MesCsvConnector,
    ProfileCsvConnector,
    QmsCsvConnector,
)
from connectors.csv.profile import example_profile, parse_profile
from graph.ids import NodeKind, make_id
from graph.intake import RecordRejection
from graph.model import Batch, EdgeKind, TestResult
from tests.connectors.support import parse_bytes

BATCHES = """
records:
  - kind: Batch
    fields:
      number: Batch ID
      status: Status
      manufactured_on: Made
      quantity: Qty
    inputs:
      - {number: Input Lot, quantity: Input Qty}
    received_from: {supplier: Supplier, lot: Supplier Lot}
words:
  batch_status: {Released: RELEASED, On Hold: QUARANTINE}
date_formats: ["%Y-%m-%d", "%d.%m.%Y"]
"""
HEADER = "Batch ID,Status,Made,Qty,Input Lot,Input Qty,Supplier,Supplier Lot\n"


def batches(extra: str = "") -> ProfileCsvConnector:
    return MesCsvConnector.for_profile(parse_profile(BATCHES + extra))


def outcomes_until_refused(
    connector: ProfileCsvConnector, payload: bytes
) -> tuple[list[Outcome], PayloadError]:
    seen: list[Outcome] = []
    with pytest.raises(PayloadError) as refused:
        for outcome in connector.parse(
            io.BytesIO(payload), ParseContext("ing", connector.name, "acme")
        ):
            seen.append(outcome)
    return seen, refused.value


def test_a_header_without_the_profiles_columns_refuses_the_file_naming_them() -> None:
    payload = b"Batch ID,State,Made\nB-1,Released,2025-01-02\n"

    seen, error = outcomes_until_refused(batches(), payload)

    assert seen == []  # nothing of the file lands
    assert error.location == "line 1"
    for column in (
        "'Status'",
        "'Qty'",
        "'Input Lot'",
        "'Input Qty'",
        "'Supplier'",
        "'Supplier Lot'",
    ):
        assert column in error.message
    assert "'Batch ID'" not in error.message.split("(it has")[0]
    assert "it has: 'Batch ID', 'State', 'Made'" in error.message


def test_a_wrong_delimiter_is_suggested() -> None:
    _, error = outcomes_until_refused(batches(), HEADER.replace(",", ";").encode())

    assert "is the delimiter ';' rather than ','?" in error.message


def test_the_header_row_setting_skips_title_lines_and_counts_them() -> None:
    payload = ("Export of 2025-07-01\n\n" + HEADER + "B-1,Released,2025-01-02,5,,,,\n").encode()

    parsed = parse_bytes(batches("header_row: 3\n"), payload)

    assert parsed.rejections == []
    assert parsed.records[0].provenance is not None
    assert parsed.records[0].provenance.location == "line 4"


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        (b"", "empty file"),
        (HEADER.replace("\n", ",Batch ID\n").encode(), "'Batch ID' appears more than once"),
    ],
)
def test_files_without_a_usable_header(payload: bytes, message: str) -> None:
    _, error = outcomes_until_refused(batches(), payload)

    assert message in error.message


def test_an_empty_required_cell_is_rejected_by_line_and_column() -> None:
    rows = [f"B-{n},Released,2025-01-0{n},5,,,," for n in range(1, 6)]
    rows.insert(5, ",Released,2025-01-09,5,,,,")  # line 7 (the header is line 1)
    payload = (HEADER + "\n".join(rows) + "\n").encode()

    parsed = parse_bytes(batches(), payload)

    assert parsed.rejections == [
        RecordRejection(
            location="line 7",
            field="Batch ID (batch number)",
            message="required, the cell is empty",
        )
    ]
    assert len(parsed.nodes(Batch)) == 5


@pytest.mark.parametrize(
    ("row", "column", "expected"),
    [
        (
            "B-2,Released,2025/01/02,5,,,,",
            "Made (manufacturing date)",
            "expected a date in %Y-%m-%d (2022-06-24) or %d.%m.%Y (24.06.2022), got '2025/01/02'",
        ),
        (
            'B-2,Released,2025-01-02,"12,5",,,,',
            "Qty (batch quantity)",
            "expected a number with '.' as decimal mark, got '12,5'",
        ),
        (
            "B-2,Relesed,2025-01-02,5,,,,",
            "Status (batch status)",
            "unknown batch status 'Relesed' (known: Released, On Hold, PLANNED,",
        ),
        ("B-2,Released,2025-01-02,-5,,,,", "Qty (batch quantity)", "greater than or equal to 0"),
        ("B-2,Released,2025-01-02,nan,,,,", "Qty (batch quantity)", "expected a number"),
        (
            "B" * 201 + ",Released,2025-01-02,5,,,,",
            "Batch ID (batch number)",
            "at most 200 characters",
        ),
    ],
)
def test_a_bad_cell_rejects_its_row_and_the_rows_around_it_land(
    row: str, column: str, expected: str
) -> None:
    payload = (
        HEADER + "B-1,Released,2025-01-02,5,,,,\n" + row + "\nB-3,On Hold,03.01.2025,7,,,,\n"
    ).encode()

    parsed = parse_bytes(batches(), payload)

    (rejection,) = parsed.rejections
    assert (rejection.location, rejection.field) == ("line 3", column)
    assert expected in rejection.message
    assert sorted(b.number for b in parsed.nodes(Batch) if isinstance(b, Batch)) == ["B-1", "B-3"]


def test_a_bad_input_lot_loses_its_edge_not_the_batch() -> None:
    payload = (
        HEADER + "B-1,Released,2025-01-02,5,,3.5,,\nB-2,Released,2025-01-02,5,L-7,x,,\n"
    ).encode()

    parsed = parse_bytes(batches(), payload)

    assert [(r.location, r.field) for r in parsed.rejections] == [
        ("line 2", "Input Lot (input lot number)"),
        ("line 3", "Input Qty (input quantity)"),
    ]
    assert (
        parsed.rejections[0].message
        == "required, the cell is empty, but Input Qty (input quantity) has a value"
    )
    assert len(parsed.nodes(Batch)) == 2
    assert parsed.edges(EdgeKind.CONSUMED) == []


def test_a_supplier_without_its_lot_number_is_rejected_not_guessed() -> None:
    payload = (HEADER + "R-1,Released,2025-01-02,5,,,Dogwood Excipients GmbH,\n").encode()

    parsed = parse_bytes(batches(), payload)

    assert [(r.location, r.field) for r in parsed.rejections] == [
        ("line 2", "Supplier Lot (supplier lot number)")
    ]
    assert parsed.edges(EdgeKind.SAME_LOT) == []
    assert len(parsed.nodes(Batch)) == 1


def test_a_row_with_more_cells_than_the_header_is_rejected() -> None:
    # "1,000" unquoted: every later cell shifts one column to the right.
    payload = (
        HEADER + "B-1,Released,2025-01-02,1,000,L-1,2,Dogwood,DW-1\nB-2,Released,2025-01-02,5,,,,\n"
    ).encode()

    parsed = parse_bytes(batches(), payload)

    (rejection,) = parsed.rejections
    assert (rejection.location, rejection.field) == ("line 2", "row")
    assert "9 cells but the header has 8 columns" in rejection.message
    assert [b.number for b in parsed.nodes(Batch) if isinstance(b, Batch)] == ["B-2"]


def test_bytes_not_in_the_encoding_reject_their_row_only() -> None:
    payload = (
        HEADER.encode() + b"B-\xe91,Released,2025-01-02,5,,,,\nB-2,Released,2025-01-02,5,,,,\n"
    )

    parsed = parse_bytes(batches(), payload)

    (rejection,) = parsed.rejections
    assert rejection.location == "line 2"
    assert "not valid utf-8" in rejection.message
    assert [b.number for b in parsed.nodes(Batch) if isinstance(b, Batch)] == ["B-2"]


def test_the_profiles_encoding_reads_such_bytes() -> None:
    payload = HEADER.encode() + "B-é1,Released,2025-01-02,5,,,,\n".encode("cp1252")

    parsed = parse_bytes(batches("encoding: cp1252\n"), payload)

    assert parsed.rejections == []
    assert [b.id for b in parsed.nodes(Batch)] == [make_id(NodeKind.BATCH, "acme", "B-é1")]


def test_a_quoted_cell_spanning_lines_is_located_where_its_row_starts() -> None:
    payload = (
        HEADER
        + 'B-1,Released,2025-01-02,5,,,,\n"B-2\nsecond line",Released,2025-13-02,5,,,,\nB-3,Released,2025-01-02,5,,,,\n'
    ).encode()

    parsed = parse_bytes(batches(), payload)

    assert [r.location for r in parsed.rejections] == ["line 3"]
    assert parsed.records[-1].provenance is not None
    assert parsed.records[-1].provenance.location == "line 5"


def test_a_bad_analyte_cell_loses_that_result_only() -> None:
    profile = example_profile("novabio_flex2")
    header = '"Date & Time","Sample ID","Batch ID","Gln","Glu","Gluc","Lac","NH4+","Na+","K+","Ca++","pH","PO2","PCO2"\n'
    row = "6-24-2022  14:34:52,S-1,B-1,1.83,0.33,2.65,0.18,0.48,151.6,4.22,0.82,7.4O,191.6,46.8\n"

    parsed = parse_bytes(LimsCsvConnector.for_profile(profile), (header + row).encode())

    assert [(r.location, r.field) for r in parsed.rejections] == [("line 2", "pH (pH result)")]
    assert len(parsed.nodes(TestResult)) == 10


def test_a_row_whose_shared_fields_fail_is_rejected_once_not_per_analyte() -> None:
    profile = example_profile("novabio_flex2")
    header = '"Date & Time","Sample ID","Batch ID","Gln","Glu","Gluc","Lac","NH4+","Na+","K+","Ca++","pH","PO2","PCO2"\n'
    row = "24-6-2022  14:34:52,S-1,B-1,1.83,0.33,2.65,0.18,0.48,151.6,4.22,0.82,7.4,191.6,46.8\n"

    parsed = parse_bytes(LimsCsvConnector.for_profile(profile), (header + row).encode())

    (rejection,) = parsed.rejections
    assert rejection.field == "Date & Time (test date)"
    assert "%m-%d-%Y %H:%M:%S" in rejection.message
    assert parsed.records == []


def test_a_row_of_no_known_record_type_is_rejected() -> None:
    connector = QmsCsvConnector.for_profile(example_profile("qms_export"))
    header = "Record Type,Record ID,Version,Sponsor,Vendor,Products,Sites,Activities,Effective From,Effective To,Status,Site,Valid Until,Last Audit,Title,Classification,Opened,Closed,Affected Lots,Lot Owner\n"

    parsed = parse_bytes(connector, (header + "Audit Report,AR-1" + "," * 18 + "\n").encode())

    (rejection,) = parsed.rejections
    assert (rejection.location, rejection.field) == ("line 2", "Record Type")
    assert "matches no record kind" in rejection.message


def test_json_lines_that_are_not_objects_are_rejected_by_line() -> None:
    connector = batches()
    payload = b'{"Batch ID": "B-1", "Qty": 5}\nnot json\n[1, 2]\n{"Batch ID": "B-2", "Qty": -1}\n{"Batch ID": "B-3", "Qty": "2.5"}\n'

    parsed = parse_bytes(connector, payload, filename="export.jsonl")

    assert [(r.location, r.field) for r in parsed.rejections] == [
        ("line 2", "column 1"),
        ("line 3", "line"),
        ("line 4", "Qty (batch quantity)"),
    ]
    assert [b.quantity for b in parsed.nodes(Batch) if isinstance(b, Batch)] == [5.0, 2.5]


def test_a_json_line_missing_a_required_field_names_it() -> None:
    parsed = parse_bytes(batches(), b'{"Qty": 5}\n', filename="export.ndjson")

    assert parsed.rejections == [
        RecordRejection("line 1", "Batch ID (batch number)", "required, the field is empty")
    ]


def test_json_nested_beyond_reason_is_one_rejected_line() -> None:
    payload = b"[" * 100_000 + b'\n{"Batch ID": "B-1"}\n'

    parsed = parse_bytes(batches(), payload, filename="export.jsonl")

    assert [(r.location, r.message) for r in parsed.rejections] == [
        ("line 1", "not readable JSON: RecursionError")
    ]
    assert len(parsed.nodes(Batch)) == 1


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        # an unterminated quote swallows the rest of the file into one cell
        (
            HEADER.encode() + b'"B-1,Released\n' + b"more,lines\n" * 20_000,
            "line 2: not readable as CSV: field larger than field limit",
        ),
        # no line breaks at all: never read whole into memory
        (HEADER.encode() + b"x" * (2 << 20), "line 2: a line longer than 1048576 characters"),
    ],
)
def test_files_that_cannot_be_rows_are_refused_where_they_go_wrong(
    payload: bytes, message: str
) -> None:
    _, error = outcomes_until_refused(batches(), payload)

    assert str(error).startswith(message)


def test_blank_lines_above_the_header_are_passed_over_and_counted() -> None:
    payload = ("\r\n\r\n" + HEADER + "B-1,Released,2025-13-02,5,,,,\n").encode()

    parsed = parse_bytes(batches(), payload)

    assert [r.location for r in parsed.rejections] == ["line 4"]
    _, error = outcomes_until_refused(batches(), b"\n\nBatch ID\n")
    assert error.location == "line 3"


WIDE_PROFILE = """
delimiter: ","
records:
  - kind: TestResult
    fields:
      result_id: Sample
      batch: Lot
      method: Method
      spec_low: Low
    results:
      - {column: A, test: assay, method: HPLC-7, spec_low: 95, spec_high: 105, unit: "%"}
      - {column: B}
      - {column: Looks, test: appearance, text: true}
"""


def test_a_wide_result_takes_its_entry_s_fields_over_the_row_s() -> None:
    connector = LimsCsvConnector.for_profile(parse_profile(WIDE_PROFILE))
    payload = b"Sample,Lot,Method,Low,A,B,Looks\nS-1,L-1,Row method,1.5,99.5,3,White\n"

    parsed = parse_bytes(connector, payload, org="elm")

    assert parsed.rejections == []
    results = {r.test: r for r in parsed.nodes(TestResult) if isinstance(r, TestResult)}
    assay, b, looks = results["assay"], results["B"], results["appearance"]
    assert (assay.result_id, assay.method, assay.spec_low, assay.spec_high) == (
        "S-1/assay",
        "HPLC-7",
        95,
        105,
    )
    assert (assay.value, assay.unit) == (99.5, "%")
    assert (b.result_id, b.method, b.spec_low, b.spec_high, b.unit, b.value) == (
        "S-1/B",
        "Row method",
        1.5,
        None,
        None,
        3,
    )
    # A text entry keeps the cell as text, with no number.
    assert (looks.text_value, looks.value, looks.method) == ("White", None, "Row method")
    assert {r.batch_id for r in results.values()} == {make_id(NodeKind.BATCH, "elm", "L-1")}


def test_a_wide_result_the_model_refuses_is_located_at_its_own_column() -> None:
    connector = LimsCsvConnector.for_profile(parse_profile(WIDE_PROFILE))
    sample = "S" * 195  # "/B" keeps the result id within 200 characters, "/assay" does not
    payload = f"Sample,Lot,Method,Low,A,B,Looks\n{sample},L-1,M,1,99,3,\n".encode()

    parsed = parse_bytes(connector, payload, org="elm")

    assert [(r.location, r.field) for r in parsed.rejections] == [("line 2", "Sample (result id)")]
    assert "200" in parsed.rejections[0].message
    assert [r.test for r in parsed.nodes(TestResult) if isinstance(r, TestResult)] == ["B"]
