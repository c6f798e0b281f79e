"""Typed values of one row to canonical records.

The profile names things as the partner writes them: a lot number, product codes, a
supplier's name. Here they become node ids, with the organization each belongs to:
the row's own value when the profile maps one, else the organization that pushed the
file (a CMO's batches, a lab's results), else the record's own owner (an input lot is
the consuming batch maker's lot; a covered site is the vendor's site).

Each builder returns a pydantic record, so anything the canonical model refuses (a
lot number over 200 characters, a negative quantity) surfaces as a ValidationError
that the caller turns into a located rejection.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import lru_cache
from typing import Any

from pydantic import ValidationError
from pydantic_core import PydanticCustomError

from graph.ids import NodeKind, make_id
from graph.model import (
    Batch,
    Deviation,
    Edge,
    EdgeKind,
    Material,
    NodeRecord,
    Provenance,
    Qualification,
    QualityAgreement,
    TestResult,
)

Values = Mapping[str, Any]  # profile field name -> typed value (None when not given)
Builder = Callable[[Values, str, Provenance], NodeRecord]

# Model fields holding ids, by the profile field the partner's code came from: used to
# name the right column when the model refuses one.
PROFILE_NAME_OF = {
    "product_id": "product",
    "batch_id": "batch",
    "product_ids": "products",
    "site_ids": "sites",
    "batch_ids": "batches",
    "target": "number",
    "occurred_on": "on",
    "specification_ids": "specifications",
    "ppq_batch_ids": "ppq_batches",
    "product_code": "product",
}

# A partner's code that names a node only together with another field's organization:
# when the first has a value in a row, the second must have one too.
NEEDED_WITH = {"product": "product_sponsor"}


@lru_cache(maxsize=4096)
def batch_id(maker: str, number: str) -> str:
    """Cached: the rows of a LIMS export name the same few lots over and over."""
    return make_id(NodeKind.BATCH, maker, number)


def _product_id(values: Values) -> str | None:
    code = values.get("product")
    return make_id(NodeKind.PRODUCT, values["product_sponsor"], code) if code else None


def batch(values: Values, org: str, provenance: Provenance) -> Batch:
    return Batch(
        maker=values.get("maker") or org,
        number=values["number"],
        material_code=values.get("material_code"),
        site_code=values.get("site_code"),
        product_id=_product_id(values),
        status=values.get("status"),
        manufactured_on=values.get("manufactured_on"),
        released_on=values.get("released_on"),
        expires_on=values.get("expires_on"),
        quantity=values.get("quantity"),
        unit=values.get("unit"),
        validation_stage=values.get("validation_stage"),
        provenance=provenance,
    )


def consumed(values: Values, output: Batch, provenance: Provenance) -> Edge:
    """The output batch consumed an input lot, by default one known at the same maker
    (a lot as received there; SAME_LOT leads on to its supplier)."""
    maker = values.get("maker") or output.maker
    return Edge(
        kind=EdgeKind.CONSUMED,
        source=output.id,
        target=batch_id(maker, values["number"]),
        quantity=values.get("quantity"),
        unit=values.get("unit"),
        provenance=provenance,
    )


def received_as(values: Values, received: Batch, provenance: Provenance) -> Edge:
    """The received lot is the supplier's lot: the edge lineage crosses vendors on."""
    return Edge(
        kind=EdgeKind.SAME_LOT,
        source=received.id,
        target=batch_id(values["supplier"], values["lot"]),
        provenance=provenance,
    )


def shipped(values: Values, lot: Batch, provenance: Provenance) -> Edge:
    """The lot's maker delivered (some of) it to the consignee."""
    return Edge(
        kind=EdgeKind.SHIPPED_TO,
        source=lot.id,
        target=make_id(NodeKind.ORGANIZATION, values["to"]),
        quantity=values.get("quantity"),
        unit=values.get("unit"),
        occurred_on=values.get("on"),
        provenance=provenance,
    )


def material(values: Values, org: str, provenance: Provenance) -> Material:
    return Material(
        org=values.get("org") or org,
        code=values["code"],
        name=values.get("name"),
        product_id=_product_id(values),
        provenance=provenance,
    )


def result(values: Values, org: str, provenance: Provenance) -> TestResult:
    return TestResult(**result_fields(values, org, provenance))


def result_fields(values: Values, org: str, provenance: Provenance) -> dict[str, Any]:
    """``result``'s model fields, unvalidated: a wide row's results (``connectors.csv.
    mapping``) share these, read once per row, each with its own test, id and value."""
    number = values.get("batch")
    maker = values.get("batch_maker") or org
    return {
        "lab": values.get("lab") or org,
        "result_id": values["result_id"],
        "batch_id": batch_id(maker, number) if number else None,
        "test": values.get("test"),
        "method": values.get("method"),
        "value": values.get("value"),
        "text_value": values.get("text_value"),
        "unit": values.get("unit"),
        "spec_low": values.get("spec_low"),
        "spec_high": values.get("spec_high"),
        "verdict": values.get("verdict"),
        "tested_on": values.get("tested_on"),
        "provenance": provenance,
    }


def refused(field: str, message: str) -> ValidationError:
    """A refusal of one model field decided here rather than by the model, so that the
    caller locates it like the model's own."""
    error = PydanticCustomError("row_value", message)
    return ValidationError.from_exception_data(
        "row", [{"type": error, "loc": (field,), "input": None}]
    )


def specification_ids(sponsor: str, products: tuple[str, ...], named: list[str]) -> tuple[str, ...]:
    """An agreement names its specifications as "test/version" of its one product: how
    a QMS lists them on the agreement (the product is the agreement's, not repeated)."""
    if not named:
        return ()
    if len(products) != 1:
        raise refused(
            "specification_ids",
            f"test/version names a specification of the agreement's one product; "
            f"it covers {len(products)}",
        )
    ids = []
    for entry in named:
        test, slash, version = entry.rpartition("/")
        if not slash or not test.strip() or not version.strip():
            raise refused("specification_ids", f"expected test/version, got {entry!r}")
        ids.append(
            make_id(NodeKind.SPECIFICATION, sponsor, products[0], test.strip(), version.strip())
        )
    return tuple(ids)


def agreement(values: Values, org: str, provenance: Provenance) -> QualityAgreement:
    sponsor, vendor = values["sponsor"], values["vendor"]
    products = tuple(values.get("products") or ())
    sites = values.get("sites") or ()
    return QualityAgreement(
        agreement_id=values["agreement_id"],
        version=values["version"],
        sponsor=sponsor,
        vendor=vendor,
        product_ids=tuple(make_id(NodeKind.PRODUCT, sponsor, code) for code in products),
        site_ids=tuple(make_id(NodeKind.SITE, vendor, code) for code in sites),
        activities=values.get("activities") or (),
        effective_from=values.get("effective_from"),
        effective_to=values.get("effective_to"),
        status=values.get("status"),
        specification_ids=specification_ids(sponsor, products, values.get("specifications") or []),
        change_approval_from=values.get("change_approval_from"),
        provenance=provenance,
    )


def qualification(values: Values, org: str, provenance: Provenance) -> Qualification:
    return Qualification(
        qualifier=values.get("qualifier") or org,
        vendor=values["vendor"],
        site_code=values.get("site_code"),
        status=values.get("status"),
        valid_until=values.get("valid_until"),
        last_audit_on=values.get("last_audit_on"),
        provenance=provenance,
    )


def deviation(values: Values, org: str, provenance: Provenance) -> Deviation:
    owner = values.get("org") or org
    maker = values.get("batch_maker") or owner
    return Deviation(
        org=owner,
        deviation_id=values["deviation_id"],
        title=values.get("title"),
        classification=values.get("classification"),
        status=values.get("status"),
        opened_on=values.get("opened_on"),
        closed_on=values.get("closed_on"),
        batch_ids=tuple(
            make_id(NodeKind.BATCH, maker, number) for number in values.get("batches") or ()
        ),
        provenance=provenance,
    )


LOT_BUILDERS: dict[str, Builder] = {
    "Batch": batch,
    "Material": material,
    "TestResult": result,
    "QualityAgreement": agreement,
    "Qualification": qualification,
    "Deviation": deviation,
}
