"""mes.b2mml: the MESA Courbon samples, every B2MML version by local name, genealogy
from actuals, supplier lots, sub-lots, BatchML, located rejections, streaming."""

from __future__ import annotations

import io
from datetime import date
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from connectors.b2mml.connector import B2mmlConnector
from connectors.base import ParseContext, PayloadError
from graph.model import Batch, BatchStatus, EdgeKind, Material
from tests.connectors.support import Parsed, parse_bytes, parse_sample, sample_files
from tests.connectors.xml_fuzzing import mutated, parse_or_payload_error, xml_documents

V0401 = "http://www.wbf.org/xml/B2MML-V0401"
V0600 = "http://www.mesa.org/xml/B2MML-V0600"
CURRENT = "http://www.mesa.org/xml/B2MML"


def batches(parsed: Parsed) -> dict[str, Batch]:
    """Lots by number, merged as the stores merge them: a later assertion of an
    attribute wins, an absent one leaves it as it was."""
    merged: dict[str, Batch] = {}
    for record in parsed.nodes(Batch):
        assert isinstance(record, Batch)
        known = merged.get(record.number)
        stated = {name: value for name, value in record if value is not None}
        merged[record.number] = known.model_copy(update=stated) if known else record
    return merged


def links(parsed: Parsed, kind: EdgeKind) -> set[tuple[str, str]]:
    return {(edge.source, edge.target) for edge in parsed.edges(kind)}


def parse(document: str | bytes, options: dict[str, Any] | None = None) -> Parsed:
    payload = document.encode() if isinstance(document, str) else document
    return parse_bytes(B2mmlConnector.with_options(options), payload, org="birch")


# The MESA Courbon example files (V0401, UTF-8 BOM, CRLF).


def test_courbon_material_lot_with_status_and_expiry() -> None:
    parsed = parse_sample(B2mmlConnector(), "b2mml/LOT-20121210170718-0001L0001.xml")
    assert parsed.rejections == []
    assert len(parsed.records) == 1
    lot = batches(parsed)["CRBN0001_LOT01"]
    assert lot.id == "batch:acme/CRBN0001_LOT01"
    assert lot.status is BatchStatus.RELEASED  # "Valid"
    assert lot.expires_on == date(2013, 12, 8)  # ExpiryDate property, 2013-12-08T00:00:00.0Z
    assert lot.provenance is not None
    assert lot.provenance.connector == "mes.b2mml"
    assert lot.provenance.location == (
        "/SyncMaterialInformation/DataArea/MaterialInformation/MaterialLot (line 13)"
    )


def test_courbon_material_definition() -> None:
    parsed = parse_sample(B2mmlConnector(), "b2mml/MAT-20121210170256-CRBN0001.xml")
    assert parsed.rejections == []
    (material,) = parsed.records
    assert isinstance(material, Material)
    assert (material.id, material.name) == ("material:acme/CRBN0001", "Product Courbon0001")
    assert material.provenance is not None
    assert material.provenance.location.endswith("/MaterialDefinition (line 11)")


def test_courbon_schedule_names_lots_and_sublots_but_states_no_consumption() -> None:
    parsed = parse_sample(B2mmlConnector(), "b2mml/PRO-20121210181416-27942.xml")
    assert parsed.rejections == []
    found = batches(parsed)
    assert {number: lot.material_code for number, lot in found.items()} == {
        "CRBN0001_LOT01": "CRBN0001",
        "CRBN0002_LOT01": "CRBN0002",
        "412345670000003212": "CRBN0001",
        "412345670021003212": "CRBN0002",
    }
    # Planned quantities (199.910 KG...) are not a lot's quantity.
    assert all(lot.quantity is None for lot in found.values())
    assert links(parsed, EdgeKind.PART_OF) == {
        ("batch:acme/412345670000003212", "batch:acme/CRBN0001_LOT01"),
        ("batch:acme/412345670021003212", "batch:acme/CRBN0002_LOT01"),
    }
    assert parsed.edges(EdgeKind.CONSUMED) == []  # a schedule is a plan, not genealogy
    sublot = found["412345670000003212"]
    assert sublot.provenance is not None
    assert sublot.provenance.location.endswith("/MaterialRequirement/MaterialSubLotID (line 127)")


# Versions, namespaces, encodings.

MATERIAL_LOTS_V0600 = f"""<?xml version="1.0" encoding="UTF-8"?>
<b2mml:ShowMaterialInformation xmlns:b2mml="{V0600}">
  <b2mml:DataArea>
    <b2mml:MaterialInformation>
      <b2mml:MaterialLot>
        <b2mml:ID>DW-778</b2mml:ID>
        <b2mml:MaterialDefinitionID>MCC-PH102</b2mml:MaterialDefinitionID>
        <b2mml:Status>Quarantine</b2mml:Status>
        <b2mml:MaterialLotProperty>
          <b2mml:ID>Manufacture Date</b2mml:ID>
          <b2mml:Value><b2mml:ValueString>2024-03-01</b2mml:ValueString></b2mml:Value>
        </b2mml:MaterialLotProperty>
        <b2mml:MaterialLotProperty>
          <b2mml:ID>EXPIRATION_DATE</b2mml:ID>
          <b2mml:Value><b2mml:ValueString>2027-02-28T00:00:00Z</b2mml:ValueString></b2mml:Value>
        </b2mml:MaterialLotProperty>
        <b2mml:MaterialSubLot>
          <b2mml:ID>DW-778-D01</b2mml:ID>
          <b2mml:Status>Released</b2mml:Status>
          <b2mml:Quantity><b2mml:QuantityString>25</b2mml:QuantityString>
            <b2mml:UnitOfMeasure>kg</b2mml:UnitOfMeasure></b2mml:Quantity>
          <b2mml:MaterialSubLot>
            <b2mml:ID>DW-778-D01-S1</b2mml:ID>
          </b2mml:MaterialSubLot>
        </b2mml:MaterialSubLot>
        <b2mml:Quantity>
          <b2mml:QuantityString>500.0</b2mml:QuantityString>
          <b2mml:UnitOfMeasure>kg</b2mml:UnitOfMeasure>
        </b2mml:Quantity>
      </b2mml:MaterialLot>
    </b2mml:MaterialInformation>
  </b2mml:DataArea>
</b2mml:ShowMaterialInformation>"""


def test_v0600_lot_with_dates_quantity_and_nested_sublots() -> None:
    parsed = parse(MATERIAL_LOTS_V0600)
    assert parsed.rejections == []
    found = batches(parsed)
    lot = found["DW-778"]
    assert (lot.maker, lot.material_code, lot.status) == (
        "birch",
        "MCC-PH102",
        BatchStatus.QUARANTINE,
    )
    assert (lot.manufactured_on, lot.expires_on) == (date(2024, 3, 1), date(2027, 2, 28))
    assert (lot.quantity, lot.unit) == (500.0, "kg")
    drum = found["DW-778-D01"]
    assert (drum.status, drum.quantity, drum.unit) == (BatchStatus.RELEASED, 25.0, "kg")
    assert drum.material_code == "MCC-PH102"  # a sub-lot is of its lot's material
    assert found["DW-778-D01-S1"].material_code == "MCC-PH102"
    assert links(parsed, EdgeKind.PART_OF) == {
        ("batch:birch/DW-778-D01", "batch:birch/DW-778"),
        ("batch:birch/DW-778-D01-S1", "batch:birch/DW-778-D01"),
    }


def test_a_lots_site_is_the_site_level_of_its_hierarchy_scope() -> None:
    scope = (
        "<HierarchyScope><EquipmentID>ACME</EquipmentID>"
        "<EquipmentElementLevel>Enterprise</EquipmentElementLevel>"
        "<HierarchyScope><EquipmentID>HYD-1</EquipmentID>"
        "<EquipmentElementLevel>Site</EquipmentElementLevel>"
        "<HierarchyScope><EquipmentID>BLDG-4</EquipmentID>"
        "<EquipmentElementLevel>Area</EquipmentElementLevel></HierarchyScope>"
        "</HierarchyScope></HierarchyScope>"
    )
    document = (
        f'<ShowMaterialLot xmlns="{V0600}"><DataArea><Show/>'
        f"<MaterialLot><ID>A-2207</ID>{scope}<MaterialDefinitionID>ALD-7731</MaterialDefinitionID>"
        "</MaterialLot><MaterialLot><ID>A-2211</ID></MaterialLot></DataArea></ShowMaterialLot>"
    )

    found = batches(parse(document.encode()))

    assert found["A-2207"].site_code == "HYD-1"  # the Site level, not the enterprise or area
    assert found["A-2211"].site_code is None  # no scope: the site is not guessed


@pytest.mark.parametrize("namespace", [V0401, V0600, CURRENT, None])
def test_every_version_and_no_namespace_read_alike(namespace: str | None) -> None:
    declaration = f' xmlns="{namespace}"' if namespace else ""
    document = (
        f"<MaterialInformation{declaration}><MaterialLot><ID>L-1</ID>"
        "<MaterialDefinitionID>API-7</MaterialDefinitionID><Status>Approved</Status>"
        "</MaterialLot></MaterialInformation>"
    )
    lot = batches(parse(document))["L-1"]
    assert (lot.material_code, lot.status) == ("API-7", BatchStatus.RELEASED)


def test_utf8_bom_and_crlf_keep_lines_right() -> None:
    document = (
        b'\xef\xbb\xbf<?xml version="1.0" encoding="utf-8"?>\r\n'
        b"<MaterialInformation>\r\n<MaterialLot>\r\n<ID>Lot \xc3\xa9</ID>\r\n"
        b"</MaterialLot>\r\n<MaterialLot>\r\n<ID>L-2</ID>\r\n</MaterialLot>\r\n"
        b"</MaterialInformation>\r\n"
    )
    found = batches(parse(document))
    assert set(found) == {"Lot \u00e9", "L-2"}
    second = found["L-2"].provenance
    assert second is not None
    assert second.location == "/MaterialInformation/MaterialLot[2] (line 6)"


def test_a_batchml_master_recipe_is_a_plan_and_lands_no_lot() -> None:
    """The cough syrup master recipe (BatchML V02) names a product and a batch size to
    make, not a batch that was made: nothing of it is genealogy."""
    parsed = parse_sample(B2mmlConnector(), "b2mml/cough_syrup_pmw_batchml_v02.xml")
    assert (parsed.records, parsed.rejections, parsed.warnings) == ([], [], [])


# Genealogy from production performance.

PERFORMANCE = f"""<ProductionPerformance xmlns="{CURRENT}">
  <ProductionResponse>
    <ID>PR-1</ID>
    <SegmentResponse>
      <ID>Granulation</ID>
      <MaterialActual>
        <MaterialDefinitionID>API-7</MaterialDefinitionID>
        <MaterialLotID>A-2207</MaterialLotID>
        <MaterialUse>Consumed</MaterialUse>
        <Quantity><QuantityString>12.5</QuantityString><UnitOfMeasure>kg</UnitOfMeasure></Quantity>
      </MaterialActual>
      <MaterialActual>
        <MaterialLotID>A-2207</MaterialLotID>
        <MaterialUse>Consumed</MaterialUse>
        <Quantity><QuantityString>2.5</QuantityString><UnitOfMeasure>kg</UnitOfMeasure></Quantity>
      </MaterialActual>
      <MaterialActual>
        <MaterialDefinitionID>MCC-PH102</MaterialDefinitionID>
        <MaterialLotID>DW-778</MaterialLotID>
        <MaterialUse>Consumed</MaterialUse>
        <Quantity><QuantityString>40</QuantityString><UnitOfMeasure>kg</UnitOfMeasure></Quantity>
      </MaterialActual>
      <MaterialActual>
        <MaterialDefinitionID>WATER</MaterialDefinitionID>
        <MaterialUse>Consumable</MaterialUse>
      </MaterialActual>
      <MaterialActual>
        <MaterialDefinitionID>GRAN-5</MaterialDefinitionID>
        <MaterialLotID>G-0042</MaterialLotID>
        <MaterialUse>Produced</MaterialUse>
        <Quantity><QuantityString>52.0</QuantityString><UnitOfMeasure>kg</UnitOfMeasure></Quantity>
      </MaterialActual>
      <SegmentResponse>
        <ID>Compression</ID>
        <MaterialActual>
          <MaterialLotID>G-0042</MaterialLotID>
          <MaterialUse>Consumed</MaterialUse>
        </MaterialActual>
        <MaterialActual>
          <MaterialDefinitionID>TAB-5MG</MaterialDefinitionID>
          <MaterialLotID>T-9001</MaterialLotID>
          <MaterialUse>Produced</MaterialUse>
        </MaterialActual>
      </SegmentResponse>
    </SegmentResponse>
  </ProductionResponse>
</ProductionPerformance>"""


def test_segment_response_links_each_produced_lot_to_each_consumed_lot() -> None:
    parsed = parse(PERFORMANCE)
    assert parsed.rejections == []
    consumed = {(edge.source, edge.target): edge for edge in parsed.edges(EdgeKind.CONSUMED)}
    assert set(consumed) == {
        ("batch:birch/G-0042", "batch:birch/A-2207"),
        ("batch:birch/G-0042", "batch:birch/DW-778"),
        ("batch:birch/T-9001", "batch:birch/G-0042"),  # the nested segment, on its own
    }
    api = consumed[("batch:birch/G-0042", "batch:birch/A-2207")]
    assert (api.quantity, api.unit) == (15.0, "kg")  # 12.5 + 2.5 of one lot, one unit
    assert api.provenance is not None
    assert api.provenance.location == (
        "/ProductionPerformance/ProductionResponse/SegmentResponse/MaterialActual (line 6)"
    )
    assert (consumed[("batch:birch/G-0042", "batch:birch/DW-778")].quantity) == 40.0
    assert consumed[("batch:birch/T-9001", "batch:birch/G-0042")].quantity is None
    found = batches(parsed)
    assert (found["G-0042"].material_code, found["G-0042"].quantity) == ("GRAN-5", 52.0)
    assert found["A-2207"].material_code == "API-7"
    assert found["A-2207"].quantity is None  # what was consumed is not the lot's size
    assert "WATER" not in {lot.material_code for lot in found.values()}


def test_v0401_consumed_and_produced_actuals_without_namespace() -> None:
    document = """<ProductionResponse><SegmentResponse>
      <MaterialConsumedActual><MaterialLotID>A-1</MaterialLotID>
        <MaterialSubLotID>A-1-D1</MaterialSubLotID><MaterialSubLotID>A-1-D2</MaterialSubLotID>
        <Quantity><QuantityString>3</QuantityString><UnitOfMeasure>kg</UnitOfMeasure></Quantity>
      </MaterialConsumedActual>
      <MaterialConsumedActual><MaterialLotID>B-1</MaterialLotID><MaterialLotID>B-2</MaterialLotID>
        <Quantity><QuantityString>9</QuantityString><UnitOfMeasure>kg</UnitOfMeasure></Quantity>
      </MaterialConsumedActual>
      <MaterialProducedActual><MaterialLotID>P-1</MaterialLotID></MaterialProducedActual>
    </SegmentResponse></ProductionResponse>"""
    parsed = parse(document)
    assert parsed.rejections == []
    consumed = {(e.source, e.target): e.quantity for e in parsed.edges(EdgeKind.CONSUMED)}
    # Lot-level genealogy; 9 kg is for B-1 and B-2 together, so neither edge claims it.
    assert consumed == {
        ("batch:birch/P-1", "batch:birch/A-1"): 3.0,
        ("batch:birch/P-1", "batch:birch/B-1"): None,
        ("batch:birch/P-1", "batch:birch/B-2"): None,
    }
    assert links(parsed, EdgeKind.PART_OF) == {
        ("batch:birch/A-1-D1", "batch:birch/A-1"),
        ("batch:birch/A-1-D2", "batch:birch/A-1"),
    }


def dispensing(lot: str, kg: str, segment: str = "Dispense") -> str:
    return f"""<SegmentResponse><ID>{segment}</ID>
        <MaterialActual><MaterialLotID>{lot}</MaterialLotID><MaterialUse>Consumed</MaterialUse>
          <Quantity><QuantityString>{kg}</QuantityString><UnitOfMeasure>kg</UnitOfMeasure></Quantity>
        </MaterialActual></SegmentResponse>"""


def test_a_dispensing_segment_consumes_into_the_lot_its_run_produces() -> None:
    """Weighing names what it took, not what it made: the run's other segment does."""
    document = f"""<ProductionPerformance><ProductionResponse><ID>PR-77</ID>
      {dispensing("A-2207", "12.5", "Dispense-1")}
      {dispensing("DW-778", "40", "Dispense-2")}
      {dispensing("A-2207", "2.5", "Dispense-3")}
      <SegmentResponse><ID>Blend</ID>
        <MaterialActual><MaterialLotID>G-0042</MaterialLotID><MaterialUse>Produced</MaterialUse>
        </MaterialActual></SegmentResponse>
    </ProductionResponse></ProductionPerformance>"""

    parsed = parse(document)

    assert parsed.rejections == []
    consumed = {(e.source, e.target): (e.quantity, e.unit) for e in parsed.edges(EdgeKind.CONSUMED)}
    assert consumed == {
        ("batch:birch/G-0042", "batch:birch/A-2207"): (15.0, "kg"),  # two weighings of one lot
        ("batch:birch/G-0042", "batch:birch/DW-778"): (40.0, "kg"),
    }
    assert "PR-77" not in batches(parsed)  # the run's output is named: no stand-in lot


def test_a_run_that_names_no_output_keeps_its_consumption_on_the_run() -> None:
    document = f"""<ProductionPerformance><ProductionResponse><ID>PR-78</ID>
      {dispensing("A-2207", "3")}</ProductionResponse></ProductionPerformance>"""

    parsed = parse(document)

    assert parsed.rejections == []
    (edge,) = parsed.edges(EdgeKind.CONSUMED)
    assert (edge.source, edge.target, edge.quantity) == (
        "batch:birch/PR-78", "batch:birch/A-2207", 3.0,
    )  # fmt: skip
    assert edge.provenance is not None
    assert edge.provenance.location.startswith(
        "/ProductionPerformance/ProductionResponse/SegmentResponse/MaterialActual"
    )
    run = batches(parsed)["PR-78"]
    assert run.provenance is not None and run.provenance.location.startswith(
        "/ProductionPerformance/ProductionResponse/ID"
    )


def test_a_job_response_outside_a_run_is_keyed_by_its_job_order() -> None:
    document = """<JobResponse><ID>JR-1</ID><JobOrderID>JO-2025-118</JobOrderID>
      <MaterialActual><MaterialLotID>A-1</MaterialLotID><MaterialUse>Consumed</MaterialUse>
      </MaterialActual></JobResponse>"""
    assert links(parse(document), EdgeKind.CONSUMED) == {
        ("batch:birch/JO-2025-118", "batch:birch/A-1")
    }
    lone = parse(dispensing("A-1", "1", "Dispense"))
    assert links(lone, EdgeKind.CONSUMED) == set()
    (rejection,) = lone.rejections  # "Dispense" names a step of every run, not an output
    assert "belongs to no ProductionResponse or JobResponse" in rejection.message


def test_a_consumption_with_nothing_to_key_its_output_by_is_rejected_by_name() -> None:
    document = """<JobResponse><MaterialActual><MaterialLotID>A-1</MaterialLotID>
      <MaterialUse>Consumed</MaterialUse></MaterialActual></JobResponse>"""
    (rejection,) = parse(document).rejections
    assert rejection.location == "/JobResponse (line 1)"
    assert "names no output" in rejection.message


def test_an_actual_naming_lots_without_its_use_is_rejected() -> None:
    document = """<SegmentResponse>
      <MaterialActual><MaterialLotID>X-1</MaterialLotID></MaterialActual>
      <MaterialActual><MaterialLotID>P-1</MaterialLotID><MaterialUse>Produced</MaterialUse>
      </MaterialActual></SegmentResponse>"""
    parsed = parse(document)
    (rejection,) = parsed.rejections
    assert rejection.field == "MaterialUse"
    assert rejection.location == "/SegmentResponse/MaterialActual (line 2)"
    assert "X-1" in rejection.message
    assert set(batches(parsed)) == {"P-1"}


# Received lots and their suppliers.

RECEIVED = """<MaterialInformation><MaterialLot>
  <ID>R-0815</ID><MaterialDefinitionID>API-7</MaterialDefinitionID><Status>Released</Status>
  <MaterialLotProperty><ID>Supplier</ID><Value><ValueString>Alder Pharmachem Ltd</ValueString></Value>
  </MaterialLotProperty>
  <MaterialLotProperty><ID>SupplierLotID</ID><Value><ValueString>A-2207</ValueString></Value>
  </MaterialLotProperty>
</MaterialLot></MaterialInformation>"""


def test_a_received_lot_is_the_same_lot_as_its_suppliers() -> None:
    parsed = parse(RECEIVED)
    assert parsed.rejections == []
    assert links(parsed, EdgeKind.SAME_LOT) == {
        ("batch:birch/R-0815", "batch:alder-pharmachem-ltd/A-2207")
    }
    (edge,) = parsed.edges(EdgeKind.SAME_LOT)
    assert edge.provenance is not None
    assert (
        edge.provenance.location
        == "/MaterialInformation/MaterialLot/MaterialLotProperty[2] (line 5)"
    )


def test_supplier_names_map_to_partnerhub_organizations() -> None:
    options = {"supplier_orgs": {"ALDER PHARMACHEM LTD": "alder"}}
    parsed = parse(RECEIVED, options)
    assert links(parsed, EdgeKind.SAME_LOT) == {("batch:birch/R-0815", "batch:alder/A-2207")}


def test_a_supplier_lot_on_a_consumed_actual_links_too() -> None:
    document = """<SegmentResponse>
      <MaterialConsumedActual><MaterialLotID>R-1</MaterialLotID>
        <MaterialConsumedActualProperty><ID>Vendor</ID><Value><ValueString>Dogwood</ValueString>
        </Value></MaterialConsumedActualProperty>
        <MaterialConsumedActualProperty><ID>Vendor Lot</ID><Value><ValueString>DW-1</ValueString>
        </Value></MaterialConsumedActualProperty>
      </MaterialConsumedActual>
      <MaterialProducedActual><MaterialLotID>P-1</MaterialLotID></MaterialProducedActual>
    </SegmentResponse>"""
    parsed = parse(document)
    assert links(parsed, EdgeKind.SAME_LOT) == {("batch:birch/R-1", "batch:dogwood/DW-1")}
    assert links(parsed, EdgeKind.CONSUMED) == {("batch:birch/P-1", "batch:birch/R-1")}


def test_a_supplier_lot_without_its_supplier_is_rejected_but_the_lot_lands() -> None:
    document = RECEIVED.replace("<ID>Supplier</ID>", "<ID>Comment</ID>")
    parsed = parse(document)
    assert set(batches(parsed)) == {"R-0815"}
    (rejection,) = parsed.rejections
    assert (rejection.field, rejection.location) == (
        "Supplier",
        "/MaterialInformation/MaterialLot/MaterialLotProperty[2] (line 5)",
    )
    assert "A-2207" in rejection.message


# BatchML.

BATCHML = f"""<BatchInformation xmlns="{CURRENT}">
  <BatchList>
    <BatchListEntry>
      <ID>E-1</ID><BatchListEntryType>Batch</BatchListEntryType><Status>Running</Status>
      <BatchID>B-17</BatchID><LotID>T-9001</LotID><ProductID>TAB-5MG</ProductID>
      <ActualStartTime>2024-05-02T06:00:00+01:00</ActualStartTime>
      <ActualBatchSize>120000</ActualBatchSize><UnitOfMeasure>tablets</UnitOfMeasure>
      <BatchListEntry>
        <ID>E-1.1</ID><BatchListEntryType>UnitProcedure</BatchListEntryType>
        <Status>Complete</Status><BatchID>B-17</BatchID>
      </BatchListEntry>
    </BatchListEntry>
  </BatchList>
  <BatchProductionRecord>
    <ID>BPR-17</ID><EntryID>1</EntryID><ObjectType>Batch</ObjectType>
    <BatchID>B-18</BatchID><ExpirationDate>2026-05-31T00:00:00Z</ExpirationDate>
    <MaterialDefinitionID>TAB-5MG</MaterialDefinitionID>
    <Events>
      <Event><EventType>Batch</EventType><EventSubType>Batch Start</EventSubType>
        <TimeStamp>2024-05-03T07:00:00Z</TimeStamp></Event>
      <Event><EventType>Quality</EventType><EventSubType>QA Release</EventSubType>
        <TimeStamp>2024-05-20T10:00:00Z</TimeStamp></Event>
      <Event><EventType>Alarm</EventType><EventSubType>High temperature</EventSubType>
        <TimeStamp>2024-05-04T07:00:00Z</TimeStamp></Event>
    </Events>
  </BatchProductionRecord>
</BatchInformation>"""


def test_batchml_batch_list_entries_and_production_records() -> None:
    parsed = parse(BATCHML)
    assert parsed.rejections == []
    found = batches(parsed)
    assert set(found) == {"T-9001", "B-18"}  # the unit procedure is a step, not a lot
    running = found["T-9001"]
    assert (running.status, running.material_code) == (BatchStatus.IN_PROCESS, "TAB-5MG")
    assert (running.quantity, running.unit) == (120000.0, "tablets")
    assert running.manufactured_on == date(2024, 5, 2)
    record = found["B-18"]
    assert (record.material_code, record.expires_on) == ("TAB-5MG", date(2026, 5, 31))
    assert (record.manufactured_on, record.released_on) == (date(2024, 5, 3), date(2024, 5, 20))


@pytest.mark.parametrize(
    "recipe",
    [
        "<ControlRecipe><ID>CR-5</ID><BatchID>B-77</BatchID>"
        "<Header><ProductID>TAB-5MG</ProductID></Header></ControlRecipe>",
        "<ControlRecipes><ControlRecipeRecord><Header><LotID>B-77</LotID>"
        "<ProductID>TAB-5MG</ProductID></Header></ControlRecipeRecord></ControlRecipes>",
    ],
    ids=["control-recipe", "recipe-record-header"],
)
def test_an_electronic_batch_record_takes_its_lot_from_the_executed_control_recipe(
    recipe: str,
) -> None:
    document = f"""<BatchInformation xmlns="http://www.wbf.org/xml/BatchML-V02"><BatchProductionRecord>
      <ID>EBR-2025-0042</ID>{recipe}
      <Events><Event><EventType>Batch</EventType><EventSubType>Batch Start</EventSubType>
        <TimeStamp>2025-03-03T06:00:00Z</TimeStamp></Event></Events>
    </BatchProductionRecord></BatchInformation>"""

    parsed = parse(document)

    assert parsed.rejections == []
    (lot,) = parsed.nodes(Batch)
    assert isinstance(lot, Batch)
    assert (lot.id, lot.material_code, lot.manufactured_on) == (
        "batch:birch/B-77", "TAB-5MG", date(2025, 3, 3),
    )  # fmt: skip


def test_a_production_record_without_lot_or_batch_id_is_rejected() -> None:
    parsed = parse("<BatchProductionRecord><ID>BPR-1</ID></BatchProductionRecord>")
    (rejection,) = parsed.rejections
    assert (rejection.location, rejection.field) == ("/BatchProductionRecord (line 1)", "LotID")


# Rejections: located, and the rest of the file still lands.


def test_a_lot_missing_its_id_is_rejected_with_place_and_field() -> None:
    document = """<MaterialInformation>
  <MaterialLot><ID>L-1</ID></MaterialLot>
  <MaterialLot><Status>Released</Status></MaterialLot>
  <MaterialLot><ID>L-3</ID></MaterialLot>
</MaterialInformation>"""
    parsed = parse(document)
    assert set(batches(parsed)) == {"L-1", "L-3"}
    (rejection,) = parsed.rejections
    assert rejection.location == "/MaterialInformation/MaterialLot[2] (line 3)"
    assert rejection.field == "ID"
    assert "MaterialLot needs an ID" in rejection.message


def test_an_unknown_status_keeps_the_lot_with_its_word_and_warns_naming_the_known_ones() -> None:
    document = """<MaterialInformation>
  <MaterialLot><ID>L-1</ID><Status>Gesperrt</Status>
    <MaterialSubLot><ID>L-1-A</ID><Status>Teilgesperrt</Status></MaterialSubLot></MaterialLot>
  <MaterialLot><ID>L-2</ID><Status>ON-HOLD</Status></MaterialLot>
</MaterialInformation>"""
    parsed = parse(document)
    found = batches(parsed)
    assert (found["L-2"].status, found["L-2"].status_text) == (BatchStatus.QUARANTINE, "ON-HOLD")
    assert (found["L-1"].status, found["L-1"].status_text) == (None, "Gesperrt")
    assert links(parsed, EdgeKind.PART_OF) == {("batch:birch/L-1-A", "batch:birch/L-1")}
    assert parsed.rejections == []
    sub_lot, first = parsed.warnings  # nested elements are read innermost first
    assert (first.location, first.field) == (
        "/MaterialInformation/MaterialLot/Status (line 2)",
        "Status",
    )
    assert "'Gesperrt'" in first.message
    assert "quarantine" in first.message and "status_words" in first.message
    assert "'Teilgesperrt'" in sub_lot.message


def test_a_partners_own_status_words_extend_the_vocabulary() -> None:
    document = """<MaterialInformation>
  <MaterialLot><ID>L-1</ID><Status>Gesperrt</Status></MaterialLot>
  <MaterialLot><ID>L-2</ID><Status>Freigegeben</Status></MaterialLot>
  <MaterialLot><ID>L-3</ID><Status>Verbraucht</Status></MaterialLot>
</MaterialInformation>"""
    options = {
        "status_words": {"gesperrt": "QUARANTINE", "Freigegeben": "RELEASED", "VERBRAUCHT": None}
    }
    parsed = parse(document, options)
    assert parsed.rejections == []
    assert {number: lot.status for number, lot in batches(parsed).items()} == {
        "L-1": BatchStatus.QUARANTINE,
        "L-2": BatchStatus.RELEASED,
        "L-3": None,
    }


@pytest.mark.parametrize(
    ("inner", "field", "wrong"),
    [
        ("<Quantity><QuantityString>12,5 kg</QuantityString></Quantity>", "Quantity", "12,5 kg"),
        ("<Quantity><QuantityString>-4</QuantityString></Quantity>", "quantity", ""),
        (
            "<MaterialLotProperty><ID>ExpiryDate</ID><Value><ValueString>31.12.2026</ValueString>"
            "</Value></MaterialLotProperty>",
            "MaterialLotProperty ExpiryDate",
            "31.12.2026",
        ),
    ],
)
def test_unreadable_values_reject_the_lot_they_spoil(inner: str, field: str, wrong: str) -> None:
    document = (
        f"<MaterialInformation><MaterialLot><ID>L-1</ID>{inner}</MaterialLot></MaterialInformation>"
    )
    parsed = parse(document)
    assert batches(parsed) == {}
    (rejection,) = parsed.rejections
    assert rejection.field == field
    assert wrong in rejection.message


def test_options_are_checked() -> None:
    with pytest.raises(PayloadError, match=r"options\.supplier_orgs"):
        B2mmlConnector.with_options({"supplier_orgs": {"Alder": "Not A Slug"}})
    with pytest.raises(PayloadError, match=r"options\.unknown"):
        B2mmlConnector.with_options({"unknown": 1})


# Unreadable payloads.


def test_truncated_xml_is_a_payload_error_naming_the_line() -> None:
    truncated = MATERIAL_LOTS_V0600[:400]
    last_line = truncated.count("\n") + 1
    with pytest.raises(PayloadError, match=rf"^line {last_line}: malformed XML"):
        parse(truncated)


def test_a_dtd_is_refused() -> None:
    with pytest.raises(PayloadError, match="DOCTYPE"):
        parse('<!DOCTYPE x [<!ENTITY e "e">]><MaterialInformation/>')


def test_a_bare_doctype_is_read_like_the_same_document_without_it() -> None:
    declaration, body = MATERIAL_LOTS_V0600.split("\n", 1)
    with_doctype = f"{declaration}\n<!DOCTYPE b2mml:ShowMaterialInformation>\n{body}"

    read = parse(with_doctype)

    assert [batch.number for batch in read.nodes(Batch)] == [
        batch.number for batch in parse(MATERIAL_LOTS_V0600).nodes(Batch)
    ]
    assert "DW-778" in {batch.number for batch in read.nodes(Batch)}


# Streaming: a 10 MB export with 40 000 lots.

LOT = (
    "<MaterialLot><ID>L-{n:06d}</ID><MaterialDefinitionID>API-{m}</MaterialDefinitionID>"
    "<Status>Released</Status><MaterialLotProperty><ID>ExpiryDate</ID><Value>"
    "<ValueString>2027-01-31T00:00:00Z</ValueString><DataType>DateTime</DataType></Value>"
    "</MaterialLotProperty><Quantity><QuantityString>{n}.5</QuantityString>"
    "<UnitOfMeasure>kg</UnitOfMeasure></Quantity></MaterialLot>\n"
)


def test_a_10_mb_export_streams_every_lot() -> None:
    lots = 40_000
    document = "".join(
        [
            f'<SyncMaterialInformation xmlns="{V0600}"><DataArea><MaterialInformation>\n',
            *(LOT.format(n=n, m=n % 7) for n in range(lots)),
            "</MaterialInformation></DataArea></SyncMaterialInformation>\n",
        ]
    ).encode()
    assert len(document) > 10_000_000
    connector = B2mmlConnector()
    count, last = 0, None
    for record in connector.parse(io.BytesIO(document), ParseContext("ing", "mes.b2mml", "birch")):
        assert isinstance(record, Batch)
        count, last = count + 1, record
    assert count == lots
    assert last is not None and last.number == f"L-{lots - 1:06d}"
    assert last.provenance is not None
    assert last.provenance.location == (
        f"/SyncMaterialInformation/DataArea/MaterialInformation/MaterialLot[{lots}] (line {lots + 1})"
    )


# Fuzzing: whatever the bytes, records and rejections or a PayloadError, nothing else.

SAMPLE_BYTES = [path.read_bytes() for path in sample_files("b2mml")]
LOT_PARTS = ["ID", "MaterialDefinitionID", "Status", "Quantity", "MaterialLotProperty"]
ACTUAL_PARTS = ["MaterialDefinitionID", "MaterialLotID", "MaterialSubLotID", "MaterialUse"]
GRAMMAR = {
    "DataArea": [
        *("MaterialInformation", "MaterialDefinition", "ProductionResponse", "SegmentResponse"),
        *("MaterialRequirement", "BatchProductionRecord", "BatchListEntry", "JobResponse"),
    ],
    "MaterialInformation": ["ID", "MaterialLot", "MaterialSubLot", "MaterialDefinition"],
    "MaterialDefinition": ["ID", "Description", "MaterialLotID"],
    "MaterialLot": [*LOT_PARTS, "MaterialSubLot"],
    "MaterialSubLot": [*LOT_PARTS, "MaterialSubLot", "MaterialLotID"],
    "MaterialLotProperty": ["ID", "Value"],
    "Value": ["ValueString"],
    "Quantity": ["QuantityString", "UnitOfMeasure"],
    "ProductionResponse": ["SegmentResponse"],
    "SegmentResponse": [
        *("MaterialActual", "MaterialConsumedActual", "MaterialProducedActual"),
        "SegmentResponse",
    ],
    "JobResponse": ["MaterialActual"],
    "MaterialActual": [*ACTUAL_PARTS, "Quantity", "MaterialActualProperty"],
    "MaterialConsumedActual": [*ACTUAL_PARTS, "Quantity", "MaterialConsumedActualProperty"],
    "MaterialProducedActual": [*ACTUAL_PARTS, "Quantity"],
    "MaterialActualProperty": ["ID", "Value"],
    "MaterialConsumedActualProperty": ["ID", "Value"],
    "MaterialRequirement": ACTUAL_PARTS,
    "BatchProductionRecord": [
        *("LotID", "BatchID", "MaterialDefinitionID", "ExpirationDate", "Events"),
        *("BatchProductionRecord", "ControlRecipe"),
    ],
    "ControlRecipe": ["ID", "BatchID", "LotID", "ProductID", "Header"],
    "Header": ["LotID", "BatchID", "ProductID"],
    "Events": ["Event"],
    "Event": ["EventType", "EventSubType", "Description", "TimeStamp"],
    "BatchListEntry": [
        *("ID", "BatchListEntryType", "Status", "BatchID", "LotID", "ProductID"),
        *("ActualStartTime", "ActualBatchSize", "UnitOfMeasure", "BatchListEntry"),
    ],
}
WORDS = [
    *("ExpiryDate", "ManufactureDate", "Supplier", "SupplierLotID", "Batch", "Batch Start"),
    *("QA Release", "Consumed", "Produced", "Running", "Held", "L-1", "L-2", "kg"),
]


@settings(max_examples=250, deadline=None, derandomize=True)
@given(data=st.data())
def test_fuzzed_samples_yield_records_or_a_payload_error(data: st.DataObject) -> None:
    original = data.draw(st.sampled_from(SAMPLE_BYTES))
    parse_or_payload_error(B2mmlConnector(), data.draw(mutated(original)))


@settings(max_examples=250, deadline=None, derandomize=True)
@given(document=xml_documents(GRAMMAR, {"Description": ["languageID"]}, WORDS))
def test_generated_documents_yield_records_or_a_payload_error(document: bytes) -> None:
    parse_or_payload_error(B2mmlConnector(), document)
