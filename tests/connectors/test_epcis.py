"""supply.epcis: GS1 EPCIS 2.0 JSON-LD and 1.2 / 2.0 XML to lots, genealogy and sites."""

from __future__ import annotations

import io
import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from connectors.base import ParseContext, PayloadError
from connectors.epcis.connector import EpcisConnector
from connectors.traces import Commissioned, Heard, Packed, Stated, StatedEvent, TracedLot
from graph.lineage import Direction
from graph.model import Batch, Edge, EdgeKind, Record, Site
from graph.retraction import Retraction
from graph.sql.store import SqlGraphStore
from tests.connectors.fuzz_asm_epcis import (
    FUZZ_SETTINGS,
    as_json,
    check_parse_property,
    json_values,
    mutated,
    reshaped,
)
from tests.connectors.support import SAMPLES, Parsed, parse_bytes, parse_sample, sample_files
from tests.graph.builders import PROVENANCE

PREFIXES = {"0614141": "alder", "4012345": "birch"}


def epcis(options: dict[str, Any] | None = None) -> EpcisConnector:
    connector = EpcisConnector.with_options(options)
    assert isinstance(connector, EpcisConnector)
    return connector


def lots(parsed: Parsed) -> dict[tuple[str, str], Batch]:
    """Batches by (maker, number), merged as the store merges them."""
    merged: dict[tuple[str, str], dict[str, Any]] = {}
    for batch in parsed.nodes(Batch):
        assert isinstance(batch, Batch)
        merged.setdefault((batch.maker, batch.number), {}).update(
            batch.model_dump(exclude_none=True, exclude={"provenance", "record"})
        )
    return {key: Batch(**fields) for key, fields in merged.items()}


def edges(parsed: Parsed, kind: EdgeKind) -> set[tuple[str, str, float | None, str | None]]:
    return {(e.source, e.target, e.quantity, e.unit) for e in parsed.edges(kind)}


def sites(parsed: Parsed) -> set[tuple[str, str]]:
    return {(site.org, site.code) for site in parsed.nodes(Site) if isinstance(site, Site)}


def without_provenance(parsed: Parsed) -> list[dict[str, Any]]:
    return [record.model_dump(exclude={"provenance"}) for record in parsed.records]


# --- the shared samples -------------------------------------------------------------


def test_aggregation_received_on_a_pallet_names_a_lot_received_from_its_maker() -> None:
    parsed = parse_sample(epcis(), "epcis/AggregationEvent.json", org="cedar")
    assert parsed.rejections == []
    assert set(lots(parsed)) == {("gs1-4012345", "998877"), ("cedar", "998877")}
    assert lots(parsed)["gs1-4012345", "998877"].material_code == "04012345123456"
    assert edges(parsed, EdgeKind.SAME_LOT) == {
        ("batch:cedar/998877", "batch:gs1-4012345/998877", 200.5, "kg")
    }
    # the packing itself (SGTINs under an SSCC) is not genealogy: no other edge
    assert [e.kind for e in parsed.records if isinstance(e, Edge)] == [EdgeKind.SAME_LOT]
    assert sites(parsed) == {("gs1-0614141", "0614141007776"), ("gs1-0614141", "0614141008889")}


def test_transformation_sample_without_output_lot_keeps_inputs_and_says_why_no_edges() -> None:
    parsed = parse_sample(epcis({"company_prefixes": PREFIXES}), "epcis/TransformationEvent.json")
    assert set(lots(parsed)) == {("birch", "4444"), ("alder", "987")}
    assert lots(parsed)["alder", "987"].material_code == "00614141777778"
    assert parsed.edges(EdgeKind.CONSUMED) == []
    [rejection] = parsed.rejections
    assert rejection.field == "outputQuantityList"
    assert rejection.location.startswith("/epcisBody/eventList/0 (eventID ni:///sha-256;e65c3a99")


def test_transformation_sample_with_the_partners_ilmd_lot_field_gives_consumed_edges() -> None:
    # the sample's outputs are SGTINs and its ilmd says "example:batch": "XYZ"
    options = {"company_prefixes": PREFIXES, "ilmd_lot_fields": ["lotNumber", "batch"]}
    parsed = parse_sample(epcis(options), "epcis/TransformationEvent.json")
    assert parsed.rejections == []
    output = lots(parsed)["birch", "XYZ"]
    assert output.material_code == "04012345778892"  # from urn:epc:id:sgtin:4012345.077889.*
    assert output.expires_on == date(2014, 12, 10)  # ilmd bestBeforeDate
    assert output.site_code == "4012345000016"  # readPoint urn:epc:id:sgln:4012345.00001.0
    assert edges(parsed, EdgeKind.CONSUMED) == {
        ("batch:birch/XYZ", "batch:birch/4444", 10.0, "kg"),
        ("batch:birch/XYZ", "batch:alder/987", 30.0, None),
    }


def test_xml_and_json_of_the_same_events_mean_the_same() -> None:
    options = {"company_prefixes": PREFIXES, "ilmd_lot_fields": ["lotNumber", "batch"]}
    from_json = parse_sample(epcis(options), "epcis/TransformationEvent.json")
    from_xml = parse_sample(epcis(options), "epcis/TransformationEvent.xml")
    assert without_provenance(from_xml) == without_provenance(from_json)
    locations = [r.provenance.location for r in from_xml.records if r.provenance]
    assert locations[0] == (
        "/EPCISDocument/EPCISBody/EventList/TransformationEvent/readPoint/id "
        "(line 37; eventID ni:///sha-256;e65c3a997e77f34b58306da7a82ab0fc91c7820013287700f0b"
        "50345e5795b97?ver=CBV2.0)"
    )


@pytest.mark.parametrize("name", ["ObjectEvent.json", "ObjectEvent.xml"])
def test_shipping_and_receiving_serial_numbers_without_lots_add_no_lot_facts(name: str) -> None:
    # urn:epc:id:sgtin:0614141.107346.2017 is one serialised item; no lot is named anywhere
    parsed = parse_sample(epcis(), f"epcis/{name}")
    assert (parsed.records, parsed.rejections) == ([], [])


def test_digital_link_lot_received_by_its_own_maker() -> None:
    parsed = parse_sample(epcis(), "epcis/ObjectEvent_with_digitalLink.json")
    assert parsed.rejections == []
    # https://id.gs1.org/01/70614141123451/10/998877: the GTIN's prefix 0614141 is the one
    # the event's SGLNs spell out; the destination owner is that same company
    [lot] = lots(parsed).values()
    assert (lot.maker, lot.number, lot.material_code) == ("gs1-0614141", "998877", "70614141123451")
    assert parsed.edges(EdgeKind.SAME_LOT) == []  # received by its maker: one node
    assert sites(parsed) == {("gs1-0614141", "0614141007776"), ("gs1-0614141", "0614141008889")}


def test_combination_document_keeps_transformation_inputs_and_skips_the_retracted_event() -> None:
    parsed = parse_sample(epcis(), "epcis/Combination_of_different_event.json")
    assert set(lots(parsed)) == {("gs1-4012345", "4444"), ("gs1-0614141", "987")}
    assert [r.field for r in parsed.rejections] == ["outputQuantityList"]
    assert parsed.rejections[0].location.startswith("/epcisBody/eventList/3 (event sha-256 ")


def test_document_with_all_gs1_keys_names_one_lot() -> None:
    parsed = parse_sample(epcis(), "epcis/epcisDocWithAllGS1Keys.json")
    assert parsed.rejections == []
    [lot] = lots(parsed).values()
    assert (lot.maker, lot.number, lot.material_code) == (
        "gs1-4054739",
        "20160711",
        "04054739999148",
    )
    assert sites(parsed) == {("gs1-4012345", "4012345000115")}


def test_every_epcis_sample_is_covered_here() -> None:
    tested = {
        "AggregationEvent.json", "Combination_of_different_event.json", "ObjectEvent.json",
        "ObjectEvent.xml", "ObjectEvent_with_digitalLink.json", "TransformationEvent.json",
        "TransformationEvent.xml", "epcisDocWithAllGS1Keys.json",
    }  # fmt: skip
    assert {path.name for path in sample_files("epcis")} == tested


def test_every_sample_record_carries_its_event_location() -> None:
    for path in sample_files("epcis"):
        parsed = parse_sample(epcis(), f"epcis/{path.name}")
        for record in parsed.records:
            assert record.provenance is not None
            location = record.provenance.location
            assert location.startswith(("/epcisBody/eventList/", "/EPCISDocument/")), location
            assert "eventID " in location or "event sha-256 " in location


# --- hand-written documents ---------------------------------------------------------


def document(*events: Any, context_last: bool = False) -> bytes:
    body: dict[str, Any] = {"type": "EPCISDocument", "schemaVersion": "2.0"}
    body["epcisBody"] = {"eventList": list(events)}
    context = ["https://ref.gs1.org/standards/epcis/epcis-context.jsonld"]
    body = {**body, "@context": context} if context_last else {"@context": context, **body}
    return json.dumps(body).encode()


ALDER_LOT = "urn:epc:class:lgtin:0614141.012345.A-2207"


def commissioning(**extra: Any) -> dict[str, Any]:
    return {
        "type": "ObjectEvent",
        "eventID": "urn:uuid:commission-1",
        "action": "ADD",
        "bizStep": "commissioning",
        "eventTime": "2025-01-10T08:00:00Z",
        "quantityList": [{"epcClass": ALDER_LOT, "quantity": 500, "uom": "KGM"}],
        "bizLocation": {"id": "urn:epc:id:sgln:0614141.00001.0"},
        "ilmd": {"cbvmda:itemExpirationDate": "2027-06-30"},
        **extra,
    }


def shipping(step: str = "shipping", **extra: Any) -> dict[str, Any]:
    return {
        "type": "ObjectEvent",
        "eventID": "urn:uuid:ship-1",
        "action": "OBSERVE",
        "bizStep": step,
        "quantityList": [{"epcClass": ALDER_LOT, "quantity": 200, "uom": "KGM"}],
        "readPoint": {"id": "urn:epc:id:sgln:0614141.00001.7"},
        "destinationList": [
            {"type": "owning_party", "destination": "urn:epc:id:pgln:4012345.00000"},
            {"type": "location", "destination": "urn:epc:id:sgln:4012345.00001.0"},
        ],
        **extra,
    }


# Birch's own export, in EPCIS 1.2 XML: the receipt of Alder's lot, and a tablet lot
# made from it (1.2 wraps TransformationEvent in an extension of the event list).
BIRCH_1_2 = b"""<?xml version="1.0" encoding="UTF-8"?>
<epcis:EPCISDocument xmlns:epcis="urn:epcglobal:epcis:xsd:1"
    xmlns:cbvmda="urn:epcglobal:cbv:mda" schemaVersion="1.2" creationDate="2025-02-01T00:00:00Z">
  <EPCISBody>
    <EventList>
      <ObjectEvent>
        <eventTime>2025-02-01T09:00:00Z</eventTime>
        <eventTimeZoneOffset>+00:00</eventTimeZoneOffset>
        <baseExtension><eventID>urn:uuid:receive-1</eventID></baseExtension>
        <epcList/>
        <action>OBSERVE</action>
        <bizStep>urn:epcglobal:cbv:bizstep:receiving</bizStep>
        <bizLocation><id>urn:epc:id:sgln:4012345.00001.0</id></bizLocation>
        <extension>
          <quantityList>
            <quantityElement>
              <epcClass>urn:epc:class:lgtin:0614141.012345.A-2207</epcClass>
              <quantity>200</quantity>
              <uom>KGM</uom>
            </quantityElement>
          </quantityList>
        </extension>
      </ObjectEvent>
      <extension>
        <TransformationEvent>
          <eventTime>2025-02-03T09:00:00Z</eventTime>
          <eventTimeZoneOffset>+00:00</eventTimeZoneOffset>
          <baseExtension><eventID>urn:uuid:compress-1</eventID></baseExtension>
          <inputQuantityList>
            <quantityElement>
              <epcClass>urn:epc:class:lgtin:0614141.012345.A-2207</epcClass>
              <quantity>150</quantity>
              <uom>KGM</uom>
            </quantityElement>
          </inputQuantityList>
          <outputEPCList>
            <epc>urn:epc:id:sgtin:4012345.054321.1</epc>
            <epc>urn:epc:id:sgtin:4012345.054321.2</epc>
          </outputEPCList>
          <bizStep>urn:epcglobal:cbv:bizstep:commissioning</bizStep>
          <bizLocation><id>urn:epc:id:sgln:4012345.00001.0</id></bizLocation>
          <ilmd>
            <cbvmda:lotNumber>T-100</cbvmda:lotNumber>
            <cbvmda:itemExpirationDate>2028-01-31</cbvmda:itemExpirationDate>
          </ilmd>
        </TransformationEvent>
      </extension>
    </EventList>
  </EPCISBody>
</epcis:EPCISDocument>
"""


def test_commissioning_makes_the_lot_with_its_ilmd_expiry_size_and_site() -> None:
    parsed = parse_bytes(
        epcis({"company_prefixes": PREFIXES}), document(commissioning()), org="alder"
    )
    assert parsed.rejections == []
    lot = lots(parsed)["alder", "A-2207"]
    assert (lot.expires_on, lot.quantity, lot.unit) == (date(2027, 6, 30), 500.0, "kg")
    assert (lot.material_code, lot.site_code) == ("00614141123452", "0614141000012")
    assert sites(parsed) == {("alder", "0614141000012")}


def test_a_bad_ilmd_date_is_reported_and_the_lot_lands_without_it() -> None:
    event = commissioning(ilmd={"cbvmda:itemExpirationDate": "30/06/2027"})
    parsed = parse_bytes(epcis({"company_prefixes": PREFIXES}), document(event))
    [rejection] = parsed.rejections
    assert rejection.field == "ilmd.itemExpirationDate"
    assert (
        rejection.location
        == "/epcisBody/eventList/0/ilmd/cbvmda:itemExpirationDate (eventID urn:uuid:commission-1)"
    )
    assert lots(parsed)["alder", "A-2207"].expires_on is None


def test_shipping_goes_to_the_owner_and_the_location_of_the_destination() -> None:
    parsed = parse_bytes(epcis({"company_prefixes": PREFIXES}), document(shipping()), org="alder")
    assert parsed.rejections == []
    assert edges(parsed, EdgeKind.SHIPPED_TO) == {
        ("batch:alder/A-2207", "org:birch", 200.0, "kg"),
        ("batch:alder/A-2207", "site:birch/4012345000016", 200.0, "kg"),
    }
    # Birch's site is Birch's to describe: Alder's shipment names it by the edge only.
    assert ("birch", "4012345000016") not in sites(parsed)


def test_a_shipment_keeps_the_day_of_its_event_as_written_there() -> None:
    event = shipping(eventTime="2025-03-31T22:30:00-05:00", eventTimeZoneOffset="-05:00")
    parsed = parse_bytes(epcis({"company_prefixes": PREFIXES}), document(event), org="alder")
    assert {edge.occurred_on for edge in parsed.edges(EdgeKind.SHIPPED_TO)} == {date(2025, 3, 31)}


def test_the_invalid_event_time_sample_is_rejected_at_its_event_time() -> None:
    parsed = parse_sample(
        epcis(), "epcis/2.0/invalid/ObjectEvent_with_invalid_eventTime_format.json"
    )
    (rejection,) = parsed.rejections
    assert rejection.field == "eventTime"
    assert rejection.location.startswith("/epcisBody/eventList/0/eventTime (event sha-256 ")
    assert "'22-07-2026' is not an ISO 8601 date-time" in rejection.message
    assert parsed.records == []


SERIALS = ["urn:epc:id:sgtin:0614141.012345.1001", "urn:epc:id:sgtin:0614141.012345.1002"]
PALLET = "urn:epc:id:sscc:0614141.0000000042"


def test_serials_and_a_pallet_shipped_in_one_document_name_the_lot_they_were_made_in() -> None:
    """DSCSA-style: commission serials with their lot, pack them on a pallet, ship the
    pallet. The shipment names only the pallet; the lot is what it carries."""
    commission = {
        "type": "ObjectEvent", "eventID": "urn:uuid:c-1", "action": "ADD",
        "bizStep": "commissioning", "eventTime": "2025-01-10T08:00:00Z", "epcList": SERIALS,
        "ilmd": {"cbvmda:lotNumber": "A-2207"},
    }  # fmt: skip
    pack = {
        "type": "AggregationEvent", "eventID": "urn:uuid:p-1", "action": "ADD",
        "bizStep": "packing", "eventTime": "2025-01-11T08:00:00Z", "parentID": PALLET,
        "childEPCs": SERIALS,
    }  # fmt: skip
    ship = shipping(eventTime="2025-01-12T08:00:00Z", epcList=[PALLET])
    del ship["quantityList"]
    ship_serial = shipping(eventID="urn:uuid:ship-2", epcList=[SERIALS[1]])
    del ship_serial["quantityList"]

    parsed = parse_bytes(
        epcis({"company_prefixes": PREFIXES}),
        document(commission, pack, ship, ship_serial),
        org="alder",
    )

    assert parsed.rejections == []
    assert set(lots(parsed)) == {("alder", "A-2207")}
    shipped = {(e.source, e.target, e.occurred_on) for e in parsed.edges(EdgeKind.SHIPPED_TO)}
    assert ("batch:alder/A-2207", "org:birch", date(2025, 1, 12)) in shipped
    pallet_edge = next(e for e in parsed.edges(EdgeKind.SHIPPED_TO) if e.occurred_on)
    assert pallet_edge.provenance is not None
    assert pallet_edge.provenance.location.startswith("/epcisBody/eventList/2/epcList/0")


def test_a_pallet_holds_what_every_packing_added_and_not_what_was_taken_off() -> None:
    lot_b = "urn:epc:class:lgtin:0614141.012345.B-1"

    def aggregation(action: str, child_class: str, n: int) -> dict[str, Any]:
        return {
            "type": "AggregationEvent", "eventID": f"urn:uuid:agg-{n}", "action": action,
            "eventTime": "2025-01-11T08:00:00Z", "parentID": PALLET,
            "childQuantityList": [{"epcClass": child_class, "quantity": 10}],
        }  # fmt: skip

    ship = shipping(epcList=[PALLET])
    del ship["quantityList"]
    packed = [aggregation("ADD", ALDER_LOT, 1), aggregation("ADD", lot_b, 2)]
    both = parse_bytes(epcis({"company_prefixes": PREFIXES}), document(*packed, ship), org="alder")
    one_off = parse_bytes(
        epcis({"company_prefixes": PREFIXES}),
        document(*packed, aggregation("DELETE", ALDER_LOT, 3), ship),
        org="alder",
    )

    def shipped(parsed: Parsed) -> set[str]:
        return {e.source for e in parsed.edges(EdgeKind.SHIPPED_TO) if e.target == "org:birch"}

    assert shipped(both) == {"batch:alder/A-2207", "batch:alder/B-1"}
    assert shipped(one_off) == {"batch:alder/B-1"}


def test_an_events_day_is_the_day_where_it_happened() -> None:
    """23:30 UTC is already the next day at +02:00, the offset the event gives."""
    late = shipping(eventTime="2025-03-31T23:30:00Z", eventTimeZoneOffset="+02:00")
    parsed = parse_bytes(epcis({"company_prefixes": PREFIXES}), document(late), org="alder")
    assert {edge.occurred_on for edge in parsed.edges(EdgeKind.SHIPPED_TO)} == {date(2025, 4, 1)}


def test_a_serial_never_commissioned_in_the_document_names_no_lot() -> None:
    ship = shipping(epcList=[SERIALS[0]])
    del ship["quantityList"]
    parsed = parse_bytes(epcis({"company_prefixes": PREFIXES}), document(ship), org="alder")
    assert (parsed.records, parsed.rejections) == ([], [])


def test_registered_prefixes_and_glns_say_whose_lots_and_places_an_event_names() -> None:
    """The hub's registry reaches the connector in its ParseContext; the push's own
    company_prefixes option still wins for the prefixes it names."""
    context = ParseContext(
        "ing-test", "supply.epcis", "alder", "",
        gs1_prefixes={"0614141": "alder"}, glns={"4012345000016": "birch-dc"},
    )  # fmt: skip
    outcomes = list(epcis().parse(io.BytesIO(document(shipping())), context))
    shipped = {e.target for e in outcomes if isinstance(e, Edge) and e.kind is EdgeKind.SHIPPED_TO}
    # the owning party's PGLN 4012345.00000 is not registered: its prefix says gs1-4012345
    assert shipped == {"org:gs1-4012345", "site:birch-dc/4012345000016"}
    assert {o.id for o in outcomes if isinstance(o, Batch)} == {"batch:alder/A-2207"}


def test_shipping_without_a_destination_is_rejected_and_the_lot_still_lands() -> None:
    parsed = parse_bytes(epcis(), document(shipping(destinationList=[])))
    assert [(r.field, r.location) for r in parsed.rejections] == [
        ("destinationList", "/epcisBody/eventList/0 (eventID urn:uuid:ship-1)")
    ]
    assert set(lots(parsed)) == {("gs1-0614141", "A-2207")}


@pytest.mark.parametrize(
    "step",
    ["shipping", "urn:epcglobal:cbv:bizstep:shipping", "https://ref.gs1.org/cbv/BizStep-shipping"],
)
def test_bare_words_urns_and_web_uris_of_a_step_mean_the_same(step: str) -> None:
    parsed = parse_bytes(epcis({"company_prefixes": PREFIXES}), document(shipping(step)))
    assert len(parsed.edges(EdgeKind.SHIPPED_TO)) == 2


def test_context_last_changes_nothing() -> None:
    first = parse_bytes(epcis(), document(commissioning(), shipping()))
    last = parse_bytes(epcis(), document(commissioning(), shipping(), context_last=True))
    assert first.records == last.records and first.records


def test_epcis_1_2_xml_receiving_and_wrapped_transformation() -> None:
    parsed = parse_bytes(epcis({"company_prefixes": PREFIXES}), BIRCH_1_2, org="birch")
    assert parsed.rejections == []
    assert edges(parsed, EdgeKind.SAME_LOT) == {
        ("batch:birch/A-2207", "batch:alder/A-2207", 200.0, "kg")
    }
    tablets = lots(parsed)["birch", "T-100"]
    assert (tablets.material_code, tablets.expires_on) == ("04012345543216", date(2028, 1, 31))
    assert tablets.site_code == "4012345000016"
    assert edges(parsed, EdgeKind.CONSUMED) == {
        ("batch:birch/T-100", "batch:alder/A-2207", 150.0, "kg")
    }
    [consumed] = parsed.edges(EdgeKind.CONSUMED)
    assert consumed.provenance is not None
    assert consumed.provenance.location == (
        "/EPCISDocument/EPCISBody/EventList/extension/TransformationEvent/inputQuantityList"
        "/quantityElement (line 30; eventID urn:uuid:compress-1)"
    )


def test_xml_event_positions_stay_right_while_earlier_events_are_dropped() -> None:
    events = "".join(
        f"""
      <ObjectEvent>
        <bizStep>urn:epcglobal:cbv:bizstep:commissioning</bizStep>
        <quantityList><quantityElement>
          <epcClass>urn:epc:class:lgtin:0614141.012345.L{n}</epcClass>
        </quantityElement></quantityList>
      </ObjectEvent>"""
        for n in (1, 2, 3)
    )
    payload = (
        f"<EPCISDocument><EPCISBody><EventList>{events}</EventList></EPCISBody></EPCISDocument>"
    )
    parsed = parse_bytes(epcis({"company_prefixes": PREFIXES}), payload.encode())
    located = {
        batch.number: batch.provenance.location.split(" (")[0]
        for batch in parsed.nodes(Batch)
        if isinstance(batch, Batch) and batch.provenance
    }
    where = "/EPCISDocument/EPCISBody/EventList"
    assert located == {
        "L1": f"{where}/ObjectEvent/quantityList/quantityElement",
        "L2": f"{where}/ObjectEvent[2]/quantityList/quantityElement",
        "L3": f"{where}/ObjectEvent[3]/quantityList/quantityElement",
    }
    lines = [b.provenance.location for b in parsed.nodes(Batch) if b.provenance]
    assert [line.split("(line ")[1].split(";")[0] for line in lines] == ["4", "10", "16"]


async def test_shipping_and_receiving_across_partners_make_lineage_cross_vendors(
    tmp_path: Path,
) -> None:
    connector = epcis({"company_prefixes": PREFIXES})
    alder = parse_bytes(connector, document(commissioning(), shipping()), org="alder")
    birch = parse_bytes(connector, BIRCH_1_2, org="birch")
    # Birch's MES names its own lots only (as a B2MML export would): tablets from its
    # receipt of A-2207. The SAME_LOT edge from receiving carries lineage on to Alder.
    mes: list[Record] = [
        Batch(maker="birch", number="T-200", provenance=PROVENANCE),
        Edge(
            kind=EdgeKind.CONSUMED,
            source="batch:birch/T-200",
            target="batch:birch/A-2207",
            provenance=PROVENANCE,
        ),
    ]
    store = SqlGraphStore(f"sqlite+aiosqlite:///{tmp_path / 'graph.sqlite'}")
    try:
        await store.setup()
        await store.upsert([*alder.records, *birch.records, *mes])
        upstream = await store.lineage("batch:birch/T-200", Direction.UPSTREAM, 5)
        assert upstream is not None
        assert {(n.id, n.depth) for n in upstream.nodes} == {
            ("batch:birch/T-200", 0),
            ("batch:birch/A-2207", 1),
            ("batch:alder/A-2207", 2),
        }
        assert {(e.source, e.kind, e.target) for e in upstream.edges} == {
            ("batch:birch/T-200", EdgeKind.CONSUMED, "batch:birch/A-2207"),
            ("batch:birch/A-2207", EdgeKind.SAME_LOT, "batch:alder/A-2207"),
        }
        downstream = await store.lineage("batch:alder/A-2207", Direction.DOWNSTREAM, 5)
        assert downstream is not None
        assert {"batch:birch/T-100", "batch:birch/A-2207", "batch:birch/T-200"} <= downstream.ids
        [stored] = (await store.get_nodes(["batch:alder/A-2207"])).values()
        assert isinstance(stored.record, Batch)
        assert stored.record.expires_on == date(2027, 6, 30)  # what Alder's commissioning said
    finally:
        await store.close()


def test_digital_link_lots_on_any_host_resolve_by_known_prefixes() -> None:
    event = {
        "type": "ObjectEvent",
        "eventID": "urn:uuid:dl-1",
        "bizStep": "receiving",
        "epcList": ["https://brand.example.com/01/04012345543216/10/T-100/21/77"],
        "quantityList": [
            {"epcClass": "https://id.example/01/00614141123452/10/A%2F7", "quantity": 3}
        ],
        "bizLocation": {"id": "https://id.example/414/4012345000016"},
    }
    # without options, nothing in the event says where these GTINs' prefixes end
    unknown = parse_bytes(epcis(), document(event), org="elm")
    assert {r.field for r in unknown.rejections} == {"epc"}
    assert "options.company_prefixes" in unknown.rejections[0].message
    assert unknown.records == []

    parsed = parse_bytes(epcis({"company_prefixes": PREFIXES}), document(event), org="elm")
    assert parsed.rejections == []
    # Elm books the lots in as its own; the makers' lots are theirs to describe, named
    # here only as the far ends of the SAME_LOT claims.
    assert set(lots(parsed)) == {("elm", "T-100"), ("elm", "A/7")}
    assert edges(parsed, EdgeKind.SAME_LOT) == {
        ("batch:elm/T-100", "batch:birch/T-100", None, None),
        ("batch:elm/A%2F7", "batch:alder/A%2F7", 3.0, None),  # lot "A/7", escaped in ids
    }
    assert sites(parsed) == {("birch", "4012345000016")}


def test_an_error_declaration_retracts_its_event_and_the_others_land() -> None:
    retracted = shipping(
        errorDeclaration={"declarationTime": "2025-01-11T00:00:00Z", "reason": "incorrect_data"}
    )
    parsed = parse_bytes(
        epcis({"company_prefixes": PREFIXES}), document(commissioning(), retracted)
    )
    assert parsed.rejections == []
    assert parsed.edges(EdgeKind.SHIPPED_TO) == []
    assert {r.provenance.location.split(" ")[-1] for r in parsed.records if r.provenance} == {
        "urn:uuid:commission-1)"
    }


def test_an_error_declaration_in_1_2_base_extension_is_honoured() -> None:
    retracted = BIRCH_1_2.replace(
        b"<baseExtension><eventID>urn:uuid:receive-1</eventID></baseExtension>",
        b"<baseExtension><eventID>urn:uuid:receive-1</eventID><errorDeclaration>"
        b"<declarationTime>2025-02-02T00:00:00Z</declarationTime></errorDeclaration>"
        b"</baseExtension>",
    )
    parsed = parse_bytes(epcis({"company_prefixes": PREFIXES}), retracted, org="birch")
    assert parsed.edges(EdgeKind.SAME_LOT) == []
    assert len(parsed.edges(EdgeKind.CONSUMED)) == 1


def test_transformation_with_quantities_consumes_each_input_lot() -> None:
    event = {
        "type": "TransformationEvent",
        "eventID": "urn:uuid:blend-1",
        "inputQuantityList": [
            {
                "epcClass": "urn:epc:class:lgtin:0614141.012345.A-2207",
                "quantity": 120.5,
                "uom": "KGM",
            },
            {"epcClass": "urn:epc:class:lgtin:0614141.099999.EX-9", "quantity": 30, "uom": "GRM"},
            {"epcClass": "urn:epc:idpat:sgtin:0614141.011111.*", "quantity": 4},  # no lot
        ],
        "outputQuantityList": [
            {"epcClass": "urn:epc:class:lgtin:4012345.054321.B-1", "quantity": 150, "uom": "KGM"}
        ],
    }
    parsed = parse_bytes(epcis({"company_prefixes": PREFIXES}), document(event), org="birch")
    assert parsed.rejections == []
    assert edges(parsed, EdgeKind.CONSUMED) == {
        ("batch:birch/B-1", "batch:alder/A-2207", 120.5, "kg"),
        ("batch:birch/B-1", "batch:alder/EX-9", 30.0, "g"),
    }
    assert (lots(parsed)["birch", "B-1"].quantity, lots(parsed)["birch", "B-1"].unit) == (
        150.0,
        "kg",
    )


def test_reworking_a_lot_into_itself_adds_no_self_loop() -> None:
    event = {
        "type": "TransformationEvent",
        "inputEPCList": ["https://id.example/01/00614141123452/10/A-2207/21/1"],
        "inputQuantityList": [{"epcClass": ALDER_LOT, "quantity": 5, "uom": "KGM"}],
        "outputQuantityList": [
            {"epcClass": ALDER_LOT, "quantity": 4.5, "uom": "KGM"},
            {"epcClass": "urn:epc:class:lgtin:0614141.012345.A-2207R", "quantity": 0.5},
        ],
    }
    parsed = parse_bytes(epcis({"company_prefixes": PREFIXES}), document(event))
    assert parsed.rejections == []
    # the input named by an item and by a quantity is one lot, with its quantity
    assert edges(parsed, EdgeKind.CONSUMED) == {
        ("batch:alder/A-2207R", "batch:alder/A-2207", 5.0, "kg")
    }


def test_a_malformed_event_is_rejected_and_the_others_land() -> None:
    bad = {
        "type": "ObjectEvent",
        "eventID": "urn:uuid:bad",
        "quantityList": [{"epcClass": ALDER_LOT, "quantity": "lots"}],
    }
    weird = {
        "type": "ObjectEvent",
        "eventID": "urn:uuid:weird",
        "epcList": ["urn:epc:class:lgtin:12.3.4"],
    }
    parsed = parse_bytes(
        epcis({"company_prefixes": PREFIXES}), document(bad, 7, weird, commissioning())
    )
    assert [(r.location, r.field) for r in parsed.rejections] == [
        ("/epcisBody/eventList/0/quantityList/0/quantity (eventID urn:uuid:bad)", "quantity"),
        ("/epcisBody/eventList/1", "event"),
        ("/epcisBody/eventList/2/epcList/0 (eventID urn:uuid:weird)", "epc"),
    ]
    assert set(lots(parsed)) == {("alder", "A-2207")}


def test_unmapped_prefixes_stand_for_an_organization_of_their_own() -> None:
    parsed = parse_bytes(epcis(), document(commissioning()))
    assert set(lots(parsed)) == {("gs1-0614141", "A-2207")}


@pytest.mark.parametrize(
    ("payload", "where", "says"),
    [
        (
            b'{"epcisBody": {"eventList": [\n  {"type": "ObjectEvent",}\n]}}',
            "line 2, column 26",
            "malformed JSON",
        ),
        (b"<EPCISDocument><EPCISBody>\n<EventList>\n</EPCISBody>", "line 3", "malformed XML"),
        (b'<?xml version="1.0"?>\n<MaterialInformation/>', "line 2", "not an EPCIS document"),
        (b'<!DOCTYPE x [<!ENTITY e "e">]><EPCISDocument/>', "line 1", "DOCTYPE"),
        (b'{"type": "EPCISDocument"}', "/epcisBody", "eventList"),
        (b'{"epcisBody": {"eventList": {}}}', "/epcisBody/eventList", "list"),
        (b"[]", "/", "object"),
        (b"   ", "line 1, column 1", "empty"),
        (b"eventList,bizStep\n", "line 1, column 1", "neither JSON nor XML"),
    ],
)
def test_unreadable_payloads_are_located_payload_errors(
    payload: bytes, where: str, says: str
) -> None:
    with pytest.raises(PayloadError, match=says) as refused:
        parse_bytes(epcis(), payload)
    assert refused.value.location == where


def test_a_single_event_payload_and_a_query_document_are_read() -> None:
    single = parse_bytes(epcis(), json.dumps(commissioning()).encode())
    query = {
        "type": "EPCISQueryDocument",
        "epcisBody": {"queryResults": {"resultsBody": {"eventList": [commissioning()]}}},
    }
    from_query = parse_bytes(epcis(), json.dumps(query).encode())
    assert set(lots(single)) == set(lots(from_query)) == {("gs1-0614141", "A-2207")}


@pytest.mark.parametrize(
    "options",
    [
        {"company_prefixes": {"61414": "alder"}},
        {"company_prefixes": {"0614141": "Alder Pharma"}},
        {"prefixes": {}},
    ],
)
def test_bad_options_are_refused_naming_the_option(options: dict[str, Any]) -> None:
    with pytest.raises(PayloadError, match=r"^options\."):
        EpcisConnector.with_options(options)


# --- fuzzing --------------------------------------------------------------------------

SAMPLE_BYTES = {path.name: path.read_bytes() for path in sample_files("epcis")}
JSON_SAMPLES = [name for name in SAMPLE_BYTES if name.endswith(".json")]
EPCIS_WORDS = [
    ALDER_LOT, "urn:epc:class:lgtin:0614141.0123.X", "urn:epc:id:sgtin:4012345.054321.1",
    "urn:epc:idpat:sgtin:4012345.054321.*", "https://id.example/01/00614141123452/10/L1",
    "https://id.example/01/00614141123459/10/L1", "https://x/414/4012345000016",
    "urn:epc:id:sgln:4012345.00001.0", "urn:epc:id:pgln:0614141.00000", "shipping",
    "receiving", "commissioning", "urn:epcglobal:cbv:bizstep:receiving", "owning_party",
    "location", "ObjectEvent", "TransformationEvent", "AggregationEvent", "KGM", "N/A", "",
]  # fmt: skip
EPCIS_KEYS = [
    "type", "eventID", "bizStep", "epcList", "childEPCs", "quantityList", "childQuantityList",
    "inputQuantityList", "outputQuantityList", "inputEPCList", "outputEPCList", "epcClass",
    "quantity", "uom", "readPoint", "bizLocation", "id", "destinationList", "destination",
    "sourceList", "source", "ilmd", "cbvmda:lotNumber", "cbvmda:itemExpirationDate",
    "errorDeclaration", "epcisBody", "eventList",
]  # fmt: skip
anything = json_values(EPCIS_WORDS, EPCIS_KEYS)
words = st.sampled_from(EPCIS_WORDS)
# Mostly well formed (a number for a quantity, an object with an id for a place), so
# that most generated events get past the field checks into lineage building
# (tests/connectors/test_fuzz_reach.py); the ``| anything`` branches keep the rest.
quantity_list = st.lists(
    st.fixed_dictionaries(
        {"epcClass": words},
        optional={"quantity": st.integers(0, 500) | st.floats(0, 500) | anything, "uom": words},
    ),
    max_size=3,
) | st.lists(anything, max_size=2)
event = st.fixed_dictionaries(
    {"type": st.sampled_from(["ObjectEvent", "TransformationEvent", "AggregationEvent"])},
    optional={
        "eventID": words | anything,
        "bizStep": words,
        "epcList": st.lists(words, max_size=3),
        "quantityList": quantity_list,
        "childQuantityList": quantity_list,
        "inputQuantityList": quantity_list,
        "outputQuantityList": quantity_list,
        "outputEPCList": st.lists(words, max_size=3),
        "readPoint": st.fixed_dictionaries({"id": words}) | anything,
        "bizLocation": st.fixed_dictionaries({"id": words}),
        "destinationList": st.lists(
            st.fixed_dictionaries({"type": words, "destination": words}) | anything, max_size=2
        ),
        "ilmd": st.dictionaries(
            st.sampled_from(["cbvmda:lotNumber", "cbvmda:itemExpirationDate"]), words | anything
        ),
        "errorDeclaration": anything,
    },
)
# An event every field of which is well formed, and which names a lot: without it a run's
# payloads produce records only by chance, and how often depends on the literals that
# Hypothesis collects from whatever modules are imported (so on which tests ran first).
LOT_CLASSES = [
    ALDER_LOT,
    "urn:epc:class:lgtin:0614141.0123.X",
    "urn:epc:class:lgtin:4012345.054321.B-9",
]
well_formed_event = st.fixed_dictionaries(
    {
        "type": st.just("ObjectEvent"),
        "eventID": st.sampled_from(["urn:uuid:e-1", "urn:uuid:e-2", "urn:uuid:e-3"]),
        "action": st.sampled_from(["ADD", "OBSERVE"]),
        "bizStep": st.sampled_from(["commissioning", "shipping", "receiving"]),
        "eventTime": st.just("2025-01-10T08:00:00Z"),
        "quantityList": st.lists(
            st.fixed_dictionaries(
                {"epcClass": st.sampled_from(LOT_CLASSES), "quantity": st.integers(1, 500)},
                optional={"uom": st.just("KGM")},
            ),
            min_size=1,
            max_size=2,
        ),
    },
    optional={"bizLocation": st.fixed_dictionaries({"id": words})},
)
epcis_shaped = st.lists(well_formed_event | event | anything, min_size=1, max_size=4).map(
    lambda events: {"epcisBody": {"eventList": events}, "@context": []}
)
mutations = st.one_of(
    st.sampled_from(sorted(SAMPLE_BYTES)).flatmap(lambda name: mutated(SAMPLE_BYTES[name])),
    st.sampled_from(JSON_SAMPLES).flatmap(
        lambda name: reshaped(json.loads(SAMPLE_BYTES[name]), anything)
    ),
    mutated(BIRCH_1_2),
)


@FUZZ_SETTINGS
@given(mutations)
def test_fuzz_mutated_samples_give_outcomes_or_payload_errors(payload: bytes) -> None:
    check_parse_property(epcis({"company_prefixes": PREFIXES}), payload)


@FUZZ_SETTINGS
@given(st.one_of(anything, epcis_shaped).map(as_json))
@example(b'{"type": []}')  # found by fuzzing: an unhashable type value
def test_fuzz_generated_json_gives_outcomes_or_payload_errors(payload: bytes) -> None:
    check_parse_property(
        epcis({"company_prefixes": PREFIXES, "ilmd_lot_fields": ["lotNumber"]}), payload
    )


# The EPCIS 1.2 and 2.0 conformance documents (openepcis test resources), one by one.


def test_a_dscsa_style_1_2_document_ships_the_lot_its_serials_were_commissioned_in() -> None:
    parsed = parse_sample(epcis(), "epcis/1.2/EPCISDocument_with_comment.xml")
    assert parsed.rejections == []
    assert set(lots(parsed)) == {("gs1-030001", "A123")}
    assert lots(parsed)[("gs1-030001", "A123")].expires_on == date(2025, 3, 27)
    shipped = {(e.target, e.occurred_on) for e in parsed.edges(EdgeKind.SHIPPED_TO)}
    assert shipped == {
        ("org:gs1-039999", date(2023, 4, 1)),
        ("site:gs1-039999/0399993456780", date(2023, 4, 1)),
    }
    edge = parsed.edges(EdgeKind.SHIPPED_TO)[0]
    assert edge.provenance is not None and "(line 271;" in edge.provenance.location


def test_every_1_2_event_type_in_one_document() -> None:
    parsed = parse_sample(epcis(), "epcis/1.2/All_eventTypes_in_single_document.xml")
    assert set(lots(parsed)) == {("gs1-4012345", "4444"), ("gs1-0614141", "987")}
    (rejection,) = parsed.rejections  # its transformation makes serials, not a lot
    assert rejection.field == "outputQuantityList"
    assert "(line 72;" in rejection.location


@pytest.mark.parametrize(
    "name",
    [
        "1.2/ObjectEvent_with_baseExtension_errorDeclaration.xml",  # retracted: nothing lands
        "1.2/TransformationEvent_all_possible_fields.xml",  # GTIN classes without a lot
        "2.0/AggregationEvent_all_possible_fields.json",  # serials and pallets, no lot named
        "2.0/CurieString_document.json",
        "2.0/Namespaces_at_different_level.json",
        "2.0/TransactionEvent.json",
        "2.0/invalid/EPCISDocument_without_context.json",  # bare words read as EPCIS 2.0's
    ],
)
def test_conformance_documents_without_a_lot_land_nothing_and_refuse_nothing(name: str) -> None:
    parsed = parse_sample(epcis(), f"epcis/{name}")
    assert (parsed.records, parsed.rejections) == ([], [])


def test_a_2_0_transformation_keeps_its_input_lot_and_retracts_the_declared_error() -> None:
    parsed = parse_sample(epcis(), "epcis/2.0/TransformationEvent_with_error_declaration.json")
    assert set(lots(parsed)) == {("gs1-4012345", "87545GHGH")}
    assert [r.field for r in parsed.rejections] == ["outputQuantityList"]


def test_the_quantity_as_text_sample_is_rejected_at_its_quantity() -> None:
    parsed = parse_sample(epcis(), "epcis/2.0/invalid/ObjectEvent_with_quantity_as_text.json")
    (rejection,) = parsed.rejections
    assert rejection.location.startswith("/epcisBody/eventList/0/quantityList/0/quantity ")
    assert rejection.message == "must be a number"


def test_every_conformance_document_is_tested_here() -> None:
    tested = {
        "1.2/EPCISDocument_with_comment.xml", "1.2/All_eventTypes_in_single_document.xml",
        "1.2/ObjectEvent_with_baseExtension_errorDeclaration.xml",
        "1.2/TransformationEvent_all_possible_fields.xml",
        "2.0/AggregationEvent_all_possible_fields.json", "2.0/CurieString_document.json",
        "2.0/Namespaces_at_different_level.json", "2.0/TransactionEvent.json",
        "2.0/TransformationEvent_with_error_declaration.json",
        "2.0/invalid/EPCISDocument_without_context.json",
        "2.0/invalid/ObjectEvent_with_invalid_eventTime_format.json",
        "2.0/invalid/ObjectEvent_with_quantity_as_text.json",
    }  # fmt: skip
    root = SAMPLES / "epcis"
    found = {
        str(path.relative_to(root))
        for folder in ("1.2", "2.0")
        for path in (root / folder).rglob("*")
        if path.is_file()
    }
    assert found == tested


# --- across pushes: what earlier pushes said, heard through the context --------------


def heard_from(parsed: Parsed, ingestion_id: str = "ing-1", org: str = "acme") -> Heard:
    """What the hub's trace index would hand the next push after ``parsed`` (kept as
    ``ingestion_id`` of ``org``), for every identifier and event it noted."""
    serials = {
        serial: n.lot for n in parsed.notes if isinstance(n, Commissioned) for serial in n.serials
    }
    containers: dict[str, dict[tuple[str, str], TracedLot]] = {}
    for note in parsed.notes:
        if isinstance(note, Packed):
            held = containers.setdefault(note.container, {})
            for lot in note.lots:
                if note.unpacked:
                    held.pop((lot.maker, lot.number), None)
                else:
                    held.setdefault((lot.maker, lot.number), lot)
    events = {
        n.event_id: (StatedEvent(ingestion_id, n.place, org),)
        for n in parsed.notes
        if isinstance(n, Stated)
    }
    return Heard(serials, {c: tuple(held.values()) for c, held in containers.items()}, events)


DSCSA = "epcis/1.2/EPCISDocument_with_comment.xml"
DSCSA_PALLET = "urn:epc:id:sscc:030001.41234567890"


def test_a_dscsa_document_notes_its_serials_lot_and_what_its_pallet_holds() -> None:
    parsed = parse_sample(epcis(), DSCSA)
    items = TracedLot("gs1-030001", "00300010123455", "A123")
    cases = TracedLot("gs1-030001", "10300010123452", "A123")  # the same lot, by the case

    commissioned = {
        serial: n.lot for n in parsed.notes if isinstance(n, Commissioned) for serial in n.serials
    }
    assert commissioned["urn:epc:id:sgtin:030001.1012345.110"] == cases  # a case's serial
    assert set(commissioned.values()) == {items, cases}
    [pallet] = [n for n in parsed.notes if isinstance(n, Packed) and n.container == DSCSA_PALLET]
    assert (pallet.lots, pallet.unpacked) == ((cases,), False)
    assert pallet.place.startswith("/EPCISDocument/EPCISBody/EventList/AggregationEvent[")
    assert epcis().mentions(io.BytesIO((SAMPLES / DSCSA).read_bytes())).identifiers >= {
        DSCSA_PALLET, "urn:epc:id:sgtin:030001.1012345.110"
    }  # fmt: skip


def test_a_pallet_packed_in_an_earlier_push_ships_its_lot_in_a_later_one() -> None:
    earlier = parse_sample(epcis(), DSCSA)
    ship = shipping(epcList=[DSCSA_PALLET], quantityList=[], eventID="urn:uuid:reship")
    connector = epcis({"company_prefixes": PREFIXES})

    alone = parse_bytes(connector, document(ship), org="alder")
    later = parse_bytes(
        connector, document(ship), "alder", heard=heard_from(earlier), ingestion_id="ing-2"
    )

    assert alone.edges(EdgeKind.SHIPPED_TO) == []
    assert edges(later, EdgeKind.SHIPPED_TO) == {
        ("batch:gs1-030001/A123", "org:birch", None, None),
        ("batch:gs1-030001/A123", "site:birch/4012345000016", None, None),
    }
    shipped = later.edges(EdgeKind.SHIPPED_TO)[0]
    assert shipped.provenance is not None
    assert (
        shipped.provenance.location == "/epcisBody/eventList/0/epcList/0 (eventID urn:uuid:reship)"
    )


def test_a_mapped_makers_lot_shipped_by_another_organization_ships_from_its_own_lot() -> None:
    parsed = parse_bytes(epcis({"company_prefixes": PREFIXES}), document(shipping()), org="cedar")

    assert parsed.rejections == []
    assert set(lots(parsed)) == {("cedar", "A-2207")}  # not Alder's lot: Alder's to describe
    assert edges(parsed, EdgeKind.SAME_LOT) == {
        ("batch:cedar/A-2207", "batch:alder/A-2207", 200.0, "kg")
    }
    assert {(e.source, e.target) for e in parsed.edges(EdgeKind.SHIPPED_TO)} == {
        ("batch:cedar/A-2207", "org:birch"),
        ("batch:cedar/A-2207", "site:birch/4012345000016"),
    }


def test_an_error_declaration_retracts_each_earlier_statement_of_its_event() -> None:
    name = "epcis/2.0/TransformationEvent_with_error_declaration.json"
    erroneous = "urn:uuid:374d95fc-9457-4a51-bd6a-0bba133845a8"
    heard = Heard(events={erroneous: (StatedEvent("ing-1", "/epcisBody/eventList/0", "acme"),)})

    unheard = parse_sample(epcis(), name)
    parsed = parse_bytes(epcis(), (SAMPLES / name).read_bytes(), heard=heard, ingestion_id="ing-2")

    assert [(w.field, "nothing to retract" in w.message) for w in unheard.warnings] == [
        ("errorDeclaration", True)
    ]
    [retraction] = [n for n in parsed.notes if isinstance(n, Retraction)]
    assert (retraction.ingestion_id, retraction.place, retraction.org) == (
        "ing-1", "/epcisBody/eventList/0", "acme",
    )  # fmt: skip
    assert retraction.provenance.ingestion_id == "ing-2"
    assert retraction.provenance.location == f"/epcisBody/eventList/0 (eventID {erroneous})"
    assert epcis().mentions(io.BytesIO((SAMPLES / name).read_bytes())).events == {erroneous}
    # its correction, the other event, is stated for later errorDeclarations to find
    assert Stated("urn:uuid:404d95fc-9457-4a51-bd6a-0bba133845a8", "/epcisBody/eventList/1") in (
        parsed.notes
    )
