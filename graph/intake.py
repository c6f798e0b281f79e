"""Untyped input to typed records, with every refusal located and explained.

Connectors and generators hand the graph plain mappings (``{"node": "Batch", ...}``
or ``{"edge": "CONSUMED", ...}``). ``validate_records`` turns each into a model
record or a ``RecordRejection`` that names the record and the field, so one bad row
never stops the good rows around it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from graph.ids import NodeKind
from graph.model import NODE_TYPES, Edge, Provenance, Record


@dataclass(frozen=True, slots=True)
class RecordRejection:
    """One refused record: where it was, which field, and what was expected."""

    location: str
    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.location}: {self.field}: {self.message}"


@dataclass(frozen=True, slots=True)
class RecordWarning:
    """A record kept with something it said left unread: where, which field, and why
    (a word no vocabulary maps, say). It never hides a rejection: it is reported apart."""

    location: str
    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.location}: {self.field}: {self.message}"


@dataclass(slots=True)
class ValidatedBatch:
    records: list[Record] = field(default_factory=list)
    rejections: list[RecordRejection] = field(default_factory=list)


def parse_record(raw: Mapping[str, Any], provenance: Provenance) -> Record | RecordRejection:
    """One mapping to one record, or the first reason it cannot be one."""
    where = provenance.location or "record"
    data = dict(raw)
    if "edge" in data:
        data["kind"] = data.pop("edge")
        model: type[Edge] | type[Any] = Edge
    elif "node" in data:
        kind_name = data.pop("node")
        try:
            model = NODE_TYPES[NodeKind(kind_name)]
        except ValueError:
            known = ", ".join(kind.value for kind in NodeKind)
            return RecordRejection(
                where, "node", f"unknown node kind {kind_name!r} (known: {known})"
            )
    else:
        return RecordRejection(where, "node", "a record names either 'node' (its kind) or 'edge'")
    try:
        record: Record = model.model_validate({**data, "provenance": provenance})
    except ValidationError as error:
        first = error.errors()[0]
        message = first["msg"].removeprefix("Value error, ")
        field_name = ".".join(str(part) for part in first["loc"]) or _field_named(message, model)
        return RecordRejection(where, field_name, message)
    return record


def _field_named(message: str, model: type[Any]) -> str:
    """A check across fields (days out of order, crossed limits) has no location of its
    own; its message starts with the field it refuses, which is the one to name."""
    first_word = message.split(" ", 1)[0]
    return first_word if first_word in getattr(model, "model_fields", {}) else "record"


def validate_records(
    rows: Iterable[tuple[Mapping[str, Any], Provenance]],
) -> ValidatedBatch:
    batch = ValidatedBatch()
    for raw, provenance in rows:
        outcome = parse_record(raw, provenance)
        if isinstance(outcome, RecordRejection):
            batch.rejections.append(outcome)
        else:
            batch.records.append(outcome)
    return batch
