"""GS1 identifiers and CBV words as EPCIS writes them."""

from __future__ import annotations

import pytest

from connectors.epcis.gs1 import (
    LotCode,
    Owners,
    Place,
    Product,
    cbv_word,
    check_digit,
    place,
    stated_prefixes,
    trade_item,
    unit_symbol,
)


def test_check_digits_of_known_gs1_keys() -> None:
    assert check_digit("0061414112345") == "2"  # GTIN-14 00614141123452
    assert check_digit("061414100001") == "2"  # GLN 0614141000012


def test_lgtin_names_lot_product_and_company_prefix() -> None:
    assert trade_item("urn:epc:class:lgtin:4012345.012345.998877") == LotCode(
        Product("04012345123456", "4012345"), "998877"
    )
    # lot numbers may hold dots and escaped characters
    code = trade_item("urn:epc:class:lgtin:4012345.012345.A.1%2F2")
    assert isinstance(code, LotCode) and code.lot == "A.1/2"


def test_serialised_items_and_patterns_name_the_product_only() -> None:
    assert trade_item("urn:epc:id:sgtin:0614141.107346.2017") == Product(
        "10614141073464", "0614141"
    )
    assert trade_item("urn:epc:idpat:sgtin:4012345.066666.*") == Product(
        "04012345666663", "4012345"
    )


@pytest.mark.parametrize(
    ("uri", "expected"),
    [
        (
            "https://id.gs1.org/01/70614141123451/10/998877",
            LotCode(Product("70614141123451", None), "998877"),
        ),
        (
            "http://example.com/a/b/01/70614141123451/10/L%201/21/9",
            LotCode(Product("70614141123451", None), "L 1"),
        ),
        (
            "https://x.example/gtin/70614141123451/lot/L2",
            LotCode(Product("70614141123451", None), "L2"),
        ),
        ("https://x.example/01/614141000418", Product("00614141000418", None)),  # GTIN-12
    ],
)
def test_digital_links_on_any_host(uri: str, expected: LotCode | Product) -> None:
    assert trade_item(uri) == expected


@pytest.mark.parametrize(
    "identifier",
    [
        "urn:epc:id:sscc:0614141.1234567890",
        "urn:epc:id:grai:4012345.55555.987",
        "https://id.example.com/8003/030013450007718765",
        "not an id",
    ],
)
def test_other_identifiers_name_no_trade_item(identifier: str) -> None:
    assert trade_item(identifier) is None


@pytest.mark.parametrize(
    "identifier",
    [
        "urn:epc:class:lgtin:12.345.L",  # prefix too short
        "urn:epc:class:lgtin:4012345.0123.L",  # 11 digits, not 13
        "urn:epc:class:lgtin:4012345.012345.",  # empty lot
        "https://id.example/01/70614141123452/10/L",  # wrong check digit
    ],
)
def test_malformed_trade_item_identifiers_say_why(identifier: str) -> None:
    with pytest.raises(ValueError, match=r"EPC|digits|lot|check digit"):
        trade_item(identifier)


def test_locations_drop_the_sgln_extension_and_read_parties() -> None:
    assert place("urn:epc:id:sgln:0614141.07346.1234") == Place(
        "0614141073467", "0614141"
    )  # as ObjectEvent.json writes it
    assert place("urn:epc:id:pgln:4012345.00000") == Place("4012345000009", "4012345")
    assert place("https://id.example.com/414/4012345000054/254/2") == Place("4012345000054", None)
    assert place("urn:epc:id:sgtin:0614141.107346.2017") is None


def test_owners_find_the_prefix_a_digital_link_does_not_mark() -> None:
    owners = Owners({"061414": "alder"}, stated_prefixes(["urn:epc:id:sgln:0614141.00777.0"]))
    # the longer, stated prefix wins over a configured shorter one it starts with
    assert owners.prefix_of(Product("70614141123451", None)) == "0614141"
    assert owners.org_of("0614141") == "gs1-0614141"
    assert owners.org_of("061414") == "alder"
    assert owners.prefix_of(Product("04012345123456", None)) is None


@pytest.mark.parametrize(
    "value",
    [
        "shipping",
        "urn:epcglobal:cbv:bizstep:shipping",
        "https://ref.gs1.org/cbv/BizStep-shipping",
        "cbv:BizStep-shipping",
        " shipping ",
    ],
)
def test_cbv_words_in_every_spelling(value: str) -> None:
    assert cbv_word(value) == "shipping"


def test_cbv_words_of_other_vocabularies_and_extensions() -> None:
    assert cbv_word("urn:epcglobal:cbv:sdt:owning_party") == "owning_party"
    assert cbv_word("https://ref.gs1.org/cbv/SDT-owning_party") == "owning_party"
    assert cbv_word("ext1:summarising_discharge") == "ext1:summarising_discharge"
    assert cbv_word("  ") is None


def test_units_of_measure() -> None:
    assert [unit_symbol(u) for u in ("KGM", "kgm", "MC", "XYZ", "", None)] == [
        "kg",
        "kg",
        "\u03bcg",
        "XYZ",
        None,
        None,
    ]
