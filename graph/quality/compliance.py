"""Compliance gaps: lots made without a quality agreement in force, or by a vendor or
site that was not (fully) qualified.

The rules, decided here once for both stores:

- **Judged lots.** A lot is judged for each sponsor product it is for (``FOR_PRODUCT``,
  or ``OF_MATERIAL`` then ``FOR_PRODUCT``). A received lot (one with a ``SAME_LOT``
  edge to its maker's lot) is not judged: its maker's lot is, and the receiver did not
  make it. A lot of no sponsor product (an excipient, a raw material) needs no sponsor
  agreement and is not judged.
- **Who sees a verdict.** A verdict concerns the two parties the agreement must be
  between: the sponsor whose product it is and the vendor that made the lot. A principal
  sees verdicts only on lots it may read (``graph.visibility``) and where it is one of
  those parties (the operator: every lot). Agreements and qualifications are taken into
  account only if the principal may read them, so nothing hidden is used or named; a
  lab that tested a lot or a sponsor reading it upstream of its own product is not shown
  a verdict it could not check.
- **Agreement.** A lot made by V on day D for product P of sponsor S is covered when
  some agreement of S (asserted by S: ``graph.trust``) with ``vendor`` V, covering P, for a production activity (``MANUFACTURE`` or
  ``PACKAGING``: packaging is part of manufacture in GMP, and packers' agreements
  list packaging only) is in force on D:

  - it covers the lot's site: it lists no sites (then it covers all of V's), or it
    lists the lot's site (a lot with no recorded site is then not covered);
  - its status is ``EFFECTIVE`` or ``EXPIRED``: an expired agreement was in force over
    its dates. ``DRAFT``, ``TERMINATED`` (the record does not say since when) and an
    unknown status are never in force;
  - ``effective_from <= D <= effective_to``, both ends inclusive; without an
    ``effective_from`` it is never in force, without an ``effective_to`` it is open.

  Versions are agreements of their own: any version in force covers the lot.
- **Qualification.** The qualifications that apply to a lot of sponsor S's product
  are S's qualifications of its maker (no site) and of its maker's site for the lot
  (a qualification by anyone else, the vendor itself included, clears nothing). At least one must exist, and each must be
  ``APPROVED`` (``CONDITIONAL`` and ``DISQUALIFIED`` are gaps) with ``valid_until``
  on or after D (inclusive; none: open). A qualification record has no start date, so
  its status is taken to hold on every day up to ``valid_until``.
- **Change control.** A lot of S's product made by V on day D is not compliant when a
  change V notified to S (``graph.lifecycle.ChangeControl``: its vendor V, its sponsor
  S) was implemented on or before D without S's approval in time where S's agreement
  required it (``graph.lifecycle.unapproved``): the change names the lot's site, or no
  site (then every site of V's), and the lot's product, or no product (then every
  product of S's). The clause is the most demanding ``change_approval_from`` among S's
  production agreements with V covering the product (a change any of them wanted
  approved needed approval; none: MAJOR, the common clause). Only S's agreements and
  V's changes to S count (``graph.trust``): another sponsor's approval clears nothing.
  A lot made before the change was implemented is not touched by it.
- **Unknown date.** A lot without ``manufactured_on`` is always reported
  (``UNKNOWN_DATE``), with whatever else holds whatever the date. A date range asked
  for does not exclude it: it cannot be shown to lie outside the range.

Each reason names the agreement, qualification or change it is about. How the stores
find the lots: ``coverage`` turns the (few) agreements, qualifications and changes into
the date windows in which a (maker, site, product) lot is compliant (an unapproved
change ends them the day before it was implemented, at the sites it names), the store's
query keeps the lots outside every window, and ``judge`` says why, for the page it
returns. The stores only read the records (``change_terms`` like the others): the
judgement is this module's, so the two stores cannot disagree on it.
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from enum import StrEnum

from graph.ids import InvalidNodeId, NodeKind, make_id, parse_id, shown, with_article
from graph.lifecycle import ChangeControl, unapproved
from graph.model import (
    Activity,
    AgreementStatus,
    ChangeClass,
    Qualification,
    QualificationStatus,
    QualityAgreement,
)
from graph.visibility import EVERYTHING, Visibility

log = logging.getLogger("partnerhub.compliance")

# Activities that make a lot; an agreement covering either covers making it.
PRODUCTION: frozenset[Activity] = frozenset({Activity.MANUFACTURE, Activity.PACKAGING})
# Statuses of an agreement that was put in force (over its dates).
IN_FORCE: frozenset[AgreementStatus] = frozenset(
    {AgreementStatus.EFFECTIVE, AgreementStatus.EXPIRED}
)


class GapReason(StrEnum):
    UNKNOWN_DATE = "UNKNOWN_DATE"
    NO_AGREEMENT = "NO_AGREEMENT"
    AGREEMENT_SITE_NOT_COVERED = "AGREEMENT_SITE_NOT_COVERED"
    AGREEMENT_NOT_IN_FORCE = "AGREEMENT_NOT_IN_FORCE"
    AGREEMENT_NOT_YET_EFFECTIVE = "AGREEMENT_NOT_YET_EFFECTIVE"
    AGREEMENT_EXPIRED = "AGREEMENT_EXPIRED"
    NOT_QUALIFIED = "NOT_QUALIFIED"
    QUALIFICATION_CONDITIONAL = "QUALIFICATION_CONDITIONAL"
    DISQUALIFIED = "DISQUALIFIED"
    QUALIFICATION_EXPIRED = "QUALIFICATION_EXPIRED"
    UNAPPROVED_CHANGE = "UNAPPROVED_CHANGE"


@dataclass(frozen=True, slots=True)
class AgreementTerms:
    """What the rules need of one agreement version."""

    id: str
    agreement_id: str
    version: str
    sponsor: str  # organization slug: who asserted it (graph.trust)
    vendor: str  # organization slug
    products: frozenset[str]  # product ids it covers
    sites: frozenset[str]  # site ids it covers; empty: every site of the vendor
    activities: frozenset[Activity]
    status: AgreementStatus | None
    effective_from: date | None
    effective_to: date | None
    change_approval_from: ChangeClass | None = None  # None: MAJOR (graph.lifecycle)

    @classmethod
    def of(cls, node_id: str, record: QualityAgreement, covered: Iterable[str]) -> AgreementTerms:
        """From the stored record and the targets of its ``COVERS`` edges (every product
        and site any export said it covers)."""
        kinds = {target: parse_id(target).kind for target in covered}
        return cls(
            id=node_id,
            agreement_id=record.agreement_id,
            version=record.version,
            sponsor=record.sponsor,
            vendor=record.vendor,
            products=frozenset(t for t, kind in kinds.items() if kind is NodeKind.PRODUCT),
            sites=frozenset(t for t, kind in kinds.items() if kind is NodeKind.SITE),
            activities=frozenset(record.activities),
            status=record.status,
            effective_from=record.effective_from,
            effective_to=record.effective_to,
            change_approval_from=record.change_approval_from,
        )

    @property
    def name(self) -> str:
        return f"agreement {self.agreement_id} v{self.version}"

    @property
    def production(self) -> bool:
        return bool(self.activities & PRODUCTION)

    def covers_site(self, maker: str, site_code: str | None) -> bool:
        if not self.sites:
            return True
        return site_code is not None and make_id(NodeKind.SITE, maker, site_code) in self.sites


@dataclass(frozen=True, slots=True)
class QualificationTerms:
    id: str
    qualifier: str  # organization slug: the sponsor who qualified (graph.trust)
    vendor: str  # organization slug
    site_code: str | None  # None: the vendor as a whole
    status: QualificationStatus | None
    valid_until: date | None
    last_audit_on: date | None

    @classmethod
    def of(cls, node_id: str, record: Qualification) -> QualificationTerms:
        return cls(
            id=node_id,
            qualifier=record.qualifier,
            vendor=record.vendor,
            site_code=record.site_code,
            status=record.status,
            valid_until=record.valid_until,
            last_audit_on=record.last_audit_on,
        )

    @property
    def name(self) -> str:
        site = f" site {self.site_code}" if self.site_code else ""
        return f"qualification of {self.vendor}{site}"

    def applies_to(self, maker: str, site_code: str | None, sponsor: str) -> bool:
        """Whether it qualifies ``maker`` (at ``site_code``) for ``sponsor``'s products:
        only the sponsor's own qualification counts, never the vendor's word."""
        return (
            self.qualifier == sponsor
            and self.vendor == maker
            and self.site_code in (None, site_code)
        )


@dataclass(frozen=True, slots=True)
class Lot:
    """A lot to judge: what the rules need of it, and the products it is judged for."""

    batch_id: str
    maker: str
    site_code: str | None
    manufactured_on: date | None
    products: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Gap:
    """One reason a lot is not compliant, for one of its products."""

    reason: GapReason
    message: str
    product_id: str
    agreement_id: str | None = None  # node id of the agreement the reason is about
    qualification_id: str | None = None  # node id of the qualification
    change_id: str | None = None  # node id of the change control


@dataclass(frozen=True, slots=True)
class NonCompliantLot:
    batch_id: str
    manufactured_on: date | None
    gaps: tuple[Gap, ...]


@dataclass(frozen=True, slots=True)
class GapPage:
    """One page of non-compliant lots in batch id order."""

    lots: tuple[NonCompliantLot, ...]
    has_next: bool


@dataclass(frozen=True, slots=True)
class ComplianceScope:
    """Which lots to check: of a product, by a vendor, at a site (at least one, all
    given must hold), made between two days (inclusive; undated lots always count).
    Raise ValueError naming the field when a value is malformed."""

    product: str | None = None  # product id
    vendor: str | None = None  # organization id
    site: str | None = None  # site id
    made_from: date | None = None
    made_to: date | None = None

    def __post_init__(self) -> None:
        if self.product is None and self.vendor is None and self.site is None:
            raise ValueError("give a product, a vendor or a site to check")
        _require(self.product, NodeKind.PRODUCT, "product", "product:northwind/NW-TAB-101")
        _require(self.vendor, NodeKind.ORGANIZATION, "vendor", "org:birch")
        _require(self.site, NodeKind.SITE, "site", "site:birch/CRK-1")
        if self.site and self.vendor and self.site_maker != self.vendor_slug:
            raise ValueError(
                f"site: {self.site!r} is a site of {self.site_maker!r}, not of the vendor "
                f"{self.vendor!r}"
            )
        if self.made_from and self.made_to and self.made_from > self.made_to:
            raise ValueError(
                f"from: {self.made_from.isoformat()} is after to: {self.made_to.isoformat()}"
            )

    @property
    def vendor_slug(self) -> str | None:
        """The maker every lot must have, from the vendor or the site."""
        if self.vendor is not None:
            return parse_id(self.vendor).parts[0]
        return self.site_maker

    @property
    def site_maker(self) -> str | None:
        return parse_id(self.site).parts[0] if self.site else None

    @property
    def site_code(self) -> str | None:
        return parse_id(self.site).parts[1] if self.site else None


def _require(value: str | None, kind: NodeKind, name: str, example: str) -> None:
    if value is None:
        return
    try:
        matches = parse_id(value).kind is kind
    except InvalidNodeId:
        matches = False
    if not matches:
        raise ValueError(
            f"{name}: {shown(value)} is not {with_article(kind)} id (expected e.g. {example!r})"
        )


# Judging ---------------------------------------------------------------------------


def judge(
    lot: Lot,
    agreements: Iterable[AgreementTerms],
    qualifications: Iterable[QualificationTerms],
    changes: Iterable[ChangeControl] = (),
) -> tuple[Gap, ...]:
    """Every reason ``lot`` is not compliant, product by product (none: compliant)."""
    agreements = sorted(agreements, key=lambda a: a.id)
    qualifications = sorted(qualifications, key=lambda q: q.id)
    changes = sorted(changes, key=lambda c: c.id)
    gaps: list[Gap] = []
    for product in lot.products:
        gaps += _judge_one(lot, product, agreements, qualifications)
        gaps += _change_problems(lot, product, agreements, changes)
    return tuple(gaps)


def _production_agreements(
    agreements: Iterable[AgreementTerms], sponsor: str, maker: str, product: str
) -> list[AgreementTerms]:
    """The sponsor's agreements with ``maker`` covering ``product`` for making it."""
    return [
        a
        for a in agreements
        if a.sponsor == sponsor and a.vendor == maker and product in a.products and a.production
    ]


def approval_threshold(agreements: Iterable[AgreementTerms]) -> ChangeClass | None:
    """The most demanding change clause among ``agreements`` (the lowest class that
    needs approval); None when none of them sets one (then MAJOR applies)."""
    clauses = [a.change_approval_from for a in agreements if a.change_approval_from is not None]
    return min(clauses, key=list(ChangeClass).index) if clauses else None


def unapproved_changes(
    changes: Iterable[ChangeControl],
    agreements: Iterable[AgreementTerms],
    sponsor: str,
    maker: str,
    product: str,
) -> list[ChangeControl]:
    """``maker``'s changes notified to ``sponsor`` that concern ``product`` and were
    implemented without the approval the sponsor's agreements asked for."""
    threshold = approval_threshold(_production_agreements(agreements, sponsor, maker, product))
    return [
        c
        for c in changes
        if c.vendor == maker
        and c.sponsor == sponsor
        and c.product_id in (None, product)
        and unapproved(c, threshold)
    ]


def _change_problems(
    lot: Lot,
    product: str,
    agreements: Sequence[AgreementTerms],
    changes: Sequence[ChangeControl],
) -> list[Gap]:
    day = lot.manufactured_on
    if day is None or not changes:
        return []
    sponsor = parse_id(product).parts[0]
    gaps = []
    for change in unapproved_changes(changes, agreements, sponsor, lot.maker, product):
        assert change.implemented_on is not None  # unapproved ones were implemented
        if change.site_code not in (None, lot.site_code) or day < change.implemented_on:
            continue
        grade = change.classification.value if change.classification else "unclassified"
        approval = (
            f"approved only on {change.sponsor_approved_on.isoformat()}"
            if change.sponsor_approved_on
            else f"not approved by {sponsor}"
        )
        gaps.append(
            Gap(
                GapReason.UNAPPROVED_CHANGE,
                f"{grade} change {change.change_id} of {lot.maker} was implemented on "
                f"{change.implemented_on.isoformat()}, {approval}, and {_lot_name(lot)} was "
                f"made on {day.isoformat()}",
                product,
                change_id=change.id,
            )
        )
    return gaps


def _judge_one(
    lot: Lot,
    product: str,
    agreements: Sequence[AgreementTerms],
    qualifications: Sequence[QualificationTerms],
) -> list[Gap]:
    day = lot.manufactured_on
    gaps: list[Gap] = []
    if day is None:
        gaps.append(
            Gap(
                GapReason.UNKNOWN_DATE,
                f"{_lot_name(lot)} has no manufacturing date, so agreement and qualification "
                "dates cannot be checked",
                product,
            )
        )
    sponsor, code = parse_id(product).parts
    candidates = _production_agreements(agreements, sponsor, lot.maker, product)
    if not candidates:
        gaps.append(
            Gap(
                GapReason.NO_AGREEMENT,
                f"no quality agreement between {sponsor} and {lot.maker} covers {code} for "
                "manufacture or packaging",
                product,
            )
        )
    else:
        problems = [_agreement_problem(a, lot, product) for a in candidates]
        if all(problem is not None for problem in problems):
            gaps += [problem for problem in problems if problem is not None]
    gaps += _qualification_problems(lot, product, qualifications)
    return gaps


def _agreement_problem(agreement: AgreementTerms, lot: Lot, product: str) -> Gap | None:
    """Why ``agreement`` does not cover the lot, or None if it does (or may: no date)."""

    def gap(reason: GapReason, why: str) -> Gap:
        return Gap(reason, f"{agreement.name} {why}", product, agreement_id=agreement.id)

    day = lot.manufactured_on
    if not agreement.covers_site(lot.maker, lot.site_code):
        codes = ", ".join(sorted(parse_id(site).parts[1] for site in agreement.sites))
        made_at = f"site {lot.site_code}" if lot.site_code else "no recorded site"
        return gap(
            GapReason.AGREEMENT_SITE_NOT_COVERED,
            f"covers sites {codes}, and {_lot_name(lot)} was made at {made_at}",
        )
    if agreement.status not in IN_FORCE:
        status = agreement.status.value if agreement.status else "without a status"
        return gap(GapReason.AGREEMENT_NOT_IN_FORCE, f"is {status}, never in force")
    if agreement.effective_from is None:
        return gap(GapReason.AGREEMENT_NOT_IN_FORCE, "has no effective-from date")
    if day is None:
        return None
    if day < agreement.effective_from:
        return gap(
            GapReason.AGREEMENT_NOT_YET_EFFECTIVE,
            f"took effect on {agreement.effective_from.isoformat()}, after {_lot_name(lot)} "
            f"was made on {day.isoformat()}",
        )
    if agreement.effective_to is not None and day > agreement.effective_to:
        return gap(
            GapReason.AGREEMENT_EXPIRED,
            f"ended on {agreement.effective_to.isoformat()}, before {_lot_name(lot)} was "
            f"made on {day.isoformat()}",
        )
    return None


def _qualification_problems(
    lot: Lot, product: str, qualifications: Sequence[QualificationTerms]
) -> list[Gap]:
    sponsor = parse_id(product).parts[0]
    applicable = [q for q in qualifications if q.applies_to(lot.maker, lot.site_code, sponsor)]
    if not applicable:
        site = f" or of its site {lot.site_code}" if lot.site_code else ""
        return [
            Gap(
                GapReason.NOT_QUALIFIED,
                f"no qualification of {lot.maker}{site} by {sponsor} is on record",
                product,
            )
        ]
    gaps = []
    day = lot.manufactured_on
    for q in applicable:

        def gap(reason: GapReason, message: str, q: QualificationTerms = q) -> Gap:
            return Gap(reason, message, product, qualification_id=q.id)

        audit = f" (last audit {q.last_audit_on.isoformat()})" if q.last_audit_on else ""
        if q.status is None:
            gaps.append(gap(GapReason.NOT_QUALIFIED, f"the {q.name} records no status"))
        elif q.status is QualificationStatus.DISQUALIFIED:
            gaps.append(gap(GapReason.DISQUALIFIED, f"the {q.name} is DISQUALIFIED{audit}"))
        elif q.status is QualificationStatus.CONDITIONAL:
            gaps.append(
                gap(
                    GapReason.QUALIFICATION_CONDITIONAL,
                    f"the {q.name} is only CONDITIONAL{audit}",
                )
            )
        elif day is not None and q.valid_until is not None and day > q.valid_until:
            gaps.append(
                gap(
                    GapReason.QUALIFICATION_EXPIRED,
                    f"the {q.name} was valid until {q.valid_until.isoformat()}, before "
                    f"{_lot_name(lot)} was made on {day.isoformat()}",
                )
            )
    return gaps


def _lot_name(lot: Lot) -> str:
    return f"lot {parse_id(lot.batch_id).parts[1]}"


# Coverage: where the stores look ---------------------------------------------------

# A date window [first, last] in ISO form (the stores keep dates as ISO strings, which
# compare in date order); last None: open-ended.
Window = tuple[str, str | None]


@dataclass(frozen=True, slots=True)
class Coverage:
    """The days on which a lot is compliant, by product, maker and site code.

    ``windows[product][maker][site]`` lists the windows for lots made at ``site``; the
    site ``""`` stands for every other site and for lots with no recorded site (all
    sites that any rule treats differently are listed by their code). A (product,
    maker) pair that is not listed has no agreement at all: none of its lots is
    compliant. Judging a dated lot and looking its day up here agree by construction
    (``tests/graph/test_compliance_property.py`` holds both stores to it).
    """

    windows: dict[str, dict[str, dict[str, tuple[Window, ...]]]] = field(default_factory=dict)

    def rows(self) -> list[list[str | None]]:
        """Flat rows ``[product, maker, site, first, last]`` for SQL; a listed site with
        no window has a row with ``first`` None, so that it is still listed."""
        found: list[list[str | None]] = []
        for product, makers in self.windows.items():
            for maker, sites in makers.items():
                for site, windows in sites.items():
                    found += [[product, maker, site, first, last] for first, last in windows]
                    if not windows:
                        found.append([product, maker, site, None, None])
        return found

    def as_parameter(self) -> dict[str, dict[str, dict[str, list[list[str | None]]]]]:
        """Nested maps of lists, as a Cypher parameter."""
        return {
            product: {
                maker: {site: [list(window) for window in windows] for site, windows in s.items()}
                for maker, s in makers.items()
            }
            for product, makers in self.windows.items()
        }


def coverage(
    agreements: Iterable[AgreementTerms],
    qualifications: Iterable[QualificationTerms],
    changes: Iterable[ChangeControl] = (),
) -> Coverage:
    candidates: dict[tuple[str, str], list[AgreementTerms]] = {}
    for agreement in agreements:
        if agreement.production:
            for product in agreement.products:
                if parse_id(product).parts[0] == agreement.sponsor:
                    candidates.setdefault((product, agreement.vendor), []).append(agreement)
    by_vendor: dict[tuple[str, str], list[QualificationTerms]] = {}
    for qualification in qualifications:
        key = (qualification.qualifier, qualification.vendor)
        by_vendor.setdefault(key, []).append(qualification)
    changes = list(changes)
    found = Coverage()
    for (product, maker), listed in sorted(candidates.items()):
        sponsor = parse_id(product).parts[0]
        own = by_vendor.get((sponsor, maker), [])
        late = unapproved_changes(changes, listed, sponsor, maker, product)
        sites = {
            parse_id(site).parts[1]
            for agreement in listed
            for site in agreement.sites
            if parse_id(site).parts[0] == maker
        } | {q.site_code for q in own if q.site_code is not None}
        sites |= {c.site_code for c in late if c.site_code is not None}
        found.windows.setdefault(product, {})[maker] = {
            site or "": _windows(listed, own, maker, site, sponsor, _cutoff(late, site))
            for site in [*sorted(sites), None]
        }
    return found


def _cutoff(late: Sequence[ChangeControl], site_code: str | None) -> date | None:
    """The first day on which a lot made at ``site_code`` (None: at a site no change
    names, or none recorded) falls under an unapproved change."""
    days = [
        c.implemented_on
        for c in late
        if c.implemented_on is not None and c.site_code in (None, site_code)
    ]
    return min(days) if days else None


def _windows(
    agreements: Sequence[AgreementTerms],
    qualifications: Sequence[QualificationTerms],
    maker: str,
    site_code: str | None,
    sponsor: str,
    cutoff: date | None = None,
) -> tuple[Window, ...]:
    """The days a lot of ``maker`` made at ``site_code`` for ``sponsor`` is compliant:
    inside an agreement's dates, no later than every applicable qualification's
    validity, and before ``cutoff`` (the first unapproved change's implementation)."""
    applicable = [q for q in qualifications if q.applies_to(maker, site_code, sponsor)]
    if not applicable or any(q.status is not QualificationStatus.APPROVED for q in applicable):
        return ()
    limits = [q.valid_until for q in applicable if q.valid_until is not None]
    if cutoff is not None:
        limits.append(cutoff - timedelta(days=1))
    limit = min(limits) if limits else None
    windows: set[tuple[date, date | None]] = set()
    for agreement in agreements:
        start, end = agreement.effective_from, agreement.effective_to
        if (
            start is None
            or agreement.status not in IN_FORCE
            or not agreement.covers_site(maker, site_code)
        ):
            continue
        if limit is not None:
            end = limit if end is None else min(end, limit)
        if end is None or start <= end:
            windows.add((start, end))
    return tuple(
        (start.isoformat(), end.isoformat() if end else None)
        for start, end in sorted(windows, key=lambda w: (w[0], w[1] or date.max))
    )


# The reads each store implements, and the answers built on them ---------------------


class ComplianceQueries(ABC):
    """Compliance reads, part of ``GraphStore``: the stores find, this module judges.

    Every primitive applies the visibility inside its query, like every other read.
    """

    @abstractmethod
    async def agreement_terms(
        self,
        *,
        vendors: Sequence[str] | None,
        products: Sequence[str] | None,
        visibility: Visibility = EVERYTHING,
    ) -> list[AgreementTerms]:
        """Readable agreements with a vendor among ``vendors`` (slugs) that cover one of
        ``products``; None: any. At least one of the two is given."""

    @abstractmethod
    async def qualification_terms(
        self, vendors: Sequence[str], *, visibility: Visibility = EVERYTHING
    ) -> list[QualificationTerms]:
        """Readable qualifications of ``vendors`` (slugs), their sites' included."""

    @abstractmethod
    async def change_terms(
        self, vendors: Sequence[str], *, visibility: Visibility = EVERYTHING
    ) -> list[ChangeControl]:
        """Readable change controls of ``vendors`` (slugs), in id order."""

    @abstractmethod
    async def uncovered_lots(
        self,
        scope: ComplianceScope,
        windows: Coverage,
        first: int,
        after: str | None,
        *,
        visibility: Visibility = EVERYTHING,
    ) -> tuple[list[Lot], bool]:
        """Up to ``first`` judged lots in ``scope`` with a batch id above ``after``, in id
        order, whose day is unknown or outside every window of one of their products (the
        lot's products restricted to the scope's); and whether more follow."""

    @abstractmethod
    async def judged_lots(
        self, batch_ids: Sequence[str], *, visibility: Visibility = EVERYTHING
    ) -> list[Lot]:
        """Those of ``batch_ids`` the principal may read and is shown a verdict on, each
        with the products it is judged for."""

    async def compliance_gaps(
        self,
        scope: ComplianceScope,
        first: int,
        after: str | None = None,
        *,
        visibility: Visibility = EVERYTHING,
    ) -> GapPage:
        """Non-compliant lots in ``scope``, a page at a time, in batch id order."""
        vendor = scope.vendor_slug
        agreements = await self.agreement_terms(
            vendors=None if vendor is None else [vendor],
            products=None if scope.product is None else [scope.product],
            visibility=visibility,
        )
        vendors = {agreement.vendor for agreement in agreements}
        qualifications = await self.qualification_terms(sorted(vendors), visibility=visibility)
        changes = await self.change_terms(sorted(vendors), visibility=visibility)
        windows = coverage(agreements, qualifications, changes)
        lots, has_next = await self.uncovered_lots(
            scope, windows, first, after, visibility=visibility
        )
        # Makers with no agreement at all were outside every window; judging them names
        # their qualifications too.
        others = {lot.maker for lot in lots} - vendors
        if others:
            qualifications += await self.qualification_terms(sorted(others), visibility=visibility)
            changes += await self.change_terms(sorted(others), visibility=visibility)
        found = []
        for lot in lots:
            gaps = judge(lot, agreements, qualifications, changes)
            if not gaps:
                raise RuntimeError(
                    f"{lot.batch_id} is outside every compliance window but judged compliant: "
                    "graph.quality.compliance.coverage and judge disagree"
                )
            found.append(NonCompliantLot(lot.batch_id, lot.manufactured_on, gaps))
        return GapPage(tuple(found), has_next)

    async def compliance_of(
        self, batch_ids: Sequence[str], *, visibility: Visibility = EVERYTHING
    ) -> dict[str, tuple[Gap, ...]]:
        """The gaps of each of ``batch_ids`` judged for the principal (empty: compliant);
        lots not judged for it (received, of no product, hidden, not its business) are
        absent."""
        lots = await self.judged_lots(batch_ids, visibility=visibility)
        if not lots:
            return {}
        makers = sorted({lot.maker for lot in lots})
        agreements = await self.agreement_terms(
            vendors=makers,
            products=sorted({product for lot in lots for product in lot.products}),
            visibility=visibility,
        )
        qualifications = await self.qualification_terms(makers, visibility=visibility)
        changes = await self.change_terms(makers, visibility=visibility)
        return {lot.batch_id: judge(lot, agreements, qualifications, changes) for lot in lots}
