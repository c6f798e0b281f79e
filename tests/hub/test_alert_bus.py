"""The alert bus never holds ingestion up: a slow subscriber loses its oldest alerts,
counted and logged, and with no subscriber a chunk costs nothing."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime

import pytest
from prometheus_client import CollectorRegistry

from graph.model import Batch, TestResult, Verdict
from graph.quality.alerts import Alert, AlertKind
from graph.visibility import Visibility
from hub.records.ledger import IngestionStatus, Received
from schema.alert_bus import AlertBus, Subscriber

NORTHWIND = Visibility.for_org("northwind")


def alert(number: int) -> Alert:
    return Alert(
        AlertKind.DEVIATION,
        f"deviation:birch/D-{number}",
        (),
        "ING-1",
        f"deviation D-{number}",
        datetime.now(UTC),
    )


def received(ingestion_id: str = "ING-1") -> Received:
    now = datetime.now(UTC)
    return Received(
        ingestion_id, "canonical.jsonl", "elm", "elm", "", "", {}, now, 0, "", IngestionStatus.RECEIVED,
        None, None, False, False, None, 0, None,
    )  # fmt: skip


async def test_a_slow_subscriber_loses_its_oldest_alerts_and_is_told_how_many(
    caplog: pytest.LogCaptureFixture,
) -> None:
    subscriber = Subscriber(NORTHWIND, frozenset(AlertKind), queue_size=3)
    with caplog.at_level(logging.WARNING, "partnerhub.alerts"):
        kept = [subscriber.offer(alert(number)) for number in range(8)]

    assert kept == [True, True, True, False, False, False, False, False]
    first = await subscriber.next()
    rest = [await subscriber.next(), await subscriber.next()]
    assert first.alert.subject_id == "deviation:birch/D-5" and first.missed == 5
    assert [notice.alert.subject_id for notice in rest] == [
        "deviation:birch/D-6",
        "deviation:birch/D-7",
    ]
    assert [notice.missed for notice in rest] == [0, 0]
    assert subscriber.dropped == 5
    warnings = [record.getMessage() for record in caplog.records]
    assert len(warnings) == 1, "one warning for the first drop, not one per alert"
    assert "'northwind' reads too slowly: 1 alert(s) dropped" in warnings[0]


async def test_a_waiting_subscriber_wakes_when_an_alert_comes() -> None:
    subscriber = Subscriber(NORTHWIND, frozenset(AlertKind), queue_size=3)
    waiting = asyncio.create_task(subscriber.next())
    await asyncio.sleep(0.01)
    assert not waiting.done()
    subscriber.offer(alert(1))
    assert (await asyncio.wait_for(waiting, 1)).alert.subject_id == "deviation:birch/D-1"


async def test_without_subscribers_a_chunk_is_not_even_looked_at() -> None:
    bus = AlertBus(registry=CollectorRegistry())
    oos = TestResult(lab="elm", result_id="R-1", batch_id="batch:birch/B-1", verdict=Verdict.OOS)

    await bus.on_chunk(received(), [oos])

    assert not bus._pending
    async with bus.subscribe(NORTHWIND, [AlertKind.OUT_OF_SPECIFICATION]):
        await bus.on_chunk(received(), [oos])
        await bus.on_chunk(received(), [Batch(maker="birch", number="B-2")])
        assert len(bus._pending) == 2
    assert bus.subscribers == 0


async def test_detection_falling_behind_drops_the_oldest_chunk(
    caplog: pytest.LogCaptureFixture,
) -> None:
    bus = AlertBus(pending_chunks=2, registry=CollectorRegistry())
    oos = TestResult(lab="elm", result_id="R-1", batch_id="batch:birch/B-1", verdict=Verdict.OOS)
    async with bus.subscribe(NORTHWIND):
        with caplog.at_level(logging.WARNING, "partnerhub.alerts"):
            for number in range(3):
                await bus.on_chunk(received(f"ING-{number}"), [oos])

    assert [chunk.ingestion_id for chunk in bus._pending] == ["ING-1", "ING-2"]
    assert bus.chunks_dropped == 1
    assert "dropped a chunk of ingestion ING-0" in caplog.text


async def test_an_alert_given_again_reaches_each_subscriber_once_and_only_its_audience() -> None:
    bus = AlertBus()
    birch = Visibility.for_org("birch")
    async with (
        bus.subscribe(NORTHWIND) as northwind,
        bus.subscribe(NORTHWIND, [AlertKind.OUT_OF_SPECIFICATION]) as results_only,
        bus.subscribe(birch) as other,
    ):
        first = bus.dispatch(NORTHWIND, [alert(1), alert(2)])
        again = bus.dispatch(NORTHWIND, [alert(1)])  # the same ingestion applied twice
        heard = [(await northwind.next()).alert.subject_id for _ in range(2)]
        assert bus.local_audiences() == {
            NORTHWIND: frozenset(AlertKind),
            birch: frozenset(AlertKind),
        }

    assert (first, again) == (2, 0)
    assert heard == ["deviation:birch/D-1", "deviation:birch/D-2"]
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(0.1):
            await northwind.next()
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(0.1):
            await results_only.next()
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(0.1):
            await other.next()
