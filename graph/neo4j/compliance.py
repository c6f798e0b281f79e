"""Compliance reads in the Neo4j store (see ``graph.quality.compliance`` for the rules).

The lots to judge are reached from the product (``FOR_PRODUCT``, directly or through a
material: a traversal from one node, whatever the graph's size) or, without a product,
from the vendor's batches (the ``batch_maker`` index). The coverage windows are one map
parameter, ``$windows[product][maker][site]``, looked up per lot in the query, so only
the lots outside every window come back. Every node a lot is reached through is checked
against ``$org IN n.readers`` under a visibility, as in the other reads.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Sequence
from datetime import date
from typing import Any

from graph.lifecycle import ChangeControl
from graph.model import NOT_MADE_ON_ITS_OWN, Qualification, QualityAgreement
from graph.quality.compliance import (
    AgreementTerms,
    ComplianceQueries,
    ComplianceScope,
    Coverage,
    Lot,
    QualificationTerms,
)
from graph.visibility import EVERYTHING, Visibility

_NOT_MADE_ON_ITS_OWN = "|".join(kind.value for kind in NOT_MADE_ON_ITS_OWN)  # relationship types

# What a node read returns as its attributes: everything but who may read it.
_PROPERTIES = "{.*, readers: null, sponsor_readers: null, sources: null, id: null}"


def _visible(var: str, visibility: Visibility) -> str:
    return "true" if visibility.everything else f"$org IN {var}.readers"


def _pairs(scope: ComplianceScope | None, visibility: Visibility, after: str | None = None) -> str:
    """MATCH ... WITH b, p: candidate (batch, product) pairs, the cheap checks of the
    scope applied (None: the batches in ``$ids``). A pair found both ways (for the
    product directly and through the material) comes twice: ``_judged`` collects
    distinct products, after the filters, when there are far fewer rows to dedupe."""
    material = _visible("m", visibility)
    if scope is not None and scope.product is not None:
        found = (
            f"MATCH (p:Node {{id: $product}}) WHERE p:Product AND {_visible('p', visibility)} "
            "CALL (p) { "
            "MATCH (p)<-[:FOR_PRODUCT]-(b:Batch) RETURN b "
            "UNION ALL "
            f"MATCH (p)<-[:FOR_PRODUCT]-(m:Material)<-[:OF_MATERIAL]-(b:Batch) WHERE {material} "
            "RETURN b } "
        )
    else:
        if scope is not None:
            start = "MATCH (b:Batch) WHERE b.maker = $maker "
        else:
            start = "UNWIND $ids AS id MATCH (b:Node {id: id}) WHERE b:Batch "
        found = (
            start + "CALL (b) { "
            "MATCH (b)-[:FOR_PRODUCT]->(p:Product) RETURN p "
            "UNION ALL "
            f"MATCH (b)-[:OF_MATERIAL]->(m:Material)-[:FOR_PRODUCT]->(p:Product) WHERE {material} "
            "RETURN p } "
        )
    where = []
    if scope is not None:
        if after:
            where.append("b.id > $after")
        if scope.product is not None and scope.vendor_slug is not None:
            where.append("b.maker = $maker")
        if scope.site_code is not None:
            where.append("b.site_code = $site")
        if scope.made_from is not None:
            where.append("(b.manufactured_on IS NULL OR b.manufactured_on >= $made_from)")
        if scope.made_to is not None:
            where.append("(b.manufactured_on IS NULL OR b.manufactured_on <= $made_to)")
    return found + "WITH b, p " + (f"WHERE {' AND '.join(where)} " if where else "")


def _judged(visibility: Visibility) -> str:
    """WITH b, products: the pairs left judged (see graph.quality.compliance: not received,
    readable, the principal a party), one row per batch. These checks come last, on the
    rows the cheaper filters left (the aggregation keeps the planner from moving them
    first): they read the lot's relationships or lists."""
    pairs = ""
    if not visibility.everything:
        # A verdict is the business of the lot's maker and its product's sponsor.
        pairs = f"WHERE {_visible('p', visibility)} AND (b.maker = $org OR p.sponsor = $org) "
    lots = [f"NOT EXISTS {{ (b)-[s:{_NOT_MADE_ON_ITS_OWN}]->() WHERE s.retracted IS NULL }}"]
    if not visibility.everything:
        lots.append(_visible("b", visibility))
    return (
        f"WITH b, p {pairs}WITH b, collect(DISTINCT p.id) AS products WHERE {' AND '.join(lots)} "
    )


_RETURNED = (
    "RETURN b.id AS id, b.maker AS maker, b.site_code AS site, b.manufactured_on AS made, products "
)


def _uncovered_query(scope: ComplianceScope, visibility: Visibility, after: str | None) -> str:
    # A lot's site is looked up by its code when some rule lists that code for its
    # (product, maker), else as "" (every other site, or none recorded; a parameter,
    # as Cypher reads a literal '' key as an empty property name). A (product, maker)
    # with no entry has no agreement: no window at all. The day is checked first: it
    # leaves the few lots outside every window for the costlier checks.
    return (
        _pairs(scope, visibility, after) + "WITH b, p, $windows[p.id][b.maker] AS sites "
        "WITH b, p, CASE WHEN sites IS NULL THEN [] "
        "WHEN b.site_code IS NULL THEN sites[$other] "
        "ELSE coalesce(sites[b.site_code], sites[$other]) END AS windows "
        "WHERE b.manufactured_on IS NULL OR NOT any(w IN windows WHERE "
        "b.manufactured_on >= w[0] AND (w[1] IS NULL OR b.manufactured_on <= w[1])) "
        + _judged(visibility)
        + "ORDER BY b.id LIMIT $limit "
        + _RETURNED
    )


def _judged_query(visibility: Visibility) -> str:
    return _pairs(None, visibility) + _judged(visibility) + _RETURNED + "ORDER BY id"


def _lot(row: Any) -> Lot:
    made = row["made"]
    return Lot(
        batch_id=row["id"],
        maker=row["maker"],
        site_code=row["site"],
        manufactured_on=date.fromisoformat(made) if made else None,
        products=tuple(sorted(set(row["products"]))),
    )


def _record_properties(row: Any) -> dict[str, Any]:
    return {key: value for key, value in dict(row["p"]).items() if value is not None}


class Neo4jCompliance(ComplianceQueries):
    """The compliance primitives in Cypher (mixed into Neo4jGraphStore)."""

    @abstractmethod
    async def _read(self, query: str, **parameters: Any) -> list[Any]: ...

    async def agreement_terms(
        self,
        *,
        vendors: Sequence[str] | None,
        products: Sequence[str] | None,
        visibility: Visibility = EVERYTHING,
    ) -> list[AgreementTerms]:
        if products is not None:  # few agreements cover a product: start there
            match = (
                "UNWIND $products AS pid MATCH (:Node {id: pid})<-[:COVERS]-(a:QualityAgreement) "
                "WITH DISTINCT a WHERE ($vendors IS NULL OR a.vendor IN $vendors) "
            )
        else:
            match = "MATCH (a:QualityAgreement) WHERE a.vendor IN $vendors "
        query = (
            match
            # A placeholder (an agreement named only by an edge) states no terms.
            + f"AND a.vendor IS NOT NULL AND {_visible('a', visibility)} "
            "OPTIONAL MATCH (a)-[:COVERS]->(c) "
            f"RETURN a.id AS id, a {_PROPERTIES} AS p, collect(c.id) AS covered ORDER BY id"
        )
        rows = await self._read(
            query,
            vendors=None if vendors is None else list(vendors),
            products=None if products is None else list(products),
            org=visibility.org,
        )
        return [
            AgreementTerms.of(
                row["id"], QualityAgreement.model_validate(_record_properties(row)), row["covered"]
            )
            for row in rows
        ]

    async def qualification_terms(
        self, vendors: Sequence[str], *, visibility: Visibility = EVERYTHING
    ) -> list[QualificationTerms]:
        if not vendors:
            return []
        query = (
            f"MATCH (q:Qualification) WHERE q.vendor IN $vendors AND {_visible('q', visibility)} "
            f"RETURN q.id AS id, q {_PROPERTIES} AS p ORDER BY id"
        )
        rows = await self._read(query, vendors=list(vendors), org=visibility.org)
        return [
            QualificationTerms.of(row["id"], Qualification.model_validate(_record_properties(row)))
            for row in rows
        ]

    async def change_terms(
        self, vendors: Sequence[str], *, visibility: Visibility = EVERYTHING
    ) -> list[ChangeControl]:
        if not vendors:
            return []
        query = (
            f"MATCH (c:ChangeControl) WHERE c.vendor IN $vendors AND {_visible('c', visibility)} "
            f"RETURN c.id AS id, c {_PROPERTIES} AS p ORDER BY id"
        )
        rows = await self._read(query, vendors=list(vendors), org=visibility.org)
        return [ChangeControl.model_validate(_record_properties(row)) for row in rows]

    async def uncovered_lots(
        self,
        scope: ComplianceScope,
        windows: Coverage,
        first: int,
        after: str | None,
        *,
        visibility: Visibility = EVERYTHING,
    ) -> tuple[list[Lot], bool]:
        rows = await self._read(
            _uncovered_query(scope, visibility, after),
            windows=windows.as_parameter(),
            product=scope.product,
            maker=scope.vendor_slug,
            site=scope.site_code,
            made_from=scope.made_from.isoformat() if scope.made_from else None,
            made_to=scope.made_to.isoformat() if scope.made_to else None,
            other="",
            after=after or "",
            limit=first + 1,  # one more than asked says whether another page follows
            org=visibility.org,
        )
        return [_lot(row) for row in rows[:first]], len(rows) > first

    async def judged_lots(
        self, batch_ids: Sequence[str], *, visibility: Visibility = EVERYTHING
    ) -> list[Lot]:
        if not batch_ids:
            return []
        rows = await self._read(
            _judged_query(visibility), ids=list(dict.fromkeys(batch_ids)), org=visibility.org
        )
        return [_lot(row) for row in rows]
