"""Reading XML exports safely and by local name.

Partners' XML comes in several namespace versions (B2MML V0401 to current, AnIML 0.90
or 1.0 or none), so connectors match elements by local name. Parsing never expands an
entity, never loads a DTD and never touches the network. A document type declaration
that declares anything is refused: no export format we read needs one, and every entity
attack ("billion laughs", external entities, parameter entities) starts there. A bare
``<!DOCTYPE name>`` (no external id, no entity or element declarations), which standard
examples and some exporters write, declares nothing and is read.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator
from dataclasses import dataclass
from typing import IO, Any

from lxml import etree

from connectors.base import PayloadError


def local_name(element: etree._Element) -> str:
    # Split the Clark name by hand: etree.QName raises on a tag such as "x:b" that
    # libxml2 hands out (before it reports the undeclared prefix) for a broken document.
    return element.tag.rpartition("}")[2] if isinstance(element.tag, str) else ""


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
                refused = _declared(element.getroottree().docinfo)
                if refused:
                    raise PayloadError(
                        "line 1", f"a DOCTYPE that declares {refused} is not accepted in an export"
                    )
            if event in events:
                yield event, element
    except etree.XMLSyntaxError as error:
        line = error.lineno or (error.position[0] if error.position else 0)
        raise PayloadError(f"line {line}", f"malformed XML: {error.msg}") from None
    if not checked:
        raise PayloadError("line 1", "empty document: no XML element found")


def _declared(docinfo: Any) -> str | None:  # lxml-stubs lack doctype, system_url, iter*
    """What a document type declaration declares that we refuse, or None when it is bare.

    Attribute-list and notation declarations are not listed by lxml and get through.
    They expand nothing: attribute defaults are not applied without a loaded DTD, except
    a default ``xmlns``, which changes only namespaces, and elements are matched by local
    name."""
    if not docinfo.doctype:
        return None
    if docinfo.public_id or docinfo.system_url:
        return "an external DTD"
    subset = docinfo.internalDTD
    if subset is not None and any(True for _ in subset.iterentities()):
        return "entities"
    if subset is not None and any(True for _ in subset.iterelements()):
        return "elements"
    return None


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


def steps_to(element: etree._Element, above: etree._Element | None = None) -> list[str]:
    """Local names with positions among same-named siblings, from just below ``above``
    (the root when None) down to ``element``: ``["MaterialLot[2]", "ID"]``."""
    steps = []
    node: etree._Element | None = element
    while node is not None and node is not above:
        name = local_name(node)
        parent = node.getparent()
        if parent is not None:
            same = [sibling for sibling in parent if local_name(sibling) == name]
            if len(same) > 1:
                name += f"[{same.index(node) + 1}]"
        steps.append(name)
        node = parent
    return steps[::-1]


def path_of(element: etree._Element) -> str:
    """A readable XPath-like location by local names with positions, e.g.
    ``/MaterialInformation/MaterialLot[2]/ID`` and the source line."""
    line = f" (line {element.sourceline})" if element.sourceline else ""
    return "/" + "/".join(steps_to(element)) + line


@dataclass(frozen=True, slots=True)
class Streamed:
    """A wanted element at its end, with its location counted while streaming.

    ``path`` is by local names, with a position from the second same-named sibling on
    (``/MaterialInformation/MaterialLot[2]``): positions are counted as elements arrive,
    so they stay right after ``stream`` has dropped the siblings already handled, where
    ``path_of`` (which counts the siblings still in the tree) would not."""

    element: etree._Element
    path: str

    @property
    def location(self) -> str:
        return _with_line(self.path, self.element)

    def location_of(self, descendant: etree._Element) -> str:
        """The location of an element inside this one, whose subtree is still whole."""
        return _with_line(self.path_to(descendant), descendant)

    def path_to(self, descendant: etree._Element) -> str:
        """``location_of`` without the line."""
        steps: list[str] = []
        node: etree._Element | None = descendant
        while node is not None and node is not self.element:
            name = local_name(node)
            position = 1 + sum(
                1 for sibling in node.itersiblings(preceding=True) if local_name(sibling) == name
            )
            steps.append(name if position == 1 else f"{name}[{position}]")
            node = node.getparent()
        return "/".join([self.path, *reversed(steps)])


def stream(payload: IO[bytes], wanted: Collection[str]) -> Iterator[Streamed]:
    """Each element whose local name is in ``wanted``, at its end, in document order,
    read with ``iterparse``'s safety (PayloadError on a DTD or malformed XML).

    Memory stays flat however long the document: once no wanted element is open, each
    finished element is cleared and dropped from its parent. Until the consumer asks for
    the next one, a ``Streamed`` element's subtree is whole, and so are the children
    read so far of every open wanted ancestor (a sub-lot can read the ID of the lot it
    sits in). Nested wanted elements arrive innermost first."""
    open_names: list[str] = []
    open_steps: list[str] = []
    child_counts: list[dict[str, int]] = [{}]  # per open element (plus the document)
    open_wanted = 0
    for event, element in iterparse(payload, events=("start", "end")):
        if event == "start":
            name = local_name(element)
            position = child_counts[-1].get(name, 0) + 1
            child_counts[-1][name] = position
            child_counts.append({})
            open_names.append(name)
            open_steps.append(name if position == 1 else f"{name}[{position}]")
            open_wanted += name in wanted
            continue
        if open_names[-1] in wanted:
            yield Streamed(element, "/" + "/".join(open_steps))
            open_wanted -= 1
        open_names.pop()
        open_steps.pop()
        child_counts.pop()
        if open_wanted == 0:
            _release(element)


def _release(element: etree._Element) -> None:
    """Free a finished element and the finished siblings before it."""
    element.clear()
    parent = element.getparent()
    if parent is not None:
        while element.getprevious() is not None:
            del parent[0]


def _with_line(path: str, element: etree._Element) -> str:
    return path + (f" (line {element.sourceline})" if element.sourceline else "")
