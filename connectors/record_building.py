"""Turning extracted fields into a canonical record, or into a located rejection.

A connector decides what a record says; the model decides whether that is valid (a
maker that is not a slug, a lot number over 200 characters, a negative quantity).
``build`` asks the model and, when it refuses, answers with a ``RecordRejection``
naming the place in the payload and the field, so one bad record never stops the
rest and no ``ValidationError`` escapes a connector.
"""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from connectors.base import ParseContext
from graph.intake import RecordRejection

RecordT = TypeVar("RecordT", bound=BaseModel)


def build(
    model: type[RecordT], context: ParseContext, location: str, **fields: Any
) -> RecordT | RecordRejection:
    """``model(**fields)`` with provenance at ``location``, or why it cannot be one."""
    location = printable(location)
    for name, value in fields.items():
        if isinstance(value, str) and not _encodable(value):
            # JSON "\ud800" escapes decode to lone surrogates, which no store can write.
            return RecordRejection(location, name, "not valid Unicode text (a lone surrogate)")
    try:
        return model(**fields, provenance=context.provenance(location))
    except ValidationError as error:
        first = error.errors()[0]
        field = ".".join(str(part) for part in first["loc"]) or model.__name__
        return RecordRejection(location, field, first["msg"].removeprefix("Value error, "))


def printable(text: str) -> str:
    """``text`` with any lone surrogate written as an escape, so it can be stored."""
    return text if _encodable(text) else text.encode("utf-8", "backslashreplace").decode("utf-8")


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
