"""Streaming by local name: wanted elements arrive whole and located, finished ones are
dropped, and a broken document is a PayloadError, never another exception."""

from __future__ import annotations

import io

import pytest

from connectors.base import PayloadError
from connectors.xml import local_name, stream, text_of

DOCUMENT = b"""<?xml version="1.0"?>
<Info xmlns="urn:x">
  <Header><ID>H</ID></Header>
  <Lot><ID>L1</ID><Sub><ID>S1</ID></Sub></Lot>
  <Lot><ID>L2</ID></Lot>
  <Other/>
  <Lot><ID>L3</ID></Lot>
</Info>"""


def test_wanted_elements_arrive_innermost_first_with_their_location() -> None:
    seen = [
        (local_name(item.element), text_of(item.element.find("{urn:x}ID")), item.location)
        for item in stream(io.BytesIO(DOCUMENT), {"Lot", "Sub"})
    ]
    assert seen == [
        ("Sub", "S1", "/Info/Lot/Sub (line 4)"),
        ("Lot", "L1", "/Info/Lot (line 4)"),
        ("Lot", "L2", "/Info/Lot[2] (line 5)"),
        ("Lot", "L3", "/Info/Lot[3] (line 7)"),
    ]


def test_an_open_wanted_ancestor_is_whole_while_its_descendant_is_handled() -> None:
    for item in stream(io.BytesIO(DOCUMENT), {"Lot", "Sub"}):
        if local_name(item.element) == "Sub":
            parent = item.element.getparent()
            assert parent is not None
            assert text_of(parent[0]) == "L1"  # the lot's ID, read before the lot ends


def test_handled_elements_are_dropped_so_the_tree_stays_small() -> None:
    lots = 20_000  # about 500 kB: many times what lxml reads (and parses) ahead at once
    document = b"<Info>" + b"".join(b"<Lot><ID>%d</ID></Lot>" % i for i in range(lots)) + b"</Info>"
    largest = 0
    for item in stream(io.BytesIO(document), {"Lot"}):
        parent = item.element.getparent()
        assert parent is not None
        largest = max(largest, len(parent))
    assert item.path == f"/Info/Lot[{lots}]"
    # Only the lots parsed ahead and not yet handled are in the tree, never all of them.
    assert largest < lots / 5


def test_locations_inside_a_wanted_element_count_same_named_siblings() -> None:
    document = b"<R>\n<Lot>\n<P><ID>a</ID></P>\n<P><ID>b</ID></P>\n</Lot>\n</R>"
    for item in stream(io.BytesIO(document), {"Lot"}):  # valid until the next is asked for
        second = item.element[1]
        assert item.location_of(second) == "/R/Lot/P[2] (line 4)"
        assert item.path_to(second[0]) == "/R/Lot/P[2]/ID"


@pytest.mark.parametrize(
    "document",
    [
        b'<a xmlns:x=""><x:b/></a>',  # libxml2 hands out the tag "x:b" before failing
        b"<a><b></a>",
        b"<a>\x00</a>",
        b"",
    ],
)
def test_broken_documents_are_payload_errors(document: bytes) -> None:
    with pytest.raises(PayloadError):
        list(stream(io.BytesIO(document), {"b"}))
