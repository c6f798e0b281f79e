"""Tabular exports for BI tools: ``GET /export/<table>.csv`` and ``.jsonl``.

Power BI, Tableau and Excel read a table "from web" far more easily than they speak
GraphQL. Each export is one listing of the graph (``GraphStore.list_nodes``) as the
bearer token's organization may read it (the same ``Visibility`` as GraphQL, applied
inside the store's query), one row per node: its id, the fields of its record as
columns (lists joined by ``"; "``) and its sources. ``compliance-gaps`` is one row per
gap of each non-compliant lot (``GraphStore.compliance_gaps``).

Filters are query parameters named like the columns: ``?maker=birch&status=RELEASED``
(equality on text and enumeration columns), ``?manufactured_on_from=2025-01-01`` and
``_to`` (inclusive, on date columns), and for lots ``?product=<product id>`` (named
on the lot or through its material). A parameter that is not a filter of the table is
refused with a 400 naming it and the ones that are: a typo must not silently export
everything.

Paging: without ``first``, the whole table streams, read from the store a page at a
time, so memory stays flat for any size. With ``first`` (at most ``MAX_FIRST``) the
answer holds that many rows after ``after`` (an id, exclusive) and, when more follow, a
``Link: <...>; rel="next"`` header, as GitHub's API pages.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from datetime import date
from enum import Enum
from types import UnionType
from typing import Annotated, Any, Union, get_args, get_origin
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from auth.middleware import require_scope
from auth.principal import Scope
from graph.ids import NodeKind
from graph.model import NODE_TYPES
from graph.quality.compliance import ComplianceScope
from graph.queries import PRODUCT_OF_BATCH, Between, Condition, Equals, LinkedTo
from graph.store import GraphStore, StoredNode
from graph.visibility import Visibility

READ_PAGE = 500  # rows read from the store at a time while streaming
MAX_FIRST = 10_000

TABLES: dict[str, NodeKind] = {
    "batches": NodeKind.BATCH,
    "results": NodeKind.TEST_RESULT,
    "deviations": NodeKind.DEVIATION,
    "products": NodeKind.PRODUCT,
    "materials": NodeKind.MATERIAL,
    "organizations": NodeKind.ORGANIZATION,
    "sites": NodeKind.SITE,
    "agreements": NodeKind.QUALITY_AGREEMENT,
    "qualifications": NodeKind.QUALIFICATION,
    "experiments": NodeKind.EXPERIMENT,
    "specifications": NodeKind.SPECIFICATION,
    "tech-transfers": NodeKind.TECH_TRANSFER,
    "milestones": NodeKind.MILESTONE,
    "change-controls": NodeKind.CHANGE_CONTROL,
    "audits": NodeKind.AUDIT,
    "audit-findings": NodeKind.AUDIT_FINDING,
    "inspections": NodeKind.INSPECTION,
}
GAP_COLUMNS = (
    "batch_id",
    "manufactured_on",
    "reason",
    "product_id",
    "agreement_id",
    "qualification_id",
    "message",
)
FORMATS = {"csv": "text/csv; charset=utf-8", "jsonl": "application/x-ndjson"}


class BadExport(ValueError):
    """A request the export cannot answer, said for the caller (a 400)."""


@dataclass(frozen=True, slots=True)
class Columns:
    """A table's columns, and which of them filter how."""

    names: tuple[str, ...]  # id, the record's fields, sources
    equal: frozenset[str]  # text and enumeration fields: ?field=value
    dated: frozenset[str]  # date fields: ?field_from= and ?field_to=

    @classmethod
    def of(cls, kind: NodeKind) -> Columns:
        model = NODE_TYPES[kind]
        fields = [name for name in model.model_fields if name not in ("record", "provenance")]
        types = {name: _scalar(model.model_fields[name].annotation) for name in fields}
        text = {name for name, kind in types.items() if kind is not None and issubclass(kind, str)}
        dated = {name for name, kind in types.items() if kind is date}
        return cls(("id", *fields, "sources"), frozenset(text), frozenset(dated))

    def filters(self, kind: NodeKind) -> list[str]:
        extra = ["product"] if kind is NodeKind.BATCH else []
        dated = [f"{name}_{end}" for name in sorted(self.dated) for end in ("from", "to")]
        return sorted(self.equal) + dated + extra


def _scalar(annotation: Any) -> type | None:
    """The one plain type of a field (``str``, an enumeration, ``date``, ``float``...)
    under ``Optional`` and ``Annotated``; None for a list or anything else."""
    while get_origin(annotation) is Annotated:
        annotation = get_args(annotation)[0]
    if get_origin(annotation) in (Union, UnionType):
        plain = [arg for arg in get_args(annotation) if arg is not type(None)]
        return _scalar(plain[0]) if len(plain) == 1 else None
    return annotation if isinstance(annotation, type) and get_origin(annotation) is None else None


def conditions(kind: NodeKind, columns: Columns, params: dict[str, str]) -> list[Condition]:
    """The store conditions the query parameters ask for; BadExport naming any other."""
    found: list[Condition] = []
    ranges: dict[str, dict[str, date]] = {}
    for name, value in params.items():
        if name in columns.equal:
            found.append(Equals(name, value))
        elif name == "product" and kind is NodeKind.BATCH:
            found.append(LinkedTo(PRODUCT_OF_BATCH, value))
        elif (field := name.rsplit("_", 1)[0]) in columns.dated and name.endswith(("_from", "_to")):
            ranges.setdefault(field, {})[name.rsplit("_", 1)[1]] = _day(name, value)
        else:
            raise _not_a_filter(name, columns.filters(kind))
    found += [Between(field, ends.get("from"), ends.get("to")) for field, ends in ranges.items()]
    return found


def _not_a_filter(name: str, filters: Iterable[str]) -> BadExport:
    return BadExport(
        f"{name!r} is not a filter of this table (filters: {', '.join(filters)}; "
        "paging: first, after)"
    )


def _day(name: str, value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise BadExport(f"{name}: {value!r} is not a date (YYYY-MM-DD)") from None


def row_of(node: StoredNode) -> dict[str, Any]:
    values = node.record.model_dump(mode="json", exclude={"record", "provenance"})
    return {"id": node.id, **values, "sources": list(node.sources)}


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list | tuple):
        return "; ".join(map(_cell, value))
    if isinstance(value, Enum):
        return str(value.value)
    return str(value)


class Writer:
    """Rows to bytes in one format: CSV with a header row, or one JSON object a line."""

    def __init__(self, fmt: str, names: Iterable[str]) -> None:
        self.fmt = fmt
        self.names = tuple(names)

    def header(self) -> bytes:
        return self._csv([self.names]) if self.fmt == "csv" else b""

    def rows(self, rows: Iterable[dict[str, Any]]) -> bytes:
        if self.fmt == "jsonl":
            return "".join(json.dumps(row, default=str) + "\n" for row in rows).encode()
        return self._csv([_cell(row.get(name)) for name in self.names] for row in rows)

    @staticmethod
    def _csv(rows: Iterable[Iterable[str]]) -> bytes:
        out = io.StringIO()
        csv.writer(out, lineterminator="\r\n").writerows(rows)
        return out.getvalue().encode()


async def _node_pages(
    store: GraphStore,
    kind: NodeKind,
    found: list[Condition],
    visibility: Visibility,
    after: str | None,
) -> AsyncIterator[tuple[StoredNode, ...]]:
    while True:
        page = await store.list_nodes(kind, found, READ_PAGE, after, visibility=visibility)
        if page.nodes:
            yield page.nodes
        if not page.has_next:
            return
        after = page.nodes[-1].id


async def export(request: Request) -> Response:
    """
    summary: A table of the graph for BI tools, as the token's organization may read it
    parameters:
      - {name: name, in: path, required: true, schema: {type: string}, description: "table and format, e.g. batches.csv, results.jsonl, compliance-gaps.csv"}
      - {name: first, in: query, schema: {type: integer, minimum: 1, maximum: 10000}, description: "rows in this page (a Link rel=next header when more follow); the whole table streams without it"}
      - {name: after, in: query, schema: {type: string}, description: "the id after which the page starts"}
    responses:
      200: {description: "CSV with a header row, or JSON Lines; filters are query parameters named like the columns (name=value; a date column's name_from and name_to)"}
      400: {description: "A parameter that is not a filter of the table, or a malformed value: the detail names it"}
      401: {description: "No valid bearer token"}
      403: {description: "The token lacks graph:read"}
      404: {description: "No such table or format"}
    """
    principal = require_scope(request, Scope.GRAPH_READ)
    table, _, fmt = request.path_params["name"].rpartition(".")
    if fmt not in FORMATS:
        return _problem(404, "exports are .csv or .jsonl, e.g. /export/batches.csv")
    params = dict(request.query_params)
    try:
        first = _first(params.pop("first", None))
        after = params.pop("after", None) or None
        store: GraphStore = request.app.state.store
        visibility = Visibility.of(principal, request.app.state.settings.directory)
        if table == "compliance-gaps":
            return await _gaps(store, visibility, params, fmt, first, after, request)
        kind = TABLES.get(table)
        if kind is None:
            known = ", ".join(sorted([*TABLES, "compliance-gaps"]))
            return _problem(404, f"no export {table!r} (exports: {known})")
        columns = Columns.of(kind)
        found = conditions(kind, columns, params)
    except BadExport as error:
        return _problem(400, str(error))
    writer = Writer(fmt, columns.names)

    def rows(nodes: tuple[StoredNode, ...]) -> bytes:
        return writer.rows(map(row_of, nodes))

    if first is None:
        pages = _node_pages(store, kind, found, visibility, after)
        return _stream(writer, (rows(nodes) async for nodes in pages), fmt, table)
    page = await store.list_nodes(kind, found, first, after, visibility=visibility)
    last = page.nodes[-1].id if page.nodes and page.has_next else None
    body = writer.header() + rows(page.nodes)
    return Response(body, media_type=FORMATS[fmt], headers=_headers(request, table, fmt, last))


async def _gaps(
    store: GraphStore,
    visibility: Visibility,
    params: dict[str, str],
    fmt: str,
    first: int | None,
    after: str | None,
    request: Request,
) -> Response:
    known = {"product", "vendor", "site", "from", "to"}
    unknown = sorted(set(params) - known)
    if unknown:
        raise _not_a_filter(unknown[0], sorted(known))
    try:
        scope = ComplianceScope(
            product=params.get("product"),
            vendor=params.get("vendor"),
            site=params.get("site"),
            made_from=_day("from", params["from"]) if "from" in params else None,
            made_to=_day("to", params["to"]) if "to" in params else None,
        )
    except ValueError as error:
        raise BadExport(str(error)) from None
    writer = Writer(fmt, GAP_COLUMNS)

    def rows(page: Any) -> bytes:
        return writer.rows(
            {
                "batch_id": lot.batch_id,
                "manufactured_on": lot.manufactured_on.isoformat() if lot.manufactured_on else None,
                "reason": gap.reason.value,
                "product_id": gap.product_id,
                "agreement_id": gap.agreement_id,
                "qualification_id": gap.qualification_id,
                "message": gap.message,
            }
            for lot in page.lots
            for gap in lot.gaps
        )

    if first is not None:
        page = await store.compliance_gaps(scope, first, after, visibility=visibility)
        last = page.lots[-1].batch_id if page.lots and page.has_next else None
        headers = _headers(request, "compliance-gaps", fmt, last)
        return Response(writer.header() + rows(page), media_type=FORMATS[fmt], headers=headers)

    async def pages() -> AsyncIterator[bytes]:
        cursor = after
        while True:
            page = await store.compliance_gaps(scope, READ_PAGE, cursor, visibility=visibility)
            yield rows(page)
            if not page.has_next or not page.lots:
                return
            cursor = page.lots[-1].batch_id

    return _stream(writer, pages(), fmt, "compliance-gaps")


def _stream(writer: Writer, chunks: AsyncIterator[bytes], fmt: str, table: str) -> Response:
    async def body() -> AsyncIterator[bytes]:
        yield writer.header()
        async for chunk in chunks:
            yield chunk

    return StreamingResponse(body(), media_type=FORMATS[fmt], headers=_disposition(table, fmt))


def _first(value: str | None) -> int | None:
    if value is None:
        return None
    if not value.isdigit() or not 1 <= int(value) <= MAX_FIRST:
        raise BadExport(f"first: a number of rows from 1 to {MAX_FIRST}, got {value!r}")
    return int(value)


def _disposition(table: str, fmt: str) -> dict[str, str]:
    return {"Content-Disposition": f'inline; filename="{table}.{fmt}"'}


def _headers(request: Request, table: str, fmt: str, last: str | None) -> dict[str, str]:
    headers = _disposition(table, fmt)
    if last is not None:
        query = {**request.query_params, "after": last}
        headers["Link"] = f'<{request.url.path}?{urlencode(query)}>; rel="next"'
    return headers


def _problem(status: int, detail: str) -> Response:
    title = {400: "Bad export", 404: "Not found"}[status]
    return JSONResponse({"title": title, "detail": detail}, status_code=status)


ROUTES = [Route("/export/{name}", export, methods=["GET"])]
