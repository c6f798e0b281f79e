"""Admin routes for organizations' identifiers (``hub.records.identifiers``): what the
operator registers once and every push then uses (``partnerhub orgs`` does the same
from the command line)."""

from __future__ import annotations

import json

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from auth.middleware import require_scope
from auth.principal import Scope
from hub.ingest.routes import problem
from hub.records import identifiers
from hub.records.audit import Actor


async def list_identifiers(request: Request) -> Response:
    """
    summary: An organization's registered identifiers (admin)
    parameters:
      - {name: org, in: path, required: true, schema: {type: string}}
    responses:
      200: {description: "Its identifiers: scheme, value, when and by whom added"}
    """
    require_scope(request, Scope.ADMIN)
    found = await identifiers.of(request.app.state.ledger.engine, request.path_params["org"])
    return JSONResponse(
        [
            {
                "scheme": item.scheme.value,
                "value": item.value,
                "added_at": item.added_at.isoformat(),
                "added_by": item.added_by,
            }
            for item in found
        ]
    )


async def add_identifier(request: Request) -> Response:
    """
    summary: Register an identifier of an organization (admin, audited)
    parameters:
      - {name: org, in: path, required: true, schema: {type: string}}
    requestBody:
      content:
        application/json:
          schema:
            type: object
            required: [scheme, value]
            properties:
              scheme: {type: string, enum: [gs1-prefix, gln, fei, duns]}
              value: {type: string}
    responses:
      201: {description: "Registered"}
      200: {description: "Already registered to this organization"}
      409: {description: "Registered to another organization"}
      422: {description: "Not a well-formed identifier of that scheme"}
    """
    principal = require_scope(request, Scope.ADMIN)
    org = request.path_params["org"]
    try:
        body = json.loads(await request.body())
        scheme, value = str(body["scheme"]), str(body["value"])
    except (ValueError, KeyError, TypeError):
        return problem(422, "Invalid body", 'send {"scheme": "gs1-prefix", "value": "0614141"}')
    try:
        added = await identifiers.add(
            request.app.state.ledger.engine, org, scheme, value, Actor.of(principal)
        )
    except identifiers.IdentifierTaken as error:
        return problem(409, "Taken", str(error))
    except identifiers.IdentifierError as error:
        return problem(422, "Invalid identifier", str(error))
    known, compact = identifiers.checked(scheme, value)
    return JSONResponse(
        {"org": org, "scheme": known.value, "value": compact}, status_code=201 if added else 200
    )


ROUTES = [
    Route("/admin/organizations/{org}/identifiers", list_identifiers, methods=["GET"]),
    Route("/admin/organizations/{org}/identifiers", add_identifier, methods=["POST"]),
]
