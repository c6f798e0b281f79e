"""lims.animl: the public AnIML samples, lots of samples, genealogy of experiment
steps, results with their lot, located rejections, and fuzzing."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from connectors.animl import AnimlConnector
from connectors.base import PayloadError
from graph.model import Batch, EdgeKind, Experiment, TestResult
from tests.connectors.support import Parsed, parse_bytes, parse_sample, sample_files
from tests.connectors.xml_fuzzing import mutated, parse_or_payload_error, xml_documents

DRAFT_090 = "urn:org:astm:animl:schema:core:draft:0.90"


def results(parsed: Parsed) -> dict[str, TestResult]:
    found = {}
    for record in parsed.nodes(TestResult):
        assert isinstance(record, TestResult)
        found[record.result_id] = record
    return found


def parse(document: str | bytes, options: dict[str, Any] | None = None) -> Parsed:
    payload = document.encode() if isinstance(document, str) else document
    return parse_bytes(AnimlConnector.with_options(options), payload, org="elm")


# The public samples.


def test_example3_nmr_parameters_become_results_without_a_lot() -> None:
    parsed = parse_sample(AnimlConnector(), "animl/Example3.animl")
    assert parsed.rejections == []
    assert parsed.nodes(Batch) == []  # sample "Matcha-00001" names no lot
    steps = parsed.experiments()
    assert set(steps) == {"es-1", "es-2"}
    assert steps["es-1"].title == "D33 Water (LO / Duplex emulsions)"
    assert steps["es-1"].performed_on == date(2025, 4, 23)
    found = results(parsed)
    assert len(found) == 16  # 10 parameters in es-1, 6 in es-2
    d33 = found["es-1/D33"]
    assert (d33.value, d33.unit, d33.test) == (3.31, "\u03bcm", "D33")  # micro sign folded
    assert (d33.lab, d33.batch_id, d33.tested_on) == ("acme", None, date(2025, 4, 23))
    assert d33.method == "D33 Water (LO / Duplex emulsions)"
    assert d33.id == "result:acme/es-1%2FD33"
    assert d33.provenance is not None
    assert d33.provenance.location == (
        "/AnIML/ExperimentStepSet/ExperimentStep/Result/Category/Parameter[3] (line 29)"
    )
    diffusion = found["es-2/Diffusion Constant"]
    assert (diffusion.value, diffusion.unit) == (3.6682e-10, "m\u00b2/s")
    assert found["es-1/ESigma"].unit is None


def test_example6_formulation_consumes_each_ingredient_lot_by_the_amount_added() -> None:
    """The formulation sample (produced) names no lot, only its sampleID; each step adds
    one ingredient lot (consumed) and records its "Actual Amount"."""
    parsed = parse_sample(AnimlConnector(), "animl/Example6.animl")
    formulation = "batch:acme/Matcha-00001"
    assert formulation in {lot.id for lot in parsed.nodes(Batch)}
    consumed = {edge.target: edge for edge in parsed.edges(EdgeKind.CONSUMED)}
    assert len(consumed) == 12  # twelve ingredient lots, each added once
    assert {edge.source for edge in consumed.values()} == {formulation}
    basil = consumed["batch:acme/I-220513-00015"]  # step 1: add 3152.2 g target, 3105.2 g actual
    assert (basil.quantity, basil.unit) == (3105.2, "g")
    assert basil.provenance is not None and "SampleReference" in basil.provenance.location
    rosemary = consumed["batch:acme/M-240726-00030"]
    assert (rosemary.quantity, rosemary.unit) == (0.88, "g")
    # The amount is the edge's quantity, not a test result; other step results stay.
    found = results(parsed)
    assert not [r for r in found.values() if r.test == "Actual Amount"]
    assert found["BS-372860/Start Time"].batch_id == formulation
    first_step = parsed.experiments()["BS-372860"]
    assert first_step.used_ids == ("batch:acme/I-220513-00015",)
    assert first_step.produced_ids == (formulation,)


def test_example1_formulation_is_a_lot_even_though_its_ingredients_name_none() -> None:
    parsed = parse_sample(AnimlConnector(), "animl/Example1.animl")
    assert [lot.id for lot in parsed.nodes(Batch)] == ["batch:acme/Matcha-00001"]
    assert parsed.edges(EdgeKind.CONSUMED) == []  # ingredients without a lot are not traceable


def test_example2_amounts_of_ingredients_without_lots_are_not_results_of_the_blend() -> None:
    parsed = parse_sample(AnimlConnector(), "animl/Example2.animl")
    assert [lot.id for lot in parsed.nodes(Batch)] == ["batch:acme/Matcha-00001"]
    steps = parsed.experiments()
    assert steps["1"].title == "Add 4.0g of Basil"
    assert steps["1"].produced_ids == ("batch:acme/Matcha-00001",)
    found = results(parsed)
    assert "1/Actual Weight" not in found  # 4.011 g of an untraceable ingredient
    assert found["1/Start Time"].batch_id == "batch:acme/Matcha-00001"
    (rejection,) = parsed.rejections
    assert (rejection.field, rejection.location) == (
        "experimentStepID",
        "/AnIML/ExperimentStepSet/ExperimentStep (line 2)",
    )


def test_example7_rheology_curves_are_left_unread_with_warnings_and_its_runs_land() -> None:
    parsed = parse_sample(AnimlConnector(), "animl/Example7.animl")
    steps = parsed.experiments()
    assert {(s.title, s.performed_on) for s in steps.values()} == {
        (f"Rotational Viscosimetry {n}", date(2024, 3, 25)) for n in (1, 2, 3)
    }
    assert results(parsed) == {}
    assert parsed.rejections == []
    assert len(parsed.warnings) == 18  # six encoded curves in each of three runs
    assert {w.field for w in parsed.warnings} == {"EncodedValueSet"}
    assert "'Viscosity'" in parsed.warnings[5].message


def test_a_partners_own_amount_parameter_is_the_consumed_quantity() -> None:
    document = """<AnIML><SampleSet>
      <Sample sampleID="API"><Category name="x">
        <Parameter name="Lot" parameterType="String"><S>A-1</S></Parameter></Category></Sample>
      <Sample sampleID="BLEND-7"/>
      </SampleSet><ExperimentStepSet>
      <ExperimentStep experimentStepID="dispense-1" name="Dispense API">
        <Infrastructure><SampleReferenceSet>
          <SampleReference sampleID="API" samplePurpose="consumed"/>
          <SampleReference sampleID="BLEND-7" samplePurpose="produced"/>
        </SampleReferenceSet><Timestamp>2025-02-03T10:00:00Z</Timestamp></Infrastructure>
        <Result name="r"><Category name="c">
          <Parameter name="Eingewogen" parameterType="Float64"><D>12.5</D><Unit label="kg"/></Parameter>
          <Parameter name="Room Humidity" parameterType="Float64"><D>41</D><Unit label="%"/></Parameter>
        </Category></Result>
      </ExperimentStep></ExperimentStepSet></AnIML>"""

    default = parse(document)
    own = parse(document, {"amount_parameters": ["Eingewogen"]})

    (edge,) = own.edges(EdgeKind.CONSUMED)
    assert (edge.source, edge.target, edge.quantity, edge.unit) == (
        "batch:elm/BLEND-7", "batch:elm/A-1", 12.5, "kg",
    )  # fmt: skip
    assert set(results(own)) == {"dispense-1/Room Humidity"}
    (plain,) = default.edges(EdgeKind.CONSUMED)
    assert plain.quantity is None and "dispense-1/Eingewogen" in results(default)


def test_animl_090_sample_keeps_its_one_identified_step_and_rejects_the_others() -> None:
    parsed = parse_sample(AnimlConnector(), "animl/animl_0.90.xml")
    (step,) = parsed.records
    assert isinstance(step, Experiment)
    assert (step.experiment_id, step.title, step.performed_on) == (
        "e1",
        "my_experiment",
        date(2021, 1, 1),
    )
    # Sample "js1"'s Parameter "magic" (42 m) describes the sample: it is not a result.
    assert results(parsed) == {}
    assert [(r.location, r.field) for r in parsed.rejections] == [
        ("/AnIML/ExperimentStepSet/ExperimentStep[2] (line 96)", "experimentStepID"),
        ("/AnIML/ExperimentStepSet/ExperimentStep[3] (line 110)", "experimentStepID"),
    ]


def test_real_life_plate_read_series_become_results_point_by_point() -> None:
    parsed = parse_sample(AnimlConnector(), "animl/real_life.animl")
    assert parsed.rejections == []
    assert set(parsed.experiments()) == {"step_0", "insert correct ID"}
    found = results(parsed)
    # Two steps, four dependent series of 96 wells each; "Position" is the axis.
    assert len(found) == 2 * 4 * 96
    assert not any("/Position" in result_id for result_id in found)
    first = found["step_0/Value/0"]
    assert (first.value, first.test, first.method) == (0.0996, "Value", "Microplate Read")
    assert first.tested_on == date(2020, 6, 22)
    assert found["step_0/Value/95"].value == 0.0489
    assert found["step_0/Saturated/0"].text_value == "false"
    assert found["step_0/Sample Group/3"].text_value == "Group 1"
    assert found["step_0/Measurement Delay/6"].value == 4.2
    assert first.provenance is not None
    assert first.provenance.location == (
        "/AnIML/ExperimentStepSet/ExperimentStep/Result/SeriesSet/Series[2]"
        "/IndividualValueSet/F (line 70)"
    )


# Lots, genealogy and results of a lot.

SYNTHESIS = """<?xml version="1.0" encoding="UTF-8"?>
<AnIML version="1.0"{declaration}>
  <SampleSet>
    <Sample name="API intermediate" sampleID="S-1">
      <Category name="Identity">
        <Parameter name="Lot Number" parameterType="String"><S>A-2207</S></Parameter>
      </Category>
    </Sample>
    <Sample name="Reagent" sampleID="S-2">
      <TagSet><Tag name="batch" value="R-55"/></TagSet>
      <Category name="Origin">
        <Parameter name="Manufacturer" parameterType="String"><S>Dogwood Excipients</S></Parameter>
      </Category>
    </Sample>
    <Sample name="Crude product" sampleID="S-3">
      <Category name="Identity">
        <Parameter name="Batch ID" parameterType="String"><S>C-0042</S></Parameter>
      </Category>
    </Sample>
    <Sample name="Retain, no lot" sampleID="S-4"/>
  </SampleSet>
  <ExperimentStepSet>
    <ExperimentStep name="Coupling" experimentStepID="step-1">
      <Technique name="Synthesis" uri=""/>
      <Infrastructure>
        <SampleReferenceSet>
          <SampleReference sampleID="S-1" role="starting material" samplePurpose="consumed"/>
          <SampleReference sampleID="S-2" role="reagent" samplePurpose="consumed"/>
          <SampleReference sampleID="S-4" role="retain" samplePurpose="consumed"/>
          <SampleReference sampleID="S-3" role="product" samplePurpose="produced"/>
        </SampleReferenceSet>
        <Timestamp>2024-06-03T14:05:00+02:00</Timestamp>
      </Infrastructure>
      <Result name="Outcome">
        <Category name="Yield">
          <Parameter name="Yield" parameterType="Float64"><D>87.5</D><Unit label="%"/></Parameter>
          <Parameter name="Appearance" parameterType="String"><S>off-white powder</S></Parameter>
        </Category>
      </Result>
    </ExperimentStep>
    <ExperimentStep name="Assay" experimentStepID="step-2">
      <Infrastructure>
        <SampleReferenceSet>
          <SampleReference sampleID="S-3" role="Test Sample" samplePurpose="consumed"/>
        </SampleReferenceSet>
      </Infrastructure>
      <Method name="HPLC assay USP"/>
      <Result name="Assay">
        <SeriesSet name="Replicates" length="1">
          <Series name="Assay" dependency="dependent" seriesType="Float64">
            <IndividualValueSet><D>99.2</D></IndividualValueSet>
            <Unit label="% w/w"/>
          </Series>
        </SeriesSet>
        <Category name="System suitability">
          <Parameter name="Assay" parameterType="Float64"><D>99.0</D></Parameter>
        </Category>
      </Result>
    </ExperimentStep>
    <ExperimentStep name="Blend check" experimentStepID="step-3">
      <Infrastructure>
        <SampleReferenceSet>
          <SampleReference sampleID="S-1" samplePurpose="consumed"/>
          <SampleReference sampleID="S-2" samplePurpose="consumed"/>
        </SampleReferenceSet>
      </Infrastructure>
      <Result name="r"><Category name="c">
        <Parameter name="Uniformity" parameterType="Float64"><D>1.2</D></Parameter>
      </Category></Result>
    </ExperimentStep>
  </ExperimentStepSet>
</AnIML>"""


@pytest.mark.parametrize(
    "declaration",
    [f' xmlns="{DRAFT_090}"', ' xmlns="urn:org:astm:animl:schema:core:1.0"', ""],
    ids=["draft-0.90", "1.0", "no-namespace"],
)
def test_steps_link_produced_lots_to_consumed_lots(declaration: str) -> None:
    parsed = parse(SYNTHESIS.format(declaration=declaration))
    assert parsed.rejections == []
    assert {lot.id for lot in parsed.nodes(Batch)} == {
        "batch:elm/A-2207",
        "batch:dogwood-excipients/R-55",  # the sample names its manufacturer
        "batch:elm/C-0042",
    }
    assert {(edge.source, edge.target) for edge in parsed.edges(EdgeKind.CONSUMED)} == {
        ("batch:elm/C-0042", "batch:elm/A-2207"),
        ("batch:elm/C-0042", "batch:dogwood-excipients/R-55"),
    }
    coupling = parsed.experiments()["step-1"]
    assert coupling.used_ids == ("batch:elm/A-2207", "batch:dogwood-excipients/R-55")
    assert coupling.produced_ids == ("batch:elm/C-0042",)
    assert coupling.performed_on == date(2024, 6, 3)  # the day as recorded at the site


def test_results_belong_to_the_lot_the_step_makes_clear() -> None:
    found = results(parse(SYNTHESIS.format(declaration="")))
    # The synthesis step's results describe its one produced lot.
    assert found["step-1/Yield"].batch_id == "batch:elm/C-0042"
    assert found["step-1/Appearance"].text_value == "off-white powder"
    # The assay's one consumed sample is the lot under test; a repeated name stays apart.
    assay = found["step-2/Assay"]
    assert (assay.batch_id, assay.value, assay.unit, assay.method) == (
        "batch:elm/C-0042",
        99.2,
        "% w/w",
        "HPLC assay USP",
    )
    assert found["step-2/Assay#2"].value == 99.0
    # Two consumed lots and nothing produced: which lot was measured is not said.
    assert found["step-3/Uniformity"].batch_id is None


def test_a_partners_own_sample_fields_and_makers() -> None:
    document = """<AnIML><SampleSet>
      <Sample sampleID="S-1"><Category name="x">
        <Parameter name="Charge" parameterType="String"><S>CH-9</S></Parameter>
        <Parameter name="Hersteller" parameterType="String"><S>Birch Pharma Ireland</S></Parameter>
      </Category></Sample>
      <Sample sampleID="S-2" barcode="A-1"/>
    </SampleSet></AnIML>"""
    options = {
        "sample_fields": {"charge": "lot", "HERSTELLER": "maker"},
        "maker_orgs": {"birch pharma ireland": "birch"},
    }
    assert {lot.id for lot in parse(document, options).nodes(Batch)} == {"batch:birch/CH-9"}
    barcode = {"lot_attribute": "barcode", "lot_maker": "alder"}
    assert {lot.id for lot in parse(document, barcode).nodes(Batch)} == {"batch:alder/A-1"}


# Rejections and limits.


def test_incomplete_results_are_rejected_with_place_and_field() -> None:
    document = """<AnIML><ExperimentStepSet>
  <ExperimentStep experimentStepID="s1"><Result><Category>
    <Parameter name="Assay" parameterType="Float64"/>
    <Parameter parameterType="Float64"><D>1</D></Parameter>
    <Parameter name="pH" parameterType="Float64"><D>6.8</D></Parameter>
  </Category></Result></ExperimentStep>
  <ExperimentStep experimentStepID="s2"><Infrastructure><Timestamp>yesterday</Timestamp>
  </Infrastructure></ExperimentStep>
</ExperimentStepSet></AnIML>"""
    parsed = parse(document)
    assert set(results(parsed)) == {"s1/pH"}
    assert set(parsed.experiments()) == {"s1"}
    assert [(r.location, r.field) for r in parsed.rejections] == [
        ("/AnIML/ExperimentStepSet/ExperimentStep/Result/Category/Parameter (line 3)", "value"),
        (
            "/AnIML/ExperimentStepSet/ExperimentStep/Result/Category/Parameter[2] (line 4)",
            "name",
        ),
        (
            "/AnIML/ExperimentStepSet/ExperimentStep[2]/Infrastructure/Timestamp (line 7)",
            "Timestamp",
        ),
    ]


def test_curves_and_encoded_series_are_left_unread_with_a_warning_not_exploded() -> None:
    values = "".join(f"<F>{n / 10}</F>" for n in range(50))
    document = f"""<AnIML><ExperimentStepSet><ExperimentStep experimentStepID="s1">
  <Result><SeriesSet name="UV" length="50">
    <Series name="Wavelength" dependency="independent" seriesType="Float32">
      <AutoIncrementedValueSet><StartValue><F>200</F></StartValue><Increment><F>2</F></Increment>
      </AutoIncrementedValueSet></Series>
    <Series name="Absorbance" dependency="dependent" seriesType="Float32">
      <IndividualValueSet>{values}</IndividualValueSet></Series>
    <Series name="Raw" dependency="dependent" seriesType="Float32">
      <EncodedValueSet>AAAAAA==</EncodedValueSet></Series>
  </SeriesSet></Result></ExperimentStep></ExperimentStepSet></AnIML>"""
    parsed = parse(document, {"max_series_points": 20})
    assert results(parsed) == {}
    assert parsed.rejections == []
    assert [(w.field, w.location.split("/")[-1]) for w in parsed.warnings] == [
        ("Series", "Series[2] (line 6)"),
        ("EncodedValueSet", "Series[3] (line 8)"),
    ]
    assert "50 values" in parsed.warnings[0].message
    assert len(results(parse(document))) == 50  # within the default limit


def test_utf8_bom_crlf_and_truncation() -> None:
    document = b"\xef\xbb\xbf" + SYNTHESIS.format(declaration="").replace("\n", "\r\n").encode()
    parsed = parse(document)
    assert len(parsed.experiments()) == 3
    yield_result = results(parsed)["step-1/Yield"]
    assert yield_result.provenance is not None
    lines = SYNTHESIS.splitlines()
    yield_line = next(n for n, line in enumerate(lines, 1) if '<Parameter name="Yield"' in line)
    assert yield_result.provenance.location.endswith(f"/Parameter (line {yield_line})")
    truncated = document[:1000]
    last_line = truncated.count(b"\n") + 1
    with pytest.raises(PayloadError, match=rf"^line {last_line}: malformed XML"):
        parse(truncated)


# Fuzzing: whatever the bytes, records and rejections or a PayloadError, nothing else.

SAMPLE_BYTES = [path.read_bytes() for path in sample_files("animl")]
SERIES_PARTS = ["IndividualValueSet", "EncodedValueSet", "AutoIncrementedValueSet", "Unit"]
GRAMMAR = {
    "AnIML": ["SampleSet", "ExperimentStepSet"],
    "SampleSet": ["Sample"],
    "Sample": ["Category", "TagSet"],
    "TagSet": ["Tag"],
    "Category": ["Parameter", "Category", "SeriesSet"],
    "Parameter": ["I", "L", "F", "D", "S", "Boolean", "DateTime", "Unit"],
    "ExperimentStepSet": ["ExperimentStep"],
    "ExperimentStep": ["Infrastructure", "Method", "Technique", "Result"],
    "Infrastructure": ["SampleReferenceSet", "Timestamp"],
    "SampleReferenceSet": ["SampleReference"],
    "Result": ["Category", "SeriesSet", "ExperimentStepSet"],
    "SeriesSet": ["Series"],
    "Series": SERIES_PARTS,
    "IndividualValueSet": ["I", "F", "D", "S", "Boolean"],
}
ATTRIBUTES = {
    "Sample": ["sampleID", "barcode"],
    "Category": ["name"],
    "Parameter": ["name"],
    "Tag": ["name", "value"],
    "ExperimentStep": ["experimentStepID", "name"],
    "SampleReference": ["sampleID", "samplePurpose"],
    "Method": ["name"],
    "Technique": ["name"],
    "Series": ["name", "dependency"],
    "Unit": ["label"],
}
WORDS = [
    *("Lot", "Batch Number", "Manufacturer", "consumed", "produced", "S-1", "S-2"),
    *("independent", "dependent", "Assay", "2024-06-03T14:05:00+02:00", "12.5"),
]


@settings(max_examples=250, deadline=None, derandomize=True)
@given(data=st.data())
def test_fuzzed_samples_yield_records_or_a_payload_error(data: st.DataObject) -> None:
    original = data.draw(st.sampled_from(SAMPLE_BYTES))
    parse_or_payload_error(AnimlConnector(), data.draw(mutated(original)))


@settings(max_examples=250, deadline=None, derandomize=True)
@given(document=xml_documents(GRAMMAR, ATTRIBUTES, WORDS))
def test_generated_documents_yield_records_or_a_payload_error(document: bytes) -> None:
    parse_or_payload_error(AnimlConnector(), document)


def test_an_amount_is_put_on_no_edge_when_two_samples_were_consumed() -> None:
    """API (a lot) and water (no lot) go in; "Amount Added" cannot be told to be the
    API's, so the edge has no quantity, and the amount is no result of the blend."""
    document = """<AnIML><SampleSet>
      <Sample sampleID="API"><Category name="x">
        <Parameter name="Lot" parameterType="String"><S>A-1</S></Parameter></Category></Sample>
      <Sample sampleID="WATER"/><Sample sampleID="BLEND-8"/>
      </SampleSet><ExperimentStepSet>
      <ExperimentStep experimentStepID="mix-1" name="Mix">
        <Infrastructure><SampleReferenceSet>
          <SampleReference sampleID="API" samplePurpose="consumed"/>
          <SampleReference sampleID="WATER" samplePurpose="consumed"/>
          <SampleReference sampleID="BLEND-8" samplePurpose="produced"/>
        </SampleReferenceSet></Infrastructure>
        <Result name="r"><Category name="c">
          <Parameter name="Amount Added" parameterType="Float64"><D>500</D><Unit label="mL"/></Parameter>
        </Category></Result>
      </ExperimentStep></ExperimentStepSet></AnIML>"""
    parsed = parse(document)
    (edge,) = parsed.edges(EdgeKind.CONSUMED)
    assert (edge.source, edge.target, edge.quantity) == ("batch:elm/BLEND-8", "batch:elm/A-1", None)
    assert results(parsed) == {}
