"""HTTP routes of the ingest path: push an export, ask what became of it.

    POST /ingest/{connector}?org=birch&filename=lot.xml[&all_or_nothing=true][&options={json}]
                            [&profile=NAME]   (CSV connectors: the partner's mapping profile)
                            [&supersedes=ING-ID]  (a correction of an earlier ingestion)
                            [&wait=SECONDS]   (answer with the outcome if it comes in time)
    GET  /ingestions[?org=&status=&first=&after=]   (newest first)
    GET  /ingestions/{id}

The body is the export itself. It is read up to the configured size limit (413
beyond), counted against the organization's ingest quotas (429 beyond:
``hub.limits.ingest_quotas``) and committed to the ledger; then the answer is 202 with the ingestion's id,
and a worker applies it to the graph. ``wait`` trades that for the outcome itself when
it comes within the given seconds (the CLI and scripts like it). Nothing is updated
or deleted through this API: a correction is a new ingestion that names the one it
supersedes, and both stay in the ledger and in the graph's provenance.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from auth.middleware import require_scope
from auth.principal import Scope
from connectors.csv.profile import ProfileError
from hub.ingest.pipeline import IngestError, reader_for, refusal_report
from hub.ingest.profiles import profile_by_name, with_profile
from hub.limits.ingest_quotas import IngestQuotas, over_quota
from hub.records.audit import Actor
from hub.records.database import DATABASE_ERRORS, unavailable
from hub.records.ledger import Delivery, IngestionStatus, Ledger, Received
from hub.telemetry.tracing import current_traceparent

log = logging.getLogger("partnerhub.ingest")

MAX_WAIT_SECONDS = 300.0
_STATUS_CODES = {
    "unknown_connector": 404,
    "bad_options": 422,
    "unreadable": 422,
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


def problem(
    status: int, title: str, detail: str, headers: dict[str, str] | None = None
) -> JSONResponse:
    return JSONResponse({"title": title, "detail": detail}, status_code=status, headers=headers)


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
      - {name: supersedes, in: query, schema: {type: string}, description: "id of an earlier ingestion of the same organization that this one corrects"}
      - {name: wait, in: query, schema: {type: number, minimum: 0, maximum: 300}, description: "seconds to wait for the outcome before answering 202"}
    requestBody: {required: true, content: {"*/*": {schema: {type: string, format: binary}}}}
    responses:
      200: {description: "Waited and applied (status APPLIED, or PARTIAL with every rejected record named)"}
      202: {description: "Received and committed: the body names the ingestion and where to ask for its outcome"}
      401: {description: "No valid bearer token"}
      403: {description: "The token lacks ingest:write, or names another organization"}
      404: {description: "No such connector (the payload is still kept in the ledger)"}
      413: {description: "Body over the size limit (not stored)"}
      429: {description: "The organization's ingest quota (pushes or bytes per window) is spent: nothing stored, see Retry-After"}
      422: {description: "Unreadable payload, bad options or an unknown superseded ingestion: the report names where"}
      500: {description: "A bug while storing the push: nothing was stored (the traceback is in the hub's log)"}
      503: {description: "The hub's database is unavailable: nothing was stored, send it again"}
    """
    settings = request.app.state.settings
    principal = require_scope(request, Scope.INGEST_WRITE)
    operator = principal.has(Scope.ADMIN)
    query = request.query_params
    org = query.get("org", "" if operator else principal.org_id)
    if not org:
        return problem(422, "Missing org", "query parameter 'org' names whose records these are")
    if not operator and org != principal.org_id:
        return problem(403, "Forbidden", f"this client pushes for {principal.org_id!r} only")
    try:
        options = json.loads(query.get("options") or "{}")
        if not isinstance(options, dict):
            raise ValueError("not an object")
    except ValueError as error:
        return problem(
            422, "Bad options", f"query parameter 'options' must be a JSON object: {error}"
        )
    if profile_name := query.get("profile"):
        try:
            options = with_profile(options, profile_by_name(profile_name, settings.profiles_dir))
        except ProfileError as error:
            return problem(422, "Bad profile", str(error))
    try:
        wait = min(float(query.get("wait") or 0), MAX_WAIT_SECONDS)
        if not wait >= 0:
            raise ValueError
    except ValueError:
        return problem(422, "Bad wait", "query parameter 'wait' is a number of seconds, 0 to 300")
    try:
        payload = await read_body(request, settings.ingest_max_bytes)
    except BodyTooLarge:
        return problem(
            413, "Payload too large", f"the limit is {settings.ingest_max_bytes:,} bytes"
        )
    # Counted before the ledger commits: a push refused here leaves nothing behind.
    quotas: IngestQuotas = request.app.state.ingest_quotas
    if refused := quotas.spend(org, len(payload)):
        log.info(
            "push of %s for %s refused: %s spent",
            request.path_params["connector"],
            org,
            refused.limit,
        )
        return over_quota(org, len(payload), refused)

    ledger: Ledger = request.app.state.ledger
    delivery = Delivery(
        payload=payload,
        connector=request.path_params["connector"],
        org=org,
        submitted_by=Actor.of(principal),
        filename=query.get("filename", ""),
        media_type=request.headers.get("content-type", ""),
        options=options,
        all_or_nothing=query.get("all_or_nothing", "").lower() in ("1", "true", "yes"),
        # A partner asserts facts about what it owns only; the operator may load anything.
        owner_only=not operator,
        supersedes=query.get("supersedes") or None,
        traceparent=current_traceparent(),  # the worker's spans continue this request's trace
    )
    try:
        if delivery.supersedes and not await _may_correct(ledger, delivery):
            return problem(
                422,
                "Unknown ingestion",
                f"'supersedes' names {delivery.supersedes!r}, which is not an ingestion of {org!r}",
            )
        refusal = reader_for(delivery.connector, options)
        if isinstance(refusal, IngestError):  # kept anyway: nothing received is lost
            received = await ledger.receive(delivery, refused=refusal_report(delivery, refusal))
            return JSONResponse(received.report, status_code=_STATUS_CODES[refusal.kind])
        received = await ledger.receive(delivery)
    except DATABASE_ERRORS as error:
        # Before the ledger commits: the transaction is rolled back, nothing is stored.
        if unavailable(error):
            log.warning("ledger unavailable, push refused: %s", error)
            return problem(
                503,
                "Unavailable",
                "the hub's database is unavailable; nothing was stored, send it again",
                headers={"Retry-After": "5"},
            )
        log.exception("storing a push of %s for %s failed", delivery.connector, org)
        return problem(
            500,
            "Internal error",
            "the hub failed to store the push (a bug, logged); nothing was stored",
        )
    # Committed from here on: whatever fails now, the answer names the ingestion.
    request.app.state.wake_workers()
    if wait > 0:
        try:
            received = (
                await request.app.state.completions.wait(ledger, received.id, wait) or received
            )
        except DATABASE_ERRORS as error:
            log.warning("stored %s, but could not wait for its outcome: %s", received.id, error)
    return _answer(received)


async def _may_correct(ledger: Ledger, delivery: Delivery) -> bool:
    earlier = await ledger.get(delivery.supersedes or "")
    return earlier is not None and earlier.org == delivery.org


def _answer(received: Received) -> Response:
    if received.status is IngestionStatus.RECEIVED:
        return JSONResponse(
            {
                "ingestion_id": received.id,
                "status": received.status.value,
                "sha256": received.sha256,
                "size": received.size,
                "location": f"/ingestions/{received.id}",
            },
            status_code=202,
            headers={"Location": f"/ingestions/{received.id}"},
        )
    report = received.report or {}
    return JSONResponse(report, status_code=status_code(received.status, report))


def status_code(status: IngestionStatus, report: dict[str, Any]) -> int:
    error = report.get("error")
    if error:
        return _STATUS_CODES.get(error.get("kind", "internal"), 500)
    return 422 if status is IngestionStatus.REJECTED else 200


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
    try:
        found = await ledger.get(request.path_params["ingestion_id"])
        # Another organization's ingestion answers exactly like one that does not exist.
        if found is None or not (principal.has(Scope.ADMIN) or found.org == principal.org_id):
            return problem(404, "Not found", "no such ingestion")
        corrections = await ledger.corrections_of(found.id)
    except DATABASE_ERRORS as error:
        if not unavailable(error):
            raise
        return problem(
            503, "Unavailable", "the hub's database is unavailable", {"Retry-After": "5"}
        )
    return JSONResponse({**_metadata(found), "superseded_by": corrections, "report": found.report})


async def list_ingestions(request: Request) -> Response:
    """
    summary: Recent ingestions, newest first
    description: A partner sees its own organization's; the operator everyone's (or one
      organization's, with org). Paged by after (the last id of the previous page; the
      Link header names the next page).
    parameters:
      - {name: org, in: query, schema: {type: string}}
      - {name: status, in: query, schema: {type: string, enum: [RECEIVED, APPLIED, PARTIAL, REJECTED, FAILED]}}
      - {name: first, in: query, schema: {type: integer, minimum: 1, maximum: 500, default: 50}}
      - {name: after, in: query, schema: {type: string}}
    responses:
      200: {description: "ingestions: each one's metadata and outcome counts"}
      403: {description: "org names another organization (partners see only their own)"}
      422: {description: "a parameter that is not valid, named"}
    """
    principal = require_scope(request, Scope.INGEST_WRITE)
    params = request.query_params
    org = params.get("org")
    if not principal.has(Scope.ADMIN):
        if org not in (None, principal.org_id):
            return problem(403, "Forbidden", "a partner lists only its own ingestions")
        org = principal.org_id
    try:
        status = IngestionStatus(params["status"]) if "status" in params else None
    except ValueError:
        words = ", ".join(member.value for member in IngestionStatus)
        return problem(422, "Invalid parameter", f"status: expected one of {words}")
    first = params.get("first", "50")
    if not first.isdigit() or not 1 <= int(first) <= 500:
        return problem(422, "Invalid parameter", "first: expected a whole number from 1 to 500")
    ledger: Ledger = request.app.state.ledger
    try:
        found = await ledger.recent(
            org=org, status=status, before=params.get("after"), limit=int(first)
        )
    except DATABASE_ERRORS as error:
        if not unavailable(error):
            raise
        return problem(
            503, "Unavailable", "the hub's database is unavailable", {"Retry-After": "5"}
        )
    headers = {}
    if len(found) == int(first):
        following = str(request.url.include_query_params(after=found[-1].id))
        headers["Link"] = f'<{following}>; rel="next"'
    return JSONResponse(
        {"ingestions": [{**_metadata(one), **_counts(one.report)} for one in found]},
        headers=headers,
    )


def _metadata(found: Received) -> dict[str, Any]:
    return {
        "ingestion_id": found.id,
        "connector": found.connector,
        "org": found.org,
        "submitted_by": found.submitted_by,
        "filename": found.filename,
        "media_type": found.media_type,
        "received_at": found.received_at.isoformat(),
        "finished_at": _iso(found.finished_at),
        "size": found.size,
        "sha256": found.sha256,
        "status": found.status.value,
        "attempts": found.attempts,
        "next_attempt_at": _iso(found.next_attempt_at),
        "all_or_nothing": found.all_or_nothing,
        "supersedes": found.supersedes,
    }


def _counts(report: dict[str, Any] | None) -> dict[str, Any]:
    """What a list shows of an outcome: how many records, and how many went wrong."""
    report = report or {}
    return {
        "records": report.get("records"),
        "applied": report.get("applied"),
        "rejected": report.get("rejected"),
        "warned": report.get("warned"),
        "error": (report.get("error") or {}).get("message"),
    }


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


ROUTES = [
    Route("/ingest/{connector}", ingest, methods=["POST"]),
    Route("/ingestions", list_ingestions, methods=["GET"]),
    Route("/ingestions/{ingestion_id}", ingestion_status, methods=["GET"]),
]

__all__ = ["ROUTES", "IngestError"]
