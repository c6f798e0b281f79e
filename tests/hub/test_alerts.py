"""Real-time alerts, end to end: an export pushed over HTTP, an alert received over a real
websocket speaking graphql-transport-ws, scoped to what the subscriber may read."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette
from websockets.exceptions import InvalidStatus

from auth.config import AuthConfig
from auth.service import AuthService
from graph.ids import NodeKind, make_id
from graph.model import (
    Batch,
    BatchStatus,
    Deviation,
    DeviationClass,
    DeviationStatus,
    Edge,
    EdgeKind,
    Product,
    Record,
    TestResult,
    Verdict,
)
from graph.store import GraphStore
from hub.app import create_app
from hub.demo.story import (
    CONTAMINATED_EXCIPIENT_LOT_ID,
    FINISHED_LOT_ID,
    OAKRIDGE_BATCH_ID,
    OOS_BATCH_ID,
    demo_records,
)
from hub.records.database import migrate
from hub.records.ledger import Ledger
from hub.settings import Settings
from tests.hub.sockets import GraphQLSocket, canonical, served, subscribers_reach
from tests.tokens import TEST_AUTH, TokenSource

NORTHWIND_BIRCH_LOT = make_id(NodeKind.BATCH, "birch", "BT-25-048")


@dataclass
class Hub:
    app: Starlette
    url: str
    http: httpx.AsyncClient  # the operator's
    tokens: TokenSource

    async def push(self, records: Iterable[Record], org: str) -> str:
        """Push records as the operator and wait until they are applied; the ingestion id."""
        response = await self.http.post(
            f"/ingest/canonical.jsonl?org={org}&wait=60", content=canonical(records)
        )
        assert response.status_code == 200, response.text
        assert response.json()["status"] == "APPLIED", response.json()
        ingestion_id: str = response.json()["ingestion_id"]
        return ingestion_id

    @asynccontextmanager
    async def subscriber(
        self, org: str, kinds: list[str] | None = None, scopes: tuple[str, ...] = ("graph:read",)
    ) -> AsyncIterator[GraphQLSocket]:
        """A socket of ``org``, authenticated in connection_init and subscribed to alerts."""
        token = (await self.tokens.bearer(org, scopes))["authorization"].split()[1]
        before = self.app.state.alerts.subscribers
        async with GraphQLSocket.open(self.url) as socket:
            assert (await socket.init(token))["type"] == "connection_ack"
            await socket.subscribe(kinds)
            await subscribers_reach(self.app, before + 1)
            yield socket


@asynccontextmanager
async def running_hub(
    store: GraphStore, tmp_path: Path, tokens: TokenSource, **settings_given: object
) -> AsyncIterator[Hub]:
    ledger = Ledger(f"sqlite+aiosqlite:///{tmp_path / 'ledger.sqlite'}")
    await ledger.setup()
    # One worker: pushes apply, and so raise their alerts, in the order sent.
    settings = Settings(ingest_poll_seconds=0.05, ingest_workers=1, **settings_given)  # type: ignore[arg-type]
    app = create_app(settings, store=store, ledger=ledger, auth=tokens.service)
    try:
        async with (
            served(app) as url,
            # A push waits for its outcome: on a loaded machine that takes more than
            # httpx's default 5 seconds, which is not what these tests are about.
            httpx.AsyncClient(
                base_url=url, headers=await tokens.bearer(), trust_env=False, timeout=60
            ) as http,
        ):
            yield Hub(app, url, http, tokens)
    finally:
        await ledger.close()


@pytest.fixture
async def hub(demo_store: GraphStore, tmp_path: Path, tokens: TokenSource) -> AsyncIterator[Hub]:
    """The hub serving the demo story on a loopback port, on each store in turn."""
    async with running_hub(demo_store, tmp_path, tokens) as running:
        yield running


def assay(
    result_id: str,
    batch_id: str,
    value: float,
    verdict: Verdict | None = None,
    *,
    lab: str = "elm",
    test: str = "assay",
) -> TestResult:
    return TestResult(
        lab=lab,
        result_id=result_id,
        batch_id=batch_id,
        test=test,
        value=value,
        unit="%",
        spec_low=95.0,
        spec_high=105.0,
        verdict=verdict,
        tested_on=date(2025, 11, 20),
    )


def to_elm(lot_id: str) -> Edge:
    """The maker's shipment of a lot's samples to Elm: what makes Elm's results on it
    count for the lot's maker and sponsors (graph.trust)."""
    return Edge(kind=EdgeKind.SHIPPED_TO, source=lot_id, target="org:elm")


async def test_an_out_of_specification_result_reaches_the_sponsor(hub: Hub) -> None:
    async with hub.subscriber("northwind", ["OUT_OF_SPECIFICATION"]) as northwind:
        ingestion = await hub.push(
            [assay("ELM-T-1", NORTHWIND_BIRCH_LOT, 93.1, Verdict.OOS)], org="elm"
        )
        alert = await northwind.alert()

    assert alert["kind"] == "OUT_OF_SPECIFICATION"
    assert alert["subjectId"] == "result:elm/ELM-T-1"
    assert alert["batchIds"] == [NORTHWIND_BIRCH_LOT]
    assert alert["ingestionId"] == ingestion
    assert "93.1 %" in alert["message"] and "95-105 %" in alert["message"]
    assert alert["missedBefore"] == 0 and alert["rules"] == [] and alert["raisedAt"]


async def test_a_value_outside_its_specification_alerts_whatever_its_verdict(hub: Hub) -> None:
    async with hub.subscriber("birch", ["OUT_OF_SPECIFICATION"]) as birch:
        await hub.push([assay("ELM-T-2", NORTHWIND_BIRCH_LOT, 99.0, Verdict.PASS)], org="elm")
        await hub.push([assay("ELM-T-3", NORTHWIND_BIRCH_LOT, 106.2, Verdict.PASS)], org="elm")
        alert = await birch.alert()

    assert alert["subjectId"] == "result:elm/ELM-T-3", "the passing result raised nothing"


async def test_each_subscriber_hears_only_about_what_it_may_read(hub: Hub) -> None:
    cedar_fail = TestResult(
        lab="cedar", result_id="C-QC-7", batch_id=FINISHED_LOT_ID, test="label check",
        text_value="wrong lot number printed", verdict=Verdict.FAIL,
    )  # fmt: skip
    oakridge_oos = assay("ELM-T-4", OAKRIDGE_BATCH_ID, 91.0, Verdict.OOS)
    northwind_oos = assay("ELM-T-5", NORTHWIND_BIRCH_LOT, 94.0, Verdict.OOS)
    kinds = ["OUT_OF_SPECIFICATION"]
    async with (
        hub.subscriber("northwind", kinds) as northwind,
        hub.subscriber("birch", kinds) as birch,
        hub.subscriber("oakridge", kinds) as oakridge,
    ):
        # Birch sent Elm a sample of the Oakridge lot too (graph.trust).
        await hub.push([to_elm(OAKRIDGE_BATCH_ID)], org="birch")
        for record, org in ((cedar_fail, "cedar"), (oakridge_oos, "elm"), (northwind_oos, "elm")):
            await hub.push([record], org=org)
        to_northwind = [await northwind.alert(), await northwind.alert()]
        to_birch = [await birch.alert(), await birch.alert()]
        to_oakridge = await oakridge.alert()
        with pytest.raises(TimeoutError):  # the last push was delivered with the others
            await oakridge.alert(within=1.0)

    # The sponsor hears of the packer's failed lot; Birch, another vendor, does not.
    assert [a["subjectId"] for a in to_northwind] == [cedar_fail.id, northwind_oos.id]
    assert "wrong lot" not in to_northwind[0]["message"]
    assert [a["subjectId"] for a in to_birch] == [oakridge_oos.id, northwind_oos.id]
    # One sponsor never hears of another's lots, even at the same vendor.
    assert to_oakridge["subjectId"] == oakridge_oos.id


async def test_a_new_deviation_raises_an_alert_once(hub: Hub) -> None:
    def deviation(number: str, status: DeviationStatus) -> Deviation:
        return Deviation(
            org="birch", deviation_id=number, title="Tablet press B2 punch wear",
            classification=DeviationClass.MAJOR, status=status, opened_on=date(2025, 11, 2),
            batch_ids=(NORTHWIND_BIRCH_LOT,),
        )  # fmt: skip

    async with hub.subscriber("northwind", ["DEVIATION"]) as northwind:
        first = await hub.push([deviation("DEV-BIR-25-0200", DeviationStatus.OPEN)], org="birch")
        alert = await northwind.alert()
        # Closed later: the same deviation, no new alert; then a new one.
        await hub.push([deviation("DEV-BIR-25-0200", DeviationStatus.CLOSED)], org="birch")
        await hub.push([deviation("DEV-BIR-25-0201", DeviationStatus.OPEN)], org="birch")
        following = await northwind.alert()

    assert alert["kind"] == "DEVIATION"
    assert alert["subjectId"] == "deviation:birch/DEV-BIR-25-0200"
    assert alert["batchIds"] == [NORTHWIND_BIRCH_LOT]
    assert alert["ingestionId"] == first
    assert "MAJOR deviation DEV-BIR-25-0200 opened by birch" in alert["message"]
    assert "punch wear" in alert["message"]
    assert following["subjectId"] == "deviation:birch/DEV-BIR-25-0201"


async def test_a_lot_made_after_its_agreement_ended_raises_a_compliance_gap(hub: Hub) -> None:
    def tablets(number: str, made_on: date) -> Batch:
        return Batch(
            maker="birch", number=number, material_code="B-FG-2050", site_code="CRK-1",
            status=BatchStatus.QUARANTINE, manufactured_on=made_on,
        )  # fmt: skip

    async with (
        hub.subscriber("northwind", ["COMPLIANCE_GAP"]) as northwind,
        hub.subscriber("elm", ["COMPLIANCE_GAP"]) as elm,
    ):
        await hub.push([tablets("BT-25-015", date(2025, 3, 3))], org="birch")  # covered
        ingestion = await hub.push([tablets("BT-25-070", date(2025, 11, 3))], org="birch")
        alert = await northwind.alert()
        with pytest.raises(TimeoutError):  # a lab is shown no verdict on a maker's lot
            await elm.alert(within=1.0)

    assert alert["kind"] == "COMPLIANCE_GAP"
    assert alert["subjectId"] == "batch:birch/BT-25-070"
    assert alert["ingestionId"] == ingestion
    # Made after its agreement ended, and after Birch's change CC-BIR-25-014 went in
    # without Northwind's approval (2025-08-18): the demo story plants both.
    assert alert["gapReasons"] == ["AGREEMENT_EXPIRED", "UNAPPROVED_CHANGE"]
    assert "ended on 2025-06-30" in alert["message"]


async def test_a_drifting_series_raises_a_run_rule_alert_at_the_point_that_completes_it(
    hub: Hub,
) -> None:
    product = Product(sponsor="northwind", code="NW-TAB-202", name="Zelvoxin 100 mg")
    start = date(2025, 1, 6)

    def point(index: int, value: float) -> list[Record]:
        number = f"RR-{index:02d}"
        lot = Batch(
            maker="birch", number=number, product_id=product.id, site_code="CRK-1",
            manufactured_on=start + timedelta(days=7 * index),
        )  # fmt: skip
        result = assay(f"ELM-RR-{index:02d}", lot.id, value, test="hardness")
        return [lot, to_elm(lot.id), result]

    history = [10.0, 10.4, 9.8, 10.3, 9.9, 10.1, 9.7, 10.2, 10.0, 9.9]
    drift = [9.6, 9.3, 9.0, 8.7]
    async with hub.subscriber("northwind", ["RUN_RULE"]) as northwind:
        records: list[Record] = [product]
        for index, value in enumerate(history):
            records += point(index, value)
        await hub.push(records, org="birch")
        for index, value in enumerate(drift, start=len(history)):
            await hub.push(point(index, value), org="birch")
        first, second = await northwind.alert(), await northwind.alert()

    # 10.2, 10.0, 9.9, 9.6, 9.3, 9.0: the sixth falling point is the third of the drift.
    assert first["kind"] == "RUN_RULE"
    assert first["subjectId"] == "result:elm/ELM-RR-12"
    assert first["batchIds"] == ["batch:birch/RR-12"]
    assert first["rules"] == ["SIX_TRENDING"]
    assert "hardness 9 % on batch:birch/RR-12" in first["message"]
    assert "at birch site CRK-1" in first["message"]
    assert second["subjectId"] == "result:elm/ELM-RR-13"
    assert set(second["rules"]) >= {"BEYOND_LIMITS", "SIX_TRENDING"}


async def test_the_demo_story_rings_for_the_excipient_deviation_and_the_birch_drift(
    store: GraphStore, tmp_path: Path, tokens: TokenSource
) -> None:
    async with (
        running_hub(store, tmp_path, tokens) as hub,
        hub.subscriber("northwind", ["DEVIATION", "RUN_RULE"]) as northwind,
        hub.subscriber("dogwood", ["DEVIATION"]) as dogwood,
    ):
        ingestion = await hub.push(demo_records(), org="northwind")
        excipient = "deviation:dogwood/DEV-DW-25-031"
        wanted = {excipient, "result:elm/ELM-25-1080"}  # BT-25-055's assay, the last point
        seen = []
        while wanted:
            seen.append(await northwind.alert())
            wanted.discard(seen[-1]["subjectId"])
        to_dogwood = await dogwood.alert()

    by_subject = {alert["subjectId"]: alert for alert in seen}
    deviation = by_subject[excipient]
    assert deviation["batchIds"] == [CONTAMINATED_EXCIPIENT_LOT_ID]
    assert deviation["ingestionId"] == ingestion
    assert "Burkholderia" in deviation["message"]
    drift = [alert for alert in seen if alert["kind"] == "RUN_RULE"]
    assert all("assay" in alert["message"] or "dissolution" in alert["message"] for alert in drift)
    last = next(alert for alert in drift if OOS_BATCH_ID in alert["batchIds"])
    assert {"SIX_TRENDING", "BEYOND_LIMITS"} <= set(last["rules"])
    # The excipient's maker hears of its own deviation, and not of Birch's.
    assert to_dogwood["subjectId"] == excipient


# Refusals -------------------------------------------------------------------------


async def test_a_socket_without_a_valid_token_is_refused(hub: Hub) -> None:
    ingest_only = (await hub.tokens.bearer("birch", ["ingest:write"]))["authorization"]
    async with GraphQLSocket.open(hub.url) as socket:  # no token at all
        await socket.start()
        assert await socket.close_code() == 4403
    async with GraphQLSocket.open(hub.url) as socket:
        await socket.start("not-a-jwt")
        assert await socket.close_code() == 4403
    async with GraphQLSocket.open(hub.url) as socket:
        await socket.start(ingest_only.split()[1])  # valid, but no graph:read
        assert await socket.close_code() == 4403
    async with GraphQLSocket.open(hub.url) as socket:  # subscribing before connection_init
        await socket.subscribe()
        assert await socket.close_code() == 4401
    with pytest.raises(InvalidStatus) as refused:  # a bad header: no websocket at all
        async with GraphQLSocket.open(hub.url, {"authorization": "Bearer not-a-jwt"}):
            pass
    assert refused.value.response.status_code == 403
    assert hub.app.state.alerts.subscribers == 0


async def test_a_token_in_the_handshake_header_is_enough(hub: Hub) -> None:
    headers = await hub.tokens.bearer("northwind", ["graph:read"])
    async with GraphQLSocket.open(hub.url, headers) as socket:
        assert (await socket.init())["type"] == "connection_ack"
        await socket.subscribe(["OUT_OF_SPECIFICATION"])
        await subscribers_reach(hub.app, 1)
        await hub.push([assay("ELM-T-6", NORTHWIND_BIRCH_LOT, 90.0, Verdict.OOS)], org="elm")
        assert (await socket.alert())["subjectId"] == "result:elm/ELM-T-6"
    token = headers["authorization"].split()[1]
    async with GraphQLSocket.open(hub.url) as socket:  # as some clients spell the key
        assert (await socket.init(Authorization=f"Bearer {token}"))["type"] == "connection_ack"
    other = (await hub.tokens.bearer("birch", ["graph:read"]))["authorization"].split()[1]
    async with GraphQLSocket.open(hub.url, headers) as socket:
        await socket.start(other)  # two different tokens: which one speaks?
        assert await socket.close_code() == 4403


async def test_alerts_are_not_served_over_http(hub: Hub) -> None:
    for accept in ("application/json", "multipart/mixed;subscriptionSpec=1.0"):
        response = await hub.http.post(
            "/graphql",
            json={"query": "subscription { alerts { kind } }"},
            headers={"accept": accept},
        )
        assert response.status_code == 400
        assert "subscriptions are not allowed" in response.text


async def test_a_socket_is_closed_when_its_token_expires(
    demo_store: GraphStore, tmp_path: Path
) -> None:
    config = AuthConfig(
        issuer=TEST_AUTH.issuer,
        audience=TEST_AUTH.audience,
        access_token_lifetime=timedelta(seconds=3),
        clock_leeway=timedelta(seconds=1),
    )
    service = AuthService.from_url(
        f"sqlite+aiosqlite:///{tmp_path / 'auth.sqlite'}", config, migrate=migrate
    )
    await service.setup()
    try:
        short_lived = TokenSource(service)
        async with running_hub(demo_store, tmp_path, short_lived) as hub:
            async with hub.subscriber("northwind") as socket:
                assert await socket.close_code(within=15) == 4403
            assert hub.app.state.alerts.subscribers == 0
    finally:
        await service.close()
