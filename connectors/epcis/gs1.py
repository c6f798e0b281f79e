"""GS1 identifiers and CBV words as EPCIS events write them.

A lot is named three ways: as an EPC class URN
(``urn:epc:class:lgtin:4012345.012345.998877``: company prefix, indicator + item
reference, lot), as a GS1 Digital Link URI on any host
(``https://id.example/01/04012345123456/10/998877``), or only inside ``ilmd`` next to
serialised items (``urn:epc:id:sgtin:...``) whose GTIN it completes. Locations and
parties are SGLN / PGLN URNs or Digital Link ``/414/`` and ``/417/`` URIs.

An EPC URN states where the GS1 company prefix ends (the first dot); a GTIN or GLN
in a Digital Link does not, since prefixes are 6 to 12 digits long. Because GS1
allocates prefixes so that none is the start of another, a known prefix that starts
the GTIN's digits is its company prefix; ``Owners`` uses the prefixes the options
map and those the same event states in its URNs.

Vocabulary: JSON writes CBV values as bare words ("shipping"), XML as URNs
("urn:epcglobal:cbv:bizstep:shipping") and some writers as Web URIs
("https://ref.gs1.org/cbv/BizStep-shipping"); ``cbv_word`` gives the bare word for all.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

COMPANY_PREFIX = r"\d{6,12}"
_EPC_URN = re.compile(r"^urn:epc:(id|class|idpat):([a-z]+):(.*)$", re.IGNORECASE)
_STATED_PREFIX = re.compile(rf"^urn:epc:(?:id|class|idpat):[a-z]+:({COMPANY_PREFIX})\.", re.I)
# Digital Link accepts short names in place of application identifiers.
_DL_ALIASES = {"gtin": "01", "lot": "10", "ser": "21", "gln": "414", "party": "417"}
_CBV_URN_PREFIXES = (
    "urn:epcglobal:cbv:bizstep:",
    "urn:epcglobal:cbv:disp:",
    "urn:epcglobal:cbv:sdt:",
    "urn:epcglobal:cbv:btt:",
)
_CBV_URI_PREFIXES = ("https://ref.gs1.org/cbv/", "http://ref.gs1.org/cbv/", "cbv:")
# UN/CEFACT Recommendation 20 codes (EPCIS "uom") for the units lots are counted in,
# written as the other connectors write them; other codes pass through unchanged.
UOM_SYMBOLS = {
    "KGM": "kg",
    "GRM": "g",
    "MGM": "mg",
    "MC": "\u03bcg",
    "TNE": "t",
    "LTR": "L",
    "MLT": "mL",
    "MTQ": "m3",
    "MTR": "m",
    "BO": "bottles",  # UN/ECE Recommendation 20: bottle
}


@dataclass(frozen=True, slots=True)
class Product:
    """A trade item (GTIN-14), with its company prefix when the identifier states it."""

    gtin: str
    company_prefix: str | None


@dataclass(frozen=True, slots=True)
class LotCode:
    product: Product
    lot: str


@dataclass(frozen=True, slots=True)
class Place:
    """A location or party GLN, with its company prefix when the identifier states it."""

    gln: str
    company_prefix: str | None


def trade_item(identifier: str) -> LotCode | Product | None:
    """The lot or product an EPC, EPC class or Digital Link names; None when it names
    something else (a pallet SSCC, a returnable asset). ValueError when it is a
    trade-item identifier that is malformed."""
    urn = _EPC_URN.match(identifier.strip())
    if urn:
        kind, scheme, body = urn.group(1).lower(), urn.group(2).lower(), urn.group(3)
        if scheme == "lgtin" and kind == "class":
            prefix, item, lot = _split(body, 3, identifier)
            product = Product(_gtin(prefix, item, identifier), prefix)
            return LotCode(product, _lot(unquote(lot), identifier))
        if scheme == "sgtin" and kind in ("id", "idpat"):
            prefix, item, _serial = _split(body, 3, identifier)
            return Product(_gtin(prefix, item, identifier), prefix)
        return None
    pairs = _digital_link(identifier)
    if pairs is None or "01" not in pairs:
        return None
    product = Product(_checked(pairs["01"].zfill(14), "GTIN", identifier), None)
    return LotCode(product, _lot(pairs["10"], identifier)) if "10" in pairs else product


def place(identifier: str) -> Place | None:
    """The GLN of an SGLN / PGLN URN or a Digital Link ``/414/`` or ``/417/`` URI; the
    SGLN extension (a sub-location such as a dock door) is dropped: a site is the
    whole GLN. None when the identifier names no GLN; ValueError when malformed."""
    urn = _EPC_URN.match(identifier.strip())
    if urn:
        scheme, body = urn.group(2).lower(), urn.group(3)
        if scheme not in ("sgln", "pgln"):
            return None
        parts = _split(body, 3 if scheme == "sgln" else 2, identifier)
        prefix, reference = parts[0], parts[1]
        if not re.fullmatch(r"\d*", reference) or len(prefix) + len(reference) != 12:
            raise ValueError(f"{identifier!r}: company prefix and reference are not 12 digits")
        return Place(prefix + reference + check_digit(prefix + reference), prefix)
    pairs = _digital_link(identifier)
    gln = (pairs or {}).get("414") or (pairs or {}).get("417")
    return Place(_checked(gln, "GLN", identifier), None) if gln else None


def stated_prefixes(identifiers: Iterable[str]) -> set[str]:
    """The company prefixes EPC URNs spell out (everything before their first dot)."""
    return {m.group(1) for text in identifiers if (m := _STATED_PREFIX.match(text.strip()))}


class Owners:
    """Which organization a GS1 company prefix belongs to, for one event."""

    def __init__(self, company_prefixes: Mapping[str, str], stated: set[str]) -> None:
        self.company_prefixes = company_prefixes
        self.known = sorted({*company_prefixes, *stated}, key=len, reverse=True)

    def prefix_of(self, code: Product | Place) -> str | None:
        if code.company_prefix:
            return code.company_prefix
        # A GTIN-14 is an indicator digit, then the company prefix; a GLN starts with it.
        digits = code.gtin[1:] if isinstance(code, Product) else code.gln
        return next((prefix for prefix in self.known if digits.startswith(prefix)), None)

    def org_of(self, prefix: str) -> str:
        """The mapped organization slug, or ``gs1-<prefix>`` for an unmapped prefix."""
        return self.company_prefixes.get(prefix, f"gs1-{prefix}")


def cbv_word(value: str | None) -> str | None:
    """The bare CBV word of a bare word, CBV URN or CBV Web URI; other values as given
    (an extension's own step such as "ext1:summarising_discharge" stays itself)."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    lowered = text.lower()
    for prefix in _CBV_URN_PREFIXES:
        if lowered.startswith(prefix):
            return text[len(prefix) :]
    for prefix in _CBV_URI_PREFIXES:
        if lowered.startswith(prefix.lower()):
            rest = text[len(prefix) :]
            _vocabulary, dash, word = rest.partition("-")  # "BizStep-shipping"
            return word if dash else rest
    return text


def unit_symbol(uom: str | None) -> str | None:
    return UOM_SYMBOLS.get(uom.strip().upper(), uom.strip()) if uom and uom.strip() else None


def check_digit(body: str) -> str:
    """The GS1 mod-10 check digit: weights 3, 1, 3, ... from the rightmost digit."""
    total = sum(int(digit) * (3 if i % 2 == 0 else 1) for i, digit in enumerate(reversed(body)))
    return str(-total % 10)


def _split(body: str, count: int, identifier: str) -> list[str]:
    parts = body.split(".", count - 1)
    if len(parts) != count or not re.fullmatch(COMPANY_PREFIX, parts[0]):
        raise ValueError(
            f"{identifier!r} is not a well-formed EPC: expected a 6 to 12 digit company "
            f"prefix and {count} dot-separated parts"
        )
    return parts


def _gtin(prefix: str, item: str, identifier: str) -> str:
    """GTIN-14 from an EPC's company prefix and indicator + item reference."""
    if not re.fullmatch(r"\d+", item) or len(prefix) + len(item) != 13:
        raise ValueError(f"{identifier!r}: company prefix and item reference are not 13 digits")
    body = item[0] + prefix + item[1:]
    return body + check_digit(body)


def _checked(number: str, what: str, identifier: str) -> str:
    length = 14 if what == "GTIN" else 13
    if not re.fullmatch(rf"\d{{{length}}}", number) or check_digit(number[:-1]) != number[-1]:
        raise ValueError(f"{identifier!r}: {number!r} is not a valid {what} (check digit)")
    return number


def _lot(lot: str, identifier: str) -> str:
    if not lot.strip():
        raise ValueError(f"{identifier!r} names an empty lot number")
    return lot.strip()


def _digital_link(identifier: str) -> dict[str, str] | None:
    """Application identifier -> value for a GS1 Digital Link URI on any host, from
    its primary key (GTIN, GLN, party) on; None when it is not one."""
    text = identifier.strip()
    if not text.lower().startswith(("https://", "http://")):
        return None
    try:
        path = urlsplit(text).path
    except ValueError:  # e.g. an unbalanced "[" in the host
        return None
    segments = [_DL_ALIASES.get(part, part) for part in path.split("/")]
    for start, segment in enumerate(segments):
        if segment in ("01", "414", "417") and start + 1 < len(segments):
            keys, values = segments[start::2], segments[start + 1 :: 2]
            return {key: unquote(value) for key, value in zip(keys, values, strict=False)}
    return None
