"""Hypothesis strategies for fuzzing the ASM and EPCIS connectors, and the property
they must keep: for any bytes, ``parse`` yields records and rejections or raises
``PayloadError``, the same way every time (ingestion parses a payload twice), and
what it yields can be planned for writing."""

from __future__ import annotations

import io
import json
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from connectors.base import Connector, ParseContext, PayloadError
from connectors.traces import Commissioned, Packed, Stated
from graph.intake import RecordRejection, RecordWarning
from graph.model import Edge, NodeRecord
from graph.retraction import Retraction
from graph.write_plan import plan_write

FUZZ_SETTINGS = settings(
    max_examples=300,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

# Bytes that break JSON and XML in interesting ways when dropped into a document.
TOKENS = [
    b"{", b"}", b"[", b"]", b'"', b",", b":", b"null", b"true", b"-1", b"1e999",
    b"\\ud800", b'"N/A"', b"<", b">", b"</", b"/>", b"&", b"&amp;", b"<!DOCTYPE x>",
    b"\xff", b"\xef\xbb\xbf", b"\x00", b"\n", b"<![CDATA[", b"]]>", b"<?pi?>",
]  # fmt: skip


def mutated(sample: bytes) -> st.SearchStrategy[bytes]:
    """``sample`` with one to four byte flips, truncations or insertions."""
    last = max(len(sample) - 1, 0)
    edit = st.one_of(
        st.tuples(st.just("flip"), st.integers(0, last), st.integers(1, 255)),
        st.tuples(st.just("cut"), st.integers(0, len(sample)), st.just(0)),
        st.tuples(
            st.just("insert"),
            st.integers(0, len(sample)),
            st.sampled_from(TOKENS) | st.binary(min_size=1, max_size=6),
        ),
    )
    return st.lists(edit, min_size=1, max_size=4).map(lambda edits: _apply(sample, edits))


def _apply(sample: bytes, edits: list[tuple[str, int, Any]]) -> bytes:
    data = bytearray(sample)
    for kind, position, argument in edits:
        position = min(position, len(data))
        if kind == "flip" and position < len(data):
            data[position] ^= argument
        elif kind == "cut":
            del data[position:]
        elif kind == "insert":
            data[position:position] = argument
    return bytes(data)


def reshaped(document: Any, values: st.SearchStrategy[Any]) -> st.SearchStrategy[bytes]:
    """``document`` (parsed JSON) with one to three of its values replaced by ``values``
    or removed: still valid JSON, so the connector's own logic is what gets fuzzed."""
    paths = list(_paths(document))
    edit = st.tuples(st.sampled_from(paths), st.none() | st.tuples(values))
    return st.lists(edit, min_size=1, max_size=3).map(
        lambda edits: as_json(_reshape(document, edits))
    )


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> Any:
    if prefix:
        yield prefix
    children = (
        value.items()
        if isinstance(value, dict)
        else enumerate(value)
        if isinstance(value, list)
        else ()
    )
    for key, item in children:
        yield from _paths(item, (*prefix, key))


def _reshape(document: Any, edits: list[tuple[tuple[Any, ...], tuple[Any] | None]]) -> Any:
    copy = json.loads(json.dumps(document))
    for path, replacement in edits:
        holder = copy
        try:
            for step in path[:-1]:
                holder = holder[step]
            if replacement is None:
                del holder[path[-1]]
            else:
                holder[path[-1]] = replacement[0]
        except (KeyError, IndexError, TypeError):
            continue  # an earlier edit removed or replaced this path
    return copy


def json_values(strings: list[str], keys: list[str]) -> st.SearchStrategy[Any]:
    """Small JSON values whose strings and keys are often the format's own words."""
    scalars = (
        st.none()
        | st.booleans()
        | st.integers(-(10**20), 10**20)
        | st.floats(allow_nan=True, allow_infinity=True)
        | st.text(max_size=12)
        | st.sampled_from(strings)
    )
    return st.recursive(
        scalars,
        lambda inner: (
            st.lists(inner, max_size=4)
            | st.dictionaries(st.sampled_from(keys) | st.text(max_size=8), inner, max_size=5)
        ),
        max_leaves=25,
    )


def as_json(value: Any) -> bytes:
    return json.dumps(value).encode()  # NaN and Infinity written as Python's parser reads them


NOTES = Commissioned | Packed | Stated | Retraction


def check_parse_property(connector: Connector, payload: bytes) -> None:
    first, second = _outcomes(connector, payload), _outcomes(connector, payload)
    if isinstance(first, PayloadError):
        assert isinstance(second, PayloadError) and str(second) == str(first)
        assert first.location, "a PayloadError names where"
        return
    assert first == second, "two parses of one payload differ"
    records = []
    for outcome in first:
        assert isinstance(outcome, NodeRecord | Edge | RecordRejection | RecordWarning | NOTES), (
            outcome
        )
        if isinstance(outcome, NOTES):
            assert outcome.place, "a note names where its event is"
        elif isinstance(outcome, RecordRejection | RecordWarning):
            assert outcome.location and outcome.field and outcome.message
        else:
            outcome.require_provenance()
            records.append(outcome)
    plan_write(records)  # what a store would be asked to write is well formed


def _outcomes(connector: Connector, payload: bytes) -> list[object] | PayloadError:
    context = ParseContext("ing-fuzz", connector.name, "acme", "fuzz")
    try:
        return list(connector.parse(io.BytesIO(payload), context))
    except PayloadError as error:
        return error
