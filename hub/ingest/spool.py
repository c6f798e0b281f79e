"""The survey pass's outcomes, kept so that the later passes need not parse again.

``hub.ingest.pipeline`` reads a payload more than once: a survey pass (counts,
rejections, what the lifecycle checks need) before anything is written, then the
apply pass that streams the good records into the store. Parsing is most of a
connector's cost, and the second parse gives exactly what the first gave (same
payload, same ``ParseContext``). So the survey pass writes each outcome here, pickled
in batches, and the later passes replay them instead of running the connector again.

Memory stays flat: a ``SpooledTemporaryFile`` keeps the pickles in memory up to
``IN_MEMORY_BYTES`` and moves them to a temporary file on disk past that (deleted when
the spool is closed). Pickles take about ten times the bytes of a CSV payload.

A spool that cannot be written (an outcome that does not pickle, a full disk) is
dropped, and the pipeline parses the payload again, as it did before the spool.
"""

from __future__ import annotations

import pickle
from collections.abc import Iterator
from tempfile import SpooledTemporaryFile

from connectors.base import Outcome

IN_MEMORY_BYTES = 32 * 2**20
# Outcomes per pickle. One pickle each would cost several times more; 1,000 kept
# some 3,000 objects alive until their pickle, long enough for the garbage collector
# to walk them again and again and move them to older generations (docs/benchmarks.md).
BATCH = 100


class Spool:
    """Outcomes written once, in order, then replayed any number of times."""

    def __init__(self, in_memory_bytes: int = IN_MEMORY_BYTES) -> None:
        # Closed by ``close`` (the pipeline's ``closing``), not a with block: it
        # outlives this call.
        self._file: SpooledTemporaryFile[bytes] | None = SpooledTemporaryFile(  # noqa: SIM115
            max_size=in_memory_bytes
        )
        self._batch: list[Outcome] = []
        self._end = 0

    @property
    def usable(self) -> bool:
        """Whether every outcome written so far can be replayed."""
        return self._file is not None

    def add(self, outcome: Outcome) -> None:
        if self._file is None:
            return
        self._batch.append(outcome)
        if len(self._batch) >= BATCH:
            self._flush()

    def finish(self) -> None:
        """After the last ``add``: what is still batched is written."""
        self._flush()

    def replay(self) -> Iterator[Outcome]:
        """The outcomes added, in order (after ``finish``). Each replay keeps its own
        place in the file, so one may follow another."""
        file = self._file
        assert file is not None, "replay of a dropped spool"
        offset = 0
        while offset < self._end:
            file.seek(offset)
            batch: list[Outcome] = pickle.load(file)
            offset = file.tell()
            yield from batch

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
        self._batch = []

    def _flush(self) -> None:
        if self._file is None or not self._batch:
            return
        try:
            self._file.seek(self._end)
            pickle.dump(self._batch, self._file, protocol=pickle.HIGHEST_PROTOCOL)
            self._end = self._file.tell()
        except (pickle.PicklingError, TypeError, AttributeError, ValueError, OSError):
            self.close()  # the caller parses again
        self._batch = []
