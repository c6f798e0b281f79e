"""Filtered, paged listings of one node kind: the conditions a store can apply.

A listing is keyset-paged in id order: the caller passes the last id it has seen and
gets the next ``first`` nodes after it, plus whether more follow. Ids are stable and
unique, so pages never skip or repeat a node even while ingestion adds others.

Conditions are a small closed set, so each store translates them into its own query
language (SQL or Cypher) and filtering happens inside the database. Field names come
from the filters below, never from the client; values are always bound parameters.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Protocol

from graph.ids import InvalidNodeId, NodeKind, parse_id, shown, with_article
from graph.lifecycle import Agency, ChangeStatus, InspectionOutcome, TransferPhase
from graph.model import AgreementStatus, BatchStatus, EdgeKind, OrgKind, QualificationStatus


@dataclass(frozen=True, slots=True)
class Equals:
    """The node's attribute ``field`` equals ``value``."""

    field: str
    value: str


@dataclass(frozen=True, slots=True)
class Between:
    """The node's ISO-date attribute ``field`` lies in [low, high]; a missing bound is open."""

    field: str
    low: date | None
    high: date | None


@dataclass(frozen=True, slots=True)
class LinkedTo:
    """Some path of edges (followed forwards) leads from the node to ``target``."""

    paths: tuple[tuple[EdgeKind, ...], ...]
    target: str


Condition = Equals | Between | LinkedTo


class Filter(Protocol):
    """A listing's filter: the conditions it stands for."""

    def conditions(self) -> tuple[Condition, ...]:
        """Raise ValueError, naming the value, when an id is malformed or of the wrong kind."""
        ...


# A batch is for a product directly, or through the material it is a lot of.
PRODUCT_OF_BATCH: tuple[tuple[EdgeKind, ...], ...] = (
    (EdgeKind.FOR_PRODUCT,),
    (EdgeKind.OF_MATERIAL, EdgeKind.FOR_PRODUCT),
)


def _org_slug(org_id: str) -> str:
    return _require_kind(org_id, NodeKind.ORGANIZATION, "org:alder").partition(":")[2]


def _require_kind(node_id: str, kind: NodeKind, example: str) -> str:
    try:
        matches = parse_id(node_id).kind is kind
    except InvalidNodeId:
        matches = False
    if not matches:
        raise ValueError(
            f"{shown(node_id)} is not {with_article(kind)} id (expected e.g. {example!r})"
        )
    return node_id


@dataclass(frozen=True, slots=True)
class BatchFilter:
    vendor: str | None = None  # organization id of the maker
    number: str | None = None
    product: str | None = None  # product id
    status: BatchStatus | None = None
    manufactured_from: date | None = None
    manufactured_to: date | None = None

    def conditions(self) -> tuple[Condition, ...]:
        """Raise ValueError, naming the value, when an id is malformed or of the wrong kind."""
        found: list[Condition] = []
        if self.vendor is not None:
            found.append(Equals("maker", _org_slug(self.vendor)))
        if self.number is not None:
            found.append(Equals("number", self.number))
        if self.status is not None:
            found.append(Equals("status", self.status.value))
        if self.manufactured_from is not None or self.manufactured_to is not None:
            found.append(Between("manufactured_on", self.manufactured_from, self.manufactured_to))
        if self.product is not None:
            product = _require_kind(self.product, NodeKind.PRODUCT, "product:northwind/NW-101")
            found.append(LinkedTo(PRODUCT_OF_BATCH, product))
        return tuple(found)


@dataclass(frozen=True, slots=True)
class ProductFilter:
    sponsor: str | None = None  # organization id

    def conditions(self) -> tuple[Condition, ...]:
        return () if self.sponsor is None else (Equals("sponsor", _org_slug(self.sponsor)),)


@dataclass(frozen=True, slots=True)
class OrganizationFilter:
    kind: OrgKind | None = None

    def conditions(self) -> tuple[Condition, ...]:
        return () if self.kind is None else (Equals("kind", self.kind.value),)


@dataclass(frozen=True, slots=True)
class AgreementFilter:
    sponsor: str | None = None  # organization id
    vendor: str | None = None  # organization id
    status: AgreementStatus | None = None
    product: str | None = None  # product id the agreement covers

    def conditions(self) -> tuple[Condition, ...]:
        found: list[Condition] = []
        if self.sponsor is not None:
            found.append(Equals("sponsor", _org_slug(self.sponsor)))
        if self.vendor is not None:
            found.append(Equals("vendor", _org_slug(self.vendor)))
        if self.status is not None:
            found.append(Equals("status", self.status.value))
        if self.product is not None:
            product = _require_kind(self.product, NodeKind.PRODUCT, "product:northwind/NW-101")
            found.append(LinkedTo(((EdgeKind.COVERS,),), product))
        return tuple(found)


@dataclass(frozen=True, slots=True)
class QualificationFilter:
    vendor: str | None = None  # organization id of the qualified vendor
    status: QualificationStatus | None = None

    def conditions(self) -> tuple[Condition, ...]:
        found: list[Condition] = []
        if self.vendor is not None:
            found.append(Equals("vendor", _org_slug(self.vendor)))
        if self.status is not None:
            found.append(Equals("status", self.status.value))
        return tuple(found)


# The partnership lifecycle's listings (``graph.lifecycle``): by the organizations
# their keys name, and the product or site they are about.


def parties(**orgs: str | None) -> list[Condition]:
    """Equal-slug conditions for the organization ids given (attribute: org id)."""
    return [Equals(field, _org_slug(org)) for field, org in orgs.items() if org is not None]


def _product(product: str | None, *paths: tuple[EdgeKind, ...]) -> list[Condition]:
    if product is None:
        return []
    return [LinkedTo(paths, _require_kind(product, NodeKind.PRODUCT, "product:northwind/NW-101"))]


def _site(site: str | None, *paths: tuple[EdgeKind, ...]) -> list[Condition]:
    if site is None:
        return []
    return [LinkedTo(paths, _require_kind(site, NodeKind.SITE, "site:birch/IE-CORK"))]


@dataclass(frozen=True, slots=True)
class SpecificationFilter:
    sponsor: str | None = None  # organization id
    product: str | None = None  # product id
    test: str | None = None

    def conditions(self) -> tuple[Condition, ...]:
        found = parties(sponsor=self.sponsor) + _product(self.product, (EdgeKind.SPECIFIES,))
        if self.test is not None:
            found.append(Equals("test", self.test))
        return tuple(found)


@dataclass(frozen=True, slots=True)
class TechTransferFilter:
    sponsor: str | None = None  # organization id
    vendor: str | None = None  # organization id of the receiving vendor
    product: str | None = None  # product id
    phase: TransferPhase | None = None

    def conditions(self) -> tuple[Condition, ...]:
        found = parties(sponsor=self.sponsor, vendor=self.vendor)
        found += _product(self.product, (EdgeKind.TRANSFERS,))
        if self.phase is not None:
            found.append(Equals("phase", self.phase.value))
        return tuple(found)


@dataclass(frozen=True, slots=True)
class ChangeControlFilter:
    vendor: str | None = None  # organization id
    sponsor: str | None = None  # organization id of the sponsor notified
    product: str | None = None  # product id
    site: str | None = None  # site id
    status: ChangeStatus | None = None

    def conditions(self) -> tuple[Condition, ...]:
        found = parties(vendor=self.vendor, sponsor=self.sponsor)
        found += _product(self.product, (EdgeKind.CONCERNS,))
        found += _site(self.site, (EdgeKind.CONCERNS,))
        if self.status is not None:
            found.append(Equals("status", self.status.value))
        return tuple(found)


@dataclass(frozen=True, slots=True)
class AuditFilter:
    auditor: str | None = None  # organization id
    vendor: str | None = None  # organization id of the audited vendor
    site: str | None = None  # site id

    def conditions(self) -> tuple[Condition, ...]:
        found = parties(auditor=self.auditor, vendor=self.vendor)
        return tuple(found + _site(self.site, (EdgeKind.CONCERNS,)))


@dataclass(frozen=True, slots=True)
class InspectionFilter:
    organization: str | None = None  # organization id of the inspected
    site: str | None = None  # site id
    agency: Agency | None = None
    outcome: InspectionOutcome | None = None

    def conditions(self) -> tuple[Condition, ...]:
        found = parties(org=self.organization) + _site(self.site, (EdgeKind.CONCERNS,))
        if self.agency is not None:
            found.append(Equals("agency", self.agency.value))
        if self.outcome is not None:
            found.append(Equals("outcome", self.outcome.value))
        return tuple(found)
