"""Schemathesis fuzzing of the GraphQL schema, in-process over ASGI, on both stores.

Every root field of the subgraph (the federation ones, ``_entities`` and ``_service``,
included) gets generated queries, positive and negative, against the demo story. The
generated values are steered so that a good share of them hit real data: ``ID``
arguments are often real node ids, ``String`` arguments often real batch numbers or
valid cursors, ``Int`` arguments often within the page-size and depth ranges, ``Date``
arguments usually ISO dates, and ``_Any`` representations usually ``{__typename, id}``
of a real entity. The rest is junk on purpose. (The scalar strategies are registered
with schemathesis for the whole process; nothing else here uses it.)

What must hold for every query: no 5xx, and no unexpected GraphQL error. The same
queries are also sent with a partner's token (a sponsor and a testing lab of the demo),
and then nothing in the answer may name a node the partner may not read (the leak
oracle: the store's own scoping, which ``tests/graph/test_visibility_property.py``
holds to a brute-force reference), but for the redacted stubs a lineage walk shows
next to a lot it may read. An error is
expected when it comes from parsing or validation (it has no ``path``) or when it is a
client mistake the resolvers reject (``extensions.code == "BAD_USER_INPUT"``); an
``INTERNAL_SERVER_ERROR`` is always a failure.

Schemathesis serves every ASGI app from one event-loop thread of its own, and the async
store drivers belong to the loop that opened them. So the demo is loaded once per store
kind from the test's loop, and the app opens its own store on that data in its lifespan
(as in production), inside schemathesis' loop. Queries are generated from the schema's
introspection, and each case is sent to the app of the store kind at hand. (Not
``schemathesis.pytest.from_fixture``: in schemathesis 4.32 it needs ``Node._nodeid``,
which pytest 9 no longer has.)

Examples per root field: ``HUB_FUZZ_EXAMPLES`` (default 60, about 25 s of fuzzing for
both stores on two cores, plus the Neo4j start). Runs are derandomized, so a failure
found in CI reproduces locally; raise the count to explore further.
"""

from __future__ import annotations

import asyncio
import json
import os
from base64 import urlsafe_b64encode
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from typing import Any

import graphql
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from schemathesis.core.result import Ok
from schemathesis.graphql import nodes
from schemathesis.python.asgi import HOST as ASGI_HOST
from schemathesis.python.asgi import shutdown_lifespans
from schemathesis.schemas import BaseSchema

from auth.service import AuthService
from graph import model
from graph.ids import ID_PREFIXES
from graph.sql.store import SqlGraphStore
from graph.visibility import Visibility
from graph.write_plan import plan_write
from hub.app import create_app
from hub.demo.story import demo_records
from hub.records.database import migrate
from hub.settings import Settings
from schema.build import ENTITY_NAMES, build_schema
from schema.pagination import encode_cursor
from tests.conftest import STORE_KINDS, open_store
from tests.tokens import TokenSource

EXAMPLES_PER_FIELD = int(os.environ.get("HUB_FUZZ_EXAMPLES", "60"))

DEMO = demo_records()
NODES = [record for record in DEMO if isinstance(record, model.NodeRecord)]
NODE_IDS = sorted(record.id for record in NODES)
ENTITY_REFS = sorted(
    (type(record).__name__, record.id) for record in NODES if type(record).__name__ in ENTITY_NAMES
)
# Real ids grouped by kind: entities one group each, every other kind together.
IDS_BY_KIND = [
    sorted(record.id for record in NODES if type(record).__name__ == typename)
    for typename in sorted(ENTITY_NAMES)
] + [sorted(record.id for record in NODES if type(record).__name__ not in ENTITY_NAMES)]
BATCH_NUMBERS = sorted({record.number for record in NODES if isinstance(record, model.Batch)})

# ---------------------------------------------------------------- value strategies
# Each scalar's strategy gives a usable value three times out of four and junk otherwise,
# so that queries reach the data (and the resolvers' deeper paths) as well as the checks.


def mostly(usable: st.SearchStrategy[Any], junk: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(usable, usable, usable, junk)


def cursor_of(payload: str) -> str:
    """A cursor as the API hands them out: the opaque encoding of "v1:" and the last id."""
    return urlsafe_b64encode(payload.encode()).decode()


_text = st.text(max_size=24)
_odd_ids = st.sampled_from(
    [
        "",
        ":",
        "batch:",
        "batch:/",
        "batch:birch/",
        "batch:birch/BT-25-041/extra",
        "batch:%",
        "batch:%zz/%00",
        "batch:birch%2FBT/25",
        "batch:birch/BT-25-041 ",
        "batch:birch/BT-25-041\x00",
        "BATCH:birch/BT-25-041",
        "batch:birch/" + "X" * 10_000,
        "org:birch/extra",
        "qualification:northwind/birch/CRK-1/x",
        "experiment:elm/E-1",
        "batch:nowhere/X-1",
        "org:nobody",
    ]
)
_prefixes = sorted(prefix for prefix, _ in ID_PREFIXES.values())
ids = mostly(
    # an entity of each kind as often as another, or any other node (sites, results...)
    st.sampled_from(IDS_BY_KIND).flatmap(st.sampled_from),
    st.one_of(_odd_ids, st.builds("{}:{}".format, st.sampled_from(_prefixes), _text), _text),
)
# Page sizes and depths in and around their ranges, and anything a 32-bit Int holds.
ints = mostly(st.one_of(st.integers(0, 25), st.integers(1, 500)), st.integers(-(2**31), 2**31 - 1))
# Batch numbers (the `number` filter) and cursors (`after`).
strings = mostly(
    st.one_of(
        st.sampled_from(BATCH_NUMBERS),
        st.sampled_from(NODE_IDS).map(lambda node_id: cursor_of("v1:" + node_id)),
    ),
    st.one_of(_text.map(lambda junk: cursor_of("v1:" + junk)), _text.map(cursor_of), _text),
)
dates = mostly(
    st.dates(min_value=date(2024, 1, 1), max_value=date(2026, 12, 31)).map(nodes.String),
    st.one_of(
        st.dates().map(nodes.String),
        st.sampled_from(["", "2025-02-30", "2025-13-01", "20250101", "2025-01-01T00:00:00"]).map(
            nodes.String
        ),
        _text.map(nodes.String),
        st.integers().map(nodes.Int),
    ),
)


def _object(fields: dict[str, graphql.ValueNode]) -> graphql.ObjectValueNode:
    return graphql.ObjectValueNode(
        fields=tuple(
            graphql.ObjectFieldNode(name=graphql.NameNode(value=name), value=value)
            for name, value in fields.items()
        )
    )


_string_values: st.SearchStrategy[graphql.ValueNode] = _text.map(nodes.String)
_junk_values: st.SearchStrategy[graphql.ValueNode] = st.one_of(
    st.just(nodes.Null),
    st.integers().map(nodes.Int),
    st.booleans().map(nodes.Boolean),
    _string_values,
    st.lists(_string_values, max_size=2).map(nodes.List),
    st.just(_object({"__typename": nodes.String("Batch"), "id": nodes.String(IDS_BY_KIND[0][0])})),
)
_typenames = st.one_of(
    st.sampled_from(sorted(ENTITY_NAMES)),
    st.sampled_from(["Site", "Material", "Node", "Query", "_Service", "batch", ""]),
    _text,
)


@st.composite
def representations(draw: st.DrawFn) -> graphql.ValueNode:
    """An ``_Any`` literal for ``_entities``: usually ``{__typename, id}`` of a real entity;
    else type names and ids mixed up, keys missing or extra, or not an object at all."""
    if draw(st.integers(0, 9)) == 0:
        return draw(_junk_values)
    typename, node_id = draw(
        mostly(
            st.sampled_from(ENTITY_REFS).map(
                lambda ref: (nodes.String(ref[0]), nodes.String(ref[1]))
            ),
            st.tuples(_typenames.map(nodes.String), st.one_of(ids.map(nodes.String), _junk_values)),
        )
    )
    fields: dict[str, graphql.ValueNode] = {"__typename": typename, "id": node_id}
    if draw(st.integers(0, 9)) == 0:
        del fields[draw(st.sampled_from(sorted(fields)))]
    if draw(st.integers(0, 9)) == 0:
        fields[draw(st.sampled_from(["number", "extra", "__typename_"]))] = draw(_junk_values)
    return _object(fields)


# Built-in scalars too: a custom strategy replaces hypothesis-graphql's own for that name.
schemathesis.graphql.scalar("ID", mostly(ids.map(nodes.String), st.integers().map(nodes.Int)))
schemathesis.graphql.scalar("Int", ints.map(nodes.Int))
schemathesis.graphql.scalar("String", strings.map(nodes.String))
schemathesis.graphql.scalar("Date", dates)
schemathesis.graphql.scalar("_Any", representations())

# ---------------------------------------------------------------- the app under test


# Partners whose answers are checked for leaks: a sponsor, and a lab that reads only
# the lots sent to it.
PARTNERS = ("oakridge", "elm")
DEMO_PLAN = plan_write(DEMO)
ALL_IDS = sorted({*DEMO_PLAN.nodes, *DEMO_PLAN.placeholders})
GENEALOGY_PAIRS = [(s, t) for s, kind, t in DEMO_PLAN.edges if kind in model.LINEAGE_EDGES]


@dataclass(frozen=True)
class DemoStore:
    url: str  # the HUB_STORE that opens it
    readable: dict[str, frozenset[str]]  # partner -> ids it may see (stubs included)


@pytest.fixture(scope="module", params=STORE_KINDS)
async def demo_store(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> DemoStore:
    """The demo story loaded once into a store of each kind, and what each partner may
    see of it: what it reads, and the lots next to those a lineage shows as stubs."""
    store = await open_store(request.param, tmp_path_factory.mktemp("fuzz"), request)
    readable = {}
    try:
        await store.upsert(DEMO)
        for partner in PARTNERS:
            reads = set(await store.get_nodes(ALL_IDS, visibility=Visibility.for_org(partner)))
            stubs = {t for s, t in GENEALOGY_PAIRS if s in reads}
            stubs |= {s for s, t in GENEALOGY_PAIRS if t in reads}
            readable[partner] = frozenset(reads | stubs)
    finally:
        await store.close()
    if isinstance(store, SqlGraphStore):
        url = "sqlite:///" + store.url.removeprefix("sqlite+aiosqlite:///")
    else:
        url = str(request.getfixturevalue("neo4j_uri"))
    return DemoStore(url, readable)


@dataclass(frozen=True)
class FuzzedHub:
    app: Any
    headers: dict[str, str]  # the operator's bearer token
    partners: dict[str, dict[str, str]]  # each partner's bearer token (graph:read)
    readable: dict[str, frozenset[str]]


async def issued_headers(settings: Settings) -> tuple[dict[str, str], dict[str, dict[str, str]]]:
    """Tokens from the hub's own authorization server, over the app's database: the
    operator's, and each partner's."""
    service = AuthService.from_url(settings.database_url(), settings.auth_config(), migrate=migrate)
    try:
        await service.setup()
        source = TokenSource(service)
        partners = {org: await source.bearer(org, ("graph:read",)) for org in PARTNERS}
        return await source.bearer(), partners
    finally:
        await service.close()


@pytest.fixture(scope="module")
def hub_app(demo_store: DemoStore, tmp_path_factory: pytest.TempPathFactory) -> Iterator[FuzzedHub]:
    """The hub's ASGI app over the demo data; it opens its store in its lifespan."""
    ledger = tmp_path_factory.mktemp("fuzz-ledger") / "ledger.sqlite"
    settings = Settings(
        store=demo_store.url,
        database=f"sqlite:///{ledger}",
        neo4j_user=None,
        neo4j_password=None,
        neo4j_database=None,
    )
    # Its own event loop: schemathesis serves the app from a thread of its own.
    headers, partners = asyncio.run(issued_headers(settings))
    yield FuzzedHub(create_app(settings), headers, partners, demo_store.readable)
    shutdown_lifespans()  # closes the app's store, in the loop that opened it


def served_schema() -> BaseSchema:
    """The schema as the app publishes it (introspection), for generating queries."""
    introspection = build_schema().execute_sync(graphql.get_introspection_query())
    assert introspection.data is not None, introspection.errors
    loaded = schemathesis.graphql.from_dict(introspection.data)
    loaded.config.update(base_url=f"http://{ASGI_HOST}/graphql")
    # Federation's own fields are left out unless named: include every Query field.
    return loaded.include(name_regex=r"^Query\.")


fuzzed = served_schema()

# ---------------------------------------------------------------- the check


def is_expected(error: dict[str, Any]) -> bool:
    code = (error.get("extensions") or {}).get("code")
    if code == "INTERNAL_SERVER_ERROR":
        return False
    return "path" not in error or code == "BAD_USER_INPUT"


def check_graphql_answer(query: str, status: int, text: str) -> None:
    """No 5xx, and every GraphQL error a validation error or a BAD_USER_INPUT one."""
    where = f"query:\n{query}\nstatus {status}, response:\n{text}"
    assert status < 500, f"server error for {where}"
    try:
        body = json.loads(text)
    except ValueError:
        raise AssertionError(f"not JSON: {where}") from None
    assert isinstance(body, dict), f"not a GraphQL response: {where}"
    unexpected = [error for error in body.get("errors") or [] if not is_expected(error)]
    assert not unexpected, (
        f"unexpected GraphQL errors {json.dumps(unexpected, indent=1)}\nfor {where}"
    )


@fuzzed.parametrize()
@settings(
    max_examples=EXAMPLES_PER_FIELD,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],  # a slow CI machine is no bug of the API
)
def test_no_unexpected_errors(case: schemathesis.Case[Any], hub_app: FuzzedHub) -> None:
    response = case.call(app=hub_app.app, headers=hub_app.headers)
    assert response.status_code not in (401, 403), (
        f"the fuzzer's token was refused: {response.text}"
    )
    check_graphql_answer(str(case.body), response.status_code, response.text)


def _holders() -> dict[str, set[str]]:
    """Each id, and each text attribute of the demo's nodes, with the nodes it tells of:
    an answer holding it tells something of one of them."""
    found: dict[str, set[str]] = {node_id: {node_id} for node_id in ALL_IDS}
    for node_id, node in {**DEMO_PLAN.placeholders, **DEMO_PLAN.nodes}.items():
        for value in node.properties.values():
            if isinstance(value, str):
                found.setdefault(value, set()).add(node_id)
    for node_id in ALL_IDS:
        found[encode_cursor(node_id)] = {node_id}
    return found


HOLDERS = _holders()


def told_of(value: Any) -> Iterator[set[str]]:
    """For every string in an answer that ids or describes demo nodes, which nodes."""
    if isinstance(value, dict):
        for item in value.values():
            yield from told_of(item)
    elif isinstance(value, list):
        for item in value:
            yield from told_of(item)
    elif isinstance(value, str) and value in HOLDERS:
        yield HOLDERS[value]


@fuzzed.parametrize()
@settings(
    max_examples=max(EXAMPLES_PER_FIELD // 3, 5),
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
def test_a_partner_is_never_answered_what_it_may_not_read(
    case: schemathesis.Case[Any], hub_app: FuzzedHub
) -> None:
    for partner, headers in hub_app.partners.items():
        response = case.call(app=hub_app.app, headers=headers)
        assert response.status_code not in (401, 403), response.text
        check_graphql_answer(str(case.body), response.status_code, response.text)
        may_see = hub_app.readable[partner]
        leaked = [
            sorted(nodes)
            for nodes in told_of(response.json().get("data"))
            if not nodes & may_see and not any(n.startswith(("org:", "site:")) for n in nodes)
        ]
        assert not leaked, f"{partner} was told of {leaked} for {case.body}"


def test_every_root_field_is_fuzzed() -> None:
    query_type = build_schema()._schema.query_type
    assert query_type is not None
    labels = set()
    for result in fuzzed.get_all_operations():
        assert isinstance(result, Ok), result
        labels.add(result.ok().label)
    assert labels == {f"Query.{name}" for name in query_type.fields}
    assert {"Query._entities", "Query._service"} <= labels
