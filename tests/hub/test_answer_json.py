"""GraphQL answers written by orjson read back as the standard library wrote them."""

from __future__ import annotations

import json

from hub.web.answer_json import encode_answer


def test_an_answer_reads_back_as_the_standard_library_wrote_it() -> None:
    answer = {
        "data": {
            "lineage": {
                "root": "batch:northwind/NW-25-001",
                "truncated": False,
                "nodes": [{"id": "batch:birch/Ü-1 ✓", "depth": 2}],
                "edges": [{"from": "a", "to": "b", "kind": "CONSUMED", "quantity": 12.5}],
                "none": None,
                "tiny": 1e-300,
                "big": 2**63 - 1,
            }
        },
        "errors": [{"message": 'quote " and \\ and \n', "path": ["lineage", 0]}],
    }
    written = encode_answer(answer)
    assert isinstance(written, bytes)
    assert json.loads(written) == json.loads(json.dumps(answer)) == answer
    assert "Ü-1 ✓".encode() in written  # UTF-8, as application/json is


def test_what_orjson_refuses_is_still_written() -> None:
    """An integer past 64 bits (a custom scalar could answer one) is written in full."""
    answer = {"data": {"count": 2**70, "list": [-(2**65)]}}
    assert json.loads(encode_answer(answer)) == answer
