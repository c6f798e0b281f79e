"""The real Nova FLEX2 export through its shipped profile (lims.csv)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

import pytest

from connectors.csv.connector import LimsCsvConnector
from connectors.csv.profile import example_profile
from graph.ids import NodeKind, make_id
from graph.model import TestResult
from tests.connectors.support import SAMPLES, parse_bytes, parse_sample

SAMPLE = "lims/SampleResults2022-06-28_142558.csv"


@pytest.fixture(scope="module")
def connector() -> LimsCsvConnector:
    made = LimsCsvConnector.for_profile(example_profile("novabio_flex2"))
    assert isinstance(made, LimsCsvConnector)
    return made


def results_by_test(records: Sequence[object]) -> dict[str, TestResult]:
    return {r.test: r for r in records if isinstance(r, TestResult) and r.test}


def test_the_sample_row_gives_one_result_per_analyte(connector: LimsCsvConnector) -> None:
    parsed = parse_sample(connector, SAMPLE, org="elm")

    assert parsed.rejections == []
    results = results_by_test(parsed.records)
    assert len(parsed.records) == 14
    assert set(results) == {
        "glutamine", "glutamate", "glucose", "lactate", "ammonium", "sodium", "potassium",
        "calcium", "pH", "pO2", "pCO2", "bicarbonate", "oxygen saturation",
        "carbon dioxide saturation",
    }  # fmt: skip
    lot = make_id(NodeKind.BATCH, "elm", "BATCH_123")
    for result in results.values():
        assert result.batch_id == lot
        assert result.lab == "elm"
        assert result.tested_on == date(2022, 6, 24)  # "6-24-2022  14:34:52", month first
        assert result.result_id.startswith("SMPL_1234 6-24-2022")
        assert result.result_id.endswith(f"/{result.test}")
        assert result.provenance is not None
        assert result.provenance.location == "line 2"
        assert result.provenance.connector == "lims.csv"


def test_the_sample_values_and_units_are_the_instruments(connector: LimsCsvConnector) -> None:
    results = results_by_test(parse_sample(connector, SAMPLE).records)

    def reading(test: str) -> tuple[float | None, str | None]:
        return results[test].value, results[test].unit

    assert reading("pH") == (7.4, None)
    assert reading("glutamine") == (1.83, "mmol/L")
    assert reading("glucose") == (2.65, "g/L")
    assert reading("lactate") == (0.18, "g/L")
    assert reading("sodium") == (151.6, "mmol/L")
    assert reading("calcium") == (0.82, "mmol/L")
    assert reading("pO2") == (191.6, "mmHg")
    assert reading("pCO2") == (46.8, "mmHg")
    assert reading("oxygen saturation") == (100.0, "%")


def test_more_rows_in_the_same_layout_keep_their_lines_and_skip_unmeasured_analytes(
    connector: LimsCsvConnector,
) -> None:
    header, row = (SAMPLES / SAMPLE).read_text(encoding="utf-8").splitlines()[:2]
    cells = row.split(",")
    later = cells.copy()
    later[0] = "6-25-2022  09:10:00"
    later[3] = ""  # Gln not run on this sample
    later[11] = "7.1"  # pH
    payload = "\n".join([header, row, "", ",".join(later)]) + "\n"

    parsed = parse_bytes(connector, payload.encode(), org="elm")

    assert parsed.rejections == []
    second = [r for r in parsed.records if r.provenance and r.provenance.location == "line 4"]
    assert len(second) == 13
    assert results_by_test(second)["pH"].value == 7.1
    assert results_by_test(second)["pH"].tested_on == date(2022, 6, 25)
    assert "glutamine" not in results_by_test(second)
