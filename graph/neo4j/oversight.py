"""The oversight reads (``graph.oversight``) in the Neo4j store: one query each.

A product's lots are found from the product node (``FOR_PRODUCT`` into it, directly or
through a material), a vendor's from the index on ``Batch.maker``. A lot's product,
deviations and result counts come from ``CALL`` subqueries on the lot. Under a
restricted visibility each lot must be readable and be the organization's own or one it
sponsors (``sponsor_readers``); each product, material, result and deviation must be
readable (``readers``). Each query answers in one row of lists: the driver's cost per
record, not the server's work, is most of the time of a large answer.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date
from typing import Any

from graph.ids import NodeKind, make_id, parse_id
from graph.model import NOT_MADE_ON_ITS_OWN, BatchStatus
from graph.oversight import (
    FAILED_VERDICTS,
    BatchQuality,
    BatchScope,
    Measurement,
    MeasurementScope,
    Period,
)
from graph.visibility import Visibility

_NOT_MADE_ON_ITS_OWN = "|".join(kind.value for kind in NOT_MADE_ON_ITS_OWN)  # relationship types

Read = Callable[..., Awaitable[list[Any]]]


def _readable(var: str, restricted: bool) -> str:
    return f" AND $org IN {var}.readers" if restricted else ""


def _overseen(lot: str, restricted: bool) -> str:
    """The lot counts for the principal: readable, and its own or one it sponsors."""
    if not restricted:
        return ""
    return (
        f" AND $org IN {lot}.readers"
        f" AND ({lot}.maker = $org OR $org IN coalesce({lot}.sponsor_readers, []))"
    )


def _lots_of_product(restricted: bool) -> str:
    return (
        "MATCH (p:Node {id: $product}) WHERE p:Product" + _readable("p", restricted) + " "
        "CALL (p) { "
        "MATCH (b:Batch)-[:FOR_PRODUCT]->(p) RETURN b "
        "UNION "
        "MATCH (b:Batch)-[:OF_MATERIAL]->(m:Material)-[:FOR_PRODUCT]->(p) "
        "WHERE true" + _readable("m", restricted) + " RETURN b } "
    )


def _period(expression: str, period: Period, parameters: dict[str, Any]) -> str:
    clauses = ""
    if period.start is not None:
        clauses += f" AND {expression} >= $start"
        parameters["start"] = period.start.isoformat()
    if period.end is not None:
        clauses += f" AND {expression} <= $end"
        parameters["end"] = period.end.isoformat()
    return clauses


async def batch_quality(
    read: Read, scope: BatchScope, visibility: Visibility
) -> list[BatchQuality]:
    restricted = not visibility.everything
    parameters: dict[str, Any] = {"org": visibility.org, "failed": sorted(FAILED_VERDICTS)}
    if scope.product is not None:
        parameters["product"] = scope.product
        query = _lots_of_product(restricted) + "WITH b, $product AS product WHERE true"
    else:
        query = "MATCH (b:Batch) WHERE true"
    if scope.maker is not None:
        parameters["maker"] = scope.maker
        query += " AND b.maker = $maker"
    query += (
        f" AND NOT EXISTS {{ (b)-[s:{_NOT_MADE_ON_ITS_OWN}]->() WHERE s.retracted IS NULL }}"
        + _period("b.manufactured_on", scope.made, parameters)
        + _overseen("b", restricted)
        + " "
    )
    if scope.product is None:
        # The lot's product, named on it or through its material: the first readable one.
        query += (
            "CALL (b) { OPTIONAL MATCH (b)-[:FOR_PRODUCT]->(p:Product) "
            f"WHERE true{_readable('p', restricted)} RETURN min(p.id) AS direct }} "
            "CALL (b) { OPTIONAL MATCH (b)-[:OF_MATERIAL]->(m:Material)-[:FOR_PRODUCT]->"
            f"(p:Product) WHERE true{_readable('m', restricted)}{_readable('p', restricted)} "
            "RETURN min(p.id) AS through } "
            "WITH b, coalesce(direct, through) AS product "
        )
    query += (
        "CALL (b) { OPTIONAL MATCH (d:Deviation)-[:AFFECTS]->(b) "
        f"WHERE true{_readable('d', restricted)} RETURN collect(d.id) AS deviations }} "
        "CALL (b) { OPTIONAL MATCH (r:TestResult)-[:TESTED]->(b) "
        f"WHERE true{_readable('r', restricted)} "
        "RETURN count(r) AS results, count(CASE WHEN r.verdict IN $failed THEN 1 END) AS failed } "
        "RETURN collect([b.id, b.status, b.manufactured_on, b.released_on, product, "
        "deviations, results, failed]) AS lots"
    )
    rows = await read(query, **parameters)
    lots = rows[0]["lots"] if rows else []
    return sorted(
        (
            BatchQuality(
                batch_id=batch_id,
                vendor=make_id(NodeKind.ORGANIZATION, parse_id(batch_id).parts[0]),
                product=product,
                status=None if status is None else BatchStatus(status),
                manufactured_on=_day(made),
                released_on=_day(released),
                deviations=tuple(sorted(deviations)),
                results=results,
                failed_results=failed,
            )
            for batch_id, status, made, released, product, deviations, results, failed in lots
        ),
        key=lambda lot: lot.batch_id,
    )


async def measurements(
    read: Read, scope: MeasurementScope, visibility: Visibility
) -> list[Measurement]:
    restricted = not visibility.everything
    parameters: dict[str, Any] = {
        "org": visibility.org,
        "product": scope.product,
        "test": scope.test,
        "vendor": None if scope.vendor is None else parse_id(scope.vendor).parts[0],
    }
    query = (
        _lots_of_product(restricted)
        # One vendor's lots only: the rest is not read any further.
        + "WITH b WHERE $vendor IS NULL OR b.maker = $vendor "
        + f"WITH b WHERE NOT EXISTS {{ (b)-[s:{_NOT_MADE_ON_ITS_OWN}]->() WHERE s.retracted IS NULL }}"
        + _overseen("b", restricted)
        + " MATCH (r:TestResult)-[:TESTED]->(b) "
        "WHERE ($test IS NULL OR r.test = $test) AND r.value IS NOT NULL"
        + _readable("r", restricted)
        + _period("coalesce(b.manufactured_on, r.tested_on)", scope.made, parameters)
        + " RETURN collect([r.id, b.id, b.site_code, r.value, r.unit, r.spec_low, "
        "r.spec_high, r.verdict, r.tested_on, b.manufactured_on, r.test]) AS results"
    )
    rows = await read(query, **parameters)
    found = [Measurement.from_row(row) for row in (rows[0]["results"] if rows else [])]
    return sorted(found, key=lambda measurement: measurement.result)


def _day(value: str | None) -> date | None:
    return None if value is None else date.fromisoformat(value)
