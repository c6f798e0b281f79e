"""GraphQL object types for the graph's nodes, built from what the store holds.

Scalar attributes are copied from the stored record; every link to another node is a
resolver that goes through the request's loaders (never the store directly), so a
list of 500 batches with their vendors costs one read for all vendors.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from datetime import date
from typing import Any, Optional, Self, TypeVar

import strawberry
from strawberry.types import Info
from strawberry.types.lazy_type import LazyType

import schema.enums  # noqa: F401  (registers the model's enums with strawberry)
from graph import model
from graph.ids import NodeKind, make_id, parse_id
from graph.model import EdgeKind
from graph.quality import compliance
from graph.quality import specifications as against
from graph.store import StoredEdge, StoredNode
from schema.context import context_of

T = TypeVar("T", bound="GraphNode")
# The lifecycle's types (schema.lifecycle) build on these ones, so the fields here
# that hold them name them lazily (and find their classes by kind: ``type_of``).
# Strings, not imports: schema.lifecycle imports this module (no cycle, not even a
# typing one), so its fields here are typed GraphNode in Python and by name in GraphQL.


def lifecycle_list(type_name: str) -> object:
    """The GraphQL type "list of schema.lifecycle's ``type_name``", resolved lazily."""
    return list[LazyType(type_name, "schema.lifecycle")]  # type: ignore[misc]


def lifecycle_type(type_name: str) -> object:
    """The GraphQL type "schema.lifecycle's ``type_name`` or null", resolved lazily."""
    return Optional[LazyType(type_name, "schema.lifecycle")]  # noqa: UP045


@strawberry.type(description="Where a fact came from: an ingestion and the place in its payload.")
class Provenance:
    ingestion_id: strawberry.ID
    location: str = strawberry.field(
        description="Line number, XPath or JSON pointer inside the ingested payload."
    )

    @classmethod
    def parse(cls, ref: str) -> Self:
        ingestion_id, _, location = ref.partition("#")
        return cls(ingestion_id=strawberry.ID(ingestion_id), location=location)


@strawberry.interface(
    name="Node", description="Anything in the graph: a global id and its sources."
)
class GraphNode:
    """Built from a stored node by copying the record's same-named fields."""

    id: strawberry.ID
    stored: strawberry.Private[StoredNode]

    @classmethod
    def from_stored(cls, stored: StoredNode) -> Self:
        record = stored.record
        values = {
            item.name: getattr(record, item.name)
            for item in dataclasses.fields(cls)
            if item.init and item.name in type(record).model_fields
        }
        return cls(id=strawberry.ID(stored.id), stored=stored, **values)

    @strawberry.field(description="Every ingestion record that asserted this node, oldest first.")
    def sources(self) -> list[Provenance]:
        return [Provenance.parse(ref) for ref in self.stored.sources]


async def load_as(info: Info, cls: type[T], ids: Iterable[str | None]) -> list[T]:
    """The nodes of ``cls``'s kind among ``ids`` that exist, in the order given.

    Lots asked for with their vendor bring their makers in the same read: a lot's id
    names its maker, so the vendor needs no round trip of its own (the ``vendor``
    resolver then finds it in the loader)."""
    wanted = [node_id for node_id in ids if node_id]
    ahead = _vendors_of(wanted) if cls is Batch and selects(info, "vendor") else []
    found = (await context_of(info).loaders.nodes.load_many(wanted + ahead))[: len(wanted)]
    return [
        cls.from_stored(stored)
        for stored in found
        if stored is not None and stored.kind is KIND_OF[cls]
    ]


def type_of(kind: NodeKind) -> type[GraphNode]:
    """The GraphQL type of a node kind, wherever it is defined (``KIND_OF``)."""
    return next(cls for cls, of in KIND_OF.items() if of is kind)


async def concerning(info: Info, cls: type[T], targets: list[str]) -> list[T]:
    """The records of ``cls``'s kind that concern one of ``targets`` (sites, an
    organization: ``CONCERNS`` edges), newest first."""
    concerns = context_of(info).loaders.sources(EdgeKind.CONCERNS)
    found = [node_id for ids in await concerns.load_many(targets) for node_id in ids]
    records = await load_as(info, cls, list(dict.fromkeys(found)))
    return sorted(
        records, key=lambda r: (getattr(r, "started_on", None) or date.min, r.id), reverse=True
    )


async def load_one(info: Info, cls: type[T], node_id: str | None) -> T | None:
    found = await load_as(info, cls, [node_id])
    return found[0] if found else None


async def load_named(info: Info, cls: type[T], node_id: str | None) -> T | None:
    """The organization or site that a record shown to the asker names (an inspection,
    a shipment), read whoever asks: the record names it anyway (``graph.directory``)."""
    if node_id is None:
        return None
    stored = await context_of(info).loaders.named.load(node_id)
    return cls.from_stored(stored) if stored is not None and stored.kind is KIND_OF[cls] else None


async def linked(
    info: Info, cls: type[T], node_id: str, kind: EdgeKind, *, outgoing: bool
) -> list[T]:
    loaders = context_of(info).loaders
    loader = loaders.targets(kind) if outgoing else loaders.sources(kind)
    return await load_as(info, cls, await loader.load(node_id))


def selects(info: Info, name: str) -> bool:
    """Whether the field being resolved asks for ``name`` of what it returns (directly
    or in a fragment)."""
    pending = [selection for field in info.selected_fields for selection in field.selections]
    while pending:
        selection = pending.pop()
        if getattr(selection, "name", None) == name:
            return True
        if not hasattr(selection, "arguments"):  # a fragment: look inside it
            pending.extend(getattr(selection, "selections", []))
    return False


def _vendors_of(batch_ids: list[str]) -> list[str]:
    """The makers of these lots, read off the lots' ids (``batch:<maker>/<number>``)."""
    makers = (org_id(parse_id(batch_id).parts[0]) for batch_id in batch_ids)
    return list(dict.fromkeys(maker for maker in makers if maker))


def org_id(slug: str | None) -> str | None:
    return make_id(NodeKind.ORGANIZATION, slug) if slug else None


@strawberry.federation.type(
    keys=["id"], description="A partner: sponsor, CMO, CDMO, lab, supplier."
)
class Organization(GraphNode):
    org_id: str
    name: str | None = None
    kind: model.OrgKind | None = None
    country: str | None = None

    @strawberry.field(description="Quality agreements this organization is party to.")
    async def agreements(self, info: Info) -> list[QualityAgreement]:
        return await linked(info, QualityAgreement, self.id, EdgeKind.PARTY_TO, outgoing=True)

    @strawberry.field(description="Sites the organization owns.")
    async def sites(self, info: Info) -> list[Site]:
        return await linked(info, Site, self.id, EdgeKind.OWNED_BY, outgoing=False)

    @strawberry.field(
        description="Qualifications of the organization as a whole and of each of its sites."
    )
    async def qualifications(self, info: Info) -> list[Qualification]:
        found = await context_of(info).loaders.qualifications.load(self.org_id)
        return await load_as(info, Qualification, found)

    @strawberry.field(
        description="Agencies' inspections of the organization's sites, newest first.",
        graphql_type=lifecycle_list("Inspection"),
    )
    async def inspections(self, info: Info) -> list[GraphNode]:
        return await concerning(info, type_of(NodeKind.INSPECTION), await self._sites(info))

    @strawberry.field(
        description="Audits of this organization (the asker may read), newest first.",
        graphql_type=lifecycle_list("Audit"),
    )
    async def audits(self, info: Info) -> list[GraphNode]:
        targets = [self.id, *await self._sites(info)]
        return await concerning(info, type_of(NodeKind.AUDIT), targets)

    async def _sites(self, info: Info) -> list[str]:
        owned = await context_of(info).loaders.sources(EdgeKind.OWNED_BY).load(self.id)
        return [node_id for node_id in owned if parse_id(node_id).kind is NodeKind.SITE]

    @classmethod
    async def resolve_reference(cls, info: Info, **representation: Any) -> Organization | None:
        return await load_one(info, cls, str(representation.get("id", "")))


@strawberry.type(description="A manufacturing, packaging or testing site of an organization.")
class Site(GraphNode):
    code: str
    name: str | None = None
    country: str | None = None
    fei_number: str | None = strawberry.field(default=None, description="FDA FEI number.")

    @strawberry.field
    async def organization(self, info: Info) -> Organization | None:
        return await load_one(info, Organization, org_id(self.stored.record.org))  # type: ignore[attr-defined]

    @strawberry.field(description="Qualifications of this site.")
    async def qualifications(self, info: Info) -> list[Qualification]:
        return await linked(info, Qualification, self.id, EdgeKind.QUALIFIES, outgoing=False)

    @strawberry.field(
        description="Agencies' inspections of this site, newest first.",
        graphql_type=lifecycle_list("Inspection"),
    )
    async def inspections(self, info: Info) -> list[GraphNode]:
        return await concerning(info, type_of(NodeKind.INSPECTION), [self.id])


@strawberry.federation.type(
    keys=["id"], description="A sponsor's product (drug substance or product)."
)
class Product(GraphNode):
    code: str
    name: str | None = None
    dosage_form: str | None = None

    @strawberry.field
    async def sponsor(self, info: Info) -> Organization | None:
        return await load_one(info, Organization, org_id(self.stored.record.sponsor))  # type: ignore[attr-defined]

    @strawberry.field(
        description="The sponsor's specifications of this product (every version), by test.",
        graphql_type=lifecycle_list("Specification"),
    )
    async def specifications(self, info: Info) -> list[GraphNode]:
        specification = type_of(NodeKind.SPECIFICATION)
        found = await linked(info, specification, self.id, EdgeKind.SPECIFIES, outgoing=False)
        return sorted(
            found,
            key=lambda s: (getattr(s, "test", ""), getattr(s, "effective_from", None) or date.min),
        )

    @classmethod
    async def resolve_reference(cls, info: Info, **representation: Any) -> Product | None:
        return await load_one(info, cls, str(representation.get("id", "")))


@strawberry.type(description="A partner's item code; it may make one of the sponsor's products.")
class Material(GraphNode):
    code: str
    name: str | None = None

    @strawberry.field
    async def owner(self, info: Info) -> Organization | None:
        return await load_one(info, Organization, org_id(self.stored.record.org))  # type: ignore[attr-defined]

    @strawberry.field
    async def product(self, info: Info) -> Product | None:
        return await load_one(info, Product, self.stored.record.product_id)  # type: ignore[attr-defined]


@strawberry.federation.type(keys=["id"], description="A lot as known at one partner (its maker).")
class Batch(GraphNode):
    number: str
    status: model.BatchStatus | None = None
    status_text: str | None = strawberry.field(
        default=None,
        description="The status word as the export wrote it; when no vocabulary maps it, "
        "status is null and this says what the partner wrote.",
    )
    manufactured_on: date | None = None
    released_on: date | None = None
    expires_on: date | None = None
    quantity: float | None = None
    unit: str | None = None
    validation_stage: model.ValidationStage | None = strawberry.field(
        default=None,
        description="Where the lot stands in process validation, as its maker's records say.",
    )

    @property
    def record(self) -> model.Batch:
        assert isinstance(self.stored.record, model.Batch)
        return self.stored.record

    @strawberry.field(description="The organization that made this lot.")
    async def vendor(self, info: Info) -> Organization | None:
        return await load_one(info, Organization, org_id(self.record.maker))

    @strawberry.field
    async def site(self, info: Info) -> Site | None:
        code = self.record.site_code
        return await load_one(
            info, Site, make_id(NodeKind.SITE, self.record.maker, code) if code else None
        )

    @strawberry.field
    async def material(self, info: Info) -> Material | None:
        code = self.record.material_code
        material = make_id(NodeKind.MATERIAL, self.record.maker, code) if code else None
        return await load_one(info, Material, material)

    @strawberry.field(
        description="The sponsor's product: named on the lot, or through its material."
    )
    async def product(self, info: Info) -> Product | None:
        for_product = context_of(info).loaders.targets(EdgeKind.FOR_PRODUCT)
        products = await for_product.load(self.id)
        if not products and self.record.material_code:
            material = make_id(NodeKind.MATERIAL, self.record.maker, self.record.material_code)
            products = await for_product.load(material)
        return await load_one(info, Product, products[0] if products else None)

    @strawberry.field(description="Lots this lot consumed (one step upstream).")
    async def inputs(self, info: Info) -> list[Batch]:
        return await linked(info, Batch, self.id, EdgeKind.CONSUMED, outgoing=True)

    @strawberry.field(description="Lots that consumed this lot (one step downstream).")
    async def outputs(self, info: Info) -> list[Batch]:
        return await linked(info, Batch, self.id, EdgeKind.CONSUMED, outgoing=False)

    @strawberry.field(
        description="The same physical lot as known at its maker (for a received lot)."
    )
    async def same_lot_as(self, info: Info) -> list[Batch]:
        return await linked(info, Batch, self.id, EdgeKind.SAME_LOT, outgoing=True)

    @strawberry.field(description="The same physical lot as received at other partners.")
    async def received_as(self, info: Info) -> list[Batch]:
        return await linked(info, Batch, self.id, EdgeKind.SAME_LOT, outgoing=False)

    @strawberry.field(description="The lot this sub-lot was split from (for a sub-lot).")
    async def part_of(self, info: Info) -> list[Batch]:
        return await linked(info, Batch, self.id, EdgeKind.PART_OF, outgoing=True)

    @strawberry.field(description="The sub-lots split from this lot.")
    async def parts(self, info: Info) -> list[Batch]:
        return await linked(info, Batch, self.id, EdgeKind.PART_OF, outgoing=False)

    @strawberry.field(
        description="Where the maker sent this lot (who received it), in receiver id order: "
        "what a recall asks first. Shown to those who read the lot."
    )
    async def shipments(self, info: Info) -> list[Shipment]:
        edges = await context_of(info).loaders.shipments.load(self.id)
        return [Shipment.of(edge) for edge in edges]

    @strawberry.field
    async def results(self, info: Info) -> list[TestResult]:
        return await linked(info, TestResult, self.id, EdgeKind.TESTED, outgoing=False)

    @strawberry.field
    async def deviations(self, info: Info) -> list[Deviation]:
        return await linked(info, Deviation, self.id, EdgeKind.AFFECTS, outgoing=False)

    @strawberry.field(
        description="Why this lot is not compliant (see Query.complianceGaps for the rules); "
        "empty when it is. Null when it is not judged for the asker: a lot as received "
        "(its maker's lot is judged), a lot of no sponsor product, or one the asker "
        "neither made nor sponsors."
    )
    async def compliance_gaps(self, info: Info) -> list[ComplianceGap] | None:
        return await batch_gaps(info, self.id)

    @classmethod
    async def resolve_reference(cls, info: Info, **representation: Any) -> Batch | None:
        return await load_one(info, cls, str(representation.get("id", "")))


@strawberry.type(description="One shipment of a lot: who received it, where, when, how much.")
class Shipment:
    batch_id: strawberry.ID = strawberry.field(description="The lot shipped.")
    shipped_on: date | None = strawberry.field(
        description="The day of the shipment as the export wrote it; null when not given."
    )
    quantity: float | None
    unit: str | None
    edge: strawberry.Private[StoredEdge]

    @strawberry.field(description="The organization that received the lot.")
    async def to(self, info: Info) -> Organization | None:
        return await load_named(info, Organization, org_id(parse_id(self.edge.target).parts[0]))

    @strawberry.field(description="The receiving site, when the shipment names one.")
    async def site(self, info: Info) -> Site | None:
        target = self.edge.target
        if parse_id(target).kind is not NodeKind.SITE:
            return None
        return await load_named(info, Site, target)

    @strawberry.field(
        description="Every ingestion record that asserted this shipment, oldest first."
    )
    def sources(self) -> list[Provenance]:
        return [Provenance.parse(ref) for ref in self.edge.sources]

    @strawberry.field(
        description="True when every record that asserted this shipment was taken back "
        "(an EPCIS errorDeclaration): it is kept, but recall and lineage no longer count it."
    )
    def retracted(self) -> bool:
        return self.edge.retracted

    @strawberry.field(
        description="The records that took back assertions of this shipment, oldest first."
    )
    def retracted_by(self) -> list[Provenance]:
        return [Provenance.parse(ref) for ref in self.edge.retracted_by]

    @classmethod
    def of(cls, edge: StoredEdge) -> Shipment:
        return cls(
            batch_id=strawberry.ID(edge.source),
            shipped_on=edge.occurred_on,
            quantity=edge.quantity,
            unit=edge.unit,
            edge=edge,
        )


@strawberry.federation.type(
    keys=["id"], description="A sponsor-vendor quality agreement, one version."
)
class QualityAgreement(GraphNode):
    agreement_id: str
    version: str
    activities: list[model.Activity]
    effective_from: date | None = None
    effective_to: date | None = None
    status: model.AgreementStatus | None = None

    @property
    def record(self) -> model.QualityAgreement:
        assert isinstance(self.stored.record, model.QualityAgreement)
        return self.stored.record

    @strawberry.field
    async def sponsor(self, info: Info) -> Organization | None:
        return await load_one(info, Organization, org_id(self.record.sponsor))

    @strawberry.field
    async def vendor(self, info: Info) -> Organization | None:
        return await load_one(info, Organization, org_id(self.record.vendor))

    @strawberry.field(description="Products the agreement covers.")
    async def products(self, info: Info) -> list[Product]:
        return await load_as(info, Product, self.record.product_ids)

    @strawberry.field(description="Sites the agreement covers.")
    async def sites(self, info: Info) -> list[Site]:
        return await load_as(info, Site, self.record.site_ids)

    @classmethod
    async def resolve_reference(cls, info: Info, **representation: Any) -> QualityAgreement | None:
        return await load_one(info, cls, str(representation.get("id", "")))


@strawberry.type(
    description="A vendor's qualification, of the vendor as a whole or of one of its sites: "
    "its status, until when it is valid and when it was last audited. Read by the vendor "
    "and by the sponsors it has agreements with."
)
class Qualification(GraphNode):
    site_code: str | None = strawberry.field(
        default=None, description="The vendor's site code; null for the vendor as a whole."
    )
    status: model.QualificationStatus | None = None
    valid_until: date | None = strawberry.field(default=None, description="Inclusive.")
    last_audit_on: date | None = None

    @property
    def record(self) -> model.Qualification:
        assert isinstance(self.stored.record, model.Qualification)
        return self.stored.record

    @strawberry.field(description="The qualified organization.")
    async def vendor(self, info: Info) -> Organization | None:
        return await load_one(info, Organization, org_id(self.record.vendor))

    @strawberry.field(description="The qualified site; null for the vendor as a whole.")
    async def site(self, info: Info) -> Site | None:
        code = self.record.site_code
        return await load_one(
            info, Site, make_id(NodeKind.SITE, self.record.vendor, code) if code else None
        )


@strawberry.type(description="One test or critical quality attribute measured on a lot.")
class TestResult(GraphNode):
    __test__ = False  # not a pytest test class, despite the name

    result_id: str
    test: str | None = None
    method: str | None = None
    value: float | None = None
    text_value: str | None = None
    unit: str | None = None
    spec_low: float | None = None
    spec_high: float | None = None
    verdict: model.Verdict | None = None
    tested_on: date | None = None

    @strawberry.field
    async def lab(self, info: Info) -> Organization | None:
        return await load_one(info, Organization, org_id(self.stored.record.lab))  # type: ignore[attr-defined]

    @strawberry.field
    async def batch(self, info: Info) -> Batch | None:
        return await load_one(info, Batch, self.stored.record.batch_id)  # type: ignore[attr-defined]

    @property
    def record(self) -> model.TestResult:
        assert isinstance(self.stored.record, model.TestResult)
        return self.stored.record

    @strawberry.field(
        description="The sponsor's specification in force on the test day: of the tested "
        "lot's product, for the same test (names compared trimmed and case-insensitively); "
        "when versions overlap, the one that took effect last. Null when there is none "
        "the asker may read, or the result has no test day.",
        graphql_type=lifecycle_type("Specification"),
    )
    async def specification(self, info: Info) -> GraphNode | None:
        found = await context_of(info).loaders.specification_in_force(self.record)
        return await load_one(info, type_of(NodeKind.SPECIFICATION), found.id if found else None)

    @strawberry.field(
        description="PASS or OOS of the value against the specification in force (limits "
        "inclusive), whatever the lab's own verdict; null without a value or a specification."
    )
    async def spec_verdict(self, info: Info) -> model.Verdict | None:
        found = await context_of(info).loaders.specification_in_force(self.record)
        return against.verdict_against(self.record, found)

    @strawberry.field(
        description="Whether the limits the lab reported (and its unit, when both state one) "
        "are the specification in force's; null when the result reports no limits or there "
        "is no specification. False is a finding: see specificationFindings."
    )
    async def limits_match_specification(self, info: Info) -> bool | None:
        found = await context_of(info).loaders.specification_in_force(self.record)
        return against.limits_match(self.record, found)


@strawberry.type(description="A deviation raised by a partner, and the lots it affects.")
class Deviation(GraphNode):
    deviation_id: str
    title: str | None = None
    classification: model.DeviationClass | None = None
    status: model.DeviationStatus | None = None
    opened_on: date | None = None
    closed_on: date | None = None

    @strawberry.field
    async def organization(self, info: Info) -> Organization | None:
        return await load_one(info, Organization, org_id(self.stored.record.org))  # type: ignore[attr-defined]

    @strawberry.field
    async def batches(self, info: Info) -> list[Batch]:
        return await load_as(info, Batch, self.stored.record.batch_ids)  # type: ignore[attr-defined]


KIND_OF: dict[type[GraphNode], NodeKind] = {
    Organization: NodeKind.ORGANIZATION,
    Site: NodeKind.SITE,
    Product: NodeKind.PRODUCT,
    Material: NodeKind.MATERIAL,
    Batch: NodeKind.BATCH,
    QualityAgreement: NodeKind.QUALITY_AGREEMENT,
    Qualification: NodeKind.QUALIFICATION,
    TestResult: NodeKind.TEST_RESULT,
    Deviation: NodeKind.DEVIATION,
}


strawberry.enum(
    compliance.GapReason,
    description="Why a lot is not compliant (see complianceGaps for the rules).",
)


@strawberry.type(description="One reason a lot is not compliant, for one of its products.")
class ComplianceGap:
    reason: compliance.GapReason
    message: str = strawberry.field(
        description="For people: what is missing, naming the agreement or qualification."
    )
    gap: strawberry.Private[compliance.Gap]

    @strawberry.field(description="The product the lot was judged for.")
    async def product(self, info: Info) -> Product | None:
        return await load_one(info, Product, self.gap.product_id)

    @strawberry.field(description="The agreement the reason is about, if it is about one.")
    async def agreement(self, info: Info) -> QualityAgreement | None:
        return await load_one(info, QualityAgreement, self.gap.agreement_id)

    @strawberry.field(description="The qualification the reason is about, if it is about one.")
    async def qualification(self, info: Info) -> Qualification | None:
        return await load_one(info, Qualification, self.gap.qualification_id)

    @strawberry.field(
        description="The change control the reason is about (UNAPPROVED_CHANGE).",
        graphql_type=lifecycle_type("ChangeControl"),
    )
    async def change(self, info: Info) -> GraphNode | None:
        return await load_one(info, type_of(NodeKind.CHANGE_CONTROL), self.gap.change_id)

    @classmethod
    def of(cls, gap: compliance.Gap) -> ComplianceGap:
        return cls(reason=gap.reason, message=gap.message, gap=gap)


def gaps_of(found: tuple[compliance.Gap, ...] | None) -> list[ComplianceGap] | None:
    return None if found is None else [ComplianceGap.of(gap) for gap in found]


async def batch_gaps(info: Info, batch_id: str) -> list[ComplianceGap] | None:
    """The verdict on one lot for the asker, through the request's loader."""
    return gaps_of(await context_of(info).loaders.compliance.load(batch_id))
