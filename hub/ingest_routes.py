"""HTTP routes of the ingest path: push an export, ask what became of it.

    POST /ingest/{connector}?org=birch&filename=lot.xml[&all_or_nothing=true][&options={json}]
                            [&profile=NAME]   (CSV connectors: the partner's mapping profile)
    GET  /ingestions/{id}

The body is the export itself. It is read up to the configured size limit (413
beyond), committed to the ledger, then parsed and applied; the answer is the report.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from auth.middleware import require_scope
from auth.principal import Scope
from connectors.csv_profile import ProfileError
from hub.ingest import IngestError, IngestPipeline, IngestReport, Submission
from hub.ledger import IngestionStatus, Ledger
from hub.profiles import profile_by_name, with_profile

_STATUS_CODES = {
    "unknown_connector": 404,
    "bad_options": 422,
    "unreadable": 422,
    "store_unavailable": 503,
    "internal": 500,
}


class BodyTooLarge(Exception):
    pass


async def read_body(request: Request, limit: int) -> bytes:
    """The request body, refusing more than ``limit`` bytes without reading them all."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise BodyTooLarge
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise BodyTooLarge
    return bytes(body)


def problem(status: int, title: str, detail: str, **extra: Any) -> JSONResponse:
    return JSONResponse({"title": title, "detail": detail, **extra}, status_code=status)


async def ingest(request: Request) -> Response:
    """
    summary: Push one export for a connector to read
    parameters:
      - {name: connector, in: path, required: true, schema: {type: string}, description: "e.g. mes.b2mml"}
      - {name: org, in: query, schema: {type: string}, description: "whose records these are: the token's organization (only the operator may name another)"}
      - {name: filename, in: query, schema: {type: string}}
      - {name: all_or_nothing, in: query, schema: {type: boolean}, description: "refuse the whole payload if any record is rejected"}
      - {name: options, in: query, schema: {type: string}, description: "connector options as JSON"}
      - {name: profile, in: query, schema: {type: string}, description: "CSV mapping profile by name (mes.csv, lims.csv, qms.csv)"}
    requestBody: {required: true, content: {"*/*": {schema: {type: string, format: binary}}}}
    responses:
      200: {description: "Applied (status APPLIED, or PARTIAL with every rejected record named)"}
      401: {description: "No valid bearer token"}
      403: {description: "The token lacks ingest:write, or names another organization"}
      404: {description: "No such connector (the payload is still kept in the ledger)"}
      413: {description: "Body over the size limit (not stored)"}
      422: {description: "Unreadable payload or bad options: the report names where"}
      503: {description: "Graph store unavailable: the payload is kept, apply it later"}
    """
    settings = request.app.state.settings
    principal = require_scope(request, Scope.INGEST_WRITE)
    operator = principal.has(Scope.ADMIN)
    org = request.query_params.get("org", "" if operator else principal.org_id)
    if not org:
        return problem(422, "Missing org", "query parameter 'org' names whose records these are")
    if not operator and org != principal.org_id:
        return problem(403, "Forbidden", f"this client pushes for {principal.org_id!r} only")
    try:
        options = json.loads(request.query_params.get("options") or "{}")
        if not isinstance(options, dict):
            raise ValueError("not an object")
    except ValueError as error:
        return problem(
            422, "Bad options", f"query parameter 'options' must be a JSON object: {error}"
        )
    if profile_name := request.query_params.get("profile"):
        try:
            options = with_profile(options, profile_by_name(profile_name, settings.profiles_dir))
        except ProfileError as error:
            return problem(422, "Bad profile", str(error))
    try:
        payload = await read_body(request, settings.ingest_max_bytes)
    except BodyTooLarge:
        return problem(
            413, "Payload too large", f"the limit is {settings.ingest_max_bytes:,} bytes"
        )

    pipeline: IngestPipeline = request.app.state.ingest
    report = await pipeline.ingest(
        Submission(
            payload=payload,
            connector=request.path_params["connector"],
            org=org,
            submitted_by=principal.org_id,
            filename=request.query_params.get("filename", ""),
            media_type=request.headers.get("content-type", ""),
            options=options,
            all_or_nothing=request.query_params.get("all_or_nothing", "").lower()
            in ("1", "true", "yes"),
            # A partner asserts facts about what it owns only; the operator may load anything.
            owner_only=not operator,
        )
    )
    return JSONResponse(report.to_json(), status_code=status_code(report))


def status_code(report: IngestReport) -> int:
    if report.error is not None:
        return _STATUS_CODES[report.error.kind]
    return 422 if report.status is IngestionStatus.REJECTED else 200


async def ingestion_status(request: Request) -> Response:
    """
    summary: What became of one ingestion
    parameters:
      - {name: ingestion_id, in: path, required: true, schema: {type: string}}
    responses:
      200: {description: "The ingestion's metadata, status and report"}
      404: {description: "No such ingestion"}
    """
    principal = require_scope(request, Scope.INGEST_WRITE)
    ledger: Ledger = request.app.state.ledger
    found = await ledger.get(request.path_params["ingestion_id"])
    # Another organization's ingestion answers exactly like one that does not exist.
    if found is None or not (principal.has(Scope.ADMIN) or found.org == principal.org_id):
        return problem(404, "Not found", "no such ingestion")
    return JSONResponse(
        {
            "ingestion_id": found.id,
            "connector": found.connector,
            "org": found.org,
            "submitted_by": found.submitted_by,
            "filename": found.filename,
            "media_type": found.media_type,
            "received_at": found.received_at.isoformat(),
            "finished_at": found.finished_at.isoformat() if found.finished_at else None,
            "size": found.size,
            "sha256": found.sha256,
            "status": found.status.value,
            "report": found.report,
        }
    )


ROUTES = [
    Route("/ingest/{connector}", ingest, methods=["POST"]),
    Route("/ingestions/{ingestion_id}", ingestion_status, methods=["GET"]),
]

__all__ = ["ROUTES", "IngestError"]
