"""Both stores' compliance gaps against a brute-force reading of the rules, on random
small networks.

The reference below is written from the rules in ``graph/quality/compliance.py``'s docstring,
straight from the records (not from the stores' code, nor from ``judge`` and
``coverage``): for every lot and product it lists the reasons, with the agreement or
qualification each names, as seen by a principal (the lots it is a party to, the
agreements it is party to, the qualifications it made or that are about it), counting
for a lot of sponsor S's product only S's agreements and S's qualifications, and the
changes its maker notified to S (implemented without the approval S's agreements ask
for: UNAPPROVED_CHANGE). The store
must list exactly the lots with a reason, whatever the scope, page size and arrival
order of the records.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from graph.ids import NodeKind, make_id
from graph.lifecycle import ChangeControl
from graph.model import (
    Activity,
    AgreementStatus,
    Batch,
    ChangeClass,
    Edge,
    EdgeKind,
    Material,
    Product,
    Qualification,
    QualificationStatus,
    QualityAgreement,
    Record,
    TestResult,
)
from graph.quality.compliance import ComplianceScope, GapReason
from graph.store import GraphStore
from graph.visibility import EVERYTHING, Visibility
from tests.graph.builders import PROVENANCE, lot, shipped
from tests.graph.test_visibility_property import in_chunks

R = GapReason
MAKERS = ("m1", "m2")
SPONSORS = ("s1", "s2")
PRODUCTS = {make_id(NodeKind.PRODUCT, s, code): s for s, code in (("s1", "P1"), ("s2", "P2"))}
SITE_CODES = ("A", "B")
DAYS = (date(2025, 1, 1), date(2025, 3, 1), date(2025, 6, 30), date(2025, 7, 1))
LOTS = [(maker, f"L{n}") for maker in MAKERS for n in range(4)]
ORGS = (*MAKERS, *SPONSORS, "lab")

maybe_day = st.sampled_from((None, *DAYS))
maybe_product = st.sampled_from((None, *PRODUCTS))
maybe_class = st.sampled_from((None, *ChangeClass))
# Weighted towards compliant set-ups, so that the boundaries between covered and not
# covered are crossed often: most lots have a product, most agreements are in force.
lot_product = st.sampled_from((None, *PRODUCTS, *PRODUCTS))
agreement_status = st.sampled_from(
    (AgreementStatus.EFFECTIVE, AgreementStatus.EXPIRED) * 2 + (None, *AgreementStatus)
)
qualification_status = st.sampled_from(
    (QualificationStatus.APPROVED,) * 4 + (None, *QualificationStatus)
)
networks = st.fixed_dictionaries(
    {
        "materials": st.lists(
            st.tuples(st.sampled_from(MAKERS), st.sampled_from(("X1", "X2")), maybe_product),
            max_size=3,
        ),
        "lots": st.lists(
            st.tuples(
                st.sampled_from((None, *SITE_CODES, *SITE_CODES)),
                maybe_day,
                lot_product,
                st.sampled_from((None, "X1", "X2")),
            ),
            min_size=len(LOTS),
            max_size=len(LOTS),
        ),
        # (received lot, origin lot, whether the origin's maker names the receiver)
        "received": st.lists(
            st.tuples(st.sampled_from(LOTS), st.sampled_from(LOTS), st.booleans()), max_size=2
        ),
        "agreements": st.lists(
            st.tuples(
                # mostly a sponsor, sometimes a maker's own agreement (it covers nothing
                # of a sponsor's: graph.trust)
                st.sampled_from((*SPONSORS, *SPONSORS, *MAKERS)),
                st.sampled_from(MAKERS),
                st.sets(st.sampled_from(sorted(PRODUCTS)), min_size=1, max_size=2),
                st.sets(st.sampled_from(("m1/A", "m1/B", "m2/A")), max_size=2),
                st.sets(
                    st.sampled_from((Activity.MANUFACTURE, Activity.PACKAGING, Activity.TESTING)),
                    min_size=1,
                    max_size=2,
                ),
                agreement_status,
                st.sampled_from((None, *DAYS[:3])),
                st.sampled_from((None, *DAYS[1:])),
                maybe_class,
            ),
            min_size=1,
            max_size=4,
        ),
        # (vendor, sponsor notified, classification, site, product, approved, implemented)
        "changes": st.lists(
            st.tuples(
                st.sampled_from(MAKERS),
                st.sampled_from(SPONSORS),
                maybe_class,
                st.sampled_from((None, None, *SITE_CODES)),
                st.sampled_from((None, None, *PRODUCTS)),
                maybe_day,
                maybe_day,
            ),
            max_size=2,
        ),
        "qualifications": st.dictionaries(
            # (qualifier, vendor, site): mostly a sponsor, sometimes the vendor itself
            st.tuples(
                st.sampled_from((*SPONSORS, *SPONSORS, *MAKERS)),
                st.sampled_from(MAKERS),
                st.sampled_from((None, None, *SITE_CODES)),
            ),
            st.tuples(qualification_status, maybe_day),
            max_size=4,
        ),
        "tested": st.sampled_from(LOTS),
    }
)


@dataclass
class Network:
    records: list[Record]
    lots: dict[str, Batch]
    products_of: dict[str, set[str]]
    received: set[str]
    agreements: list[QualityAgreement]
    qualifications: list[Qualification]
    changes: list[ChangeControl]


def network_of(drawn: dict[str, Any]) -> Network:
    records: list[Record] = [
        Product(sponsor=sponsor, code=product.split("/")[1], provenance=PROVENANCE)
        for product, sponsor in PRODUCTS.items()
    ]
    material_products: dict[str, set[str]] = {}
    for maker, code, product in drawn["materials"]:
        material = Material(org=maker, code=code, product_id=product, provenance=PROVENANCE)
        records.append(material)
        if product:  # edges accumulate: every product any record named
            material_products.setdefault(material.id, set()).add(product)
    lots: dict[str, Batch] = {}
    products_of: dict[str, set[str]] = {}
    for (maker, number), (site, day, product, code) in zip(LOTS, drawn["lots"], strict=True):
        batch = Batch(maker=maker, number=number, site_code=site, manufactured_on=day,
                      product_id=product, material_code=code, provenance=PROVENANCE)  # fmt: skip
        records.append(batch)
        lots[batch.id] = batch
        through = (
            material_products.get(make_id(NodeKind.MATERIAL, maker, code), set()) if code else set()
        )
        products_of[batch.id] = ({product} if product else set()) | through
    received = set()
    for (maker, number), (origin_maker, origin), is_shipped in drawn["received"]:
        source = lot(maker, number)
        target = lot(origin_maker, origin)
        records.append(
            Edge(kind=EdgeKind.SAME_LOT, source=source, target=target, provenance=PROVENANCE)
        )
        if is_shipped:  # then the receiver's sponsors read the origin lot: still no verdict
            records.append(shipped(target, maker))
        received.add(source)
    agreements = []
    for index, (
        sponsor, vendor, products, sites, activities, status, start, end, clause,
    ) in enumerate(drawn["agreements"]):  # fmt: skip
        agreements.append(
            QualityAgreement(
                agreement_id=f"QA{index}",
                version="1",
                sponsor=sponsor,
                vendor=vendor,
                product_ids=tuple(sorted(products)),
                site_ids=tuple(sorted(make_id(NodeKind.SITE, *s.split("/")) for s in sites)),
                activities=tuple(sorted(activities)),
                status=status,
                effective_from=start,
                effective_to=end,
                change_approval_from=clause,
                provenance=PROVENANCE,
            )
        )
    changes = [
        ChangeControl(
            vendor=vendor,
            sponsor=sponsor,
            change_id=f"C{index}",
            classification=grade,
            site_code=site,
            product_id=product,
            sponsor_approved_on=approved,
            implemented_on=implemented,
            provenance=PROVENANCE,
        )
        for index, (vendor, sponsor, grade, site, product, approved, implemented) in enumerate(
            drawn["changes"]
        )
    ]
    qualifications = [
        Qualification(
            qualifier=qualifier,
            vendor=vendor,
            site_code=site,
            status=status,
            valid_until=until,
            provenance=PROVENANCE,
        )
        for (qualifier, vendor, site), (status, until) in drawn["qualifications"].items()
    ]
    maker, number = drawn["tested"]
    records += [
        *agreements,
        *qualifications,
        *changes,
        # The maker sent the lab its sample: the lab reads the lot, but judges nothing.
        shipped(lot(maker, number), "lab"),
        TestResult(lab="lab", result_id="R1", batch_id=lot(maker, number), provenance=PROVENANCE),
    ]
    return Network(records, lots, products_of, received, agreements, qualifications, changes)


Found = tuple[str, GapReason, str | None, str | None]  # product, reason, agreement, qualification


def brute_gaps(net: Network, seen: Visibility) -> dict[str, list[Found]]:
    """Reasons of every lot judged for the principal (empty list: compliant)."""
    org = seen.org
    agreements = [a for a in net.agreements if org is None or org in (a.sponsor, a.vendor)]
    # A qualification is read by who qualified and by the vendor (graph.trust).
    qualifications = [
        q for q in net.qualifications if org is None or org in (q.qualifier, q.vendor)
    ]  # fmt: skip
    # A change is read by its vendor and the sponsor notified.
    changes = [c for c in net.changes if org is None or org in (c.vendor, c.sponsor)]
    verdicts: dict[str, list[Found]] = {}
    for batch_id, batch in net.lots.items():
        if batch_id in net.received:
            continue
        judged = [
            p for p in net.products_of[batch_id] if org is None or org in (batch.maker, PRODUCTS[p])
        ]
        if not judged:
            continue
        verdicts[batch_id] = sorted(
            reason
            for product in judged
            for reason in [
                *reasons(batch, product, agreements, qualifications),
                *change_reasons(batch, product, agreements, changes),
            ]
        )
    return verdicts


def reasons(
    batch: Batch,
    product: str,
    agreements: list[QualityAgreement],
    qualifications: list[Qualification],
) -> list[Found]:
    day, site = batch.manufactured_on, batch.site_code
    found: list[Found] = []
    if day is None:
        found.append((product, R.UNKNOWN_DATE, None, None))
    making = {Activity.MANUFACTURE, Activity.PACKAGING}
    sponsor = PRODUCTS[product]  # only the product's sponsor's agreements count
    candidates = [
        a for a in agreements
        if a.sponsor == sponsor and a.vendor == batch.maker and product in a.product_ids
        and making & set(a.activities)
    ]  # fmt: skip
    misses: list[Found] = []
    for a in candidates:
        site_id = make_id(NodeKind.SITE, batch.maker, site) if site else None
        if a.site_ids and site_id not in a.site_ids:
            why = R.AGREEMENT_SITE_NOT_COVERED
        elif (
            a.status not in (AgreementStatus.EFFECTIVE, AgreementStatus.EXPIRED)
            or a.effective_from is None
        ):
            why = R.AGREEMENT_NOT_IN_FORCE
        elif day is None:
            continue  # covered, for all one can tell
        elif day < a.effective_from:
            why = R.AGREEMENT_NOT_YET_EFFECTIVE
        elif a.effective_to is not None and day > a.effective_to:
            why = R.AGREEMENT_EXPIRED
        else:
            continue  # covers it
        misses.append((product, why, a.id, None))
    if not candidates:
        found.append((product, R.NO_AGREEMENT, None, None))
    elif len(misses) == len(candidates):
        found += misses
    applicable = [
        q for q in qualifications
        if q.qualifier == sponsor and q.vendor == batch.maker
        and (q.site_code is None or q.site_code == site)
    ]  # fmt: skip
    if not applicable:
        found.append((product, R.NOT_QUALIFIED, None, None))
    for q in applicable:
        if q.status is None:
            found.append((product, R.NOT_QUALIFIED, None, q.id))
        elif q.status is QualificationStatus.DISQUALIFIED:
            found.append((product, R.DISQUALIFIED, None, q.id))
        elif q.status is QualificationStatus.CONDITIONAL:
            found.append((product, R.QUALIFICATION_CONDITIONAL, None, q.id))
        elif day is not None and q.valid_until is not None and day > q.valid_until:
            found.append((product, R.QUALIFICATION_EXPIRED, None, q.id))
    return found


GRADES = list(ChangeClass)  # MINOR < MAJOR < CRITICAL


def change_reasons(
    batch: Batch, product: str, agreements: list[QualityAgreement], changes: list[ChangeControl]
) -> list[Found]:
    """UNAPPROVED_CHANGE once per change of the maker's notified to the product's sponsor,
    at the lot's site or none, for its product or none, implemented on or before the day
    the lot was made, needing approval under the most demanding clause of the sponsor's
    production agreements with the maker for the product (MAJOR without one), and not
    approved by the day it was implemented."""
    day = batch.manufactured_on
    if day is None:
        return []
    sponsor = PRODUCTS[product]
    clauses = [
        GRADES.index(a.change_approval_from)
        for a in agreements
        if a.sponsor == sponsor and a.vendor == batch.maker and product in a.product_ids
        and {Activity.MANUFACTURE, Activity.PACKAGING} & set(a.activities)
        and a.change_approval_from is not None
    ]  # fmt: skip
    threshold = min(clauses) if clauses else GRADES.index(ChangeClass.MAJOR)
    found: list[Found] = []
    for c in changes:
        needed = c.classification is None or GRADES.index(c.classification) >= threshold
        in_time = c.sponsor_approved_on is not None and (
            c.implemented_on is None or c.sponsor_approved_on <= c.implemented_on
        )
        if (
            c.vendor == batch.maker and c.sponsor == sponsor
            and c.product_id in (None, product) and c.site_code in (None, batch.site_code)
            and c.implemented_on is not None and c.implemented_on <= day
            and needed and not in_time
        ):  # fmt: skip
            found.append((product, R.UNAPPROVED_CHANGE, None, None))
    return found


async def all_pages(
    store: GraphStore, scope: ComplianceScope, size: int, seen: Visibility
) -> dict[str, list[Found]]:
    found: dict[str, list[Found]] = {}
    after = None
    while True:
        page = await store.compliance_gaps(scope, size, after, visibility=seen)
        assert len(page.lots) <= size
        for each in page.lots:
            assert each.batch_id not in found, "pages never repeat a lot"
            found[each.batch_id] = sorted(
                (g.product_id, g.reason, g.agreement_id, g.qualification_id) for g in each.gaps
            )
        if not page.has_next:
            assert list(found) == sorted(found), "batch id order"
            return found
        after = page.lots[-1].batch_id


def in_scope(
    verdicts: dict[str, list[Found]], net: Network, scope: ComplianceScope
) -> dict[str, list[Found]]:
    expected = {}
    for batch_id, found in verdicts.items():
        batch = net.lots[batch_id]
        day = batch.manufactured_on
        if scope.vendor_slug not in (None, batch.maker):
            continue
        if scope.site_code is not None and batch.site_code != scope.site_code:
            continue
        if day is not None and (
            (scope.made_from and day < scope.made_from) or (scope.made_to and day > scope.made_to)
        ):
            continue
        kept = [f for f in found if scope.product in (None, f[0])]
        if kept:
            expected[batch_id] = kept
    return expected


@settings(
    max_examples=40,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    drawn=networks,
    shuffler=st.randoms(use_true_random=False),
    principals=st.lists(st.sampled_from(ORGS), min_size=1, max_size=2, unique=True),
    size=st.integers(1, 4),
    window=st.tuples(maybe_day, maybe_day),
)
async def test_the_stores_list_exactly_the_lots_the_rules_find(
    reused_store: GraphStore,
    drawn: dict[str, Any],
    shuffler: random.Random,
    principals: list[str],
    size: int,
    window: tuple[date | None, date | None],
) -> None:
    store = reused_store  # set up once for the module (tests.conftest)
    await store.wipe()  # nothing of the example before
    net = network_of(drawn)
    for chunk in in_chunks(net.records, shuffler):  # arrival order must not matter
        await store.upsert(chunk)
    low, high = sorted(window, key=lambda d: d or date.min)
    scopes = [
        *(ComplianceScope(product=p) for p in PRODUCTS),
        *(ComplianceScope(vendor=f"org:{m}") for m in MAKERS),
        ComplianceScope(site="site:m1/A", made_from=low, made_to=high),
        ComplianceScope(product="product:s1/P1", vendor="org:m2", made_from=low),
    ]
    for seen in (EVERYTHING, *map(Visibility.for_org, principals)):
        verdicts = brute_gaps(net, seen)
        for scope in scopes:
            expected = in_scope(verdicts, net, scope)
            assert await all_pages(store, scope, size, seen) == expected, (seen, scope)
        judged = await store.compliance_of([*net.lots, lot("m9", "0")], visibility=seen)
        assert {
            batch_id: sorted(
                (g.product_id, g.reason, g.agreement_id, g.qualification_id) for g in gaps
            )
            for batch_id, gaps in judged.items()
        } == verdicts, seen
    # The lab reads the lot it tested (so its empty verdicts above mean something).
    tested = lot(*drawn["tested"])
    assert set(await store.get_nodes([tested], visibility=Visibility.for_org("lab"))) == {tested}
