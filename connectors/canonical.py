"""``canonical.jsonl``: records already in PartnerHub's own shape, one JSON object a line.

For bulk loads between hubs, migrations and tests: each line is a node
(``{"node": "Batch", "maker": ..., "number": ...}``) or an edge
(``{"edge": "CONSUMED", "source": ..., "target": ...}``), exactly what
``partnerhub generate --jsonl`` writes. A line that is not valid JSON, or not a valid
record, is rejected on its own; the other lines land.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import IO

from connectors.base import Connector, Outcome, ParseContext, PayloadError
from graph.intake import RecordRejection, parse_record


class CanonicalJsonLines(Connector):
    name = "canonical.jsonl"
    media_types = ("application/x-ndjson", "application/jsonl")
    description = "PartnerHub's own records as JSON lines"

    def parse(self, payload: IO[bytes], context: ParseContext) -> Iterator[Outcome]:
        for number, raw in enumerate(payload, start=1):
            location = f"line {number}"
            try:
                text = raw.decode("utf-8-sig" if number == 1 else "utf-8").strip()
            except UnicodeDecodeError as error:
                raise PayloadError(location, f"not UTF-8 text ({error.reason})") from None
            if not text:
                continue
            try:
                data = json.loads(text)
            except json.JSONDecodeError as error:
                yield RecordRejection(location, f"column {error.colno}", f"not JSON: {error.msg}")
                continue
            if not isinstance(data, dict):
                yield RecordRejection(location, "record", "each line must be a JSON object")
                continue
            data.pop("provenance", None)  # provenance is this ingestion's, never the sender's
            if data.get("record") == "edge" and "edge" not in data:
                data["edge"] = data.pop("kind", None)  # the shape `generate --jsonl` writes
            yield parse_record(data, context.provenance(location))
