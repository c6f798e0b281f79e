"""lims.instrument: raw instrument exports through allotropy, checked against the ASM
allotropy's own test data holds for the same files, read by eln.asm."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from connectors.asm.connector import AsmConnector
from connectors.asm.instrument import ALLOTROPY_VERSION, InstrumentConnector
from connectors.base import PayloadError
from connectors.registry import connector_named
from graph.model import TestResult
from tests.connectors.support import SAMPLES, Parsed, parse_bytes

# sample (raw export beside the ASM made of it) -> allotropy's instrument name
RAW_EXPORTS = {
    "instruments/appbio_quantstudio/appbio_quantstudio_example01.txt": "APPBIO_QUANTSTUDIO",
    "instruments/beckman_pharmspec/hiac_example_1.xlsx": "BECKMAN_PHARMSPEC",
    "instruments/beckman_vi_cell_blu/Beckman_Vi-Cell-BLU_example01.csv": "BECKMAN_VI_CELL_BLU",
    "instruments/roche_cedex_hires/roche_cedex_hires_example_1.csv": "ROCHE_CEDEX_HIRES",
    "instruments/thermo_fisher_nanodrop_eight/thermo_nanodrop_eight_example01.txt": (
        "THERMO_FISHER_NANODROP_EIGHT"
    ),
    "lims/SampleResults2022-06-28_142558.csv": "NOVABIO_FLEX2",
}
ITS_ASM = {
    "lims/SampleResults2022-06-28_142558.csv": "asm/novabio_flex2/SampleResults2022-06-28_142558.json"
}


def from_raw(relative: str, **options: str) -> Parsed:
    path = SAMPLES / relative
    connector = InstrumentConnector.with_options({"instrument": RAW_EXPORTS[relative], **options})
    return parse_bytes(connector, path.read_bytes(), "elm", path.name)


def measured(parsed: Parsed) -> Counter[tuple[object, ...]]:
    results = [r for r in parsed.records if isinstance(r, TestResult)]
    return Counter((r.test, r.value, r.text_value, r.unit, r.batch_id) for r in results)


@pytest.mark.parametrize("relative", sorted(RAW_EXPORTS))
def test_a_raw_export_gives_what_allotropys_own_asm_of_it_gives(relative: str) -> None:
    asm = SAMPLES / ITS_ASM.get(relative, str(Path(relative).with_suffix(".json")))
    expected = parse_bytes(AsmConnector(), asm.read_bytes(), "elm", asm.name)

    found = from_raw(relative)

    assert found.rejections == expected.rejections == []
    assert measured(found) == measured(expected)
    assert sum(measured(found).values()) > 10


@pytest.mark.parametrize("relative", sorted(RAW_EXPORTS))
def test_the_same_file_makes_the_same_result_ids(relative: str) -> None:
    """allotropy invents random ids; pushing a file twice, or replaying it, must not
    make new results."""
    first, again = from_raw(relative), from_raw(relative)
    ids = [r.id for r in first.records if isinstance(r, TestResult)]
    assert ids == [r.id for r in again.records if isinstance(r, TestResult)]
    assert len(set(ids)) == len(ids)


def test_a_vi_cell_viability_traces_to_the_file_and_the_conversion() -> None:
    found = from_raw("instruments/beckman_vi_cell_blu/Beckman_Vi-Cell-BLU_example01.csv")
    viability = next(
        r for r in found.records if isinstance(r, TestResult) and r.test.startswith("viability")
    )
    assert (viability.value, viability.unit, viability.lab) == (96.9, "%", "elm")
    assert viability.provenance is not None
    assert viability.provenance.location.startswith(
        f"Beckman_Vi-Cell-BLU_example01.csv as ASM (allotropy {ALLOTROPY_VERSION} "
        "BECKMAN_VI_CELL_BLU) /cell counting aggregate document/"
    )


def test_a_file_that_is_not_the_instruments_export_is_a_payload_error() -> None:
    connector = InstrumentConnector.with_options({"instrument": "NOVABIO_FLEX2"})
    with pytest.raises(PayloadError, match="allotropy could not read it as NovaBio Flex2") as error:
        parse_bytes(connector, b"\x00\x01 not a flex2 export", "elm", "run.csv")
    assert error.value.location == "file"


def test_an_instrument_allotropy_does_not_know_is_refused_by_name() -> None:
    with pytest.raises(PayloadError, match=r"options\.instrument"):
        InstrumentConnector.with_options({"instrument": "ACME_SPECTRO"})
    assert connector_named("lims.instrument") is InstrumentConnector
