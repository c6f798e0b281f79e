"""What each shared sample gives through its connector, as a Markdown table: the
per-file summary for connector work. ``python -m tests.connectors.landed_report``."""

from __future__ import annotations

import io
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from connectors.base import ParseContext, PayloadError
from connectors.registry import connector_named
from graph.intake import RecordRejection, RecordWarning
from graph.model import Batch, Edge, Experiment, TestResult
from tests.connectors.support import SAMPLES

# Raw instrument exports and allotropy's name for their instrument.
INSTRUMENTS = {
    "appbio_quantstudio": "APPBIO_QUANTSTUDIO",
    "beckman_pharmspec": "BECKMAN_PHARMSPEC",
    "beckman_vi_cell_blu": "BECKMAN_VI_CELL_BLU",
    "roche_cedex_hires": "ROCHE_CEDEX_HIRES",
    "thermo_fisher_nanodrop_eight": "THERMO_FISHER_NANODROP_EIGHT",
}


def landed(connector: str, options: dict[str, Any], path: Path) -> str:
    """What one file gives, counted by kind: lots, edges by kind, results, rejections."""
    reader = connector_named(connector).with_options(options)
    context = ParseContext("report", connector, "partner", path.name)
    try:
        outcomes = list(reader.parse(io.BytesIO(path.read_bytes()), context))
    except PayloadError as error:
        return f"refused whole: {error.location}: {error.message}"
    counts: Counter[str] = Counter()
    for outcome in outcomes:
        counts[_kind(outcome)] += 1
    return ", ".join(f"{count} {kind}" for kind, count in sorted(counts.items())) or "nothing"


def _kind(outcome: object) -> str:
    names = {RecordRejection: "rejected", RecordWarning: "warnings", Batch: "lots"}
    names |= {TestResult: "results", Experiment: "experiments"}
    if isinstance(outcome, Edge):
        return outcome.kind.value
    return names.get(type(outcome), type(outcome).__name__)


def samples() -> Iterator[tuple[Path, str, dict[str, Any]]]:
    """Every shared sample with the connector (and options) that reads it."""
    by_folder = {"animl": "lims.animl", "b2mml": "mes.b2mml", "eln": "eln.rocrate"}
    for folder, connector in by_folder.items():
        for path in sorted((SAMPLES / folder).iterdir()):
            yield path, connector, {}
    for path in sorted((SAMPLES / "asm").rglob("*.json")):
        yield path, "eln.asm", {}
    for path in sorted(p for p in (SAMPLES / "epcis").rglob("*") if p.is_file()):
        yield path, "supply.epcis", {}
    for folder, instrument in INSTRUMENTS.items():
        for path in sorted((SAMPLES / "instruments" / folder).iterdir()):
            if path.suffix != ".json":  # the ASM allotropy made of it
                yield path, "lims.instrument", {"instrument": instrument}
    flex2 = SAMPLES / "lims" / "SampleResults2022-06-28_142558.csv"
    yield flex2, "lims.instrument", {"instrument": "NOVABIO_FLEX2"}


if __name__ == "__main__":
    print("| file | connector | what lands |\n|---|---|---|")
    for path, connector, options in samples():
        named = f"{connector} {options['instrument']}" if options else connector
        print(f"| `{path.relative_to(SAMPLES)}` | {named} | {landed(connector, options, path)} |")
