"""XML is read without DTDs, entity expansion or network access, by local name."""

from __future__ import annotations

import io

import pytest

from connectors.base import PayloadError
from connectors.xml import iterparse, local_name

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
]>
<MaterialLot><ID>&lol4;</ID></MaterialLot>"""

EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE foo [ <!ENTITY xxe SYSTEM "file:///etc/passwd"> ]>
<MaterialLot><ID>&xxe;</ID></MaterialLot>"""


PARAMETER_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE foo [ <!ENTITY % remote SYSTEM "http://127.0.0.1:9/x.dtd"> %remote; ]>
<MaterialLot><ID>L1</ID></MaterialLot>"""

EXTERNAL_DTD = b"""<?xml version="1.0"?>
<!DOCTYPE MaterialLot SYSTEM "http://127.0.0.1:9/b2mml.dtd">
<MaterialLot><ID>L1</ID></MaterialLot>"""

DECLARED_ELEMENTS = b"""<!DOCTYPE MaterialLot [ <!ELEMENT MaterialLot ANY> ]>
<MaterialLot><ID>L1</ID></MaterialLot>"""


@pytest.mark.parametrize(
    ("document", "declares"),
    [
        (BILLION_LAUGHS, "entities"),
        (EXTERNAL_ENTITY, "entities"),
        (PARAMETER_ENTITY, "entities"),
        (EXTERNAL_DTD, "an external DTD"),
        (DECLARED_ELEMENTS, "elements"),
    ],
)
def test_documents_with_a_dtd_are_refused_before_anything_is_expanded(
    document: bytes, declares: str
) -> None:
    with pytest.raises(PayloadError, match="DOCTYPE") as refused:
        list(iterparse(io.BytesIO(document)))
    assert refused.value.location == "line 1"
    assert f"declares {declares}" in refused.value.message
    assert "root:" not in str(refused.value)  # nothing of /etc/passwd


@pytest.mark.parametrize(
    "doctype",
    [
        b"<!DOCTYPE MaterialLot>",
        b"<!DOCTYPE MaterialLot []>",
        b"<!DOCTYPE MaterialLot [ <!-- x --> ]>",
    ],
)
def test_a_bare_doctype_declares_nothing_and_is_read(doctype: bytes) -> None:
    """Standard examples and some exporters write ``<!DOCTYPE name>``: it names the root
    element and declares nothing to expand."""
    document = b'<?xml version="1.0"?>\n' + doctype + b"\n<MaterialLot><ID>L1</ID></MaterialLot>"
    found = [(local_name(element), element.text) for _, element in iterparse(io.BytesIO(document))]
    assert found == [("ID", "L1"), ("MaterialLot", None)]


def test_malformed_xml_names_the_line() -> None:
    with pytest.raises(PayloadError, match=r"^line 3: malformed XML"):
        list(iterparse(io.BytesIO(b"<a>\n<b>\n</a>")))


def test_elements_match_by_local_name_in_any_namespace() -> None:
    document = (
        b'\xef\xbb\xbf<?xml version="1.0" encoding="UTF-8"?>\r\n'
        b'<MaterialInformation xmlns="http://www.wbf.org/xml/B2MML-V0401">\r\n'
        b"<MaterialLot><ID>L1</ID></MaterialLot></MaterialInformation>"
    )
    names = [local_name(element) for _, element in iterparse(io.BytesIO(document))]
    assert names == ["ID", "MaterialLot", "MaterialInformation"]


def test_an_empty_payload_is_a_payload_error() -> None:
    with pytest.raises(PayloadError):
        list(iterparse(io.BytesIO(b"")))
