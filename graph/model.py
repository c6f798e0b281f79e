"""The canonical model: the typed records every connector produces and every store keeps.

A record is either a node (one of the ten kinds below) or an edge. Every record carries
the provenance of the export it came from. Key fields name the node; every other field
is optional, because partners know different things about the same lot, and a node
first named only as the far end of an edge (an input lot, say) exists before any
export describes it.

References to other nodes held in key fields or id fields (a batch's maker, material
and site, a result's batch, ...) are turned into edges by ``implied_edges``, so a
connector states a fact once and the graph gets both the node and its links.
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from functools import lru_cache
from typing import Annotated, Any, ClassVar, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationInfo,
    field_validator,
)

from graph.ids import InvalidNodeId, NodeKind, make_id, parse_id

Slug = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9._-]*$", max_length=64)]
KeyPart = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
NonNegative = Annotated[float, Field(ge=0)]


class OrgKind(StrEnum):
    SPONSOR = "SPONSOR"
    CMO = "CMO"
    CDMO = "CDMO"
    TESTING_LAB = "TESTING_LAB"
    SUPPLIER = "SUPPLIER"
    DISTRIBUTOR = "DISTRIBUTOR"


class BatchStatus(StrEnum):
    PLANNED = "PLANNED"
    IN_PROCESS = "IN_PROCESS"
    QUARANTINE = "QUARANTINE"
    RELEASED = "RELEASED"
    REJECTED = "REJECTED"
    RECALLED = "RECALLED"


class AgreementStatus(StrEnum):
    DRAFT = "DRAFT"
    EFFECTIVE = "EFFECTIVE"
    EXPIRED = "EXPIRED"
    TERMINATED = "TERMINATED"


class Activity(StrEnum):
    MANUFACTURE = "MANUFACTURE"
    PACKAGING = "PACKAGING"
    TESTING = "TESTING"
    STORAGE = "STORAGE"
    DISTRIBUTION = "DISTRIBUTION"
    SUPPLY = "SUPPLY"


class QualificationStatus(StrEnum):
    APPROVED = "APPROVED"
    CONDITIONAL = "CONDITIONAL"
    DISQUALIFIED = "DISQUALIFIED"


class Verdict(StrEnum):
    PASS = "PASS"
    FAIL = "FAIL"
    OOS = "OOS"


class DeviationClass(StrEnum):
    MINOR = "MINOR"
    MAJOR = "MAJOR"
    CRITICAL = "CRITICAL"


class DeviationStatus(StrEnum):
    OPEN = "OPEN"
    CLOSED = "CLOSED"


class ValidationStage(StrEnum):
    """Where a lot stands in the FDA's process validation lifecycle (2011 guidance)."""

    DEVELOPMENT = "DEVELOPMENT"  # stage 1, process design
    ENGINEERING = "ENGINEERING"  # scale-up and engineering runs, before PPQ
    PPQ = "PPQ"  # stage 2, process performance qualification
    COMMERCIAL = "COMMERCIAL"  # stage 3, under continued process verification


class ChangeClass(StrEnum):
    """A change control's classification, in rising order of what it may affect."""

    MINOR = "MINOR"
    MAJOR = "MAJOR"
    CRITICAL = "CRITICAL"


class EdgeKind(StrEnum):
    """Relationship types; the value is also the Neo4j relationship type."""

    CONSUMED = "CONSUMED"  # output batch -> input batch
    SAME_LOT = "SAME_LOT"  # lot as received at a partner -> the same lot at its maker
    PART_OF = "PART_OF"  # sub-lot -> the lot it was split from (a part, not the same lot)
    OF_MATERIAL = "OF_MATERIAL"
    MADE_BY = "MADE_BY"
    MADE_AT = "MADE_AT"
    FOR_PRODUCT = "FOR_PRODUCT"
    OWNED_BY = "OWNED_BY"
    PARTY_TO = "PARTY_TO"  # organization -> agreement
    COVERS = "COVERS"  # agreement -> product or site
    QUALIFIES = "QUALIFIES"  # qualification -> organization or site
    TESTED = "TESTED"  # result -> batch
    AFFECTS = "AFFECTS"  # deviation -> batch
    SHIPPED_TO = "SHIPPED_TO"  # batch -> organization or site
    USED = "USED"  # experiment -> batch or material
    PRODUCED = "PRODUCED"  # experiment -> batch
    # The partnership lifecycle (``graph.lifecycle``).
    SPECIFIES = "SPECIFIES"  # specification -> product
    TRANSFERS = "TRANSFERS"  # tech transfer -> product
    TRANSFERRED_TO = "TRANSFERRED_TO"  # tech transfer -> receiving site
    VERIFIED_BY = "VERIFIED_BY"  # tech transfer -> a PPQ lot
    WITHIN = "WITHIN"  # milestone, document, risk -> transfer; finding -> audit
    CONCERNS = "CONCERNS"  # change control -> product or site; audit, inspection -> site


# The edges that carry genealogy. All point upstream: from a lot towards where it came from.
LINEAGE_EDGES: tuple[EdgeKind, ...] = (EdgeKind.CONSUMED, EdgeKind.SAME_LOT, EdgeKind.PART_OF)
# A lot with one of these edges was not made on its own (a lot as received, a part of a
# lot): compliance judges, and scorecards count, the lot it comes from instead.
NOT_MADE_ON_ITS_OWN: tuple[EdgeKind, ...] = (EdgeKind.SAME_LOT, EdgeKind.PART_OF)

N = NodeKind
ALLOWED_ENDPOINTS: dict[EdgeKind, tuple[frozenset[NodeKind], frozenset[NodeKind]]] = {
    EdgeKind.CONSUMED: (frozenset({N.BATCH}), frozenset({N.BATCH})),
    EdgeKind.SAME_LOT: (frozenset({N.BATCH}), frozenset({N.BATCH})),
    EdgeKind.PART_OF: (frozenset({N.BATCH}), frozenset({N.BATCH})),
    EdgeKind.OF_MATERIAL: (frozenset({N.BATCH}), frozenset({N.MATERIAL})),
    EdgeKind.MADE_BY: (frozenset({N.BATCH}), frozenset({N.ORGANIZATION})),
    EdgeKind.MADE_AT: (frozenset({N.BATCH}), frozenset({N.SITE})),
    EdgeKind.FOR_PRODUCT: (frozenset({N.MATERIAL, N.BATCH}), frozenset({N.PRODUCT})),
    EdgeKind.OWNED_BY: (
        frozenset(
            {
                N.SITE,
                N.PRODUCT,
                N.MATERIAL,
                N.TEST_RESULT,
                N.DEVIATION,
                N.EXPERIMENT,
                N.SPECIFICATION,
            }
        ),
        frozenset({N.ORGANIZATION}),
    ),
    EdgeKind.PARTY_TO: (frozenset({N.ORGANIZATION}), frozenset({N.QUALITY_AGREEMENT})),
    EdgeKind.COVERS: (
        frozenset({N.QUALITY_AGREEMENT}),
        frozenset({N.PRODUCT, N.SITE, N.SPECIFICATION}),
    ),
    EdgeKind.QUALIFIES: (frozenset({N.QUALIFICATION}), frozenset({N.ORGANIZATION, N.SITE})),
    EdgeKind.TESTED: (frozenset({N.TEST_RESULT}), frozenset({N.BATCH})),
    EdgeKind.AFFECTS: (frozenset({N.DEVIATION}), frozenset({N.BATCH})),
    EdgeKind.SHIPPED_TO: (frozenset({N.BATCH}), frozenset({N.ORGANIZATION, N.SITE})),
    EdgeKind.USED: (frozenset({N.EXPERIMENT}), frozenset({N.BATCH, N.MATERIAL})),
    EdgeKind.PRODUCED: (frozenset({N.EXPERIMENT}), frozenset({N.BATCH})),
    EdgeKind.SPECIFIES: (frozenset({N.SPECIFICATION}), frozenset({N.PRODUCT})),
    EdgeKind.TRANSFERS: (frozenset({N.TECH_TRANSFER}), frozenset({N.PRODUCT})),
    EdgeKind.TRANSFERRED_TO: (frozenset({N.TECH_TRANSFER}), frozenset({N.SITE})),
    EdgeKind.VERIFIED_BY: (frozenset({N.TECH_TRANSFER}), frozenset({N.BATCH})),
    EdgeKind.WITHIN: (
        frozenset({N.MILESTONE, N.TRANSFER_DOCUMENT, N.TRANSFER_RISK, N.AUDIT_FINDING}),
        frozenset({N.TECH_TRANSFER, N.AUDIT}),
    ),
    EdgeKind.CONCERNS: (
        frozenset({N.CHANGE_CONTROL, N.AUDIT, N.INSPECTION}),
        frozenset({N.PRODUCT, N.SITE, N.ORGANIZATION}),
    ),
}
del N


class Provenance(BaseModel):
    """Where a record came from: the ingestion and the place inside its payload."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    ingestion_id: KeyPart
    connector: KeyPart
    location: str = ""  # line number, XPath or JSON pointer inside the payload

    @property
    def ref(self) -> str:
        """The form kept on nodes and edges: ``<ingestion id>#<location>``."""
        return f"{self.ingestion_id}#{self.location}"


# An edge as the planner takes it, without a record of its own: (source, kind, target).
Link = tuple[str, EdgeKind, str]

# Every node kind's record type, filled as each is defined (here and in
# ``graph.lifecycle``, which ``graph`` imports first of all).
NODE_TYPES: dict[NodeKind, type[NodeRecord]] = {}


class MissingProvenance(ValueError):
    """A record offered for writing that does not say where it came from."""


@lru_cache(maxsize=4096)
def referenced_kind(node_id: str) -> NodeKind:
    """The kind of a well-formed id (``parse_id``'s, raising the same InvalidNodeId for
    one that is not). Cached: the records of one payload name the same few lots and
    organizations over and over (a LIMS export's 14 results of a sample, its 40 samples
    of a lot). A refused id is not cached, so it is refused again, with its message."""
    return parse_id(node_id).kind


def checks_references(ref_fields: dict[str, tuple[NodeKind, ...]]) -> Any:
    """The validator of a kind's reference fields (its ``REF_FIELDS``, given): each id
    they hold names a node of a kind the field may name. ``NodeRecord`` gives it to
    every kind that declares ``REF_FIELDS``, on those fields only: a validator on every
    field ("*") made a Python call per field of every record made, read back from the
    store included (2.5x the time of a lot's validation)."""

    def name_the_right_kind(cls: type, value: Any, info: ValidationInfo) -> Any:
        expected = ref_fields[info.field_name or ""]
        if value is not None:
            for node_id in (value,) if isinstance(value, str) else value:
                kind = referenced_kind(node_id)  # InvalidNodeId is a ValueError: reported
                if kind not in expected:
                    raise ValueError(f"must be a {' or '.join(expected)} id, got {node_id!r}")
        return value

    return field_validator(*ref_fields)(classmethod(name_the_right_kind))


class NodeRecord(BaseModel):
    """Base of the ten node kinds. Subclasses declare their kind and key fields."""

    # allow_inf_nan=False: a NaN or an infinite quantity or result is refused where the
    # record is made (a located rejection), never stored to break every later read.
    model_config = ConfigDict(
        frozen=True, extra="forbid", use_enum_values=False, allow_inf_nan=False
    )

    KIND: ClassVar[NodeKind]
    KEY_FIELDS: ClassVar[tuple[str, ...]]
    # Fields holding ids of other nodes, with the kinds each may name.
    REF_FIELDS: ClassVar[dict[str, tuple[NodeKind, ...]]] = {}

    record: Literal["node"] = "node"
    # Required on everything written (the store refuses a record without it); None on
    # records read back, whose provenance is the node's list of sources.
    provenance: Provenance | None = None

    def __init_subclass__(cls, **kwargs: Any) -> None:
        # Runs before pydantic collects the class's validators (it does so once the
        # class exists), so a kind's own REF_FIELDS get their check without declaring it.
        super().__init_subclass__(**kwargs)
        if cls.__dict__.get("REF_FIELDS"):
            cls._references = checks_references(cls.REF_FIELDS)  # type: ignore[attr-defined]

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        if "KIND" in cls.__dict__:  # a concrete kind, not a shared base
            NODE_TYPES[cls.KIND] = cls

    @property
    def key_parts(self) -> tuple[str, ...]:
        values = (getattr(self, name) for name in self.KEY_FIELDS)
        # A day in a key (an inspection's first day) is named as ISO 8601.
        return tuple(v.isoformat() if isinstance(v, date) else v for v in values if v)

    @property
    def id(self) -> str:
        return make_id(self.KIND, *self.key_parts)

    def implied_edges(self) -> list[Edge]:
        """Edges that the node's own reference fields state, as validated records."""
        return self._edges(self.implied_links(self.id))

    def key_edges(self) -> list[Edge]:
        """Edges its key alone states: all a placeholder (a node known only by id, as an
        edge's far end) says. The implied edges, unless a kind's key says less than its
        record (``graph.lifecycle.Audit``)."""
        return self._edges(self.key_links(self.id))

    def implied_links(self, me: str) -> list[Link]:
        """``implied_edges`` as bare ``(source, kind, target)`` triples, ``me`` being
        this node's id. The write planner takes these instead of ``Edge`` records: their
        ends come from fields this record already validated (ids built from its key
        parts, or reference fields checked for kind), so building and validating an
        ``Edge`` for each would check again what is known. The planner still checks
        each triple's end kinds against ``ALLOWED_ENDPOINTS`` (``graph.write_plan``)."""
        return []

    def key_links(self, me: str) -> list[Link]:
        """``key_edges`` as triples (see ``implied_links``)."""
        return self.implied_links(me)

    def _edges(self, links: list[Link]) -> list[Edge]:
        return [
            Edge(kind=kind, source=source, target=target, provenance=self.provenance)
            for source, kind, target in links
        ]

    def require_provenance(self) -> Provenance:
        if self.provenance is None:
            raise MissingProvenance(f"{self.KIND} {self.id} has no provenance")
        return self.provenance

    def properties(self) -> dict[str, Any]:
        """Flat, JSON- and Neo4j-friendly attributes (no provenance, no unknowns)."""
        data = self.model_dump(mode="json", exclude={"provenance", "record"}, exclude_none=True)
        return {key: value for key, value in data.items() if value != []}


class Organization(NodeRecord):
    KIND = NodeKind.ORGANIZATION
    KEY_FIELDS = ("org_id",)

    org_id: Slug
    name: str | None = None
    kind: OrgKind | None = None
    country: str | None = None


class Site(NodeRecord):
    KIND = NodeKind.SITE
    KEY_FIELDS = ("org", "code")

    org: Slug
    code: KeyPart
    name: str | None = None
    country: str | None = None
    fei_number: str | None = None

    def implied_links(self, me: str) -> list[Link]:
        return [(me, EdgeKind.OWNED_BY, make_id(NodeKind.ORGANIZATION, self.org))]


class Product(NodeRecord):
    KIND = NodeKind.PRODUCT
    KEY_FIELDS = ("sponsor", "code")

    sponsor: Slug
    code: KeyPart
    name: str | None = None
    dosage_form: str | None = None

    def implied_links(self, me: str) -> list[Link]:
        return [(me, EdgeKind.OWNED_BY, make_id(NodeKind.ORGANIZATION, self.sponsor))]


class Material(NodeRecord):
    KIND = NodeKind.MATERIAL
    KEY_FIELDS = ("org", "code")

    org: Slug
    code: KeyPart
    name: str | None = None
    product_id: str | None = None  # the sponsor's Product this partner item code makes

    REF_FIELDS = {"product_id": (NodeKind.PRODUCT,)}

    def implied_links(self, me: str) -> list[Link]:
        edges = [(me, EdgeKind.OWNED_BY, make_id(NodeKind.ORGANIZATION, self.org))]
        if self.product_id:
            edges.append((me, EdgeKind.FOR_PRODUCT, self.product_id))
        return edges


class Batch(NodeRecord):
    """A lot as known at one partner. A number is unique only within its maker."""

    KIND = NodeKind.BATCH
    KEY_FIELDS = ("maker", "number")

    maker: Slug
    number: KeyPart
    material_code: KeyPart | None = None
    site_code: KeyPart | None = None
    product_id: str | None = None
    status: BatchStatus | None = None
    # The status word as the export wrote it: kept when no vocabulary maps it to a status.
    status_text: str | None = None
    manufactured_on: date | None = None
    released_on: date | None = None
    expires_on: date | None = None
    quantity: NonNegative | None = None
    unit: str | None = None
    validation_stage: ValidationStage | None = None

    REF_FIELDS = {"product_id": (NodeKind.PRODUCT,)}

    def implied_links(self, me: str) -> list[Link]:
        edges = [(me, EdgeKind.MADE_BY, make_id(NodeKind.ORGANIZATION, self.maker))]
        if self.material_code:
            material = make_id(NodeKind.MATERIAL, self.maker, self.material_code)
            edges.append((me, EdgeKind.OF_MATERIAL, material))
        if self.site_code:
            site = make_id(NodeKind.SITE, self.maker, self.site_code)
            edges.append((me, EdgeKind.MADE_AT, site))
        if self.product_id:
            edges.append((me, EdgeKind.FOR_PRODUCT, self.product_id))
        return edges


class QualityAgreement(NodeRecord):
    """A sponsor's quality agreement with a vendor. Keyed by its sponsor, who alone
    asserts it (``graph.trust``): two sponsors' "QA-1" are two agreements."""

    KIND = NodeKind.QUALITY_AGREEMENT
    KEY_FIELDS = ("sponsor", "agreement_id", "version")

    agreement_id: KeyPart
    version: KeyPart
    sponsor: Slug
    vendor: Slug
    product_ids: tuple[str, ...] = ()
    site_ids: tuple[str, ...] = ()
    activities: tuple[Activity, ...] = ()
    effective_from: date | None = None
    effective_to: date | None = None
    status: AgreementStatus | None = None
    # The sponsor's specifications the agreement binds the vendor to.
    specification_ids: tuple[str, ...] = ()
    # Changes classified at least this need the sponsor's approval before they are
    # implemented; None: MAJOR (the common clause: minor changes are only notified).
    change_approval_from: ChangeClass | None = None

    REF_FIELDS = {
        "product_ids": (NodeKind.PRODUCT,),
        "site_ids": (NodeKind.SITE,),
        "specification_ids": (NodeKind.SPECIFICATION,),
    }

    def implied_links(self, me: str) -> list[Link]:
        party = EdgeKind.PARTY_TO
        edges = [
            (org_id, party, me)
            for org_id in (
                make_id(NodeKind.ORGANIZATION, self.sponsor),
                make_id(NodeKind.ORGANIZATION, self.vendor),
            )
        ]
        edges += [(me, EdgeKind.COVERS, target) for target in self.product_ids]
        edges += [(me, EdgeKind.COVERS, target) for target in self.site_ids]
        edges += [(me, EdgeKind.COVERS, target) for target in self.specification_ids]
        return edges


class Qualification(NodeRecord):
    """One organization's (a sponsor's) qualification of a vendor or one of its sites.
    Keyed by who qualified: a vendor cannot qualify itself for a sponsor, and two
    sponsors' assessments of one site are two records (``graph.trust``)."""

    KIND = NodeKind.QUALIFICATION
    KEY_FIELDS = ("qualifier", "vendor", "site_code")

    qualifier: Slug
    vendor: Slug
    site_code: KeyPart | None = None
    status: QualificationStatus | None = None
    valid_until: date | None = None
    last_audit_on: date | None = None

    def implied_links(self, me: str) -> list[Link]:
        target = (
            make_id(NodeKind.SITE, self.vendor, self.site_code)
            if self.site_code
            else make_id(NodeKind.ORGANIZATION, self.vendor)
        )
        return [(me, EdgeKind.QUALIFIES, target)]


class TestResult(NodeRecord):
    __test__ = False  # not a pytest test class, despite the name

    KIND = NodeKind.TEST_RESULT
    KEY_FIELDS = ("lab", "result_id")

    lab: Slug
    result_id: KeyPart
    batch_id: str | None = None
    test: str | None = None  # the test or critical quality attribute, e.g. "assay"
    method: str | None = None
    value: float | None = None
    text_value: str | None = None
    unit: str | None = None
    spec_low: float | None = None
    spec_high: float | None = None
    verdict: Verdict | None = None
    tested_on: date | None = None

    REF_FIELDS = {"batch_id": (NodeKind.BATCH,)}

    def implied_links(self, me: str) -> list[Link]:
        edges = [(me, EdgeKind.OWNED_BY, make_id(NodeKind.ORGANIZATION, self.lab))]
        if self.batch_id:
            edges.append((me, EdgeKind.TESTED, self.batch_id))
        return edges


class Deviation(NodeRecord):
    KIND = NodeKind.DEVIATION
    KEY_FIELDS = ("org", "deviation_id")

    org: Slug
    deviation_id: KeyPart
    title: str | None = None
    classification: DeviationClass | None = None
    status: DeviationStatus | None = None
    opened_on: date | None = None
    closed_on: date | None = None
    batch_ids: tuple[str, ...] = ()

    REF_FIELDS = {"batch_ids": (NodeKind.BATCH,)}

    def implied_links(self, me: str) -> list[Link]:
        edges = [(me, EdgeKind.OWNED_BY, make_id(NodeKind.ORGANIZATION, self.org))]
        edges += [(me, EdgeKind.AFFECTS, batch) for batch in self.batch_ids]
        return edges


class Experiment(NodeRecord):
    KIND = NodeKind.EXPERIMENT
    KEY_FIELDS = ("org", "experiment_id")

    org: Slug
    experiment_id: KeyPart
    title: str | None = None
    performed_on: date | None = None
    used_ids: tuple[str, ...] = ()  # batches or materials
    produced_ids: tuple[str, ...] = ()  # batches
    # Files the entry holds, by reference: "<path in the export> sha256:<hex>" (the
    # checksum when the export gives one); the bytes stay in the stored payload.
    files: tuple[str, ...] = ()

    REF_FIELDS = {
        "used_ids": (NodeKind.BATCH, NodeKind.MATERIAL),
        "produced_ids": (NodeKind.BATCH,),
    }

    def implied_links(self, me: str) -> list[Link]:
        edges = [(me, EdgeKind.OWNED_BY, make_id(NodeKind.ORGANIZATION, self.org))]
        edges += [(me, EdgeKind.USED, target) for target in self.used_ids]
        edges += [(me, EdgeKind.PRODUCED, target) for target in self.produced_ids]
        return edges


class Edge(BaseModel):
    """A directed fact between two nodes, named by id. Unknown endpoints become
    placeholder nodes until an export describes them."""

    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)

    record: Literal["edge"] = "edge"
    kind: EdgeKind
    source: str
    target: str
    quantity: NonNegative | None = None
    unit: str | None = None
    # The day the fact happened, as written where it happened: a shipment's day, the
    # day a lot was consumed. None when the export does not say.
    occurred_on: date | None = None
    provenance: Provenance | None = None

    @field_validator("target")
    @classmethod
    def _endpoints_fit_kind(cls, target: str, info: ValidationInfo) -> str:
        kind: EdgeKind | None = info.data.get("kind")
        source: str | None = info.data.get("source")
        if kind is None or source is None:
            return target  # the missing field has its own error
        allowed_sources, allowed_targets = ALLOWED_ENDPOINTS[kind]
        try:
            source_kind = parse_id(source).kind
        except InvalidNodeId as error:
            raise ValueError(f"source: {error}") from None
        if source_kind not in allowed_sources:
            raise ValueError(
                f"a {kind} edge starts at {_names(allowed_sources)}, not at {source_kind} {source!r}"
            )
        target_kind = parse_id(target).kind
        if target_kind not in allowed_targets:
            raise ValueError(
                f"a {kind} edge ends at {_names(allowed_targets)}, not at {target_kind} {target!r}"
            )
        return target

    @property
    def key(self) -> tuple[str, EdgeKind, str]:
        return (self.source, self.kind, self.target)

    def require_provenance(self) -> Provenance:
        if self.provenance is None:
            raise MissingProvenance(
                f"{self.kind} edge {self.source} -> {self.target} has no provenance"
            )
        return self.provenance

    def properties(self) -> dict[str, Any]:
        data: dict[str, Any] = {}
        if self.quantity is not None:
            data["quantity"] = self.quantity
        if self.unit is not None:
            data["unit"] = self.unit
        if self.occurred_on is not None:
            data["occurred_on"] = self.occurred_on.isoformat()
        return data


Record = NodeRecord | Edge


def _names(kinds: frozenset[NodeKind]) -> str:
    return " or ".join(sorted(kinds))


def placeholder_properties(node_id: str) -> dict[str, str]:
    """Key attributes of a node known only by id (named as an edge's far end)."""
    ref = parse_id(node_id)
    fields = NODE_TYPES[ref.kind].KEY_FIELDS
    return dict(zip(fields, ref.parts, strict=False))
