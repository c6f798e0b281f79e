"""``preview``: what ``partnerhub profile check PROFILE SAMPLE`` shows."""

from __future__ import annotations

from pathlib import Path

import pytest

from connectors.csv.preview import preview
from connectors.csv.profile import ProfileError
from tests.connectors.support import SAMPLES

PROFILES = Path(__file__).parents[2] / "connectors" / "csv" / "profiles"
FIXTURES = Path(__file__).parent / "fixtures"
LIMS_SAMPLE = SAMPLES / "lims" / "SampleResults2022-06-28_142558.csv"


def test_the_lims_sample_previews_clean() -> None:
    report = preview(PROFILES / "novabio_flex2.yaml", LIMS_SAMPLE, "lims.csv", "elm", limit=3)

    assert report.ok
    assert report.record_counts == {"TestResult": 14}
    assert report.record_total == 14
    assert [row.properties["test"] for row in report.records] == [
        "glutamine",
        "glutamate",
        "glucose",
    ]
    first = report.records[0]
    assert (first.location, first.kind) == ("line 2", "TestResult")
    assert first.properties["batch_id"] == "batch:elm/BATCH_123"
    assert first.properties["tested_on"] == "2022-06-24"


def test_counts_cover_every_record_and_edge_beyond_the_limit() -> None:
    report = preview(
        PROFILES / "mes_batches.yaml", FIXTURES / "mes_batches.csv", "mes.csv", "birch", limit=2
    )

    assert report.record_counts == {"Batch": 4, "CONSUMED": 11, "Material": 4}
    assert [row.kind for row in report.records] == ["Batch", "CONSUMED"]
    assert report.records[1].id == "batch:birch/BT-25-004 -> batch:birch/RM-25-0031"
    assert report.records[1].properties == {"quantity": 12.0, "unit": "kg"}


def test_rejections_are_all_kept_with_line_and_column(tmp_path: Path) -> None:
    sample = tmp_path / "batches.csv"
    rows = (FIXTURES / "mes_batches.csv").read_text(encoding="utf-8").splitlines()
    rows[2] = rows[2].replace("12/05/2025", "2025-05-12")
    rows[4] = rows[4].replace("QA Hold", "On hold?")
    sample.write_text("\n".join(rows) + "\n", encoding="utf-8")

    report = preview(PROFILES / "mes_batches.yaml", sample, "mes.csv", "birch")

    assert not report.ok
    assert [(r.location, r.field) for r in report.rejections] == [
        ("line 3", "Mfg Date (manufacturing date)"),
        ("line 5", "Status (batch status)"),
    ]
    assert report.record_counts["Batch"] == 2


def test_a_sample_that_does_not_fit_the_profile_is_reported_not_raised() -> None:
    report = preview(PROFILES / "mes_batches.yaml", LIMS_SAMPLE, "mes.csv", "birch")

    assert report.payload_error is not None
    assert report.payload_error.location == "line 1"
    assert "'Batch No'" in report.payload_error.message
    assert report.records == [] and not report.ok


def test_a_profile_for_another_connector_names_the_file_and_key() -> None:
    with pytest.raises(ProfileError) as refused:
        preview(PROFILES / "mes_batches.yaml", LIMS_SAMPLE, "lims.csv", "elm")

    assert "mes_batches.yaml" in str(refused.value)
    assert refused.value.problems[0][0] == "records[0].kind"


def test_an_unknown_connector_name_lists_the_profile_connectors() -> None:
    with pytest.raises(
        ValueError,
        match=r"'mes\.b2mml' is not a profile connector \(known: lims\.csv, mes\.csv, qms\.csv\)",
    ):
        preview(PROFILES / "mes_batches.yaml", LIMS_SAMPLE, "mes.b2mml", "elm")
