"""The cost memo (``schema.cost.CostMemo``) gives the count's own answer, always.

The direct answers count a plan's cost once per set of values that can change it. The
memo must never answer what ``operation_cost`` would not: each document below is asked
with variables that change the cost (a page size, a depth, ``@skip``, a null where an
argument needs a value) and variables that do not (another lot's id), in one order and
then the other on a fresh memo, and every answer is compared with a fresh count.
"""

from __future__ import annotations

from typing import Any

import pytest
from graphql import get_operation_ast, get_variable_values, parse

from schema.build import build_schema
from schema.cost import CostMemo, CostModel, operation_cost

LINEAGE = """query ($id: ID!, $depth: Int!) {
  lineage(batchId: $id, direction: UPSTREAM, maxDepth: $depth) { nodes { id } edges { from } } }"""
PAGE = """query ($n: Int, $vendor: ID!, $skip: Boolean!) {
  batches(first: $n, filter: {vendor: $vendor}) { nodes { number
    inputs @skip(if: $skip) { number } } } }"""
IN_A_FRAGMENT = """query ($n: Int!, $id: ID!, $deep: Boolean!) {
  batch(id: $id) { number } batches(first: $n) { ...Page } }
fragment Page on BatchConnection { nodes { number inputs @include(if: $deep) { number } } }"""
# A nullable variable with a default, in a position that needs a value: null makes
# execution refuse the argument, and the count counts that field as 1.
DEFAULTED = """query ($id: ID = "batch:ash/L1", $depth: Int = 3) {
  lineage(batchId: $id, maxDepth: $depth) { nodes { id } } }"""
ENTITIES = """query ($representations: [_Any!]!) {
  _entities(representations: $representations) { ... on Batch { number } } }"""

CASES: list[tuple[str, list[dict[str, Any]]]] = [
    (
        LINEAGE,
        [
            {"id": "batch:ash/L1", "depth": 10},
            {"id": "batch:ash/L2", "depth": 10},
            {"id": "batch:ash/L1", "depth": 3},
            {"id": "batch:ash/L3", "depth": 500},
        ],
    ),
    (
        PAGE,
        [
            {"n": 10, "vendor": "org:ash", "skip": False},
            {"n": 10, "vendor": "org:other", "skip": False},
            {"n": 10, "vendor": "org:ash", "skip": True},
            {"n": None, "vendor": "org:ash", "skip": False},
            {"vendor": "org:ash", "skip": False},
            {"n": 500, "vendor": "org:ash", "skip": False},
        ],
    ),
    (
        IN_A_FRAGMENT,
        [
            {"n": 5, "id": "batch:a/1", "deep": True},
            {"n": 5, "id": "batch:a/2", "deep": True},
            {"n": 5, "id": "batch:a/2", "deep": False},
            {"n": 7, "id": "x", "deep": True},
        ],
    ),
    (DEFAULTED, [{}, {"id": None}, {"id": "batch:ash/L9"}, {"depth": None}, {"depth": 20}]),
    (
        ENTITIES,
        [
            {"representations": [{"__typename": "Batch", "id": "batch:a/1"}]},
            {"representations": [{"__typename": "Batch", "id": "batch:a/1"}] * 3},
        ],
    ),
]


@pytest.mark.parametrize(("query", "asked"), CASES, ids=lambda case: str(case)[:30])
def test_memo_answers_the_count(query: str, asked: list[dict[str, Any]]) -> None:
    schema = build_schema()._schema
    document = parse(query)
    operation = get_operation_ast(document)
    assert operation is not None
    model = CostModel()
    for order in (asked, asked[::-1]):
        memo = CostMemo(document, operation)
        for variables in order + order:  # each set twice: the second from the memo
            coerced = get_variable_values(schema, operation.variable_definitions or (), variables)
            assert not isinstance(coerced, list), coerced
            expected = operation_cost(schema, document, None, variables, model)
            assert memo.cost(schema, coerced, model) == expected, variables


def test_another_id_is_not_counted_again() -> None:
    """What the memo is for: a lineage asked for lot after lot at one depth is counted
    once; a page size or depth that changes the cost is counted on its own."""
    schema = build_schema()._schema
    document = parse(LINEAGE)
    operation = get_operation_ast(document)
    assert operation is not None
    memo = CostMemo(document, operation)
    assert memo.priced == ("depth",)
    assert memo.others == ("id",)
    for lot in range(20):
        variables = {"id": f"batch:ash/L{lot}", "depth": 10}
        coerced = get_variable_values(schema, operation.variable_definitions or (), variables)
        assert not isinstance(coerced, list)
        memo.cost(schema, coerced, CostModel())
    assert len(memo.known) == 1
    deeper = get_variable_values(
        schema, operation.variable_definitions or (), {"id": "batch:ash/L1", "depth": 20}
    )
    assert not isinstance(deeper, list)
    assert memo.cost(schema, deeper, CostModel()) > next(iter(memo.known.values()))  # type: ignore[operator]
    assert len(memo.known) == 2


def test_priced_variables_are_found_wherever_used() -> None:
    """Inside a fragment, inside a directive, and not an id beside them."""
    for query, priced in (
        (PAGE, ("n", "skip")),
        (IN_A_FRAGMENT, ("n", "deep")),
        (ENTITIES, ("representations",)),
    ):
        document = parse(query)
        operation = get_operation_ast(document)
        assert operation is not None
        assert CostMemo(document, operation).priced == priced
