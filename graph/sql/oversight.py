"""The oversight reads (``graph.oversight``) in the SQL store: one statement each.

A product's lots are found from the product through the edge index on targets
(``FOR_PRODUCT`` to a lot, or to a material and ``OF_MATERIAL`` back to its lots); a
vendor's lots are one range of the primary key, because a lot's id starts with its
maker (``batch:birch/...``). Everything a lot's figures need (its product, deviations,
result counts) comes from correlated subqueries over the edge indexes, so the statement
costs what the scope holds: ``CROSS JOIN`` keeps SQLite's planner from walking every
batch by kind and probing the scope's lots instead. Under a restricted visibility each lot must be readable and
be the organization's own or one it sponsors (``batch_sponsors``); each product,
material, result and deviation must be readable (``node_readers``). Node kinds, edge
kinds and verdicts are constants from the model, never input; values are parameters.
"""

from __future__ import annotations

import json
from datetime import date
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from graph.ids import NodeKind, make_id, parse_id
from graph.model import NOT_MADE_ON_ITS_OWN, BatchStatus, EdgeKind
from graph.oversight import (
    FAILED_VERDICTS,
    BatchQuality,
    BatchScope,
    Measurement,
    MeasurementScope,
    Period,
)
from graph.sql.retractions import standing
from graph.visibility import Visibility

_FAILED = ", ".join(f"'{verdict.value}'" for verdict in sorted(FAILED_VERDICTS))
_BATCH = NodeKind.BATCH.value
_FOR_PRODUCT, _OF_MATERIAL = EdgeKind.FOR_PRODUCT.value, EdgeKind.OF_MATERIAL.value
_NOT_MADE_ON_ITS_OWN = ", ".join(f"'{kind.value}'" for kind in NOT_MADE_ON_ITS_OWN)
_TESTED, _AFFECTS = (
    EdgeKind.TESTED.value,
    EdgeKind.AFFECTS.value,
)


def _readable(node_id: str, restricted: bool) -> str:
    if not restricted:
        return ""
    return (
        f" AND EXISTS (SELECT 1 FROM node_readers AS v "
        f"WHERE v.node_id = {node_id} AND v.org = :org)"
    )


def _lots_range(vendor_id: str) -> tuple[str, str]:
    """[low, high) of the ids of the lots the organization makes: ``batch:<slug>/...``
    (the slug is spelled as in the organization's id; '0' sorts right after '/')."""
    slug = vendor_id.partition(":")[2]
    return f"batch:{slug}/", f"batch:{slug}0"


def _overseen(lot: str, restricted: bool) -> str:
    """The lot counts for the principal: readable, and its own or one it sponsors."""
    if not restricted:
        return ""
    return (
        _readable(lot, restricted) + f" AND ({lot} >= :own_low AND {lot} < :own_high OR EXISTS ("
        f"SELECT 1 FROM batch_sponsors AS s WHERE s.node_id = {lot} AND s.org = :org))"
    )


def _lots_of_product(restricted: bool) -> str:
    """The ids of the lots for :product, directly or through their material (and, from
    the first branch, of materials for it: the caller keeps batches only)."""
    product = _readable(":product", restricted)
    return (
        f"SELECT e.source FROM graph_edges AS e "
        f"WHERE e.target = :product AND e.kind = '{_FOR_PRODUCT}'{product} "
        f"UNION "
        f"SELECT m.source FROM graph_edges AS f "
        f"JOIN graph_edges AS m ON m.target = f.source AND m.kind = '{_OF_MATERIAL}' "
        f"WHERE f.target = :product AND f.kind = '{_FOR_PRODUCT}'{product}"
        f"{_readable('f.source', restricted)}"
    )


def _period(column: str, period: Period, parameters: dict[str, Any]) -> str:
    clauses = ""
    if period.start is not None:
        clauses += f" AND {column} >= :start"
        parameters["start"] = period.start.isoformat()
    if period.end is not None:
        clauses += f" AND {column} <= :end"
        parameters["end"] = period.end.isoformat()
    return clauses


def _parameters(visibility: Visibility) -> tuple[bool, dict[str, Any]]:
    if visibility.everything:
        return False, {}
    assert visibility.org is not None
    own_low, own_high = _lots_range(make_id(NodeKind.ORGANIZATION, visibility.org))
    return True, {"org": visibility.org, "own_low": own_low, "own_high": own_high}


async def batch_quality(
    engine: AsyncEngine, scope: BatchScope, visibility: Visibility
) -> list[BatchQuality]:
    restricted, parameters = _parameters(visibility)
    where = ""
    if scope.product is not None:
        parameters["product"] = scope.product
        chosen = _lots_of_product(restricted)
        product = ":product"
    else:
        chosen = "SELECT id FROM graph_nodes WHERE id >= :low AND id < :high"
        # The lot's product, named on it or through its material: the first readable one.
        product = (
            f"coalesce((SELECT min(e.target) FROM graph_edges AS e "
            f"WHERE e.source = b.id AND e.kind = '{_FOR_PRODUCT}'"
            f"{_readable('e.target', restricted)}), "
            f"(SELECT min(f.target) FROM graph_edges AS m "
            f"JOIN graph_edges AS f ON f.source = m.target AND f.kind = '{_FOR_PRODUCT}' "
            f"WHERE m.source = b.id AND m.kind = '{_OF_MATERIAL}'"
            f"{_readable('m.target', restricted)}{_readable('f.target', restricted)}))"
        )
    if scope.vendor is not None:
        parameters["low"], parameters["high"] = _lots_range(scope.vendor)
        where += " AND b.id >= :low AND b.id < :high"
    where += _period("json_extract(b.properties, '$.manufactured_on')", scope.made, parameters)
    statement = f"""
        WITH chosen(id) AS ({chosen})
        SELECT b.id,
            json_extract(b.properties, '$.status'),
            json_extract(b.properties, '$.manufactured_on'),
            json_extract(b.properties, '$.released_on'),
            {product},
            (SELECT json_group_array(d.source) FROM graph_edges AS d
             WHERE d.target = b.id AND d.kind = '{_AFFECTS}'{_readable("d.source", restricted)}),
            (SELECT count(*) FROM graph_edges AS t
             WHERE t.target = b.id AND t.kind = '{_TESTED}'{_readable("t.source", restricted)}),
            (SELECT count(*) FROM graph_edges AS t JOIN graph_nodes AS r ON r.id = t.source
             WHERE t.target = b.id AND t.kind = '{_TESTED}'
             AND json_extract(r.properties, '$.verdict') IN ({_FAILED})
             {_readable("r.id", restricted)})
        FROM chosen AS c CROSS JOIN graph_nodes AS b ON b.id = c.id
        WHERE b.kind = '{_BATCH}'
        AND NOT EXISTS (
            SELECT 1 FROM graph_edges AS s WHERE s.source = b.id AND s.kind IN ({_NOT_MADE_ON_ITS_OWN})
            AND {standing("s")}
        ){where}{_overseen("b.id", restricted)}
        ORDER BY b.id
    """
    async with engine.connect() as conn:
        rows = (await conn.execute(text(statement), parameters)).all()
    return [
        BatchQuality(
            batch_id=batch_id,
            vendor=make_id(NodeKind.ORGANIZATION, parse_id(batch_id).parts[0]),
            product=product_id,
            status=None if status is None else BatchStatus(status),
            manufactured_on=_day(made),
            released_on=_day(released),
            deviations=tuple(sorted(json.loads(deviations))),
            results=results,
            failed_results=failed,
        )
        for batch_id, status, made, released, product_id, deviations, results, failed in rows
    ]


async def measurements(
    engine: AsyncEngine, scope: MeasurementScope, visibility: Visibility
) -> list[Measurement]:
    restricted, parameters = _parameters(visibility)
    vendor = None if scope.vendor is None else parse_id(scope.vendor).parts[0]
    parameters.update(product=scope.product, test=scope.test, vendor=vendor)
    on = (
        "coalesce(json_extract(b.properties, '$.manufactured_on'), "
        "json_extract(r.properties, '$.tested_on'))"
    )
    statement = f"""
        WITH chosen(id) AS ({_lots_of_product(restricted)})
        SELECT r.id, b.id, json_extract(b.properties, '$.site_code'),
            json_extract(r.properties, '$.value'), json_extract(r.properties, '$.unit'),
            json_extract(r.properties, '$.spec_low'), json_extract(r.properties, '$.spec_high'),
            json_extract(r.properties, '$.verdict'), json_extract(r.properties, '$.tested_on'),
            json_extract(b.properties, '$.manufactured_on'), json_extract(r.properties, '$.test')
        FROM chosen AS c
        CROSS JOIN graph_nodes AS b ON b.id = c.id AND b.kind = '{_BATCH}'
        JOIN graph_edges AS t ON t.target = b.id AND t.kind = '{_TESTED}'
        JOIN graph_nodes AS r ON r.id = t.source
        WHERE (:test IS NULL OR json_extract(r.properties, '$.test') = :test)
        AND (:vendor IS NULL OR json_extract(b.properties, '$.maker') = :vendor)
        AND json_extract(r.properties, '$.value') IS NOT NULL
        AND NOT EXISTS (
            SELECT 1 FROM graph_edges AS s WHERE s.source = b.id AND s.kind IN ({_NOT_MADE_ON_ITS_OWN})
            AND {standing("s")}
        ){_period(on, scope.made, parameters)}{_overseen("b.id", restricted)}
        {_readable("r.id", restricted)}
        ORDER BY r.id
    """
    async with engine.connect() as conn:
        rows = (await conn.execute(text(statement), parameters)).all()
    return [Measurement.from_row(row) for row in rows]


def _day(value: str | None) -> date | None:
    return None if value is None else date.fromisoformat(value)
