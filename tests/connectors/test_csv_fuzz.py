"""Fuzzing the profile connectors: whatever bytes arrive, ``parse`` yields records and
located rejections, or raises a located PayloadError; nothing else escapes, everything
yielded can be stored, and no non-blank row disappears without a word.

Derandomized (a failure in CI reproduces locally); about five seconds in all.
"""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from connectors.base import ParseContext, PayloadError
from connectors.csv.connector import (
    LimsCsvConnector,
    MesCsvConnector,
    ProfileCsvConnector,
    QmsCsvConnector,
)
from connectors.csv.profile import example_profile, load_profile
from graph.intake import RecordRejection
from graph.model import Edge, NodeRecord
from tests.connectors.support import SAMPLES

FIXTURES = Path(__file__).parent / "fixtures"
FUZZ = settings(
    max_examples=250,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)

MES = MesCsvConnector.for_profile(example_profile("mes_batches"))
RECEIVING = MesCsvConnector.for_profile(example_profile("receiving_log"))
QMS = QmsCsvConnector.for_profile(example_profile("qms_export"))
NOVA = LimsCsvConnector.for_profile(example_profile("novabio_flex2"))
ELM = LimsCsvConnector.for_profile(load_profile(FIXTURES / "elm_results.yaml"))

SEEDS: list[tuple[ProfileCsvConnector, bytes, str]] = [
    (MES, (FIXTURES / "mes_batches.csv").read_bytes(), "batches.csv"),
    (RECEIVING, (FIXTURES / "receiving_log.csv").read_bytes(), ""),
    (QMS, (FIXTURES / "qms_export.csv").read_bytes(), "qms.csv"),
    (NOVA, (SAMPLES / "lims" / "SampleResults2022-06-28_142558.csv").read_bytes(), ""),
    (ELM, (FIXTURES / "elm_results.jsonl").read_bytes(), "results.jsonl"),
]
MES_HEADER = next(csv.reader(io.StringIO(SEEDS[0][1].decode())))
INTERESTING = [
    b'"',
    b",",
    b";",
    b"\n",
    b"\r",
    b"\r\n",
    b"\x00",
    b"\xff",
    b"\xef\xbb\xbf",
    b"{",
    b"}",
    b"\\",
    b"\xc3",
    b"N/A",
    b"\\ud800",
]
PHYSICAL_LINE_END = re.compile(r"\r\n|\r|\n")


def outcomes_of(
    connector: ProfileCsvConnector, payload: bytes, filename: str
) -> list[NodeRecord | Edge | RecordRejection]:
    """Every outcome, each checked; a PayloadError must be located (and ends the list)."""
    seen: list[NodeRecord | Edge | RecordRejection] = []
    context = ParseContext("ing-fuzz", connector.name, "acme", filename)
    try:
        for outcome in connector.parse(io.BytesIO(payload), context):
            if isinstance(outcome, RecordRejection):
                assert outcome.location.startswith("line ") and outcome.field and outcome.message
                (outcome.field + outcome.message).encode("utf-8")  # shown to people: valid text
            else:
                assert isinstance(outcome, NodeRecord | Edge), outcome
                assert outcome.provenance is not None
                assert outcome.provenance.location.startswith("line ")
                # what the stores will write: JSON-able, valid UTF-8 throughout
                json.dumps(outcome.model_dump(mode="json"), ensure_ascii=False).encode("utf-8")
            seen.append(outcome)
    except PayloadError as error:
        assert error.location.startswith("line "), error
        error.message.encode("utf-8")
    return seen


mutation = st.tuples(
    st.floats(min_value=0, max_value=1),
    st.sampled_from(["insert", "replace", "delete", "truncate"]),
    st.one_of(st.sampled_from(INTERESTING), st.binary(min_size=1, max_size=3)),
)


@FUZZ
@given(
    seed=st.sampled_from(SEEDS),
    mutations=st.lists(mutation, min_size=1, max_size=6),
    rename=st.booleans(),
)
def test_mutated_exports_give_only_records_rejections_or_a_payload_error(
    seed: tuple[ProfileCsvConnector, bytes, str],
    mutations: list[tuple[float, str, bytes]],
    rename: bool,
) -> None:
    connector, payload, filename = seed
    data = bytearray(payload)
    for where, operation, piece in mutations:
        at = int(where * len(data))
        if operation == "insert":
            data[at:at] = piece
        elif operation == "replace":
            data[at : at + len(piece)] = piece
        elif operation == "delete":
            del data[at : at + len(piece)]
        else:
            del data[at:]
    outcomes_of(connector, bytes(data), "" if rename else filename)


cell = st.one_of(
    st.text(max_size=12),
    st.sampled_from(
        [
            "",
            " ",
            "N/A",
            "RM-25-0031",
            "12,5",
            "1e309",
            "-3",
            "20/01/2025",
            "31/02/2025",
            "Released",
            "QA Hold",
            "Northwind Pharma",
            '"',
            "\r\n",
        ]
    ),
)


@FUZZ
@given(rows=st.lists(st.lists(cell, max_size=len(MES_HEADER) + 2), max_size=6))
def test_every_non_blank_generated_row_is_answered_at_its_line(rows: list[list[str]]) -> None:
    text = io.StringIO()
    writer = csv.writer(text)
    writer.writerow(MES_HEADER)
    starts = []
    line = 2
    for row in rows:
        before = text.tell()
        writer.writerow(row)
        written = text.getvalue()[before:]
        starts.append(line)
        line += len(PHYSICAL_LINE_END.findall(written))

    outcomes = outcomes_of(MES, text.getvalue().encode("utf-8"), "batches.csv")

    answered = {_location(outcome) for outcome in outcomes}
    for row, start in zip(rows, starts, strict=True):
        if any(value.strip() for value in row):
            assert f"line {start}" in answered, (row, start, outcomes)


json_value = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=10),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=8,
)


@FUZZ
@given(
    lines=st.lists(
        st.dictionaries(st.sampled_from([*MES_HEADER[:12], "other"]), json_value, max_size=8),
        max_size=5,
    )
)
def test_every_generated_json_line_is_answered_at_its_line(lines: list[dict[str, object]]) -> None:
    payload = "".join(json.dumps(line) + "\n" for line in lines).encode()

    outcomes = outcomes_of(MES, payload, "batches.jsonl")

    answered = {_location(outcome) for outcome in outcomes}
    assert answered == {f"line {number}" for number in range(1, len(lines) + 1)}


def _location(outcome: NodeRecord | Edge | RecordRejection) -> str:
    if isinstance(outcome, RecordRejection):
        return outcome.location
    assert outcome.provenance is not None
    return outcome.provenance.location
