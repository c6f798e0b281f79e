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


@pytest.mark.parametrize("document", [BILLION_LAUGHS, EXTERNAL_ENTITY])
def test_documents_with_a_dtd_are_refused_before_anything_is_expanded(document: bytes) -> None:
    with pytest.raises(PayloadError, match="DOCTYPE") as refused:
        list(iterparse(io.BytesIO(document)))
    assert "root:" not in str(refused.value)  # nothing of /etc/passwd


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
