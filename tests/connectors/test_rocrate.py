"""eln.rocrate: the ELN Consortium's .eln exports (RO-Crate zips) of six ELNs, a crate
with lots and genealogy, and what is refused before anything is expanded."""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from datetime import date
from typing import Any

import pytest

from connectors import rocrate
from connectors.base import PayloadError
from connectors.registry import connector_named
from connectors.rocrate import RoCrateConnector
from graph.model import Batch, EdgeKind
from tests.connectors.support import SAMPLES, Parsed, parse_bytes, parse_sample, sample_files


def eln(graph: list[dict[str, Any]], folder: str = "export", **files: bytes) -> bytes:
    """A .eln archive: one folder with the metadata and the given files."""
    metadata = {"@context": "https://w3id.org/ro/crate/1.1/context", "@graph": graph}
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(f"{folder}/ro-crate-metadata.json", json.dumps(metadata))
        for name, content in files.items():
            archive.writestr(f"{folder}/{name}", content)
    return buffer.getvalue()


def parse(payload: bytes, options: dict[str, Any] | None = None) -> Parsed:
    return parse_bytes(RoCrateConnector.with_options(options), payload, org="birch")


# The public samples: every one is read, and what each says lands as it says it.


def test_every_eln_sample_is_read_and_names_no_lot_it_does_not_have() -> None:
    for path in sample_files("eln"):
        parsed = parse_sample(RoCrateConnector(), f"eln/{path.name}")
        assert parsed.rejections == [], path.name
        assert parsed.experiments(), path.name
        # Serial numbers, QR codes and run ids are not lots: none of these names one.
        assert parsed.nodes(Batch) == [], path.name


def test_ai4green_reaction_is_one_experiment_with_its_day() -> None:
    parsed = parse_sample(RoCrateConnector(), "eln/AI4Green-Export_workbook-2024-08-27-export.eln")
    (amidation,) = parsed.experiments().values()  # the crate's own creation is not an entry
    assert (amidation.experiment_id, amidation.title) == ("./AI4-001/", "Amidation")
    assert (amidation.org, amidation.performed_on) == ("acme", date(2024, 7, 18))
    assert amidation.provenance is not None
    assert amidation.provenance.location == (
        "Export workbook-2024-08-27-export/ro-crate-metadata.json /@graph/3"
    )
    # Its files by reference, with the checksums the crate gives: those of the members.
    archive = zipfile.ZipFile(SAMPLES / "eln" / "AI4Green-Export_workbook-2024-08-27-export.eln")
    for named in amidation.files:
        path, _, checksum = named.partition(" sha256:")
        member = archive.read("Export workbook-2024-08-27-export/" + path.removeprefix("./"))
        assert hashlib.sha256(member).hexdigest() == checksum, path
    assert [f.split(" ")[0] for f in amidation.files] == [
        "./AI4-001/AI4-001.rxn", "./AI4-001/AI4-001.json", "./AI4-001/AI4-001-summary.pdf",
    ]  # fmt: skip


def test_benchlineage_runs_and_analyses_are_experiments() -> None:
    parsed = parse_sample(RoCrateConnector(), "eln/BenchLineage-benchlineage-0.3.0-demo.eln")
    found = parsed.experiments()
    run = found["#run-buck-load-001"]
    assert (run.title, run.performed_on) == ("Experimental run buck-load-001", date(2026, 8, 4))
    assert {"#run-rc-baseline-001", "#run-rc-swap-002", "#analysis-rc-swap-002"} <= set(found)


def test_elabftw_experiments_and_resources_keep_their_identifiers() -> None:
    parsed = parse_sample(RoCrateConnector(), "eln/elabftw-ro-crate-metadata.json")
    found = parsed.experiments()
    assert len(found) == 12
    aspirin = found["20250916-076f68c6b56f8ab6cb023ff295e869e3c0d6e0f0"]
    assert (aspirin.title, aspirin.performed_on) == ("Synthesis of Aspirin", date(2025, 9, 16))
    assert aspirin.provenance is not None
    assert aspirin.provenance.location.startswith("ro-crate-metadata.json /@graph/")


def test_rspace_linked_documents_are_not_entries_of_their_own() -> None:
    parsed = parse_sample(
        RoCrateConnector(), "eln/RSpace-RSpace-2023-12-08-14-44-xml-SELECTION-c0bEtpHcnNe-HA.eln"
    )
    assert set(parsed.experiments()) == {
        "./resources",
        "./doc_Editable2-32",
        "./doc_Experiment-1-25",
    }


def test_pasta_kadi4mat_entries() -> None:
    pasta = parse_sample(RoCrateConnector(), "eln/PASTA-PASTA.eln").experiments()
    sample = pasta["s-d6538d1a6de94bc386bba54e268f7299"]
    assert (sample.title, sample.performed_on) == ("Example sample", date(2025, 9, 30))
    assert len(pasta) == 9
    (kadi,) = parse_sample(RoCrateConnector(), "eln/kadi4mat-records-example.eln").experiments()
    assert kadi == "records-example"


# Lots and genealogy, as an ELN that tracks materials writes them.

CRATE: list[dict[str, Any]] = [
    {"@id": "ro-crate-metadata.json", "@type": "CreativeWork", "about": {"@id": "./"}},
    {"@id": "./", "@type": "Dataset", "hasPart": [{"@id": "./granulation/"}]},
    {
        "@id": "#api-lot",
        "@type": "Thing",
        "name": "API, received",
        "variableMeasured": [{"@id": "#api-lot-number"}],
    },
    {
        "@id": "#api-lot-number",
        "@type": "PropertyValue",
        "propertyID": "Lot Number",
        "value": "A-2207",
    },
    {
        "@id": "#mcc-lot",
        "@type": "Thing",
        "name": "Microcrystalline cellulose",
        "variableMeasured": [{"@type": "PropertyValue", "name": "meta.Batch", "value": "DW-778"}],
    },
    {"@id": "#granulate", "@type": "Thing", "name": "Granulate", "lotNumber": "G-0042"},
    {
        "@id": "#retained-sample",
        "@type": "Thing",
        "additionalProperty": {"@type": "PropertyValue", "name": "Charge", "value": "RS-1"},
        "isBasedOn": {"@id": "#granulate"},
    },
    {
        "@id": "./granulation/",
        "@type": "CreateAction",
        "name": "Wet granulation",
        "startTime": "2025-02-03T08:00:00+01:00",
        "object": [{"@id": "#api-lot"}, {"@id": "#mcc-lot"}, {"@id": "#balance"}],
        "result": {"@id": "#granulate"},
    },
    {"@id": "#balance", "@type": "IndividualProduct", "serialNumber": "SN-7731"},
]


def test_an_action_made_its_result_lot_from_its_object_lots() -> None:
    parsed = parse(eln(CRATE))

    assert parsed.rejections == []
    assert {lot.id for lot in parsed.nodes(Batch)} == {
        "batch:birch/A-2207",
        "batch:birch/DW-778",
        "batch:birch/G-0042",
    }  # the balance's serial number and the unnamed retained sample are not lots
    granulation = parsed.experiments()["./granulation/"]
    assert granulation.used_ids == ("batch:birch/A-2207", "batch:birch/DW-778")
    assert granulation.produced_ids == ("batch:birch/G-0042",)
    assert granulation.performed_on == date(2025, 2, 3)
    consumed = {(edge.source, edge.target) for edge in parsed.edges(EdgeKind.CONSUMED)}
    assert consumed == {
        ("batch:birch/G-0042", "batch:birch/A-2207"),
        ("batch:birch/G-0042", "batch:birch/DW-778"),
    }
    api = next(lot for lot in parsed.nodes(Batch) if lot.id == "batch:birch/A-2207")
    assert api.provenance is not None
    assert api.provenance.location == "export/ro-crate-metadata.json /@graph/3/value"


def test_a_partners_own_lot_property_and_derivation() -> None:
    parsed = parse(eln(CRATE), {"lot_properties": ["Charge"], "lot_maker": "dogwood"})

    assert "batch:dogwood/RS-1" in {lot.id for lot in parsed.nodes(Batch)}
    consumed = {(edge.source, edge.target) for edge in parsed.edges(EdgeKind.CONSUMED)}
    assert ("batch:dogwood/RS-1", "batch:dogwood/G-0042") in consumed  # isBasedOn


def test_a_bare_metadata_document_is_read_like_the_archive() -> None:
    bare = json.dumps({"@graph": CRATE}).encode()
    assert {lot.id for lot in parse(bare).nodes(Batch)} == {
        lot.id for lot in parse(eln(CRATE)).nodes(Batch)
    }


def test_it_is_registered_by_name() -> None:
    assert connector_named("eln.rocrate") is RoCrateConnector


# Bad input: refused by where and what, before anything is expanded.


def test_a_zip_without_metadata_is_not_an_eln() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("export/data.csv", "a,b\n")
    with pytest.raises(PayloadError, match=r"no ro-crate-metadata\.json") as refused:
        parse(buffer.getvalue())
    assert refused.value.location == "zip"


def test_too_many_members_are_refused_before_reading_any(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(rocrate, "MAX_MEMBERS", 3)
    payload = eln(CRATE, **{f"f{i}.txt": b"x" for i in range(3)})
    with pytest.raises(PayloadError, match="4 members, more than 3"):
        parse(payload)


def test_metadata_that_expands_past_the_limit_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(rocrate, "MAX_METADATA_BYTES", 1000)
    padded = [*CRATE, {"@id": "#pad", "@type": "Thing", "description": "z" * 5000}]
    with pytest.raises(PayloadError, match="more than 1000") as refused:
        parse(eln(padded))
    assert refused.value.location == "export/ro-crate-metadata.json"


def test_malformed_metadata_names_the_member_line_and_column() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("export/ro-crate-metadata.json", '{"@graph": [\n  {"@id": }]}')
    with pytest.raises(PayloadError, match="malformed JSON") as refused:
        parse(buffer.getvalue())
    assert refused.value.location == "export/ro-crate-metadata.json line 2, column 11"


def test_bad_entities_are_located_rejections_and_the_rest_lands() -> None:
    graph = [
        *CRATE,
        ["not", "an", "entity"],
        {"@id": "#run-9", "@type": "CreateAction", "endTime": "yesterday"},
    ]
    parsed = parse(eln(graph))
    assert [(r.location, r.field) for r in parsed.rejections] == [
        ("export/ro-crate-metadata.json /@graph/9", "@id"),
        ("export/ro-crate-metadata.json /@graph/10/endTime", "endTime"),
    ]
    assert "./granulation/" in parsed.experiments()


def test_a_damaged_member_is_a_payload_error_naming_it() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("export/ro-crate-metadata.json", json.dumps({"@graph": CRATE}))
    damaged = bytearray(buffer.getvalue())
    name_length = int.from_bytes(damaged[26:28], "little")
    extra_length = int.from_bytes(damaged[28:30], "little")
    damaged[30 + name_length + extra_length] = 0xFF  # a deflate block of no valid type
    with pytest.raises(PayloadError, match="cannot be read") as refused:
        parse(bytes(damaged))
    assert refused.value.location == "export/ro-crate-metadata.json"


def test_the_member_count_is_read_from_the_end_record_before_the_directory(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    listed: list[object] = []
    monkeypatch.setattr(rocrate, "MAX_MEMBERS", 3)
    monkeypatch.setattr(zipfile.ZipFile, "infolist", lambda self: listed.append(self) or [])
    with pytest.raises(PayloadError, match="4 members, more than 3"):
        parse(eln(CRATE, **{f"f{i}.txt": b"x" for i in range(3)}))
    assert listed == [], "refused before the directory was listed"
