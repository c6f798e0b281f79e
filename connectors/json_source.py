"""Reading a JSON export whole, with errors that say where, and JSON pointers for locations.

JSON exports (ASM, EPCIS 2.0 JSON-LD) are read into memory in one go: the standard
library parser is fast, and these documents are a few megabytes at most. Whatever
goes wrong while reading becomes a ``PayloadError`` naming the line and column, so
nothing but a ``PayloadError`` leaves here for any input bytes.
"""

from __future__ import annotations

import json
from typing import IO, Any

from connectors.base import PayloadError


def load_json(payload: IO[bytes]) -> Any:
    """The parsed document; PayloadError with line and column when it is not JSON."""
    raw = payload.read()
    try:
        text = raw.decode("utf-8-sig")  # RFC 8259: JSON between systems is UTF-8
    except UnicodeDecodeError as error:
        line = raw[: error.start].count(b"\n") + 1
        column = error.start - (raw.rfind(b"\n", 0, error.start) + 1) + 1
        raise PayloadError(
            f"line {line}, column {column}", f"not UTF-8 text ({error.reason})"
        ) from None
    if not text.strip():
        raise PayloadError("line 1, column 1", "empty document: no JSON value found")
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise PayloadError(
            f"line {error.lineno}, column {error.colno}", f"malformed JSON: {error.msg}"
        ) from None
    except RecursionError:
        raise PayloadError("document", "JSON nested too deeply to read") from None
    except ValueError as error:  # e.g. an integer longer than Python will convert
        raise PayloadError("document", f"unreadable JSON value: {error}") from None


def pointer(base: str, *steps: str | int) -> str:
    """``base`` extended by RFC 6901 steps: ``pointer("/a", "b/c", 0) == "/a/b~1c/0"``."""
    escaped = (
        str(step)
        .encode("utf-8", "backslashreplace")
        .decode("utf-8")  # lone surrogates
        .replace("~", "~0")
        .replace("/", "~1")
        for step in steps
    )
    return "".join([base, *(f"/{step}" for step in escaped)])
