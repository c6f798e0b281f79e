"""The survey pass's spool: a replay gives what parsing again would give, in order,
however often it is replayed; a spool that cannot be written is dropped (the
pipeline then parses again)."""

from __future__ import annotations

import io
import threading
from pathlib import Path

import pytest

from connectors.base import Outcome, ParseContext
from connectors.csv.connector import LimsCsvConnector
from connectors.csv.profile import example_profile
from connectors.registry import connector_named
from hub.ingest.spool import BATCH, Spool
from tests.connectors.support import SAMPLES, sample_files


def _parse(connector_name: str, path: Path) -> list[Outcome]:
    if connector_name == "lims.csv":
        connector = LimsCsvConnector.for_profile(example_profile("novabio_flex2"))
    else:
        connector = connector_named(connector_name).with_options({})
    context = ParseContext("ing-spool", connector.name, "cdmo-b", path.name)
    return list(connector.parse(io.BytesIO(path.read_bytes()), context))


SAMPLED = [
    ("lims.csv", SAMPLES / "lims" / "SampleResults2022-06-28_142558.csv"),
    *(("supply.epcis", path) for path in sample_files("epcis")),
    *(("mes.b2mml", path) for path in sample_files("b2mml")),
    *(("lims.animl", path) for path in sample_files("animl")),
]


@pytest.mark.parametrize(("connector_name", "path"), SAMPLED, ids=lambda value: str(value))
def test_a_replay_is_what_parsing_gives(connector_name: str, path: Path) -> None:
    parsed = _parse(connector_name, path)
    spool = Spool()
    for outcome in parsed:
        spool.add(outcome)
    spool.finish()

    assert spool.usable
    assert list(spool.replay()) == parsed
    assert list(spool.replay()) == parsed  # again, from the start
    spool.close()


def test_replays_past_several_batches_and_past_memory_onto_disk() -> None:
    outcomes: list[Outcome] = [("note", index) for index in range(BATCH * 3 + 7)]  # type: ignore[misc]
    spool = Spool(in_memory_bytes=1024)  # rolls over to a temporary file at once
    for outcome in outcomes:
        spool.add(outcome)
    spool.finish()

    first, second = spool.replay(), spool.replay()
    # Two replays at once keep their own places.
    interleaved = [(a, b) for a, b in zip(first, second, strict=True)]
    assert [a for a, _ in interleaved] == outcomes
    assert [b for _, b in interleaved] == outcomes
    spool.close()


def test_an_outcome_that_does_not_pickle_drops_the_spool() -> None:
    spool = Spool()
    spool.add(("note", 1))  # type: ignore[arg-type]
    spool.add(threading.Lock())  # type: ignore[arg-type]
    spool.finish()

    assert not spool.usable
    spool.add(("note", 2))  # ignored, no error
    spool.close()


def test_an_empty_spool_replays_nothing() -> None:
    spool = Spool()
    spool.finish()
    assert spool.usable
    assert list(spool.replay()) == []
    spool.close()
