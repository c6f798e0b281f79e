"""Profiles: every mistake is reported with its YAML key path before any file is read,
and the shipped examples load and fit their connectors."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from connectors.base import PayloadError
from connectors.csv.connector import (
    CSV_CONNECTORS,
    KINDS_BY_CONNECTOR,
    LimsCsvConnector,
    MesCsvConnector,
    MesCsvOptions,
)
from connectors.csv.profile import (
    Profile,
    ProfileError,
    example_profile,
    example_profile_names,
    load_profile,
    parse_profile,
)

MINIMAL = "records:\n  - kind: Batch\n    fields: {number: Lot}\n"


def problems(text: str) -> list[tuple[str, str]]:
    with pytest.raises(ProfileError) as refused:
        parse_profile(text)
    return refused.value.problems


def test_a_minimal_profile_takes_the_defaults() -> None:
    profile = parse_profile(MINIMAL)

    assert (profile.delimiter, profile.encoding, profile.header_row, profile.decimal) == (
        ",",
        "utf-8",
        1,
        ".",
    )
    assert profile.date_formats == ("iso",)
    assert profile.kinds == frozenset({"Batch"})


@pytest.mark.parametrize(
    ("text", "path", "message"),
    [
        (
            "records:\n  - kind: Batch\n    fields: {nmber: Lot}\n",
            "records[0].fields",
            "unknown key 'nmber'; did you mean 'number'?",
        ),
        (
            MINIMAL + "delimter: ';'\n",
            "(top level)",
            "unknown key 'delimter'; did you mean 'delimiter'?",
        ),
        (MINIMAL + "decimal: ';'\n", "decimal", "Input should be '.' or ','"),
        (MINIMAL + "delimiter: ';;'\n", "delimiter", "must be one character"),
        (MINIMAL + "encoding: klingon\n", "encoding", "not a known text encoding"),
        (MINIMAL + "encoding: base64\n", "encoding", "not a known text encoding"),
        (MINIMAL + "header_row: 0\n", "header_row", "greater than 0"),
        (MINIMAL + "date_formats: ['%d.%m.']\n", "date_formats[0]", "does not hold a whole date"),
        (MINIMAL + "date_formats: ['dd/mm/yyyy']\n", "date_formats[0]", "is not a strptime format"),
        (
            MINIMAL + "words: {batch_status: {Hold: ON_HOLD}}\n",
            "words.batch_status.Hold",
            "Input should be 'PLANNED'",
        ),
        (MINIMAL + "words: {verdict: {Yes: PASS}}\n", "words.verdict", "quote it"),
        (
            MINIMAL + "words: {organization: {Dogwood: Dogwood GmbH}}\n",
            "words.organization.Dogwood",
            "should match pattern",
        ),
        (
            "records:\n  - kind: Batch\n    fields: {number: Lot, status: {value: Relesed}}\n",
            "records[0].fields.status.value",
            "unknown batch status 'Relesed'",
        ),
        (
            "records:\n  - kind: Batch\n    fields: {number: Lot, quantity: {column: Q, default: 'abc'}}\n",
            "records[0].fields.quantity.default",
            "expected a number",
        ),
        (
            "records:\n  - kind: Batch\n    fields: {number: {column: Lot, value: X}}\n",
            "records[0].fields.number",
            "exactly one of column, value, template",
        ),
        (
            "records:\n  - kind: Batch\n    fields: {number: 12}\n",
            "records[0].fields.number",
            "is not a column name",
        ),
        (
            "records:\n  - kind: Batch\n    fields: {status: State}\n",
            "records[0].fields.number",
            "Field required",
        ),
        (
            "records:\n  - kind: Batch\n    fields: {number: Lot, product: P}\n",
            "records[0].fields.product",
            "needs product_sponsor too",
        ),
        ("records:\n  - kind: Lot\n", "records[0].kind", "unknown record kind 'Lot'"),
        ("records: []\n", "records", "list at least one record kind"),
        (
            "records:\n  - kind: TestResult\n    fields: {result_id: S, unit: U}\n    results: [{column: pH}]\n",
            "records[0].fields.unit",
            "not mapped in a wide layout",
        ),
    ],
)
def test_each_mistake_is_named_by_its_key_path(text: str, path: str, message: str) -> None:
    found = problems(text)

    assert any(where == path and message in said for where, said in found), found


def test_all_problems_are_reported_at_once() -> None:
    found = problems(
        "decimal: ';'\ndelimiter: ''\nrecords:\n  - kind: Batch\n    fields: {nmber: Lot}\n"
    )

    assert [where for where, _ in found] == ["delimiter", "decimal", "records[0].fields"]


def test_yaml_mistakes_name_the_line() -> None:
    assert problems("records:\n  - kind: Batch\n   fields: {number: Lot}\n")[0][0].startswith(
        "line 3"
    )
    repeated = problems(
        "records:\n  - kind: Batch\n    fields:\n      number: Lot\n      number: Lot No\n"
    )
    assert repeated[0][0] == "line 5, column 7"
    assert "'number' is given twice" in repeated[0][1]
    assert problems("- just a list\n")[0] == (
        "(top level)",
        "a profile is a YAML mapping (key: value lines)",
    )


def test_the_error_text_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "partner.yaml"
    path.write_text("records:\n  - kind: Batch\n    fields: {nmber: Lot}\n", encoding="utf-8")

    with pytest.raises(ProfileError) as refused:
        load_profile(path)

    assert str(path) in str(refused.value)
    assert "records[0].fields: unknown key 'nmber'" in str(refused.value)


def test_a_profile_for_another_connector_is_refused_by_kind() -> None:
    mes_profile = example_profile("mes_batches")

    with pytest.raises(ProfileError) as refused:
        LimsCsvConnector.for_profile(mes_profile)
    assert refused.value.problems == [
        ("records[0].kind", "lims.csv makes TestResult, not Batch; mes.csv makes it")
    ]

    with pytest.raises(PayloadError) as as_options:
        LimsCsvConnector.with_options({"profile": mes_profile})
    assert as_options.value.location == "options.profile"


def test_options_take_a_parsed_profile_or_its_yaml_mapping() -> None:
    profile = example_profile("mes_batches")
    mapping = yaml.safe_load(
        (
            Path(__file__).parents[2] / "connectors" / "csv" / "profiles" / "mes_batches.yaml"
        ).read_text()
    )

    from_model = MesCsvConnector.with_options({"profile": profile})
    from_mapping = MesCsvConnector.with_options({"profile": mapping})

    assert isinstance(from_model.options, MesCsvOptions)
    assert isinstance(from_mapping.options, MesCsvOptions)
    assert from_mapping.options.profile == from_model.options.profile == profile


def test_profile_objects_are_plain_pydantic_models() -> None:
    profile = example_profile("receiving_log")

    assert Profile.model_validate(profile.model_dump()) == profile


@pytest.mark.parametrize("name", example_profile_names())
def test_each_shipped_profile_loads_and_fits_a_connector(name: str) -> None:
    profile = example_profile(name)

    fitting = [c for c, kinds in KINDS_BY_CONNECTOR.items() if profile.kinds <= set(kinds)]
    assert len(fitting) == 1, f"{name} fits {fitting}"
    CSV_CONNECTORS[fitting[0]].for_profile(profile)


def test_the_shipped_profiles_are_the_examples() -> None:
    assert example_profile_names() == [
        "mes_batches",
        "novabio_flex2",
        "qms_audit_findings",
        "qms_audits",
        "qms_change_controls",
        "qms_export",
        "qms_inspections",
        "qms_specifications",
        "qms_tech_transfers",
        "qms_transfer_documents",
        "qms_transfer_milestones",
        "qms_transfer_risks",
        "receiving_log",
    ]
