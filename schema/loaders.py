"""Per-request DataLoaders over the store's batch reads.

Resolvers never call the store per item: they ask a loader, and every key asked for
in the same tick of the event loop becomes one store call. A request therefore costs
a number of store round-trips bounded by the shape of the query, not by how many
items come back. Loaders live for one request only and read as its principal, so
nothing is cached across principals.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

from strawberry.dataloader import DataLoader

from graph import trust
from graph.ids import NodeKind, make_id
from graph.lifecycle import Specification
from graph.model import Batch, EdgeKind, TestResult
from graph.quality import specifications as against
from graph.quality.compliance import Gap
from graph.store import GraphStore, StoredEdge, StoredNode
from graph.visibility import EVERYTHING, Visibility


@dataclass
class Loaders:
    store: GraphStore
    # Every read is made as the asking principal: hidden nodes never reach a resolver.
    visibility: Visibility = EVERYTHING
    nodes: DataLoader[str, StoredNode | None] = field(init=False)
    # The organizations and sites that a record shown to the asker names (an
    # inspection's, a shipment's receiver), read whoever asks: the record tells them
    # anyway (``graph.directory``). Only ever asked for by such a record's field.
    named: DataLoader[str, StoredNode | None] = field(init=False)
    # batch id -> its compliance gaps (empty: compliant); None: not judged for the asker
    compliance: DataLoader[str, tuple[Gap, ...] | None] = field(init=False)
    # organization slug -> ids of its qualifications (its own and its sites')
    qualifications: DataLoader[str, list[str]] = field(init=False)
    # batch id -> its shipments (SHIPPED_TO edges, with their day, amount and sources)
    shipments: DataLoader[str, list[StoredEdge]] = field(init=False)
    _outgoing: dict[EdgeKind, DataLoader[str, list[str]]] = field(default_factory=dict)
    _incoming: dict[EdgeKind, DataLoader[str, list[str]]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.nodes = DataLoader(load_fn=self._load_nodes)
        self.named = DataLoader(load_fn=self._load_named)
        self.compliance = DataLoader(load_fn=self._load_compliance)
        self.qualifications = DataLoader(load_fn=self._load_qualifications)
        self.shipments = DataLoader(load_fn=self._load_shipments)

    def targets(self, kind: EdgeKind) -> DataLoader[str, list[str]]:
        """Loader: node id -> ids at the far end of its outgoing ``kind`` edges."""
        if kind not in self._outgoing:
            self._outgoing[kind] = DataLoader(load_fn=self._edge_loader(kind, outgoing=True))
        return self._outgoing[kind]

    def sources(self, kind: EdgeKind) -> DataLoader[str, list[str]]:
        """Loader: node id -> ids at the near end of its incoming ``kind`` edges."""
        if kind not in self._incoming:
            self._incoming[kind] = DataLoader(load_fn=self._edge_loader(kind, outgoing=False))
        return self._incoming[kind]

    async def _load_nodes(self, ids: Sequence[str]) -> list[StoredNode | None]:
        found = await self.store.get_nodes(ids, visibility=self.visibility)
        return [found.get(node_id) for node_id in ids]

    async def _load_named(self, ids: Sequence[str]) -> list[StoredNode | None]:
        found = await self.store.get_nodes(ids)
        return [found.get(node_id) for node_id in ids]

    async def _load_compliance(self, ids: Sequence[str]) -> list[tuple[Gap, ...] | None]:
        found = await self.store.compliance_of(ids, visibility=self.visibility)
        return [found.get(batch_id) for batch_id in ids]

    async def _load_qualifications(self, vendors: Sequence[str]) -> list[list[str]]:
        found: dict[str, list[str]] = {vendor: [] for vendor in vendors}
        for terms in await self.store.qualification_terms(vendors, visibility=self.visibility):
            found[terms.vendor].append(terms.id)
        return [found[vendor] for vendor in vendors]

    async def _load_shipments(self, ids: Sequence[str]) -> list[list[StoredEdge]]:
        """Each lot's shipments the asker is shown (``graph.trust.sees_shipment``)."""
        found: dict[str, list[StoredEdge]] = {batch_id: [] for batch_id in ids}
        edges = await self.store.edges_from(ids, [EdgeKind.SHIPPED_TO], visibility=self.visibility)
        org = self.visibility.org
        sponsors = await self._product_sponsors(ids) if org is not None and edges else {}
        for edge in edges:
            shown = org is None or trust.sees_shipment(
                org, edge.source, edge.target, sponsors.get(edge.source, ())
            )
            if shown:
                found[edge.source].append(edge)
        return [found[batch_id] for batch_id in ids]

    async def _product_sponsors(self, lots: Sequence[str]) -> dict[str, set[str]]:
        """lot -> the sponsors of the products it is for, directly or via its material."""
        stored = await self.nodes.load_many(lots)
        materials = {
            lot: make_id(NodeKind.MATERIAL, node.record.maker, node.record.material_code)
            for lot, node in zip(lots, stored, strict=True)
            if node is not None
            and isinstance(node.record, Batch)
            and node.record.material_code is not None
        }
        for_product = self.targets(EdgeKind.FOR_PRODUCT)
        direct = await for_product.load_many(lots)
        via = dict(
            zip(materials, await for_product.load_many(list(materials.values())), strict=True)
        )
        return {
            lot: {trust.owner(product) for product in [*products, *via.get(lot, [])]}
            for lot, products in zip(lots, direct, strict=True)
        }

    async def specifications_of(self, products: Sequence[str]) -> list[Specification]:
        """The readable specifications of ``products`` (every version and test): two
        reads for all the products asked for in one tick (their ``SPECIFIES`` edges, then
        the specifications)."""
        ids = [
            i for found in await self.sources(EdgeKind.SPECIFIES).load_many(products) for i in found
        ]
        stored = await self.nodes.load_many(list(dict.fromkeys(ids)))
        return [s.record for s in stored if s is not None and isinstance(s.record, Specification)]

    async def products_of_lot(self, batch_id: str | None) -> list[str]:
        """A lot's products, named on it or through its material, in id order."""
        lot = None if batch_id is None else await self.nodes.load(batch_id)
        if lot is None or not isinstance(lot.record, Batch):
            return []
        for_product = self.targets(EdgeKind.FOR_PRODUCT)
        products = await for_product.load(lot.id)
        if not products and lot.record.material_code:
            material = make_id(NodeKind.MATERIAL, lot.record.maker, lot.record.material_code)
            products = await for_product.load(material)
        return sorted(products)

    async def specification_in_force(self, result: TestResult) -> Specification | None:
        """The sponsor's specification in force for ``result``
        (``graph.quality.specifications``): of its lot's product (the first by id with
        one in force), for its test, on its test day. A page of results costs the same
        five reads whatever its size: lots, products (direct, through materials),
        ``SPECIFIES`` edges, specifications."""
        products = await self.products_of_lot(result.batch_id)
        found = await self.specifications_of(products) if products else []
        for product in products:
            own = [s for s in found if s.product_id == product]
            in_force = against.in_force(own, result.test, result.tested_on)
            if in_force is not None:
                return in_force
        return None

    def _edge_loader(
        self, kind: EdgeKind, *, outgoing: bool
    ) -> Callable[[Sequence[str]], Awaitable[list[list[str]]]]:
        async def load(ids: Sequence[str]) -> list[list[str]]:
            read = self.store.out_edges if outgoing else self.store.in_edges
            neighbours: dict[str, list[str]] = {node_id: [] for node_id in ids}
            for source, _, target in await read(ids, [kind], visibility=self.visibility):
                near, far = (source, target) if outgoing else (target, source)
                neighbours[near].append(far)
            return [neighbours[node_id] for node_id in ids]

        return load
