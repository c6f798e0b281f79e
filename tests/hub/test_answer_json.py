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
    assert isinstance(written, str)  # a websocket message goes as a text frame
    assert json.loads(written) == json.loads(json.dumps(answer)) == answer
    assert "Ü-1 ✓" in written  # not escaped: the HTTP body is UTF-8, as JSON is


def test_what_orjson_refuses_is_still_written() -> None:
    """An integer past 64 bits (a custom scalar could answer one) is written in full."""
    answer = {"data": {"count": 2**70, "list": [-(2**65)]}}
    assert json.loads(encode_answer(answer)) == answer


def test_a_float_that_is_not_a_number_is_written_as_null() -> None:
    """graphql-core's Float refuses them; an extension could carry one. The standard
    library wrote ``NaN``, which no JSON parser of a client reads."""
    written = encode_answer({"extensions": {"ratio": float("nan"), "top": float("inf")}})
    assert json.loads(written) == {"extensions": {"ratio": None, "top": None}}
