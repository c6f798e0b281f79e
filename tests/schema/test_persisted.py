"""Automatic persisted queries (Apollo's APQ): a hash instead of the document, once the
hub has seen the document under that hash; on both stores, by POST and by GET."""

from __future__ import annotations

import hashlib
import json

from tests.schema.conftest import GraphQLClient, error_codes

QUERY = '{ batch(id: "batch:cedar/P25-1214") { number vendor { name } } }'
HASH = hashlib.sha256(QUERY.encode()).hexdigest()
PERSISTED = {"persistedQuery": {"version": 1, "sha256Hash": HASH}}


async def test_a_hash_alone_runs_once_the_document_was_sent(api: GraphQLClient) -> None:
    unknown = await api.http.post("/graphql", json={"extensions": PERSISTED})
    assert unknown.status_code == 200
    assert error_codes(unknown.json()) == ["PERSISTED_QUERY_NOT_FOUND"]
    assert unknown.json()["errors"][0]["message"] == "PersistedQueryNotFound"

    registered = await api.http.post("/graphql", json={"query": QUERY, "extensions": PERSISTED})
    by_hash = await api.http.post("/graphql", json={"extensions": PERSISTED})
    by_get = await api.http.get("/graphql", params={"extensions": json.dumps(PERSISTED)})

    expected = {"batch": {"number": "P25-1214", "vendor": {"name": "Cedar Packaging Solutions"}}}
    assert registered.json() == {"data": expected}
    assert by_hash.json() == {"data": expected}
    assert by_get.status_code == 200, by_get.text
    assert by_get.json() == {"data": expected}


async def test_a_document_is_kept_only_under_its_own_hash(api: GraphQLClient) -> None:
    planted = "{ organizations { nodes { id } } }"
    wrong = {"persistedQuery": {"version": 1, "sha256Hash": HASH}}
    refused = await api.http.post("/graphql", json={"query": planted, "extensions": wrong})
    assert error_codes(refused.json()) == ["BAD_USER_INPUT"]
    assert "does not match" in refused.json()["errors"][0]["message"]
    # The hash still stands for nothing: the planted document did not take its place.
    later = await api.http.post("/graphql", json={"extensions": wrong})
    assert error_codes(later.json()) == ["PERSISTED_QUERY_NOT_FOUND"]


async def test_another_protocol_version_is_not_supported(api: GraphQLClient) -> None:
    body = {"extensions": {"persistedQuery": {"version": 2, "sha256Hash": HASH}}}
    answer = (await api.http.post("/graphql", json=body)).json()
    assert error_codes(answer) == ["PERSISTED_QUERY_NOT_SUPPORTED"]


async def test_a_persisted_query_is_limited_like_any_other(api: GraphQLClient) -> None:
    costly = (
        "{ batches(first: 500) { nodes { inputs { inputs { inputs { inputs { number } } } } } } }"
    )
    digest = hashlib.sha256(costly.encode()).hexdigest()
    persisted = {"persistedQuery": {"version": 1, "sha256Hash": digest}}
    await api.http.post("/graphql", json={"query": costly, "extensions": persisted})
    answer = (await api.http.post("/graphql", json={"extensions": persisted})).json()
    assert error_codes(answer) == ["QUERY_TOO_COSTLY"]
