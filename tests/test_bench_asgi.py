"""bench.asgi hands the app a request as a server would: the app sees the method, path,
headers and body it was given, and the bench reads back the status and body it sent,
the same as through httpx (which the lineage overhead reports beside it)."""

from __future__ import annotations

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from bench import asgi


async def echo(request: Request) -> JSONResponse:
    body = await request.body()
    answer = {
        "method": request.method,
        "path": request.url.path,
        "authorization": request.headers.get("authorization"),
        "length": request.headers.get("content-length"),
        "body": body.decode(),
    }
    return JSONResponse(answer, status_code=201)


APP = Starlette(routes=[Route("/graphql", echo, methods=["POST"])])
HEADERS = {"Authorization": "Bearer t0ken", "content-type": "application/json"}
BODY = b'{"query": "{ __typename }"}'


async def test_the_app_gets_the_request_and_the_bench_its_answer() -> None:
    answered = await asgi.post(APP, "/graphql", HEADERS, BODY)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=APP), base_url="http://b"
    ) as client:
        through_httpx = await client.post("/graphql", content=BODY, headers=HEADERS)
    assert answered.status == through_httpx.status_code == 201
    assert answered.body == through_httpx.content
    assert httpx.Response(200, content=answered.body).json() == {
        "method": "POST",
        "path": "/graphql",
        "authorization": "Bearer t0ken",
        "length": str(len(BODY)),
        "body": BODY.decode(),
    }


async def test_a_route_that_does_not_take_posts_is_answered_as_such() -> None:
    answered = await asgi.post(APP, "/elsewhere", HEADERS, BODY)
    assert answered.status == 404
