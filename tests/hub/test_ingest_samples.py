"""Real partner exports pushed over HTTP, end to end: ledger, connector, graph, API."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from graph.store import GraphStore
from hub.app import create_app
from hub.records.ledger import Ledger
from hub.settings import Settings
from tests.connectors.support import SAMPLES, sample_files
from tests.connectors.test_epcis import BIRCH_1_2, PREFIXES, commissioning, document, shipping
from tests.hub.support import hub_client
from tests.tokens import TokenSource


@pytest.fixture
async def hub(
    store: GraphStore, tmp_path: Path, tokens: TokenSource
) -> AsyncIterator[httpx.AsyncClient]:
    """The operator's client (it loads for any org it names)."""
    ledger = Ledger(f"sqlite+aiosqlite:///{tmp_path / 'ledger.sqlite'}")
    await ledger.setup()
    app = create_app(
        Settings(ingest_poll_seconds=0.05), store=store, ledger=ledger, auth=tokens.service
    )
    async with hub_client(app, await tokens.bearer()) as client:
        yield client
    await ledger.close()


async def push(
    hub: httpx.AsyncClient, connector: str, body: bytes, **params: str
) -> httpx.Response:
    return await hub.post(f"/ingest/{connector}", params={"wait": "60", **params}, content=body)


async def test_the_lims_sample_lands_through_its_profile(hub: httpx.AsyncClient) -> None:
    sample = SAMPLES / "lims" / "SampleResults2022-06-28_142558.csv"
    response = await push(
        hub, "lims.csv", sample.read_bytes(), org="cdmo-b", profile="novabio_flex2"
    )
    report = response.json()

    assert response.status_code == 200, report
    assert (report["status"], report["applied"], report["rejected"]) == ("APPLIED", 14, 0)
    data = (
        await hub.post(
            "/graphql",
            json={
                "query": '{ batch(id: "batch:cdmo-b/BATCH_123") { results { test value unit sources { ingestionId location } } } }'
            },
        )
    ).json()["data"]
    results = {result["test"]: result for result in data["batch"]["results"]}
    assert results["pH"]["value"] == pytest.approx(7.4)
    assert results["pH"]["sources"] == [
        {"ingestionId": report["ingestion_id"], "location": "line 2"}
    ]


@pytest.mark.parametrize(
    "sample",
    [
        "asm/benchling_empower/example_01.json",
        "asm/novabio_flex2/SampleResults2022-06-28_142558.json",
        "asm/roche_cedex_bioht/roche_cedex_bioht_example04.json",
    ],
)
async def test_allotrope_samples_land(hub: httpx.AsyncClient, sample: str) -> None:
    response = await push(hub, "eln.asm", (SAMPLES / sample).read_bytes(), org="elm")
    report = response.json()
    assert response.status_code == 200, report
    assert report["status"] == "APPLIED" and report["applied"] > 5


async def test_an_eln_crate_is_refused_as_not_allotrope_with_its_location(
    hub: httpx.AsyncClient,
) -> None:
    response = await push(
        hub, "eln.asm", (SAMPLES / "eln" / "elabftw-ro-crate-metadata.json").read_bytes(), org="elm"
    )
    assert response.status_code == 422
    assert response.json()["error"]["location"] == "/@graph"


@pytest.mark.parametrize("sample", sorted(path.name for path in sample_files("epcis")))
async def test_epcis_samples_are_kept_and_read(hub: httpx.AsyncClient, sample: str) -> None:
    response = await push(
        hub, "supply.epcis", (SAMPLES / "epcis" / sample).read_bytes(), org="birch"
    )
    report = response.json()
    assert response.status_code == 200, report
    assert report["status"] in ("APPLIED", "PARTIAL")
    assert all(rejection["location"] for rejection in report["rejections"])


async def test_two_partners_pushes_join_into_one_cross_vendor_lineage(
    hub: httpx.AsyncClient,
) -> None:
    options = json.dumps({"company_prefixes": PREFIXES})
    alder = await push(
        hub, "supply.epcis", document(commissioning(), shipping()), org="alder", options=options
    )
    birch = await push(hub, "supply.epcis", BIRCH_1_2, org="birch", options=options)
    mes = await push(
        hub,
        "canonical.jsonl",
        b'{"node": "Batch", "maker": "birch", "number": "T-200"}\n'
        b'{"edge": "CONSUMED", "source": "batch:birch/T-200", "target": "batch:birch/A-2207"}\n',
        org="birch",
    )
    assert [r.status_code for r in (alder, birch, mes)] == [200, 200, 200]

    answer = (
        await hub.post(
            "/graphql",
            json={
                "query": '{ lineage(batchId: "batch:birch/T-200") { nodes { id depth } edges { from to kind } } }'
            },
        )
    ).json()
    lineage = answer["data"]["lineage"]
    assert {(node["id"], node["depth"]) for node in lineage["nodes"]} == {
        ("batch:birch/T-200", 0),
        ("batch:birch/A-2207", 1),
        ("batch:alder/A-2207", 2),
    }
    assert {
        "from": "batch:birch/A-2207",
        "to": "batch:alder/A-2207",
        "kind": "SAME_LOT",
    } in lineage["edges"]


@pytest.mark.parametrize(
    ("connector", "sample", "expected_lot"),
    [
        ("mes.b2mml", "b2mml/LOT-20121210170718-0001L0001.xml", "batch:courbon/CRBN0001_LOT01"),
        ("mes.b2mml", "b2mml/PRO-20121210181416-27942.xml", "batch:courbon/CRBN0002_LOT01"),
        ("mes.b2mml", "b2mml/MAT-20121210170256-CRBN0001.xml", None),
        ("lims.animl", "animl/Example3.animl", None),
        ("lims.animl", "animl/real_life.animl", None),
    ],
)
async def test_mes_and_lims_xml_samples_land(
    hub: httpx.AsyncClient, connector: str, sample: str, expected_lot: str | None
) -> None:
    response = await push(hub, connector, (SAMPLES / sample).read_bytes(), org="courbon")
    report = response.json()

    assert response.status_code == 200, report
    assert report["status"] == "APPLIED" and report["applied"] > 0
    if expected_lot is not None:
        answer = await hub.post(
            "/graphql",
            json={
                "query": f'{{ batch(id: "{expected_lot}") {{ number sources {{ location }} }} }}'
            },
        )
        batch = answer.json()["data"]["batch"]
        assert batch is not None and "line" in batch["sources"][0]["location"]


async def test_an_animl_file_with_unusable_steps_lands_the_rest_and_names_them(
    hub: httpx.AsyncClient,
) -> None:
    response = await push(
        hub, "lims.animl", (SAMPLES / "animl" / "animl_0.90.xml").read_bytes(), org="elm"
    )
    report = response.json()

    assert report["status"] == "PARTIAL"
    assert report["rejected"] == 2 and all("line" in r["location"] for r in report["rejections"])


async def test_an_animl_formulation_lands_as_genealogy_with_the_amounts_added(
    hub: httpx.AsyncClient,
) -> None:
    response = await push(
        hub, "lims.animl", (SAMPLES / "animl" / "Example6.animl").read_bytes(), org="elm"
    )
    assert response.json()["status"] == "PARTIAL", response.json()  # 3 steps lack a value

    query = """{ lineage(batchId: "batch:elm/Matcha-00001", direction: UPSTREAM) {
        edges { from to kind quantity unit } } }"""
    edges = (await hub.post("/graphql", json={"query": query})).json()["data"]["lineage"]["edges"]

    added = {edge["to"]: (edge["kind"], edge["quantity"], edge["unit"]) for edge in edges}
    assert len(added) == 12
    assert added["batch:elm/I-220513-00015"] == ("CONSUMED", 3105.2, "g")  # basil
    assert added["batch:elm/I-250606-00060"] == ("CONSUMED", 31.71, "g")  # cocoa


async def test_an_eln_archive_lands_its_entries(hub: httpx.AsyncClient) -> None:
    archive = SAMPLES / "eln" / "AI4Green-Export_workbook-2024-08-27-export.eln"
    response = await push(hub, "eln.rocrate", archive.read_bytes(), org="elm")
    report = response.json()

    assert response.status_code == 200, report
    assert (report["status"], report["applied"], report["rejected"]) == ("APPLIED", 1, 0)


async def test_a_status_word_nobody_maps_lands_the_lot_with_a_warning(
    hub: httpx.AsyncClient,
) -> None:
    export = b"""<MaterialInformation><MaterialLot><ID>L-77</ID><Status>Gesperrt</Status>
      </MaterialLot></MaterialInformation>"""
    report = (await push(hub, "mes.b2mml", export, org="birch")).json()

    assert (report["status"], report["applied"], report["rejected"]) == ("APPLIED", 1, 0)
    assert report["warned"] == 1
    (warning,) = report["warnings"]
    assert warning["location"] == "/MaterialInformation/MaterialLot/Status (line 1)"
    assert "'Gesperrt'" in warning["message"]
    lot = await hub.post(
        "/graphql", json={"query": '{ batch(id: "batch:birch/L-77") { status statusText } }'}
    )
    assert lot.json()["data"]["batch"] == {"status": None, "statusText": "Gesperrt"}
