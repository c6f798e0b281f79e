"""Node ids: the fast paths give exactly what percent-encoding every part would."""

from __future__ import annotations

from urllib.parse import quote

import pytest
from hypothesis import given
from hypothesis import strategies as st

from graph.ids import ID_PREFIXES, InvalidNodeId, NodeKind, make_id, parse_id

parts = st.text(min_size=1, max_size=12) | st.sampled_from(["A-1", "a.b_c~d", "x/y", "50%", "é"])


@given(parts, parts)
def test_make_id_encodes_like_quote_and_parse_id_reverses_it(first: str, second: str) -> None:
    node_id = make_id(NodeKind.BATCH, first, second)

    assert node_id == "batch:" + quote(first, safe="") + "/" + quote(second, safe="")
    ref = parse_id(node_id)
    assert (ref.kind, ref.parts) == (NodeKind.BATCH, (first, second))


@pytest.mark.parametrize(
    "node_id",
    ["batch", "gizmo:x", "batch:alder", "batch:alder/", "batch:/A-1", "batch:a/b/c", "org:"],
)
def test_malformed_ids_are_refused(node_id: str) -> None:
    with pytest.raises(InvalidNodeId):
        parse_id(node_id)


def test_every_kind_round_trips() -> None:
    for kind, (_, arities) in ID_PREFIXES.items():
        for arity in arities:
            key = tuple(f"k{index}/%" for index in range(arity))
            assert parse_id(make_id(kind, *key)).parts == key
    with pytest.raises(InvalidNodeId):
        make_id(NodeKind.BATCH, "alder", "")
