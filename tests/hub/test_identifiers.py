"""Organizations' identifiers: registered once by the operator, audited, one owner each,
and used by every push: a partner's EPCIS about its own GS1 keys lands without options."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from graph.store import GraphStore
from hub.app import create_app
from hub.records import audit, identifiers
from hub.records.audit import Actor
from hub.records.ledger import Ledger
from hub.settings import Settings
from tests.connectors.test_epcis import commissioning, document, shipping
from tests.hub.support import hub_client
from tests.tokens import TokenSource

OPERATOR = Actor("partnerhub", "test-operator")


async def test_an_identifier_is_registered_once_to_one_organization(ledger: Ledger) -> None:
    engine = ledger.engine

    first = await identifiers.add(engine, "alder", "gs1-prefix", "0614141", OPERATOR)
    again = await identifiers.add(engine, "alder", "gs1-prefix", "061-4141", OPERATOR)
    with pytest.raises(identifiers.IdentifierTaken, match="registered to 'alder'"):
        await identifiers.add(engine, "birch", "gs1-prefix", "0614141", OPERATOR)
    await identifiers.add(engine, "birch", "gln", "4012345000016", OPERATOR)

    assert (first, again) == (True, False)
    assert [(i.org, i.scheme.value, i.value) for i in await identifiers.of(engine)] == [
        ("alder", "gs1-prefix", "0614141"),
        ("birch", "gln", "4012345000016"),
    ]
    known = await identifiers.for_connectors(engine)
    assert (known.gs1_prefixes, known.glns) == ({"0614141": "alder"}, {"4012345000016": "birch"})
    added = [e async for e in audit.entries(engine) if e.action == "identifier.add"]
    assert [(e.target, e.detail["value"], e.actor) for e in added] == [
        ("org:alder", "0614141", OPERATOR),
        ("org:birch", "4012345000016", OPERATOR),
    ]


@pytest.mark.parametrize(
    ("scheme", "value", "says"),
    [
        ("gs1-prefix", "61414", "6 to 12 digits"),
        ("gln", "40123450000", "13 digits"),
        ("duns", "12-345-678", "9 digits"),
        ("ean", "123", "is not one of gs1-prefix, gln, fei, duns"),
    ],
)
async def test_a_malformed_identifier_is_refused_saying_what_is_expected(
    ledger: Ledger, scheme: str, value: str, says: str
) -> None:
    with pytest.raises(identifiers.IdentifierError, match=says):
        await identifiers.add(ledger.engine, "alder", scheme, value, OPERATOR)
    with pytest.raises(identifiers.IdentifierError, match="not an organization id"):
        await identifiers.add(ledger.engine, "Alder Pharma", "gs1-prefix", "0614141", OPERATOR)
    assert await identifiers.of(ledger.engine) == []


@pytest.fixture
async def app_and_tokens(
    store: GraphStore, tmp_path: Path, tokens: TokenSource
) -> AsyncIterator[tuple[object, TokenSource]]:
    ledger = Ledger(f"sqlite+aiosqlite:///{tmp_path / 'ledger.sqlite'}")
    await ledger.setup()
    app = create_app(
        Settings(ingest_poll_seconds=0.05), store=store, ledger=ledger, auth=tokens.service
    )
    yield app, tokens
    await ledger.close()


async def test_only_the_operator_registers_and_reads_identifiers(
    app_and_tokens: tuple[object, TokenSource],
) -> None:
    app, tokens = app_and_tokens
    route = "/admin/organizations/alder/identifiers"
    async with hub_client(
        app, await tokens.bearer("alder", ["ingest:write", "graph:read"])
    ) as alder:
        forbidden = await alder.post(route, json={"scheme": "gs1-prefix", "value": "0614141"})
        hidden = await alder.get(route)
    async with hub_client(app, await tokens.bearer()) as operator:
        created = await operator.post(route, json={"scheme": "gs1-prefix", "value": "0614141"})
        repeated = await operator.post(route, json={"scheme": "gs1-prefix", "value": "0614141"})
        taken = await operator.post(
            "/admin/organizations/birch/identifiers",
            json={"scheme": "gs1-prefix", "value": "0614141"},
        )
        malformed = await operator.post(route, json={"scheme": "gln", "value": "12"})
        listed = await operator.get(route)

    assert (forbidden.status_code, hidden.status_code) == (403, 403)
    assert (created.status_code, repeated.status_code) == (201, 200)
    assert taken.status_code == 409 and "registered to 'alder'" in taken.json()["detail"]
    assert malformed.status_code == 422 and "13 digits" in malformed.json()["detail"]
    assert [(i["scheme"], i["value"]) for i in listed.json()] == [("gs1-prefix", "0614141")]


async def test_a_partners_epcis_about_its_own_gs1_keys_lands_once_they_are_registered(
    app_and_tokens: tuple[object, TokenSource],
) -> None:
    app, tokens = app_and_tokens
    events = document(commissioning(), shipping())  # Alder's lot, GS1 prefix 0614141
    async with hub_client(
        app, await tokens.bearer("alder", ["ingest:write", "graph:read"])
    ) as alder:
        before = (await alder.post("/ingest/supply.epcis?wait=60", content=events)).json()
        unknown = await alder.post(
            "/graphql", json={"query": '{ batch(id: "batch:alder/A-2207") { number } }'}
        )
        async with hub_client(app, await tokens.bearer()) as operator:
            registered = await operator.post(
                "/admin/organizations/alder/identifiers",
                json={"scheme": "gs1-prefix", "value": "0614141"},
            )
        after = (await alder.post("/ingest/supply.epcis?wait=60", content=events)).json()
        lot = await alder.post(
            "/graphql", json={"query": '{ batch(id: "batch:alder/A-2207") { number } }'}
        )

    # Unregistered, the lot's GS1 prefix stands for an organization of its own, and
    # Alder may not assert that organization's lot.
    assert "gs1-0614141" in json.dumps(before["rejections"])
    assert unknown.json()["data"]["batch"] is None
    assert registered.status_code == 201
    assert after["status"] in ("APPLIED", "PARTIAL") and after["applied"] > 0, after
    assert lot.json()["data"]["batch"] == {"number": "A-2207"}


RECEIPTS_PROFILE = {
    "records": [
        {
            "kind": "Batch",
            "fields": {"number": "Lot"},
            "received_from": {"supplier": "Supplier", "lot": "Supplier Lot"},
        }
    ]
}


async def test_an_export_naming_a_supplier_by_its_duns_number_names_that_organization(
    app_and_tokens: tuple[object, TokenSource],
) -> None:
    app, tokens = app_and_tokens
    # Birch's ERP names its suppliers by D-U-N-S number, written its own way.
    receipts = b"Lot,Supplier,Supplier Lot\nRM-25-0140,31-522-7684,DW-M-50402\n"
    query = '{ lineage(batchId: "batch:birch/RM-25-0140", direction: UPSTREAM, maxDepth: 1) '
    query += "{ edges { from to kind } } }"
    options = json.dumps({"profile": RECEIPTS_PROFILE})
    async with hub_client(app, await tokens.bearer()) as operator:
        registered = await operator.post(
            "/admin/organizations/dogwood/identifiers",
            json={"scheme": "duns", "value": "315227684"},
        )
        pushed = await operator.post(
            "/ingest/mes.csv",
            params={"org": "birch", "options": options, "wait": "60"},
            content=receipts,
        )
        lineage = await operator.post("/graphql", json={"query": query})

    assert registered.status_code == 201
    assert pushed.json()["status"] == "APPLIED", pushed.json()
    assert lineage.json()["data"]["lineage"]["edges"] == [
        {"from": "batch:birch/RM-25-0140", "to": "batch:dogwood/DW-M-50402", "kind": "SAME_LOT"}
    ]


def test_orgs_commands_register_and_list(tmp_path: Path) -> None:
    env = {**os.environ, "HUB_DATABASE": f"sqlite:///{tmp_path / 'hub.sqlite'}"}
    command = [sys.executable, "-m", "hub.cli", "orgs"]

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*command, *args], env=env, capture_output=True, text=True)

    added = run("add-identifier", "alder", "gs1-prefix", "0614141")
    taken = run("add-identifier", "birch", "gs1-prefix", "0614141")
    listed = run("identifiers", "--json")

    assert added.returncode == 0 and "registered" in added.stdout
    assert taken.returncode == 1 and "registered to 'alder'" in taken.stdout
    assert json.loads(listed.stdout) == [
        {"org": "alder", "scheme": "gs1-prefix", "value": "0614141"}
    ]
