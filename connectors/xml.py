"""Reading XML exports safely and by local name.

Partners' XML comes in several namespace versions (B2MML V0401 to current, AnIML 0.90
or 1.0 or none), so connectors match elements by local name. Parsing never expands an
entity, never loads a DTD and never touches the network; a document that declares a
DTD at all is refused, since no export format we read needs one and every entity
attack ("billion laughs", external entities) starts there.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import IO

from lxml import etree

from connectors.base import PayloadError


def local_name(element: etree._Element) -> str:
    return etree.QName(element).localname if isinstance(element.tag, str) else ""


def iterparse(
    payload: IO[bytes], *, events: tuple[str, ...] = ("end",)
) -> Iterator[tuple[str, etree._Element]]:
    """``(event, element)`` pairs as lxml gives them, streamed; PayloadError on a DTD
    or on malformed XML, naming the line. Callers clear elements they are done with."""
    parser = etree.iterparse(
        payload,
        events=("start", *[event for event in events if event != "start"]),
        resolve_entities=False,
        load_dtd=False,
        no_network=True,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
    )
    checked = False
    try:
        for event, element in parser:
            if not checked:
                checked = True
                if element.getroottree().docinfo.doctype:
                    raise PayloadError("line 1", "a DOCTYPE (DTD) is not accepted in an export")
            if event in events:
                yield event, element
    except etree.XMLSyntaxError as error:
        line = error.lineno or (error.position[0] if error.position else 0)
        raise PayloadError(f"line {line}", f"malformed XML: {error.msg}") from None
    if not checked:
        raise PayloadError("line 1", "empty document: no XML element found")


def text_of(element: etree._Element | None) -> str | None:
    """The element's stripped text, or None when absent or blank."""
    if element is None or element.text is None:
        return None
    value = element.text.strip()
    return value or None


def child(element: etree._Element, name: str) -> etree._Element | None:
    """The first direct child with local name ``name``."""
    for candidate in element:
        if local_name(candidate) == name:
            return candidate
    return None


def children(element: etree._Element, name: str) -> list[etree._Element]:
    return [candidate for candidate in element if local_name(candidate) == name]


def path_of(element: etree._Element) -> str:
    """A readable XPath-like location by local names with positions, e.g.
    ``/MaterialInformation/MaterialLot[2]/ID`` and the source line."""
    steps = []
    node: etree._Element | None = element
    while node is not None:
        name = local_name(node)
        parent = node.getparent()
        if parent is not None:
            same = [sibling for sibling in parent if local_name(sibling) == name]
            if len(same) > 1:
                name += f"[{same.index(node) + 1}]"
        steps.append(name)
        node = parent
    return (
        "/"
        + "/".join(reversed(steps))
        + (f" (line {element.sourceline})" if element.sourceline else "")
    )
