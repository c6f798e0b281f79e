"""eln.asm: Allotrope Simple Model JSON from three instrument converters, and what it
refuses (the ELN RO-Crate, malformed JSON)."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from connectors.asm.connector import AsmConnector
from connectors.base import PayloadError
from graph.model import Batch, Experiment, TestResult
from tests.connectors.fuzz_asm_epcis import (
    FUZZ_SETTINGS,
    as_json,
    check_parse_property,
    json_values,
    mutated,
    reshaped,
)
from tests.connectors.support import SAMPLES, Parsed, parse_bytes, parse_sample

EMPOWER = "asm/benchling_empower/example_01.json"
NOVABIO = "asm/novabio_flex2/SampleResults2022-06-28_142558.json"
CEDEX = "asm/roche_cedex_bioht/roche_cedex_bioht_example04.json"
ELN = "eln/elabftw-ro-crate-metadata.json"


def results(parsed: Parsed) -> dict[str, TestResult]:
    found = [record for record in parsed.records if isinstance(record, TestResult)]
    by_id = {result.result_id: result for result in found}
    assert len(by_id) == len(found), "result ids are unique within a file"
    return by_id


def only(parsed: Parsed, kind: type[Batch] | type[Experiment]) -> Any:
    [record] = parsed.nodes(kind)
    return record


def resolve(document: Any, location: str) -> Any:
    """Follow a JSON pointer (RFC 6901) into a parsed document."""
    for step in location.split("/")[1:]:
        step = step.replace("~1", "/").replace("~0", "~")
        document = document[int(step)] if isinstance(document, list) else document[step]
    return document


# --- the shared samples -------------------------------------------------------------


def test_empower_chromatography_gives_every_peak_quantity_of_both_injections() -> None:
    parsed = parse_sample(AsmConnector(), EMPOWER)
    assert parsed.rejections == []
    by_id = results(parsed)
    assert len(by_id) == 2 * 4 * 12  # injections x peaks x quantities per peak
    area = by_id["BENCHLING_EMPOWER_TEST_ID_0/BENCHLING_EMPOWER_TEST_ID_1/peak area"]
    assert (area.test, area.value, area.unit) == ("Acetone peak area", 394.015, "mAU.s")
    assert area.tested_on == date(1997, 9, 17)
    assert area.lab == "acme"
    assert area.method == (
        "method LC Demo Method Set; device HPLC Waters Corporation Alliance; "
        "software Waters Empower"
    )
    second = by_id["BENCHLING_EMPOWER_TEST_ID_5/BENCHLING_EMPOWER_TEST_ID_9/peak width"]
    assert (second.test, second.value, second.unit) == ("Butyrophenone peak width", 29.0, "s")
    tests = {result.test or "" for result in by_id.values()}
    assert {"Acetophenone retention time", "Propiophenone relative peak area"} <= tests
    # settings (injection volume, sampling rate) and custom fields are not results
    assert not any("injection" in test or "sampling" in test for test in tests)


def test_empower_names_no_lot_unless_the_partner_declares_where_its_lots_are() -> None:
    # Empower writes its sample-set id (1169) as "batch identifier": not a lot by default.
    parsed = parse_sample(AsmConnector(), EMPOWER)
    assert parsed.nodes(Batch) == []
    assert {r.batch_id for r in results(parsed).values()} == {None}
    assert only(parsed, Experiment).used_ids == ()
    (warning,) = parsed.warnings  # said once for the run, not once per injection
    assert "'1169' is not taken for a lot" in warning.message

    declared = parse_sample(AsmConnector.with_options({"lot_field": "batch identifier"}), EMPOWER)
    assert only(declared, Batch).number == "1169"
    assert {r.batch_id for r in results(declared).values()} == {"batch:acme/1169"}
    assert only(declared, Experiment).used_ids == ("batch:acme/1169",)


def test_empower_run_is_an_experiment_named_by_its_file() -> None:
    experiment = only(parse_sample(AsmConnector(), EMPOWER), Experiment)
    assert experiment.experiment_id == "example_01.json"
    assert (
        experiment.title == "liquid chromatography on Waters Corporation Alliance (Waters Empower)"
    )
    assert experiment.performed_on == date(1997, 9, 17)


def test_novabio_flex2_analytes_and_blood_gas_values() -> None:
    parsed = parse_sample(AsmConnector(), NOVABIO, org="elm")
    assert parsed.rejections == []
    by_id = results(parsed)
    assert len(by_id) == 9 + 4 + 2
    glucose = by_id["NOVABIO_FLEX2_TEST_ID_0/glucose/mass concentration"]
    assert (glucose.test, glucose.value, glucose.unit) == (
        "glucose mass concentration",
        2.65,
        "g/L",
    )
    assert by_id["NOVABIO_FLEX2_TEST_ID_0/sodium/molar concentration"].value == 151.6
    po2 = by_id["NOVABIO_FLEX2_TEST_ID_1/pO2"]
    assert (po2.value, po2.unit, po2.tested_on) == (191.6, "mmHg", date(2022, 6, 24))
    assert by_id["NOVABIO_FLEX2_TEST_ID_2/pH"].value == 7.4
    assert {r.lab for r in by_id.values()} == {"elm"}
    assert {r.batch_id for r in by_id.values()} == {"batch:elm/BATCH_123"}
    assert glucose.method == "device solution-analyzer Nova Biomedical Flex2; software NovaBio Flex"
    experiment = only(parsed, Experiment)
    assert experiment.experiment_id == "SampleResults2022-06-28_142558.json"
    assert experiment.title == "solution analyzer on Nova Biomedical Flex2 (NovaBio Flex)"


def test_novabio_lot_from_the_sample_identifier_when_the_partner_says_so() -> None:
    connector = AsmConnector.with_options({"lot_field": "sample identifier"})
    parsed = parse_sample(connector, NOVABIO)
    assert only(parsed, Batch).number == "SMPL_1234"


def test_cedex_bioht_absorbance_and_analytes_per_well() -> None:
    parsed = parse_sample(AsmConnector(), CEDEX)
    assert parsed.rejections == []
    by_id = results(parsed)
    assert len(by_id) == 3 * (1 + 2)
    absorbance = [by_id[f"ROCHE_CEDEX_BIOHT_TEST_ID_{n}/absorbance"].value for n in (0, 2, 4)]
    assert absorbance == [3.6227, 3.7082, 3.6555]
    glucose = [
        by_id[f"ROCHE_CEDEX_BIOHT_TEST_ID_{n}/glucose/molar concentration"].value for n in (1, 3, 5)
    ]
    assert glucose == [75.45, 78.4, 79.53]
    assert by_id["ROCHE_CEDEX_BIOHT_TEST_ID_1/acetate/molar concentration"].unit == "mmol/L"
    assert only(parsed, Batch).number == "PEPs_ID391"
    assert only(parsed, Experiment).title == (
        "solution analyzer on CEDEX BIO HT (CEDEX BIO HT 6.0.0.1905 (1905))"
    )


@pytest.mark.parametrize("sample", [EMPOWER, NOVABIO, CEDEX])
def test_every_record_points_at_its_place_in_the_file(sample: str) -> None:
    document = json.loads((SAMPLES / sample).read_bytes())
    connector = AsmConnector.with_options({"lot_field": "batch identifier"})
    parsed = parse_sample(connector, sample)
    for result in results(parsed).values():
        assert result.provenance is not None
        quantity = resolve(document, result.provenance.location)
        assert quantity["value"] == result.value
    batch = only(parsed, Batch)
    assert batch.provenance is not None
    assert resolve(document, batch.provenance.location) == batch.number


def test_the_eln_ro_crate_is_refused_as_not_asm() -> None:
    # schema.org JSON-LD notebook entries: no measurements, no lots; another connector's job
    with pytest.raises(PayloadError, match="RO-Crate") as refused:
        parse_sample(AsmConnector(), ELN)
    assert refused.value.location == "/@graph"


def test_every_asm_and_eln_sample_is_covered_here() -> None:
    shared = {
        path.relative_to(SAMPLES).as_posix()
        for folder in ("asm", "eln")
        for path in (SAMPLES / folder).rglob("*")
        if path.is_file()
    }
    # The ELN Consortium's .eln archives are RO-Crate zips: the eln.rocrate connector's
    # (issue #12), not this one's. Named one by one, so a new sample still fails here.
    rocrate_archives = {
        "eln/AI4Green-Export_workbook-2024-08-27-export.eln",
        "eln/BenchLineage-benchlineage-0.3.0-demo.eln",
        "eln/PASTA-PASTA.eln",
        "eln/RSpace-RSpace-2023-12-08-14-44-xml-SELECTION-c0bEtpHcnNe-HA.eln",
        "eln/kadi4mat-records-example.eln",
    }
    assert shared - rocrate_archives == {EMPOWER, NOVABIO, CEDEX, ELN}, (
        "a new sample needs its own test"
    )


# --- hand-written documents for what the samples lack ------------------------------


def asm(*measurements: dict[str, Any], data_system: dict[str, Any] | None = None) -> bytes:
    aggregate: dict[str, Any] = {
        "plate reader document": [
            {"measurement aggregate document": {"measurement document": list(measurements)}}
        ]
    }
    if data_system is not None:
        aggregate["data system document"] = data_system
    return json.dumps({"plate reader aggregate document": aggregate}).encode()


def measurement(identifier: str | None = "M-1", **fields: Any) -> dict[str, Any]:
    document: dict[str, Any] = {
        "measurement time": "2024-03-05T23:30:00-05:00",
        "sample document": {"sample identifier": "S-1", "batch identifier": "B-7"},
        **fields,
    }
    if identifier is not None:
        document["measurement identifier"] = identifier
    return document


def test_n_a_values_are_missing_not_errors() -> None:
    payload = asm(
        measurement(
            "M-1",
            **{
                "absorbance": {"value": "N/A", "unit": "mAU"},
                "fluorescence": {"value": "OVRFLW", "unit": "RFU"},
                "sample document": {"sample identifier": "S-1", "batch identifier": "N/A"},
            },
        )
    )
    parsed = parse_bytes(AsmConnector(), payload)
    assert parsed.rejections == []
    by_id = results(parsed)
    assert (by_id["M-1/absorbance"].value, by_id["M-1/absorbance"].text_value) == (None, None)
    assert by_id["M-1/fluorescence"].text_value == "OVRFLW"  # a word, kept as the result
    assert parsed.nodes(Batch) == []  # "N/A" is no lot
    assert {r.batch_id for r in by_id.values()} == {None}


def test_both_micro_characters_become_one_unit() -> None:
    payload = asm(
        measurement("M-1", concentration={"value": 1.5, "unit": "\u00b5g/mL"}),  # micro sign
        measurement("M-2", concentration={"value": 1.6, "unit": "\u03bcg/mL"}),  # Greek mu
    )
    by_id = results(parse_bytes(AsmConnector(), payload))
    assert by_id["M-1/concentration"].unit == by_id["M-2/concentration"].unit == "\u03bcg/mL"


def test_lot_under_custom_information_document() -> None:
    sample = {
        "sample identifier": "S-1",
        "batch identifier": "2024-03-05",  # a date, not a lot
        "custom information document": {"Lot Number": "API-2207"},
    }
    payload = asm(
        measurement("M-1", absorbance={"value": 0.5, "unit": "mAU"}, **{"sample document": sample})
    )
    connector = AsmConnector.with_options({"lot_field": "custom:lot number", "lot_maker": "alder"})
    parsed = parse_bytes(connector, payload, org="elm")
    batch = only(parsed, Batch)
    assert (batch.maker, batch.number) == ("alder", "API-2207")
    assert batch.provenance is not None
    assert batch.provenance.location.endswith(
        "/sample document/custom information document/Lot Number"
    )
    assert results(parsed)["M-1/absorbance"].batch_id == "batch:alder/API-2207"


def test_tested_on_is_the_day_the_instrument_wrote() -> None:
    payload = asm(measurement("M-1", absorbance={"value": 0.5, "unit": "mAU"}))
    assert results(parse_bytes(AsmConnector(), payload))["M-1/absorbance"].tested_on == date(
        2024, 3, 5
    )


def test_a_bad_measurement_is_rejected_and_the_others_land() -> None:
    payload = asm(
        measurement(None, absorbance={"value": 0.1, "unit": "mAU"}),
        measurement(
            "M-2", absorbance={"value": 0.2, "unit": "mAU"}, **{"measurement time": "yesterday"}
        ),
        measurement("M-3", absorbance={"value": 0.3, "unit": "mAU"}),
        measurement(
            "M-4",
            absorbance={"value": 0.4, "unit": "mAU"},
            **{"sample document": {"batch identifier": "x" * 300}},
        ),
    )
    connector = AsmConnector.with_options({"lot_field": "batch identifier"})
    parsed = parse_bytes(connector, payload)
    where = "/plate reader aggregate document/plate reader document/0/measurement aggregate document/measurement document"
    assert [(r.location, r.field) for r in parsed.rejections] == [
        (f"{where}/0", "measurement identifier"),
        (f"{where}/1/measurement time", "measurement time"),
        (f"{where}/3/sample document/batch identifier", "number"),
    ]
    assert set(results(parsed)) == {"M-3/absorbance", "M-4/absorbance"}


def test_malformed_json_names_line_and_column() -> None:
    payload = b'{\n  "plate reader aggregate document": {\n    "x": [1, 2,,]\n  }\n}'
    with pytest.raises(PayloadError, match="malformed JSON") as refused:
        parse_bytes(AsmConnector(), payload)
    assert refused.value.location == "line 3, column 16"


@pytest.mark.parametrize(
    ("payload", "where"),
    [
        (b"", "line 1, column 1"),
        (b"\xff\xfe{}", "line 1, column 1"),
        (b"[1, 2]", "/"),
        (b'{"hello": "world"}', "/"),
        (b"[" * 100_000, "document"),
    ],
)
def test_unusable_payloads_are_located_payload_errors(payload: bytes, where: str) -> None:
    with pytest.raises(PayloadError) as refused:
        parse_bytes(AsmConnector(), payload)
    assert refused.value.location == where


@pytest.mark.parametrize(
    "options",
    [
        {"lot_field": "lot"},
        {"lot_field": "custom:"},
        {"lot_maker": "Not A Slug"},
        {"colour": "red"},
    ],
)
def test_bad_options_are_refused_naming_the_option(options: dict[str, Any]) -> None:
    with pytest.raises(PayloadError, match=r"^options\."):
        AsmConnector.with_options(options)


def test_run_without_a_file_name_takes_the_ingested_file_name() -> None:
    payload = asm(
        measurement("M-1", absorbance={"value": 0.5, "unit": "mAU"}),
        data_system={"software name": "SoftMax Pro"},
    )
    parsed = parse_bytes(AsmConnector(), payload, filename="plate-17.json")
    experiment = only(parsed, Experiment)
    assert (experiment.experiment_id, experiment.title) == (
        "plate-17.json",
        "plate reader (SoftMax Pro)",
    )


# --- fuzzing --------------------------------------------------------------------------

SAMPLE_BYTES = {name: (SAMPLES / name).read_bytes() for name in (NOVABIO, CEDEX, ELN)}
ASM_WORDS = [
    "N/A", "", "2022-10-20T09:44:05+00:00", "not a time", "\u00b5g/mL", "mAU", "B-1",
    "measurement document", "sample document", "custom:x", "x" * 300,
]  # fmt: skip
ASM_KEYS = [
    "measurement identifier", "measurement time", "sample document", "batch identifier",
    "sample identifier", "value", "unit", "analyte aggregate document", "analyte document",
    "analyte name", "measurement document", "measurement aggregate document",
    "custom information document", "data system document", "peak list", "peak", "identifier",
]  # fmt: skip
anything = json_values(ASM_WORDS, ASM_KEYS)
words = st.sampled_from(ASM_WORDS) | anything
quantity = st.fixed_dictionaries({"value": anything, "unit": words}) | anything
sample_document = st.fixed_dictionaries(
    {},
    optional={
        "batch identifier": words,
        "sample identifier": words,
        "custom information document": st.dictionaries(st.sampled_from(["x", "X"]), words),
    },
)
measurement_document = st.fixed_dictionaries(
    {
        # mostly well formed, so that fuzzing reaches the results and lots
        "measurement identifier": st.sampled_from(["M-1", "M-2", "M-1", "N/A"]),
        "measurement time": st.sampled_from(["2022-10-20T09:44:05+00:00", "2022-10-20", "N/A"]),
        "absorbance": quantity,
        "sample document": sample_document | anything,
    },
    optional={
        "analyte aggregate document": st.fixed_dictionaries(
            {
                "analyte document": st.lists(
                    st.fixed_dictionaries({"analyte name": words, "molar concentration": quantity}),
                    max_size=3,
                )
            }
        ),
        "device control aggregate document": anything,
    },
)
asm_shaped = st.tuples(
    st.lists(measurement_document | anything, min_size=1, max_size=4), anything
).map(
    lambda parts: {
        "$asm.manifest": "x",
        "plate reader aggregate document": {
            "plate reader document": [
                {"measurement aggregate document": {"measurement document": parts[0]}}
            ],
            "data system document": parts[1],
        },
    }
)
mutations = st.one_of(
    st.sampled_from(sorted(SAMPLE_BYTES)).flatmap(lambda name: mutated(SAMPLE_BYTES[name])),
    st.sampled_from([NOVABIO, CEDEX]).flatmap(
        lambda name: reshaped(json.loads(SAMPLE_BYTES[name]), anything)
    ),
)


@FUZZ_SETTINGS
@given(mutations)
def test_fuzz_mutated_samples_give_outcomes_or_payload_errors(payload: bytes) -> None:
    check_parse_property(AsmConnector(), payload)


@FUZZ_SETTINGS
@given(st.one_of(anything, asm_shaped).map(as_json))
def test_fuzz_generated_json_gives_outcomes_or_payload_errors(payload: bytes) -> None:
    check_parse_property(AsmConnector.with_options({"lot_field": "custom:x"}), payload)


@pytest.mark.parametrize(
    ("written", "technique", "lot"),
    [
        ("CULT-0042", "solution analyzer", "CULT-0042"),  # bioprocess analyzers: the culture
        ("CULT-0042", "plate reader", None),  # a plate reader's batch is not said to be a lot
        ("2024-03-05", "solution analyzer", None),  # a date
        ("2024-03-05T10:00:00Z", "cell counting", None),
        ("9e841671-2818-425d-9ecc-13c6695cc722", "solution analyzer", None),  # a run GUID
    ],
)
def test_a_lot_comes_from_the_techniques_default_field_never_from_a_guess(
    written: str, technique: str, lot: str | None
) -> None:
    document = {
        f"{technique} aggregate document": {
            f"{technique} document": [
                {
                    "measurement aggregate document": {
                        "measurement document": [
                            measurement(
                                "M-1",
                                absorbance={"value": 0.5, "unit": "mAU"},
                                **{"sample document": {"batch identifier": written}},
                            )
                        ]
                    }
                }
            ]
        }
    }
    parsed = parse_bytes(AsmConnector(), json.dumps(document).encode())
    assert [batch.number for batch in parsed.nodes(Batch)] == ([lot] if lot else [])
    # Whatever is not taken for a lot is said, once, as a warning at its place.
    assert [w.field for w in parsed.warnings] == (["batch identifier"] if lot is None else [])
    assert parsed.rejections == []
