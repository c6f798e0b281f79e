"""Reading JSON exports: located errors and JSON pointers."""

from __future__ import annotations

import io

import pytest

from connectors.base import PayloadError
from connectors.json_source import load_json, pointer


def test_a_bom_is_accepted() -> None:
    assert load_json(io.BytesIO(b'\xef\xbb\xbf{"a": 1}')) == {"a": 1}


@pytest.mark.parametrize(
    ("payload", "where"),
    [
        (b'{"a": 1,\n "b": }', "line 2, column 7"),
        (b'{"a": "\xff"}', "line 1, column 8"),
        (b"\n\n", "line 1, column 1"),
        (b"[" * 50_000, "document"),
        (b"1" * 5000, "document"),  # more digits than Python converts to an int
    ],
)
def test_what_cannot_be_read_is_a_located_payload_error(payload: bytes, where: str) -> None:
    with pytest.raises(PayloadError) as refused:
        load_json(io.BytesIO(payload))
    assert refused.value.location == where


def test_pointers_escape_slash_and_tilde() -> None:
    assert pointer("/a", "pH / Gas Flow Time", 0, "x~y") == "/a/pH ~1 Gas Flow Time/0/x~0y"
    assert pointer("", "\ud800") == "/\\ud800"  # a lone surrogate is written, not stored raw
