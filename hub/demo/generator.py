"""The demo story at scale: a deterministic, streamed supply network for benchmarks.

``generate_network(batches, seed)`` yields exactly ``batches`` Batch records (once the
count covers the excipient stock every CDMO starts with: a few hundred) together with
the organizations, sites, products, materials, agreements, qualifications, genealogy
edges, test results and deviations around them, and the partnership lifecycle
(``hub.demo.scaled_lifecycle``). The same arguments give the same
records in the same order. Records are yielded as they are made and only a few small
pools of recent lot ids are kept, so memory stays flat for any size.

Shape. The partner counts grow with ``batches``; every partner has one site ``S1``.
Work is done in *campaigns*; campaign ``k`` runs on one lane (a sponsor's drug product
with its API CMO, CDMO and packager) and makes 21 batches::

    raw material lot (supplier)  <-SAME_LOT-  received at the API CMO
        <-CONSUMED- intermediate (2-4 received raw lots) <-CONSUMED- API lot
        <-SAME_LOT- API as received at the CDMO
        <-CONSUMED- 4 tablet batches, each also consuming 2-18 received excipient lots
        <-SAME_LOT- each tablet batch as received at the packager
        <-CONSUMED- 2 packed (finished) lots per received lot -SHIPPED_TO-> distributor

so a finished lot's upstream genealogy is 7 hops deep. Excipient lots come from a few
suppliers; each is received at two CDMOs, and every CDMO picks its tablet inputs from
its 18 most recent excipient lots, so one excipient lot feeds some 150-600 tablet
batches (600-2,500 batches downstream in all). Before the first campaign every
CDMO is stocked with 18 excipient lots; afterwards a new excipient lot arrives every
16 campaigns.

Batch ids are computable from a tier and an index, without replaying the stream:
the number is ``<prefix>-<index:07d>`` (see ``Tier`` and ``_PREFIXES``) and the maker
follows from the index (campaign ``k`` makes raw/intermediate/API index ``k``, tablet
indexes ``4k..4k+3`` and finished indexes ``8k..8k+7``; its lane is a hash of seed and
``k``). ``sample_batch_ids`` uses that to hand benchmarks existing ids of any tier.
"""

from __future__ import annotations

import json
import random
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from graph.ids import NodeKind, make_id
from graph.model import (
    Activity,
    AgreementStatus,
    Batch,
    BatchStatus,
    Deviation,
    DeviationClass,
    DeviationStatus,
    Edge,
    EdgeKind,
    Material,
    NodeRecord,
    Organization,
    OrgKind,
    Product,
    Provenance,
    Qualification,
    QualificationStatus,
    QualityAgreement,
    Record,
    Site,
    TestResult,
    Verdict,
)
from hub.demo.scaled_lifecycle import lifecycle_records

CONNECTOR = "generator"
SITE_CODE = "S1"


class Tier(StrEnum):
    """Where a lot sits in the supply chain; each tier has its own lot-number prefix."""

    RAW = "raw"  # raw-material lot at a supplier
    RAW_RECEIVED = "raw_received"  # that lot as received at an API CMO
    INTERMEDIATE = "intermediate"
    API = "api"
    API_RECEIVED = "api_received"  # API lot as received at a CDMO
    EXCIPIENT = "excipient"  # excipient lot at a supplier
    EXCIPIENT_RECEIVED = "excipient_received"  # as received at a CDMO
    DRUG_PRODUCT = "drug_product"  # bulk tablets made at a CDMO
    DRUG_PRODUCT_RECEIVED = "drug_product_received"  # bulk as received at a packager
    FINISHED = "finished"  # packed lot, shipped to a distributor


_PREFIXES = {
    Tier.RAW: "RM",
    Tier.RAW_RECEIVED: "KR",
    Tier.INTERMEDIATE: "IN",
    Tier.API: "AP",
    Tier.API_RECEIVED: "AR",
    Tier.EXCIPIENT: "EX",
    Tier.EXCIPIENT_RECEIVED: "XR",
    Tier.DRUG_PRODUCT: "DP",
    Tier.DRUG_PRODUCT_RECEIVED: "BR",
    Tier.FINISHED: "FP",
}

TABLET_BATCHES_PER_CAMPAIGN = 4
PACKS_PER_TABLET_BATCH = 2
BATCHES_PER_CAMPAIGN = 5 + TABLET_BATCHES_PER_CAMPAIGN * (2 + PACKS_PER_TABLET_BATCH)
EXCIPIENT_POOL = 18  # recent excipient lots a CDMO picks from (even: two CDMOs per lot)
EXCIPIENT_EVERY = 16  # campaigns between new excipient lots
RAW_POOL = 6  # recent raw-material lots an API CMO picks from

_FIRST_DAY = date(2023, 1, 1).toordinal()
_SPAN_DAYS = 3 * 365  # campaigns spread over 2023-2025
_TIMELINE_END = date(2025, 12, 31)

_RAW_MATERIALS = (
    "4-Fluorobenzaldehyde",
    "Ethyl acetoacetate",
    "Thionyl chloride",
    "Palladium on carbon 10 %",
    "Sodium borohydride",
    "Isopropyl alcohol",
    "Toluene",
    "Hydrochloric acid 37 %",
)
_EXCIPIENTS = (
    "Microcrystalline cellulose PH-102",
    "Lactose monohydrate",
    "Croscarmellose sodium",
    "Magnesium stearate",
    "Povidone K30",
    "Colloidal silicon dioxide",
    "Hypromellose 2910",
    "Sodium starch glycolate",
    "Pregelatinised starch",
    "Talc",
    "Titanium dioxide",
    "Opadry II white",
)
_NAMES = (
    "Aspen", "Beacon", "Cobalt", "Delta", "Ember", "Falcon", "Granite", "Harbor",
    "Iris", "Juniper", "Kestrel", "Lumen", "Meridian", "Nova", "Orion", "Pioneer",
    "Quarry", "Ridge", "Summit", "Tidal", "Umber", "Vertex", "Willow", "Yarrow",
)  # fmt: skip
# kind, id prefix, name suffix, countries
_ROLES = {
    "sponsor": (OrgKind.SPONSOR, "Pharma", ("US", "CH", "GB", "DE", "JP", "DK")),
    "apicmo": (OrgKind.CMO, "Fine Chemicals", ("IN", "CN", "IT", "ES")),
    "cdmo": (OrgKind.CDMO, "Pharma Services", ("IE", "DE", "US", "PR", "IN", "SG")),
    "packer": (OrgKind.CMO, "Packaging", ("US", "NL", "DE", "PL")),
    "rawsupplier": (OrgKind.SUPPLIER, "Chemicals", ("DE", "US", "CN")),
    "exsupplier": (OrgKind.SUPPLIER, "Excipients", ("DE", "US", "IN", "JP")),
    "lab": (OrgKind.TESTING_LAB, "Analytical", ("IE", "US", "CH")),
    "distributor": (OrgKind.DISTRIBUTOR, "Distribution", ("US", "DE", "GB", "CA")),
}


def _mix(*values: int) -> int:
    """A stable 64-bit hash (splitmix64 steps). Choices that decide a batch's id (its
    lane, its raw material) use it instead of the stream's Random, so a sampler can
    name any batch from its index alone."""
    mask = (1 << 64) - 1
    state = 0
    for value in values:
        state = (state + value + 0x9E3779B97F4A7C15) & mask
        state = ((state ^ (state >> 30)) * 0xBF58476D1CE4E5B9) & mask
        state = ((state ^ (state >> 27)) * 0x94D049BB133111EB) & mask
        state ^= state >> 31
    return state


def _clamp(value: int, low: int, high: int) -> int:
    return max(low, min(high, value))


@dataclass(frozen=True, slots=True)
class _Product:
    sponsor: str
    index: int  # global; partners' item codes carry it
    name: str

    @property
    def code(self) -> str:
        return f"P{self.index:03d}-TAB"

    @property
    def api_code(self) -> str:
        return f"P{self.index:03d}-API"

    @property
    def id(self) -> str:
        return make_id(NodeKind.PRODUCT, self.sponsor, self.code)

    @property
    def api_id(self) -> str:
        return make_id(NodeKind.PRODUCT, self.sponsor, self.api_code)


@dataclass(frozen=True, slots=True)
class _Lane:
    """Who makes one drug product, step by step, in one campaign."""

    product: _Product
    api_cmo: str
    cdmo: str
    packager: str


@dataclass(frozen=True, slots=True)
class _Layout:
    """The partners, products and lanes, and the id arithmetic both the stream and the
    sampler rely on. Built from the batch budget and the first draws of the seed's
    Random, so it is the same wherever it is built."""

    seed: int
    orgs: dict[str, tuple[str, ...]]  # role -> org ids
    names: dict[str, tuple[str, OrgKind, str]]  # org id -> name, kind, country
    products: tuple[_Product, ...]
    lanes: tuple[_Lane, ...]
    wheel: tuple[int, ...]  # lane indexes, each repeated by its product's volume
    raw_suppliers: tuple[str, ...]  # supplier of each raw material
    excipient_suppliers: tuple[str, ...]  # supplier of each excipient
    campaigns: int  # campaigns the batch budget completes

    @classmethod
    def build(cls, batches: int, seed: int, rng: random.Random) -> _Layout:
        sizes = {
            "sponsor": _clamp(2 + batches // 150_000, 2, 8),
            "apicmo": _clamp(2 + batches // 80_000, 2, 14),
            "cdmo": _clamp(2 + batches // 50_000, 2, 22),
            "packer": _clamp(2 + batches // 100_000, 2, 12),
            "rawsupplier": 3,
            "exsupplier": 4,
            "lab": 3,
            "distributor": 4,
        }
        orgs: dict[str, tuple[str, ...]] = {}
        names: dict[str, tuple[str, OrgKind, str]] = {}
        for role, size in sizes.items():
            kind, suffix, countries = _ROLES[role]
            orgs[role] = tuple(f"{role}-{i + 1:02d}" for i in range(size))
            for i, org in enumerate(orgs[role]):
                name = f"{_NAMES[(i * 7 + len(role)) % len(_NAMES)]} {suffix}"
                names[org] = (name, kind, rng.choice(countries))
        products = tuple(
            _Product(sponsor, 3 * s + p, f"{_NAMES[(3 * s + p) % len(_NAMES)]}mab {p + 1}")
            for s, sponsor in enumerate(orgs["sponsor"])
            for p in range(3)
        )
        lanes: list[_Lane] = []
        wheel: list[int] = []
        for product in products:
            # Every partner serves at least one product (round robin: there are at least
            # as many products as partners of a role); some products also have a second
            # source, which is how CDMOs end up shared by sponsors.
            makers = {
                role: [orgs[role][product.index % len(orgs[role])]]
                for role in ("apicmo", "cdmo", "packer")
            }
            for role in makers:
                if rng.random() < 0.4:
                    second = rng.choice(orgs[role])
                    if second not in makers[role]:
                        makers[role].append(second)
            volume = rng.randint(1, 4)
            for api_cmo in makers["apicmo"]:
                for cdmo in makers["cdmo"]:
                    for packager in makers["packer"]:
                        wheel += [len(lanes)] * volume
                        lanes.append(_Lane(product, api_cmo, cdmo, packager))
        return cls(
            seed=seed,
            orgs=orgs,
            names=names,
            products=products,
            lanes=tuple(lanes),
            wheel=tuple(wheel),
            raw_suppliers=tuple(
                orgs["rawsupplier"][i % sizes["rawsupplier"]] for i in range(len(_RAW_MATERIALS))
            ),
            excipient_suppliers=tuple(
                orgs["exsupplier"][i % sizes["exsupplier"]] for i in range(len(_EXCIPIENTS))
            ),
            campaigns=_complete_campaigns(batches, len(orgs["cdmo"])),
        )

    @property
    def stock_lots(self) -> int:
        """Excipient lots stocked before the first campaign: a full pool at every CDMO."""
        return len(self.orgs["cdmo"]) * EXCIPIENT_POOL // 2

    def lane(self, campaign: int) -> _Lane:
        return self.lanes[self.wheel[_mix(self.seed, campaign) % len(self.wheel)]]

    def raw_material(self, campaign: int) -> int:
        return _mix(self.seed, campaign, 1) % len(_RAW_MATERIALS)

    def excipient(self, lot: int) -> int:
        return lot % len(_EXCIPIENTS)

    def receivers(self, lot: int) -> tuple[str, str]:
        """The two CDMOs an excipient lot goes to; neighbours, so stock fills evenly."""
        cdmos = self.orgs["cdmo"]
        return cdmos[lot % len(cdmos)], cdmos[(lot + 1) % len(cdmos)]

    def maker(self, tier: Tier, index: int) -> str:
        per_tablet = TABLET_BATCHES_PER_CAMPAIGN
        per_pack = per_tablet * PACKS_PER_TABLET_BATCH
        match tier:
            case Tier.RAW:
                return self.raw_suppliers[self.raw_material(index)]
            case Tier.RAW_RECEIVED | Tier.INTERMEDIATE | Tier.API:
                return self.lane(index).api_cmo
            case Tier.API_RECEIVED:
                return self.lane(index).cdmo
            case Tier.EXCIPIENT:
                return self.excipient_suppliers[self.excipient(index)]
            case Tier.EXCIPIENT_RECEIVED:
                return self.receivers(index // 2)[index % 2]
            case Tier.DRUG_PRODUCT:
                return self.lane(index // per_tablet).cdmo
            case Tier.DRUG_PRODUCT_RECEIVED:
                return self.lane(index // per_tablet).packager
            case Tier.FINISHED:
                return self.lane(index // per_pack).packager

    def batch_id(self, tier: Tier, index: int) -> str:
        return make_id(NodeKind.BATCH, self.maker(tier, index), _number(tier, index))

    def day(self, campaign: int, offset: int) -> date:
        return date.fromordinal(_FIRST_DAY + campaign * _SPAN_DAYS // (self.campaigns + 1) + offset)


def _number(tier: Tier, index: int) -> str:
    return f"{_PREFIXES[tier]}-{index:07d}"


def _excipient_lots(stock: int, campaigns: int) -> int:
    """Excipient lots made by the end of ``campaigns`` campaigns (one every
    EXCIPIENT_EVERY campaigns, at the start of campaign 16, 32, ...)."""
    return stock + max(0, (campaigns - 1) // EXCIPIENT_EVERY)


def _complete_campaigns(batches: int, cdmos: int) -> int:
    """How many whole campaigns fit in the batch budget (the last one is cut short)."""
    stock = cdmos * EXCIPIENT_POOL // 2

    def total(campaigns: int) -> int:  # an excipient lot is one batch plus two receipts
        return 3 * _excipient_lots(stock, campaigns) + BATCHES_PER_CAMPAIGN * campaigns

    campaigns = max(0, (batches - 3 * stock) // (BATCHES_PER_CAMPAIGN + 1))
    while total(campaigns + 1) <= batches:
        campaigns += 1
    while campaigns and total(campaigns) > batches:
        campaigns -= 1
    return campaigns


def canonical_lines(records: Iterable[Record]) -> Iterator[str]:
    """Records as the ``canonical.jsonl`` connector reads them, one JSON object a line."""
    for record in records:
        kind = {"node": record.KIND.value} if isinstance(record, NodeRecord) else {}
        yield json.dumps({**kind, **record.model_dump(mode="json", exclude_none=True)}) + "\n"


def generate_network(batches: int, seed: int) -> Iterator[Record]:
    """Records of a supply network with exactly ``batches`` Batch records (see the
    module docstring for the shape), streamed: nothing is kept but small pools."""
    rng = random.Random(seed)
    layout = _Layout.build(batches, seed, rng)
    made = 0
    for record in _Network(layout, rng, f"generated-{seed}").records():
        if isinstance(record, Batch):
            if made == batches:
                return  # the batch before this one was the last; its edges are out
            made += 1
        yield record


def sample_batch_ids(batches: int, seed: int, tier: Tier | str, count: int) -> list[str]:
    """Ids of ``count`` distinct batches of ``tier`` that ``generate_network(batches,
    seed)`` makes (fewer if the tier has fewer), chosen deterministically and computed
    without generating the network.

    Only batches of whole campaigns are chosen, so each has its full genealogy: a
    ``finished`` lot has 7 upstream hops, a ``raw`` or ``excipient`` lot has consumers.
    Excipient lots are taken from those old enough to have gone through a CDMO's pool.
    """
    tier = Tier(tier)
    layout = _Layout.build(batches, seed, random.Random(seed))
    campaigns = layout.campaigns
    per_campaign = {
        Tier.DRUG_PRODUCT: TABLET_BATCHES_PER_CAMPAIGN,
        Tier.DRUG_PRODUCT_RECEIVED: TABLET_BATCHES_PER_CAMPAIGN,
        Tier.FINISHED: TABLET_BATCHES_PER_CAMPAIGN * PACKS_PER_TABLET_BATCH,
    }
    if tier in (Tier.EXCIPIENT, Tier.EXCIPIENT_RECEIVED):
        made = _excipient_lots(layout.stock_lots, campaigns)
        # A lot leaves a CDMO's pool after EXCIPIENT_POOL newer lots arrived there,
        # which takes about that many lots times the CDMOs over two.
        settled = made - EXCIPIENT_POOL * len(layout.orgs["cdmo"]) // 2
        available = max(min(made, layout.stock_lots), settled)
        if tier is Tier.EXCIPIENT_RECEIVED:
            available *= 2
    else:
        available = campaigns * per_campaign.get(tier, 1)
    picker = random.Random(f"{seed}/{tier}")
    indexes = picker.sample(range(available), min(count, available))
    return [layout.batch_id(tier, index) for index in indexes]


class _Network:
    """The stream itself: static partner data, the excipient stock, then campaigns."""

    def __init__(self, layout: _Layout, rng: random.Random, ingestion_id: str) -> None:
        self.layout = layout
        self.rng = rng
        self.ingestion_id = ingestion_id
        self.sequence = 0  # batches emitted: the location of each in the imagined export
        self.results = 0
        # vendor -> (qualification status, valid until, last audited)
        self.vendor_standing: dict[str, tuple[QualificationStatus, date, date]] = {}
        self.deviations = 0
        self.raw_pool: dict[str, deque[str]] = {}
        self.excipient_pool: dict[str, deque[str]] = {}
        self.api_pool: dict[tuple[str, int], deque[str]] = {}

    def at(self, location: str) -> Provenance:
        return Provenance(ingestion_id=self.ingestion_id, connector=CONNECTOR, location=location)

    def records(self) -> Iterator[Record]:
        yield from self._partners()
        yield from self._materials()
        yield from self._agreements()
        yield from lifecycle_records(
            self.layout,
            self.layout.seed,
            self.at,
            lambda campaign: self.layout.batch_id(
                Tier.DRUG_PRODUCT, campaign * TABLET_BATCHES_PER_CAMPAIGN
            ),
            SITE_CODE,
        )
        for lot in range(self.layout.stock_lots):
            yield from self._excipient_lot(lot, campaign=0)
        campaign = 0
        while True:  # the caller stops at its batch budget
            if campaign and campaign % EXCIPIENT_EVERY == 0:
                lot = self.layout.stock_lots + campaign // EXCIPIENT_EVERY - 1
                yield from self._excipient_lot(lot, campaign)
            yield from self._campaign(campaign)
            campaign += 1

    # Static data -----------------------------------------------------------------

    def _partners(self) -> Iterator[Record]:
        for org, (name, kind, country) in self.layout.names.items():
            yield Organization(
                org_id=org,
                name=name,
                kind=kind,
                country=country,
                provenance=self.at(f"/organization/{org}"),
            )
            if kind in (OrgKind.SPONSOR, OrgKind.DISTRIBUTOR):
                continue
            yield Site(
                org=org,
                code=SITE_CODE,
                name=f"{name}, main site",
                country=country,
                provenance=self.at(f"/organization/{org}/site/{SITE_CODE}"),
            )
            # Drawn here, in vendor order, and issued by each sponsor with an
            # agreement with the vendor (``_agreements``): every sponsor qualifies its
            # own vendors (graph.trust), and the network stays what the seed made.
            approved = self.rng.random() < 0.9
            self.vendor_standing[org] = (
                QualificationStatus.APPROVED if approved else QualificationStatus.CONDITIONAL,
                date(2026, self.rng.randint(1, 12), 1),
                date(2024, self.rng.randint(1, 12), self.rng.randint(1, 28)),
            )
        for product in self.layout.products:
            for code, name, form in (
                (product.api_code, f"{product.name} drug substance", "drug substance"),
                (product.code, f"{product.name} tablets", "tablet"),
            ):
                yield Product(
                    sponsor=product.sponsor,
                    code=code,
                    name=name,
                    dosage_form=form,
                    provenance=self.at(f"/product/{product.sponsor}/{code}"),
                )

    def _materials(self) -> Iterator[Record]:
        """Each partner's own item codes; those that are a sponsor's product say so."""
        items: dict[tuple[str, str], tuple[str, str | None]] = {}
        for i, name in enumerate(_RAW_MATERIALS):
            items[self.layout.raw_suppliers[i], f"RM-{i:03d}"] = (name, None)
            for api_cmo in self.layout.orgs["apicmo"]:
                items[api_cmo, f"K-{i:03d}"] = (f"{name} (received)", None)
        for i, name in enumerate(_EXCIPIENTS):
            items[self.layout.excipient_suppliers[i], f"EX-{i:03d}"] = (name, None)
            for cdmo in self.layout.orgs["cdmo"]:
                items[cdmo, f"X-{i:03d}"] = (f"{name} (received)", None)
        for lane in self.layout.lanes:
            product, p = lane.product, lane.product.index
            items[lane.api_cmo, f"INT-{p:03d}"] = (f"{product.name} intermediate", None)
            items[lane.api_cmo, f"API-{p:03d}"] = (f"{product.name} API", product.api_id)
            items[lane.cdmo, f"RA-{p:03d}"] = (f"{product.name} API (received)", product.api_id)
            items[lane.cdmo, f"DP-{p:03d}"] = (f"{product.name} tablets, bulk", product.id)
            items[lane.packager, f"RB-{p:03d}"] = (f"{product.name} bulk (received)", product.id)
            for pack in (30, 90):
                items[lane.packager, f"FG-{p:03d}-{pack}"] = (
                    f"{product.name} tablets, bottle of {pack}",
                    product.id,
                )
        for (org, code), (name, product_id) in items.items():
            yield Material(
                org=org,
                code=code,
                name=name,
                product_id=product_id,
                provenance=self.at(f"/material/{org}/{code}"),
            )

    def _agreements(self) -> Iterator[Record]:
        """One agreement per sponsor and vendor; about one in seven ran out mid-2024 to
        mid-2025, so later batches there have a compliance gap."""
        covered: dict[tuple[str, str], tuple[list[str], tuple[Activity, ...]]] = {}
        manufacture = (Activity.MANUFACTURE, Activity.TESTING, Activity.STORAGE)
        packaging = (Activity.PACKAGING, Activity.STORAGE, Activity.DISTRIBUTION)
        for lane in self.layout.lanes:
            sponsor, product = lane.product.sponsor, lane.product
            for vendor, product_id, activities in (
                (lane.api_cmo, product.api_id, manufacture),
                (lane.cdmo, product.id, manufacture),
                (lane.packager, product.id, packaging),
                *((lab, product.id, (Activity.TESTING,)) for lab in self.layout.orgs["lab"]),
            ):
                products, _ = covered.setdefault((sponsor, vendor), ([], activities))
                if product_id not in products:
                    products.append(product_id)
        for (sponsor, vendor), (products, activities) in covered.items():
            agreement_id = f"QA-{sponsor}-{vendor}"
            start = date(2022, self.rng.randint(1, 12), 1)
            if self.rng.random() < 0.15:
                end = date.fromordinal(date(2024, 6, 30).toordinal() + self.rng.randint(0, 365))
            else:
                end = date(self.rng.randint(2026, 2028), 12, 31)
            status, valid_until, audited_on = self.vendor_standing[vendor]
            yield Qualification(
                qualifier=sponsor,
                vendor=vendor,
                site_code=SITE_CODE,
                status=status,
                valid_until=valid_until,
                last_audit_on=audited_on,
                provenance=self.at(f"/qualification/{sponsor}/{vendor}"),
            )
            yield QualityAgreement(
                agreement_id=agreement_id,
                version="1",
                sponsor=sponsor,
                vendor=vendor,
                product_ids=tuple(products),
                site_ids=(make_id(NodeKind.SITE, vendor, SITE_CODE),),
                activities=activities,
                effective_from=start,
                effective_to=end,
                status=AgreementStatus.EXPIRED
                if end < _TIMELINE_END
                else AgreementStatus.EFFECTIVE,
                provenance=self.at(f"/agreement/{agreement_id}"),
            )

    # Lots ------------------------------------------------------------------------

    def _lot(
        self,
        tier: Tier,
        index: int,
        material: str,
        made_on: date,
        quantity: float,
        unit: str,
    ) -> tuple[Batch, Provenance]:
        self.sequence += 1
        provenance = self.at(f"/batch/{self.sequence}")
        roll = self.rng.random()
        status = (
            BatchStatus.REJECTED
            if roll < 0.004
            else BatchStatus.QUARANTINE
            if roll < 0.02
            else BatchStatus.RELEASED
        )
        batch = Batch(
            maker=self.layout.maker(tier, index),
            number=_number(tier, index),
            material_code=material,
            site_code=SITE_CODE,
            status=status,
            manufactured_on=made_on,
            quantity=quantity,
            unit=unit,
            provenance=provenance,
        )
        return batch, provenance

    def _edge(
        self,
        kind: EdgeKind,
        source: str,
        target: str,
        provenance: Provenance,
        quantity: float | None = None,
        unit: str | None = None,
    ) -> Edge:
        return Edge(
            kind=kind,
            source=source,
            target=target,
            quantity=quantity,
            unit=unit,
            provenance=provenance,
        )

    def _received(
        self, tier: Tier, index: int, material: str, of: Batch, quantity: float
    ) -> Iterator[Record]:
        """A lot booked in at a partner, tied to the same lot at its maker."""
        assert of.manufactured_on is not None and of.unit is not None
        received, provenance = self._lot(
            tier, index, material, of.manufactured_on, quantity, of.unit
        )
        yield received
        # The maker names the receiver: that is what makes the receiver's SAME_LOT
        # tie (and its sponsors' reading upstream) accepted (graph.trust).
        receiver = make_id(NodeKind.ORGANIZATION, received.maker)
        yield self._edge(EdgeKind.SHIPPED_TO, of.id, receiver, provenance)
        yield self._edge(EdgeKind.SAME_LOT, received.id, of.id, provenance)

    def _excipient_lot(self, lot: int, campaign: int) -> Iterator[Record]:
        excipient = self.layout.excipient(lot)
        made_on = self.layout.day(campaign, -45)
        tonnes = self.rng.choice((5.0, 10.0, 20.0))
        supplier_lot, _ = self._lot(
            Tier.EXCIPIENT, lot, f"EX-{excipient:03d}", made_on, tonnes * 1000, "kg"
        )
        yield supplier_lot
        if self.rng.random() < 0.05:
            yield self._deviation(supplier_lot, made_on, DeviationClass.MAJOR)
        for receipt, cdmo in enumerate(self.layout.receivers(lot)):
            index = 2 * lot + receipt
            yield from self._received(
                Tier.EXCIPIENT_RECEIVED,
                index,
                f"X-{excipient:03d}",
                supplier_lot,
                tonnes * 1000 * self.rng.uniform(0.1, 0.3),
            )
            pool = self.excipient_pool.setdefault(cdmo, deque(maxlen=EXCIPIENT_POOL))
            pool.append(self.layout.batch_id(Tier.EXCIPIENT_RECEIVED, index))

    def _campaign(self, k: int) -> Iterator[Record]:
        lane = self.layout.lane(k)
        p = lane.product.index
        rng = self.rng

        # Raw material: one new lot a campaign, received at the API CMO.
        raw = self.layout.raw_material(k)
        raw_lot, _ = self._lot(
            Tier.RAW, k, f"RM-{raw:03d}", self.layout.day(k, -60), rng.choice((500.0, 1000.0)), "kg"
        )
        yield raw_lot
        yield from self._received(
            Tier.RAW_RECEIVED, k, f"K-{raw:03d}", raw_lot, round(rng.uniform(100, 400), 1)
        )
        raw_pool = self.raw_pool.setdefault(lane.api_cmo, deque(maxlen=RAW_POOL))
        raw_pool.append(self.layout.batch_id(Tier.RAW_RECEIVED, k))

        # Intermediate from the newest raw lot and a few older ones, then the API.
        intermediate, provenance = self._lot(
            Tier.INTERMEDIATE, k, f"INT-{p:03d}", self.layout.day(k, -40), 180.0, "kg"
        )
        yield intermediate
        older = list(raw_pool)[:-1]
        inputs = [raw_pool[-1], *rng.sample(older, min(len(older), rng.randint(1, 3)))]
        for lot in inputs:
            quantity = round(rng.uniform(20, 120), 1)
            yield self._edge(EdgeKind.CONSUMED, intermediate.id, lot, provenance, quantity, "kg")
        api, provenance = self._lot(
            Tier.API,
            k,
            f"API-{p:03d}",
            self.layout.day(k, -25),
            round(rng.uniform(90, 130), 1),
            "kg",
        )
        yield api
        yield self._edge(EdgeKind.CONSUMED, api.id, intermediate.id, provenance, 150.0, "kg")
        reagent = rng.choice(raw_pool)
        yield self._edge(EdgeKind.CONSUMED, api.id, reagent, provenance, 35.0, "kg")
        yield from self._test(api, "purity", "HPLC area %", 99.55, 0.18, (99.0, 100.0), 0.4)

        # The API as received at the CDMO, then four tablet batches there.
        yield from self._received(Tier.API_RECEIVED, k, f"RA-{p:03d}", api, 60.0)
        api_pool = self.api_pool.setdefault((lane.cdmo, p), deque(maxlen=2))
        api_pool.append(self.layout.batch_id(Tier.API_RECEIVED, k))
        for t in range(TABLET_BATCHES_PER_CAMPAIGN):
            yield from self._tablet_batch(k, TABLET_BATCHES_PER_CAMPAIGN * k + t, lane, api_pool)

    def _tablet_batch(
        self, k: int, index: int, lane: _Lane, api_pool: deque[str]
    ) -> Iterator[Record]:
        rng = self.rng
        p = lane.product.index
        made_on = self.layout.day(k, index % TABLET_BATCHES_PER_CAMPAIGN * 2)
        tablets = rng.choice((200_000.0, 300_000.0, 500_000.0))
        batch, provenance = self._lot(
            Tier.DRUG_PRODUCT, index, f"DP-{p:03d}", made_on, tablets, "tablets"
        )
        yield batch
        # Mostly this campaign's API; sometimes topped up from the previous lot.
        apis = list(api_pool)[-1:] if rng.random() < 0.8 else list(api_pool)
        pool = self.excipient_pool[lane.cdmo]
        picks = min(len(pool), round(rng.triangular(2, EXCIPIENT_POOL, 6)))
        for lot in apis:
            quantity = round(rng.uniform(8, 30), 2)
            yield self._edge(EdgeKind.CONSUMED, batch.id, lot, provenance, quantity, "kg")
        for lot in rng.sample(list(pool), picks):
            quantity = round(rng.uniform(0.5, 120), 2)
            yield self._edge(EdgeKind.CONSUMED, batch.id, lot, provenance, quantity, "kg")
        yield from self._assay(batch, lane, k)
        if rng.random() < 0.004:
            yield self._deviation(batch, made_on, DeviationClass.MINOR)

        # Bulk to the packager; two packs from each received lot.
        yield from self._received(Tier.DRUG_PRODUCT_RECEIVED, index, f"RB-{p:03d}", batch, tablets)
        received = self.layout.batch_id(Tier.DRUG_PRODUCT_RECEIVED, index)
        for pack in range(PACKS_PER_TABLET_BATCH):
            count = (30, 90)[pack]
            share = tablets * (0.6 if pack == 0 else 0.4)
            packed, provenance = self._lot(
                Tier.FINISHED,
                PACKS_PER_TABLET_BATCH * index + pack,
                f"FG-{p:03d}-{count}",
                self.layout.day(k, 30 + pack),
                share // count,
                "bottles",
            )
            yield packed
            yield self._edge(EdgeKind.CONSUMED, packed.id, received, provenance, share, "tablets")
            distributor = make_id(
                NodeKind.ORGANIZATION, rng.choice(self.layout.orgs["distributor"])
            )
            yield self._edge(EdgeKind.SHIPPED_TO, packed.id, distributor, provenance)

    # Quality records -------------------------------------------------------------

    def _assay(self, batch: Batch, lane: _Lane, k: int) -> Iterator[Record]:
        """Release tests for about a third of tablet batches. Assay drifts down over
        the timeline at the first CDMO, so process verification has a trend to find."""
        if self.rng.random() >= 0.35:
            return
        progress = k / (self.layout.campaigns + 1)
        mean = 100.4 - 4.5 * progress if lane.cdmo == self.layout.orgs["cdmo"][0] else 100.2
        yield from self._test(batch, "assay", "HPLC-UV", mean, 0.9, (95.0, 105.0), 1.0)
        yield from self._test(
            batch, "dissolution", "USP <711>, 30 min", 91.0, 3.0, (80.0, None), 1.0
        )

    def _test(
        self,
        batch: Batch,
        test: str,
        method: str,
        mean: float,
        spread: float,
        spec: tuple[float, float | None],
        share: float,
    ) -> Iterator[Record]:
        if self.rng.random() >= share:
            return
        low, high = spec
        value = round(self.rng.gauss(mean, spread), 1)
        within = value >= low and (high is None or value <= high)
        # Assay and purity outside the limits are out-of-specification results that
        # need an investigation; a dissolution below Q is a plain failure.
        verdict = Verdict.PASS if within else Verdict.FAIL if high is None else Verdict.OOS
        # The API CMO tests its own API; tablets go to a contract lab.
        lab = batch.maker if test == "purity" else self.rng.choice(self.layout.orgs["lab"])
        self.results += 1
        assert batch.manufactured_on is not None
        if lab != batch.maker:  # the samples the lab tests, as the maker ships them
            to_lab = make_id(NodeKind.ORGANIZATION, lab)
            yield self._edge(
                EdgeKind.SHIPPED_TO, batch.id, to_lab, self.at(f"/sample/{batch.id}/{lab}")
            )
        yield TestResult(
            lab=lab,
            result_id=f"TR-{self.results:08d}",
            batch_id=batch.id,
            test=test,
            method=method,
            value=value,
            unit="%",
            spec_low=low,
            spec_high=high,
            verdict=verdict,
            tested_on=date.fromordinal(batch.manufactured_on.toordinal() + self.rng.randint(3, 10)),
            provenance=self.at(f"/result/{self.results}"),
        )

    def _deviation(self, batch: Batch, made_on: date, classification: DeviationClass) -> Deviation:
        self.deviations += 1
        deviation_id = f"DV-{self.deviations:07d}"
        closed = self.rng.random() < 0.7
        opened = date.fromordinal(made_on.toordinal() + self.rng.randint(1, 20))
        return Deviation(
            org=batch.maker,
            deviation_id=deviation_id,
            title=f"{classification.value.title()} deviation on lot {batch.number}",
            classification=classification,
            status=DeviationStatus.CLOSED if closed else DeviationStatus.OPEN,
            opened_on=opened,
            closed_on=date.fromordinal(opened.toordinal() + 30) if closed else None,
            batch_ids=(batch.id,),
            provenance=self.at(f"/deviation/{self.deviations}"),
        )
