"""Hypothesis strategies for fuzzing XML connectors, and the one property they check:
``parse`` yields records and located rejections, or raises PayloadError, and nothing
else, whatever the bytes."""

from __future__ import annotations

import io

from hypothesis import strategies as st
from lxml import etree

from connectors.base import Connector, ParseContext, PayloadError
from graph.intake import RecordRejection, RecordWarning
from graph.model import Edge, NodeRecord
from graph.write_plan import plan_write

# Fragments that tend to break XML or a connector's assumptions when spliced in.
SPLICES = (
    b"<",
    b">",
    b"&",
    b"&lol;",
    b"]]>",
    b"<!DOCTYPE x>",
    b"<!-- c -->",
    b"\x00",
    b"\xff",
    b"\xc3\xa9",
    b'"',
    b"</ID>",
    b"<ID>",
    b"<ID/>",
    b"xmlns:x=''",
)


@st.composite
def mutated(draw: st.DrawFn, original: bytes) -> bytes:
    """``original`` with a few byte flips, insertions and deletions, or cut short."""
    data = bytearray(original)
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(data)))
        action = draw(st.sampled_from(["flip", "insert", "delete", "truncate"]))
        if action == "flip" and at < len(data):
            data[at] = draw(st.integers(0, 255))
        elif action == "insert":
            data[at:at] = draw(st.sampled_from(SPLICES) | st.binary(min_size=1, max_size=8))
        elif action == "delete":
            del data[at : at + draw(st.integers(1, 16))]
        elif action == "truncate":
            del data[at:]
    return bytes(data)


# Texts a partner's system might put in an element: empty, blank, numbers that are not
# quite numbers, dates that are not dates, long and non-ASCII words.
VALUE_TEXTS = st.one_of(
    st.sampled_from(
        ["", " ", "0", "-1", "1e999", "NaN", "inf", "12,5", "2024-02-30", "2024-05-01T07:00:00Z"]
    ),
    st.sampled_from(["Released", "Consumed", "Produced", "Quarantine", "x" * 300]),
    st.text(
        st.characters(codec="utf-8", exclude_categories=("Cs", "Cc", "Co")),
        max_size=12,
    ),
)


@st.composite
def xml_documents(
    draw: st.DrawFn,
    grammar: dict[str, list[str]],
    attributes: dict[str, list[str]],
    words: list[str],
) -> bytes:
    """A small well-formed document shaped by ``grammar`` (element -> the children it
    may have; the first key is the root), now and then with an element out of place,
    usually with the ``attributes`` its name may carry, with texts and attribute values
    drawn from odd values and the words the connector looks for, in a random namespace
    or none: fuzzing that reaches the connector's record logic, not only the parser."""
    names = sorted({*grammar, *(name for allowed in grammar.values() for name in allowed)})
    # Half the time a word the connector looks for, else an odd value.
    texts = st.booleans().flatmap(lambda word: st.sampled_from(words) if word else VALUE_TEXTS)

    def element(name: str, depth: int) -> etree._Element:
        node = etree.Element(name)
        for attribute in attributes.get(name, []):
            if draw(st.integers(0, 4)):  # left out one time in five
                node.set(attribute, draw(texts))
        allowed = grammar.get(name, [])
        if allowed and depth < 6:
            # What the grammar allows, and one time in ten any name the format uses.
            for _ in range(draw(st.integers(0, 4))):
                out_of_place = draw(st.integers(0, 9)) == 0
                node.append(
                    element(draw(st.sampled_from(names if out_of_place else allowed)), depth + 1)
                )
        else:
            node.text = draw(texts)
        return node

    root = element(next(iter(grammar)), 0)
    namespace = draw(st.sampled_from([None, "urn:x", "http://www.mesa.org/xml/B2MML"]))
    if namespace:
        for node in root.iter():
            node.tag = f"{{{namespace}}}{node.tag}"
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def parse_or_payload_error(connector: Connector, payload: bytes) -> None:
    """The property every fuzz test checks: records with a located provenance and
    located rejections, or a located PayloadError; the same outcome on a second parse
    (ingestion surveys a payload, then parses it again to write); and records the
    write planner accepts."""
    first = _outcomes(connector, payload)
    assert _outcomes(connector, payload) == first
    if isinstance(first, tuple):
        location, message = first
        assert location and message
        return
    records = []
    for outcome in first:
        if isinstance(outcome, RecordRejection | RecordWarning):
            assert outcome.location and outcome.field and outcome.message
        else:
            assert isinstance(outcome, NodeRecord | Edge), outcome
            assert outcome.provenance is not None and outcome.provenance.location
            records.append(outcome)
    plan_write(records)


def _outcomes(connector: Connector, payload: bytes) -> list[object] | tuple[str, str]:
    """What one parse yields, or where and why it raised PayloadError."""
    context = ParseContext("ing-fuzz", connector.name, "acme", "fuzz.xml")
    outcomes: list[object] = []
    try:
        outcomes.extend(connector.parse(io.BytesIO(payload), context))
    except PayloadError as error:
        return (error.location, error.message)
    return outcomes
