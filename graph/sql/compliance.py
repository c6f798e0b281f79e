"""Compliance reads in the SQL store (see ``graph.quality.compliance`` for the rules).

The lots to judge are pairs (batch, product) found through ``FOR_PRODUCT`` edges,
directly or through the lot's material: from the product (``ix_graph_edges_target``)
when a product is asked for, else from the vendor's id range of batches (ids start
with the maker's slug, so the primary key of ``graph_edges`` is the index). The
coverage windows travel as one JSON parameter and become a small materialized table
the query looks each lot up in. Under a visibility every node a lot is reached through
is checked against ``node_readers``, as in the other reads.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from graph.ids import NodeKind
from graph.lifecycle import ChangeControl
from graph.model import NOT_MADE_ON_ITS_OWN, EdgeKind, Qualification, QualityAgreement
from graph.quality.compliance import (
    AgreementTerms,
    ComplianceQueries,
    ComplianceScope,
    Coverage,
    Lot,
    QualificationTerms,
)
from graph.sql.retractions import standing
from graph.visibility import EVERYTHING, Visibility, id_range

_BATCHES = id_range(NodeKind.BATCH)
_MATERIALS = id_range(NodeKind.MATERIAL)


def _readable(node: str, visibility: Visibility) -> str:
    """SQL truth that ``node`` (an id expression) may be read by ``:org``."""
    if visibility.everything:
        return "1"
    return f"EXISTS (SELECT 1 FROM node_readers AS r WHERE r.node_id = {node} AND r.org = :org)"


def _pairs(scope: ComplianceScope | None, visibility: Visibility) -> str:
    """SELECTs of (batch, product) for the lots in scope (None: the ids in ``:ids``)."""
    material = _readable("f.source", visibility)
    batch_kind = f"e.source >= '{_BATCHES[0]}' AND e.source < '{_BATCHES[1]}'"
    if scope is not None and scope.product is not None:
        # From the product: lots named for it, and lots of a material for it.
        return f"""
            SELECT e.source, e.target FROM graph_edges AS e
            WHERE e.target = :product AND e.kind = 'FOR_PRODUCT' AND {batch_kind}
            UNION
            SELECT o.source, f.target
            FROM graph_edges AS f JOIN graph_edges AS o
            ON o.target = f.source AND o.kind = 'OF_MATERIAL'
            WHERE f.target = :product AND f.kind = 'FOR_PRODUCT'
            AND f.source >= '{_MATERIALS[0]}' AND f.source < '{_MATERIALS[1]}' AND {material}
        """
    if scope is not None:
        near = "e.source > :low AND e.source < :high"
        lots = "o.source > :low AND o.source < :high"
    else:
        near = "e.source IN (SELECT value FROM json_each(:ids))"
        lots = "o.source IN (SELECT value FROM json_each(:ids))"
    return f"""
        SELECT e.source, e.target FROM graph_edges AS e
        WHERE {near} AND e.kind = 'FOR_PRODUCT' AND {batch_kind}
        AND e.target >= 'product:' AND e.target < 'product;'
        UNION
        SELECT o.source, f.target
        FROM graph_edges AS o JOIN graph_edges AS f
        ON f.source = o.target AND f.kind = 'FOR_PRODUCT'
        WHERE {lots} AND o.kind = 'OF_MATERIAL' AND {material}
    """


_NOT_MADE_ON_ITS_OWN = ", ".join(f"'{kind.value}'" for kind in NOT_MADE_ON_ITS_OWN)  # constants


def _lots_sql(scope: ComplianceScope | None, visibility: Visibility) -> str:
    """A CTE ``lots(batch, product, maker, site, made)``: the judged (batch, product)
    pairs in scope (see graph.quality.compliance: not received, readable, the principal a party)."""
    where = [
        "NOT EXISTS (SELECT 1 FROM graph_edges AS s WHERE s.source = p.batch"
        f" AND s.kind IN ({_NOT_MADE_ON_ITS_OWN}) AND {standing('s')})",
        _readable("p.batch", visibility),
        _readable("p.product", visibility),
    ]
    if not visibility.everything:
        # A verdict is the business of the lot's maker and its product's sponsor.
        where.append(
            "(p.batch >= 'batch:' || :org || '/' AND p.batch < 'batch:' || :org || '0' "
            "OR p.product >= 'product:' || :org || '/' AND p.product < 'product:' || :org || '0')"
        )
    outer = []
    if scope is not None:
        outer.append("batch > :after")
        if scope.vendor_slug is not None:
            outer.append("maker = :maker")
        if scope.site_code is not None:
            outer.append("site = :site")
        if scope.made_from is not None:
            outer.append("(made IS NULL OR made >= :made_from)")
        if scope.made_to is not None:
            outer.append("(made IS NULL OR made <= :made_to)")
    return f"""
        pairs(batch, product) AS ({_pairs(scope, visibility)}),
        lots(batch, product, maker, site, made) AS (
            SELECT * FROM (
                SELECT p.batch AS batch, p.product AS product,
                    json_extract(b.properties, '$.maker') AS maker,
                    json_extract(b.properties, '$.site_code') AS site,
                    json_extract(b.properties, '$.manufactured_on') AS made
                FROM pairs AS p JOIN graph_nodes AS b ON b.id = p.batch
                WHERE {" AND ".join(where)}
            )
            WHERE {" AND ".join(outer) or "1"}
        )
    """


def _uncovered_sql(scope: ComplianceScope, visibility: Visibility) -> str:
    # A lot's site is looked up by its code when some rule lists that code for its
    # (product, maker), else as "" (every other site, or none recorded).
    return f"""
        WITH windows(product, maker, site, first, last) AS MATERIALIZED (
            SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]'),
                json_extract(value, '$[2]'), json_extract(value, '$[3]'),
                json_extract(value, '$[4]')
            FROM json_each(:windows)
        ),
        {_lots_sql(scope, visibility)},
        keyed AS (
            SELECT l.*, CASE WHEN l.site IS NOT NULL AND EXISTS (
                SELECT 1 FROM windows AS w
                WHERE w.product = l.product AND w.maker = l.maker AND w.site = l.site
            ) THEN l.site ELSE '' END AS site_key
            FROM lots AS l
        )
        SELECT k.batch, k.maker, k.site, k.made, json_group_array(k.product)
        FROM keyed AS k
        WHERE k.made IS NULL OR NOT EXISTS (
            SELECT 1 FROM windows AS w
            WHERE w.product = k.product AND w.maker = k.maker AND w.site = k.site_key
            AND w.first IS NOT NULL AND k.made >= w.first AND (w.last IS NULL OR k.made <= w.last)
        )
        GROUP BY k.batch ORDER BY k.batch LIMIT :limit
    """


def _judged_sql(visibility: Visibility) -> str:
    return f"""
        WITH {_lots_sql(None, visibility)}
        SELECT batch, maker, site, made, json_group_array(product)
        FROM lots GROUP BY batch ORDER BY batch
    """


def _lot(row: Any) -> Lot:
    batch_id, maker, site, made, products = row
    return Lot(
        batch_id=batch_id,
        maker=maker,
        site_code=site,
        manufactured_on=date.fromisoformat(made) if made else None,
        products=tuple(sorted(set(json.loads(products)))),
    )


class SqlCompliance(ComplianceQueries):
    """The compliance primitives over the SQL store's tables (mixed into SqlGraphStore)."""

    engine: AsyncEngine

    async def agreement_terms(
        self,
        *,
        vendors: Sequence[str] | None,
        products: Sequence[str] | None,
        visibility: Visibility = EVERYTHING,
    ) -> list[AgreementTerms]:
        where = [
            f"a.kind = '{NodeKind.QUALITY_AGREEMENT.value}'",
            # A placeholder (an agreement named only by an edge) states no terms.
            "json_extract(a.properties, '$.vendor') IS NOT NULL",
            _readable("a.id", visibility),
        ]
        parameters: dict[str, Any] = {"org": visibility.org}
        if products is not None:
            where.append(
                "a.id IN (SELECT c.source FROM graph_edges AS c WHERE c.kind = 'COVERS' "
                "AND c.target IN (SELECT value FROM json_each(:products)))"
            )
            parameters["products"] = json.dumps(list(products))
        if vendors is not None:
            where.append(
                "json_extract(a.properties, '$.vendor') IN (SELECT value FROM json_each(:vendors))"
            )
            parameters["vendors"] = json.dumps(list(vendors))
        query = f"""
            SELECT a.id, a.properties, c.target
            FROM graph_nodes AS a
            LEFT JOIN graph_edges AS c ON c.source = a.id AND c.kind = '{EdgeKind.COVERS.value}'
            WHERE {" AND ".join(where)}
            ORDER BY a.id
        """
        found: dict[str, tuple[QualityAgreement, set[str]]] = {}
        async with self.engine.connect() as conn:
            for node_id, properties, covered in await conn.execute(text(query), parameters):
                if node_id not in found:
                    found[node_id] = (QualityAgreement.model_validate(_props(properties)), set())
                if covered is not None:
                    found[node_id][1].add(covered)
        return [
            AgreementTerms.of(node_id, record, covers)
            for node_id, (record, covers) in found.items()
        ]

    async def qualification_terms(
        self, vendors: Sequence[str], *, visibility: Visibility = EVERYTHING
    ) -> list[QualificationTerms]:
        if not vendors:
            return []
        query = f"""
            SELECT q.id, q.properties FROM graph_nodes AS q
            WHERE q.kind = '{NodeKind.QUALIFICATION.value}'
            AND json_extract(q.properties, '$.vendor') IN (SELECT value FROM json_each(:vendors))
            AND {_readable("q.id", visibility)}
            ORDER BY q.id
        """
        parameters = {"vendors": json.dumps(list(vendors)), "org": visibility.org}
        async with self.engine.connect() as conn:
            rows = await conn.execute(text(query), parameters)
            return [
                QualificationTerms.of(node_id, Qualification.model_validate(_props(properties)))
                for node_id, properties in rows
            ]

    async def change_terms(
        self, vendors: Sequence[str], *, visibility: Visibility = EVERYTHING
    ) -> list[ChangeControl]:
        if not vendors:
            return []
        query = f"""
            SELECT c.properties FROM graph_nodes AS c
            WHERE c.kind = '{NodeKind.CHANGE_CONTROL.value}'
            AND json_extract(c.properties, '$.vendor') IN (SELECT value FROM json_each(:vendors))
            AND {_readable("c.id", visibility)}
            ORDER BY c.id
        """
        parameters = {"vendors": json.dumps(list(vendors)), "org": visibility.org}
        async with self.engine.connect() as conn:
            rows = await conn.execute(text(query), parameters)
            return [ChangeControl.model_validate(_props(properties)) for (properties,) in rows]

    async def uncovered_lots(
        self,
        scope: ComplianceScope,
        windows: Coverage,
        first: int,
        after: str | None,
        *,
        visibility: Visibility = EVERYTHING,
    ) -> tuple[list[Lot], bool]:
        maker = scope.vendor_slug
        parameters: dict[str, Any] = {
            "windows": json.dumps(windows.rows()),
            "product": scope.product,
            "maker": maker,
            "site": scope.site_code,
            "made_from": scope.made_from.isoformat() if scope.made_from else None,
            "made_to": scope.made_to.isoformat() if scope.made_to else None,
            "after": after or "",
            "limit": first + 1,  # one more than asked says whether another page follows
            "org": visibility.org,
            # A maker's batch ids lie between these (a slug never holds "/" or "0" < "/").
            "low": f"batch:{maker}/",
            "high": f"batch:{maker}0",
        }
        async with self.engine.connect() as conn:
            rows = (await conn.execute(text(_uncovered_sql(scope, visibility)), parameters)).all()
        return [_lot(row) for row in rows[:first]], len(rows) > first

    async def judged_lots(
        self, batch_ids: Sequence[str], *, visibility: Visibility = EVERYTHING
    ) -> list[Lot]:
        if not batch_ids:
            return []
        parameters = {"ids": json.dumps(list(dict.fromkeys(batch_ids))), "org": visibility.org}
        async with self.engine.connect() as conn:
            rows = await conn.execute(text(_judged_sql(visibility)), parameters)
            return [_lot(row) for row in rows]


def _props(properties: Any) -> Any:
    return json.loads(properties) if isinstance(properties, str) else properties
