"""The record kinds a CSV profile can make, and the fields each is filled from.

Each ``*Fields`` model lists what a profile may map for one record kind. A field's
type (``As.DATE``, a ``Choice`` of statuses, ...) rides in its annotation, so the
declaration here is also what decides how its cells are read; its description is the
words a rejection uses for it ("Batch ID (batch number)").

A field's source is a column (``number: Batch ID``, or ``{column: ..., default: ...}``),
a constant (``{value: birch}``) or a template over columns
(``{template: "{Sample ID}/{Date & Time}"}``). In JSON lines a "column" is a field name.
References to other nodes are given as the partner writes them (a lot number, product
codes) and made into node ids with the organization the profile names.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic.fields import FieldInfo
from pydantic_core import PydanticCustomError

from connectors.csv.cells import As, Choice, FieldType, ListOf
from graph.lifecycle import (
    Agency,
    AuditOutcome,
    CapaStatus,
    ChangeKind,
    ChangeStatus,
    Criticality,
    DocumentKind,
    InspectionOutcome,
    MilestoneStatus,
    RiskLevel,
    RiskStatus,
    TransferPhase,
)
from graph.model import (
    Activity,
    AgreementStatus,
    BatchStatus,
    ChangeClass,
    DeviationClass,
    DeviationStatus,
    QualificationStatus,
    Slug,
    ValidationStage,
    Verdict,
)

PLACEHOLDER = re.compile(r"\{([^{}]*)\}")


class Strict(BaseModel):
    """Profile parts refuse unknown keys, suggesting the key that was probably meant."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    @model_validator(mode="before")
    @classmethod
    def _known_keys(cls, data: Any) -> Any:
        if isinstance(data, dict):
            allowed = list(cls.model_fields)
            for key in data:
                if key not in cls.model_fields:
                    close = difflib.get_close_matches(str(key), allowed, n=1)
                    hint = f"; did you mean {close[0]!r}?" if close else ""
                    raise PydanticCustomError(
                        "unknown_key",
                        "unknown key {key}{hint} (allowed here: {allowed})",
                        {"key": repr(str(key)), "hint": hint, "allowed": ", ".join(allowed)},
                    )
        return data


def _yaml_scalar_as_text(value: Any) -> Any:
    """YAML reads ``2024-01-01`` as a date and ``12`` as a number; constants are text
    until the field's converter reads them, like cells."""
    if isinstance(value, bool):
        raise ValueError("YAML reads this as true/false: quote the word, e.g. 'Yes'")
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, date):
        return value.isoformat()
    return value


class Source(Strict):
    """Where a field's value comes from: exactly one of column, value, template."""

    column: str | None = None
    value: str | list[str] | None = None
    template: str | None = None
    default: str | None = None  # used when the cell is empty (or a missing word)
    optional: bool = False  # the column may be absent from the file altogether
    split: str | None = None  # list fields: separator in the cell (default: list_separator)
    date_formats: tuple[str, ...] | None = None  # date fields: overrides the profile's

    @model_validator(mode="before")
    @classmethod
    def _column_shorthand(cls, data: Any) -> Any:
        if isinstance(data, str):
            return {"column": data}
        if data is None or isinstance(data, bool | int | float):
            raise ValueError(
                f"{data!r} is not a column name: write a column as text "
                "(quote it if it looks like a number), or {value: ...} for a constant"
            )
        return data

    @field_validator("value", "default", mode="before")
    @classmethod
    def _text(cls, value: Any) -> Any:
        if isinstance(value, list):
            return [_yaml_scalar_as_text(item) for item in value]
        return _yaml_scalar_as_text(value)

    @model_validator(mode="after")
    def _one_origin(self) -> Source:
        given = [key for key in ("column", "value", "template") if getattr(self, key) is not None]
        if len(given) != 1:
            raise ValueError(f"give exactly one of column, value, template (got {given or 'none'})")
        if self.column is not None and not self.column.strip():
            raise ValueError("column: the column name is empty")
        if self.optional and self.column is None:
            raise ValueError("optional: only a column can be optional")
        if self.template is not None and any(not name.strip() for name in self.placeholders):
            raise ValueError("template: a {} placeholder names no column")
        return self

    @property
    def placeholders(self) -> tuple[str, ...]:
        return tuple(PLACEHOLDER.findall(self.template or ""))


# Field declarations: type of the value (for reading cells) in the annotation.
Text = Annotated[Source | None, As.TEXT]
Org = Annotated[Source | None, As.ORG]
Day = Annotated[Source | None, As.DATE]
Number = Annotated[Source | None, As.NUMBER]
Unit = Annotated[Source | None, As.UNIT]
Texts = Annotated[Source | None, ListOf(As.TEXT)]
Needed = Annotated[Source, As.TEXT]
NeededOrg = Annotated[Source, As.ORG]


def about(meaning: str, required: bool = False) -> Any:
    """A field's description (how rejections name it); required fields have no default."""
    return Field(... if required else None, description=meaning)


def _needs_sponsor_with_product(fields: Any) -> None:
    if fields.product is not None and fields.product_sponsor is None:
        raise ValueError(
            "product: needs product_sponsor too (the sponsor organization owning the code)"
        )


class BatchFields(Strict):
    maker: Org = about("batch maker")  # default: the organization that pushed the file
    number: Needed = about("batch number", required=True)
    material_code: Text = about("item code")
    site_code: Text = about("site code")
    product: Text = about("product code")
    product_sponsor: Org = about("product sponsor")
    status: Annotated[Source | None, Choice(BatchStatus, "batch_status", "batch status")] = about(
        "batch status"
    )
    manufactured_on: Day = about("manufacturing date")
    released_on: Day = about("release date")
    expires_on: Day = about("expiry date")
    quantity: Number = about("batch quantity")
    unit: Unit = about("quantity unit")
    validation_stage: Annotated[
        Source | None, Choice(ValidationStage, "validation_stage", "validation stage")
    ] = about("validation stage")

    @model_validator(mode="after")
    def _product_has_sponsor(self) -> BatchFields:
        _needs_sponsor_with_product(self)
        return self


class InputFields(Strict):
    """One input lot of the row's batch: a CONSUMED edge when its number is given."""

    number: Needed = about("input lot number", required=True)
    maker: Org = about("input lot maker")  # default: the consuming batch's maker
    quantity: Number = about("input quantity")
    unit: Unit = about("input quantity unit")


class ReceivedFrom(Strict):
    """The supplier's own name for a received lot: a SAME_LOT edge to its lot there."""

    supplier: NeededOrg = about("supplier", required=True)
    lot: Needed = about("supplier lot number", required=True)


class ShippedTo(Strict):
    """A delivery of the row's lot to another organization: a SHIPPED_TO edge, the
    lot's maker naming who received it (what makes a receiver's claim on the lot
    accepted: ``graph.trust``)."""

    to: NeededOrg = about("consignee", required=True)
    on: Day = about("shipping date")
    quantity: Number = about("quantity shipped")
    unit: Unit = about("unit of the quantity shipped")


class MaterialFields(Strict):
    org: Org = about("item owner")  # default: the organization that pushed the file
    code: Needed = about("item code", required=True)
    name: Text = about("item name")
    product: Text = about("product code")
    product_sponsor: Org = about("product sponsor")

    @model_validator(mode="after")
    def _product_has_sponsor(self) -> MaterialFields:
        _needs_sponsor_with_product(self)
        return self


class ResultFields(Strict):
    lab: Org = about("testing lab")  # default: the organization that pushed the file
    result_id: Needed = about("result id", required=True)
    batch: Text = about("tested batch number")
    batch_maker: Org = about("tested batch maker")  # default: the organization that pushed the file
    test: Text = about("test name")
    method: Text = about("test method")
    value: Number = about("result value")
    text_value: Text = about("result text")
    unit: Unit = about("result unit")
    spec_low: Number = about("lower specification limit")
    spec_high: Number = about("upper specification limit")
    verdict: Annotated[Source | None, Choice(Verdict, "verdict", "verdict")] = about("verdict")
    tested_on: Day = about("test date")


class ResultColumn(Strict):
    """In a wide layout, one column holding one test's result for the row's sample."""

    column: str
    test: str | None = None  # default: the column name
    unit: str | None = None  # a partner word is read through words.unit
    method: str | None = None
    spec_low: float | None = None
    spec_high: float | None = None
    text: bool = False  # keep the cell as text_value instead of reading a number
    optional: bool = False  # the column may be absent from the file

    @property
    def test_name(self) -> str:
        return self.test or self.column


class QualityAgreementFields(Strict):
    agreement_id: Needed = about("agreement id", required=True)
    version: Needed = about("agreement version", required=True)
    sponsor: NeededOrg = about("sponsor", required=True)
    vendor: NeededOrg = about("vendor", required=True)
    products: Texts = about("covered product codes")  # the sponsor's codes
    sites: Texts = about("covered site codes")  # the vendor's site codes
    activities: Annotated[Source | None, ListOf(Choice(Activity, "activity", "activity"))] = about(
        "covered activities"
    )
    effective_from: Day = about("effective from")
    effective_to: Day = about("effective to")
    status: Annotated[
        Source | None, Choice(AgreementStatus, "agreement_status", "agreement status")
    ] = about("agreement status")
    # Each "test/version" of a Specification of the agreement's one covered product
    # (partners name a spec by test and version; the product is the agreement's).
    specifications: Texts = about("bound specifications (test/version)")
    change_approval_from: Annotated[
        Source | None, Choice(ChangeClass, "change_class", "change classification")
    ] = about("sponsor approval needed from change class")


class QualificationFields(Strict):
    # Who qualified the vendor; default: the organization that pushed the file (a
    # sponsor's QMS export). Only the qualifier may assert it (graph.trust).
    qualifier: Org = about("qualifier")
    vendor: NeededOrg = about("vendor", required=True)
    site_code: Text = about("vendor site code")
    status: Annotated[
        Source | None, Choice(QualificationStatus, "qualification_status", "qualification status")
    ] = about("qualification status")
    valid_until: Day = about("valid until")
    last_audit_on: Day = about("last audit date")


class DeviationFields(Strict):
    org: Org = about("deviation owner")  # default: the organization that pushed the file
    deviation_id: Needed = about("deviation id", required=True)
    title: Text = about("deviation title")
    classification: Annotated[
        Source | None, Choice(DeviationClass, "deviation_class", "deviation class")
    ] = about("deviation class")
    status: Annotated[
        Source | None, Choice(DeviationStatus, "deviation_status", "deviation status")
    ] = about("deviation status")
    opened_on: Day = about("opened on")
    closed_on: Day = about("closed on")
    batches: Texts = about("affected batch numbers")
    batch_maker: Org = about("affected batches' maker")  # default: the deviation's owner


class When(Strict):
    """Make this record kind only from rows whose ``column`` holds one of ``equals``
    (compared as words: case, spaces and hyphens aside)."""

    column: str
    equals: tuple[str, ...] = Field(min_length=1)

    @field_validator("equals", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return (value,) if isinstance(value, str) else value


class RecordsBase(Strict):
    """What every record spec of a profile has: an optional row condition and its fields."""

    when: When | None = None
    fields: Strict  # each kind's own ``*Fields`` model


class BatchRecords(RecordsBase):
    kind: Literal["Batch"]
    fields: BatchFields
    inputs: tuple[InputFields, ...] = ()  # each a CONSUMED edge when its lot is given
    received_from: ReceivedFrom | None = None  # a SAME_LOT edge to the supplier's lot
    shipped_to: ShippedTo | None = None  # a SHIPPED_TO edge to the consignee


class MaterialRecords(RecordsBase):
    kind: Literal["Material"]
    fields: MaterialFields


class ResultRecords(RecordsBase):
    kind: Literal["TestResult"]
    fields: ResultFields
    results: tuple[ResultColumn, ...] = ()  # wide layout: one result per listed column

    @model_validator(mode="after")
    def _wide_layout_consistent(self) -> ResultRecords:
        if not self.results:
            return self
        for name in ("test", "value", "text_value", "unit"):
            if getattr(self.fields, name) is not None:
                raise ValueError(
                    f"fields.{name}: not mapped in a wide layout; each results entry gives it"
                )
        tests = [entry.test_name for entry in self.results]
        repeated = sorted({test for test in tests if tests.count(test) > 1})
        if repeated:
            raise ValueError(
                f"results: test names must differ (result ids end in them): {repeated}"
            )
        return self


class QualityAgreementRecords(RecordsBase):
    kind: Literal["QualityAgreement"]
    fields: QualityAgreementFields


class QualificationRecords(RecordsBase):
    kind: Literal["Qualification"]
    fields: QualificationFields


class DeviationRecords(RecordsBase):
    kind: Literal["Deviation"]
    fields: DeviationFields


# The lot kinds; ``connectors.csv.kinds`` adds the lifecycle's.
LotRecords = (
    BatchRecords
    | MaterialRecords
    | ResultRecords
    | QualityAgreementRecords
    | QualificationRecords
    | DeviationRecords
)
LOT_KINDS = ("Batch", "Material", "TestResult", "QualityAgreement", "Qualification", "Deviation")


def _words_key(value: Any) -> Any:
    if isinstance(value, dict):
        for word in value:
            if isinstance(word, bool):
                raise ValueError(
                    f"the word {word} is read by YAML as true/false: quote it, e.g. 'Yes'"
                )
        return {
            str(word) if isinstance(word, int | float) else word: v for word, v in value.items()
        }
    return value


class Words(Strict):
    """Partner words for canonical values, per vocabulary. Canonical names themselves
    (RELEASED, PASS, ...) are always understood; unmapped units pass through as written."""

    unit: dict[str, str] = {}
    organization: dict[str, Slug] = {}  # partner name or code -> organization id
    batch_status: dict[str, BatchStatus] = {}
    verdict: dict[str, Verdict] = {}
    agreement_status: dict[str, AgreementStatus] = {}
    qualification_status: dict[str, QualificationStatus] = {}
    deviation_status: dict[str, DeviationStatus] = {}
    deviation_class: dict[str, DeviationClass] = {}
    activity: dict[str, Activity] = {}
    validation_stage: dict[str, ValidationStage] = {}
    change_class: dict[str, ChangeClass] = {}
    # the partnership lifecycle's (qms.csv)
    transfer_phase: dict[str, TransferPhase] = {}
    milestone_status: dict[str, MilestoneStatus] = {}
    document_kind: dict[str, DocumentKind] = {}
    risk_level: dict[str, RiskLevel] = {}
    risk_status: dict[str, RiskStatus] = {}
    change_kind: dict[str, ChangeKind] = {}
    change_status: dict[str, ChangeStatus] = {}
    audit_outcome: dict[str, AuditOutcome] = {}
    criticality: dict[str, Criticality] = {}
    capa_status: dict[str, CapaStatus] = {}
    agency: dict[str, Agency] = {}
    inspection_outcome: dict[str, InspectionOutcome] = {}

    @field_validator("*", mode="before")
    @classmethod
    def _quoted_words(cls, value: Any) -> Any:
        return _words_key(value)

    def vocabularies(self) -> dict[str, dict[str, str]]:
        return {
            name: {word: str(value) for word, value in getattr(self, name).items()}
            for name in type(self).model_fields
        }


@dataclass(frozen=True, slots=True)
class MappedField:
    """One mapped field of a fields model, with what is needed to read it."""

    name: str
    source: Source
    type: FieldType
    meaning: str
    required: bool


def field_type(info: FieldInfo) -> FieldType:
    for item in info.metadata:
        if isinstance(item, As | Choice | ListOf):
            return item
    raise TypeError(f"profile field declared without a value type: {info!r}")


def mapped(fields: Strict) -> list[MappedField]:
    """The fields a profile maps (sources given), in declaration order."""
    found = []
    for name, info in type(fields).model_fields.items():
        source = getattr(fields, name)
        if isinstance(source, Source):
            meaning = info.description or name.replace("_", " ")
            found.append(MappedField(name, source, field_type(info), meaning, info.is_required()))
    return found


def mapped_groups(spec: RecordsBase, prefix: str) -> Iterator[tuple[str, list[MappedField]]]:
    """Every group of mapped fields of one record spec with its key path."""
    yield f"{prefix}.fields", mapped(spec.fields)
    if isinstance(spec, BatchRecords):
        for index, lot in enumerate(spec.inputs):
            yield f"{prefix}.inputs[{index}]", mapped(lot)
        if spec.received_from is not None:
            yield f"{prefix}.received_from", mapped(spec.received_from)
        if spec.shipped_to is not None:
            yield f"{prefix}.shipped_to", mapped(spec.shipped_to)
