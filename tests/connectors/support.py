"""Running a connector over a file or bytes in tests, and where the shared samples are."""

from __future__ import annotations

import io
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from connectors.base import Connector, ParseContext
from connectors.traces import NOTHING_HEARD, Heard, Note
from graph.intake import RecordRejection, RecordWarning
from graph.model import Edge, EdgeKind, Experiment, NodeRecord, Record

REPOSITORY = Path(__file__).resolve().parents[2]


def _samples() -> Path:
    """Real exports written by others, never copied into this repository (see SOURCES.md
    there): in ``shared/samples`` beside the repository, or, for a clone made elsewhere
    (CI clones into a temporary folder), beside the repository it was cloned from."""
    beside = REPOSITORY.parent / "shared" / "samples"
    if beside.is_dir():
        return beside
    origin = subprocess.run(
        ["git", "-C", str(REPOSITORY), "config", "--get", "remote.origin.url"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    if origin and Path(origin).is_dir():
        return Path(origin).resolve().parent / "shared" / "samples"
    return beside  # missing: the tests that read it fail and say where they looked


SAMPLES = _samples()


def sample_files(folder: str) -> list[Path]:
    """The files directly in a samples folder, in name order. Subfolders (the EPCIS
    1.2 and 2.0 conformance documents) have tests of their own, one by one."""
    return sorted(path for path in (SAMPLES / folder).iterdir() if path.is_file())


@dataclass
class Parsed:
    records: list[Record] = field(default_factory=list)
    rejections: list[RecordRejection] = field(default_factory=list)
    warnings: list[RecordWarning] = field(default_factory=list)
    notes: list[Note] = field(default_factory=list)  # for the hub's database

    def nodes(self, kind: type[NodeRecord]) -> list[NodeRecord]:
        return [record for record in self.records if isinstance(record, kind)]

    def edges(self, kind: EdgeKind) -> list[Edge]:
        return [r for r in self.records if isinstance(r, Edge) and r.kind is kind]

    def experiments(self) -> dict[str, Experiment]:
        """The experiments read, by their experiment id."""
        return {r.experiment_id: r for r in self.records if isinstance(r, Experiment)}


def parse_bytes(
    connector: Connector,
    payload: bytes,
    org: str = "acme",
    filename: str = "",
    *,
    heard: Heard = NOTHING_HEARD,
    ingestion_id: str = "ing-test",
) -> Parsed:
    """What ``connector`` makes of ``payload`` pushed by ``org``, having ``heard`` what
    earlier ingestions said (EPCIS serials, containers, events)."""
    context = ParseContext(ingestion_id, connector.name, org, filename, heard=heard)
    parsed = Parsed()
    for outcome in connector.parse(io.BytesIO(payload), context):
        if isinstance(outcome, RecordRejection):
            parsed.rejections.append(outcome)
        elif isinstance(outcome, RecordWarning):
            parsed.warnings.append(outcome)
        elif isinstance(outcome, NodeRecord | Edge):
            parsed.records.append(outcome)
        else:
            parsed.notes.append(outcome)
    return parsed


def parse_sample(connector: Connector, relative: str, org: str = "acme") -> Parsed:
    path = SAMPLES / relative
    assert path.exists(), f"shared sample {path} is missing: the suite needs ../shared/samples"
    return parse_bytes(connector, path.read_bytes(), org, path.name)
