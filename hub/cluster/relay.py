"""The alert bus's relay over PostgreSQL: alerts reach the subscribers of every process.

``publish`` (called by the bus in the process that detected the alerts) appends them to
the alert log (``hub.records.alert_log``), which tells the other processes with
``NOTIFY`` as it commits. ``run`` does two things in each process, until cancelled:

- it says which audiences listen here (``alert_listeners``), when this process's
  subscriptions change and every ``heartbeat`` besides, so that a detecting process
  detects for them too (a dead process's rows count no more after ``stale_after``);
- it ``LISTEN``s on its own connection, and on each notice (and every ``poll`` in case
  one was lost) reads the log after the last row it read, for the audiences subscribed
  here, and hands each row to the bus (``AlertBus.dispatch``), which gives each alert id
  to each subscriber once. A listener connection that drops is opened again, and the
  rows logged meanwhile are read then: the log, not the notice, is what is delivered.

The cursor starts at the log's end when the process starts: a subscriber hears alerts
raised from its subscription on, as with one process.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import uuid
from collections.abc import Mapping, Sequence
from datetime import timedelta

import asyncpg  # type: ignore[import-untyped]
from sqlalchemy.ext.asyncio import AsyncEngine

from graph.quality.alerts import Alert, AlertKind
from graph.visibility import Visibility
from hub.records import alert_log
from hub.records.database import DATABASE_ERRORS
from schema.alert_bus import AlertBus

log = logging.getLogger("partnerhub.alerts.relay")

RECONNECT_MAX_SECONDS = 10.0


def process_name() -> str:
    """This process, distinctly from any other (a restarted one included)."""
    return f"{socket.gethostname()[:40]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def listener_dsn(engine: AsyncEngine) -> str:
    """The engine's database as a plain libpq URL, for a connection of asyncpg's own."""
    return engine.url.set(drivername="postgresql").render_as_string(hide_password=False)


class PostgresAlertRelay:
    """A ``schema.alert_bus.AlertRelay`` over the shared PostgreSQL database."""

    def __init__(
        self,
        engine: AsyncEngine,
        *,
        heartbeat: timedelta = timedelta(seconds=5),
        stale_after: timedelta = timedelta(seconds=20),
        poll: timedelta = timedelta(seconds=2),
    ) -> None:
        self.engine = engine
        self.process_id = process_name()
        self.heartbeat = heartbeat
        self.stale_after = stale_after
        self.poll = poll
        self._last: int | None = None  # the last log row read here
        self.listening = asyncio.Event()  # set while the LISTEN connection is up

    async def audiences(self) -> Mapping[Visibility, frozenset[AlertKind]]:
        return await alert_log.listening(self.engine, self.stale_after)

    async def publish(self, found: Mapping[Visibility, Sequence[Alert]]) -> None:
        await alert_log.append(self.engine, found)

    async def run(self, bus: AlertBus) -> None:
        """Announce this process's audiences and deliver the log to its subscribers,
        until cancelled."""
        try:
            async with asyncio.TaskGroup() as tasks:
                tasks.create_task(self._announce(bus), name="alert-listeners")
                tasks.create_task(self._listen(bus), name="alert-log")
        finally:
            with contextlib.suppress(*DATABASE_ERRORS, asyncio.CancelledError):
                async with asyncio.timeout(2):
                    await alert_log.stop_listening(self.engine, self.process_id)

    async def _announce(self, bus: AlertBus) -> None:
        while True:
            bus.audiences_changed.clear()
            try:
                await alert_log.listen_as(self.engine, self.process_id, bus.local_audiences())
            except DATABASE_ERRORS as error:
                log.warning("could not say which alert audiences listen here: %s", error)
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.heartbeat.total_seconds()):
                    await bus.audiences_changed.wait()

    async def _listen(self, bus: AlertBus) -> None:
        failures = 0
        while True:
            try:
                await self._listen_once(bus)
                failures = 0
            except (*DATABASE_ERRORS, asyncpg.PostgresError, asyncpg.InterfaceError) as error:
                failures += 1
                log.warning("alert log listener lost (%s); reconnecting", error)
            except Exception:  # a bug must not stop alerts for every later row
                failures += 1
                log.exception("alert log listener failed; starting again")
            await asyncio.sleep(min(RECONNECT_MAX_SECONDS, 0.2 * 2**failures))

    async def _listen_once(self, bus: AlertBus) -> None:
        """One LISTEN connection, for as long as it lasts."""
        woken, lost = asyncio.Event(), asyncio.Event()
        connection = await asyncpg.connect(listener_dsn(self.engine))
        try:
            await connection.add_listener(alert_log.CHANNEL, lambda *_: woken.set())
            connection.add_termination_listener(lambda _: lost.set())
            if self._last is None:
                self._last = await alert_log.last_seq(self.engine)
            self.listening.set()
            while not lost.is_set():
                woken.clear()
                await self._catch_up(bus)
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(self.poll.total_seconds()):
                        await woken.wait()
        finally:
            self.listening.clear()
            with contextlib.suppress(Exception):
                await connection.close(timeout=2)

    async def _catch_up(self, bus: AlertBus) -> None:
        """Hand the subscribers here every row logged after the last one read."""
        assert self._last is not None
        # Rows are numbered in commit order (hub.records.alert_log), so every row up to
        # the log's end as read now is committed: none below it can appear later.
        end = await alert_log.last_seq(self.engine)
        while self._last < end:
            audiences = list(bus.local_audiences())
            rows = await alert_log.read_after(self.engine, self._last, audiences)
            rows = [row for row in rows if row.seq <= end]
            for row in rows:
                bus.dispatch(row.audience, [row.alert])
            if not rows or len(rows) < alert_log.READ_BATCH:
                self._last = end
            else:
                self._last = rows[-1].seq
