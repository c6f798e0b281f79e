"""A leaf answered without its serializer is answered exactly as the serializer would.

``schema.compiled`` skips graphql-core's serializer for values it would give back as
they are (``schema.compiled.plan._shortcuts``). For every built-in scalar and an enum,
each value here must come out of the run equal to the serializer's answer and of the
same type, or stop the compiled run where the serializer refuses it (graphql-core then
answers, error and all).
"""

from __future__ import annotations

import math
from decimal import Decimal
from enum import Enum, IntEnum, StrEnum
from typing import Any

import pytest
import strawberry
from graphql import (
    GraphQLBoolean,
    GraphQLEnumType,
    GraphQLError,
    GraphQLFloat,
    GraphQLID,
    GraphQLInt,
    GraphQLString,
)

from schema.compiled.plan import TYPENAME, Leaf, NotCompiled, _shortcuts
from schema.compiled.run import _leaves, _serialized


class Colour(Enum):
    RED = "red"
    BLUE = "blue"


class Label(str):
    """A subclass: not of exactly the type a shortcut covers."""


COLOUR = GraphQLEnumType("Colour", {"RED": Colour.RED, "BLUE": Colour.BLUE})
COLOUR.wrapped_cls = Colour  # type: ignore[attr-defined]  # as strawberry's enums have


@strawberry.enum
class Kind(StrEnum):
    """As the schema's enums are: strawberry's, over a StrEnum."""

    CONSUMED = "CONSUMED"
    SHIPPED_TO = "shipped"


class OtherKind(StrEnum):
    CONSUMED = "CONSUMED"  # equal to Kind.CONSUMED as a string, a member of another enum


class Level(IntEnum):
    ONE = 1  # an int subclass: neither Int's nor Float's nor Boolean's exact type


@strawberry.type
class _Query:
    kind: Kind = Kind.CONSUMED


KIND = strawberry.Schema(query=_Query)._schema.type_map["Kind"]

VALUES: list[Any] = [
    "text", "", Label("sub"), 0, 7, -(2**31), 2**31 - 1, 2**31, -(2**31) - 1, True, False,
    2.5, -0.0, 1e300, math.inf, -math.inf, math.nan, 3.0, Decimal("4"), Colour.RED,
    Colour.BLUE, b"bytes", [1], Kind.CONSUMED, Kind.SHIPPED_TO, OtherKind.CONSUMED,
    "CONSUMED", "shipped", Level.ONE,
]  # fmt: skip
SCALARS = [GraphQLString, GraphQLID, GraphQLBoolean, GraphQLInt, GraphQLFloat, COLOUR, KIND]


def _leaf(scalar: Any) -> Leaf:
    return Leaf("key", "name", scalar.serialize, True, *_shortcuts(scalar))


@pytest.mark.parametrize("scalar", SCALARS)
@pytest.mark.parametrize("value", VALUES, ids=repr)
def test_a_leaf_is_what_its_serializer_answers(scalar: Any, value: Any) -> None:
    leaf = _leaf(scalar)
    try:
        expected = scalar.serialize(value)
    except (GraphQLError, TypeError, ValueError):
        with pytest.raises(NotCompiled):
            _serialized(value, leaf)
        with pytest.raises(NotCompiled):
            _leaves((leaf,), {"name": value})
        return
    for answered in (_serialized(value, leaf), _leaves((leaf,), {"name": value})["key"]):
        assert type(answered) is type(expected)
        assert answered == expected or (math.isnan(answered) and math.isnan(expected))


def test_only_types_without_a_range_skip_every_check() -> None:
    assert [_shortcuts(scalar)[2] for scalar in (GraphQLString, GraphQLID, GraphQLBoolean)] == [
        str,
        str,
        bool,
    ]
    assert _shortcuts(GraphQLInt)[:3:2] == (int, None)  # within 32 bits only
    assert _shortcuts(GraphQLFloat)[:3:2] == (float, None)  # finite only
    assert _shortcuts(COLOUR)[1] == {Colour.RED: "RED", Colour.BLUE: "BLUE"}


def test_leaves_keep_the_selection_order_name_their_type_and_refuse_a_missing_value() -> None:
    typename = Leaf("kind", TYPENAME, lambda _: "LineageEdge", nullable=False)
    required = Leaf("to", "to", GraphQLString.serialize, False, *_shortcuts(GraphQLString))
    leaves = (_leaf(GraphQLFloat), typename, required)
    answer = _leaves(leaves, {"name": 2, "to": "batch:a/1"})
    assert list(answer.items()) == [("key", 2.0), ("kind", "LineageEdge"), ("to", "batch:a/1")]
    with pytest.raises(NotCompiled):  # a null where the schema promises a value
        _leaves(leaves, {"name": 2})


@pytest.mark.parametrize("scalar", SCALARS)
@pytest.mark.parametrize("value", [["a", "b"], ("a",), [1, 2.5], "ab", {"a": 1}, 7], ids=repr)
def test_a_listed_value_is_each_item_serialized_or_left_to_graphql_core(
    scalar: Any, value: Any
) -> None:
    """A list field's value: each item as the serializer answers it; a string or a
    mapping is not a list to graphql-core (its error), even where each character would
    serialize."""
    leaf = _leaf(scalar)
    try:
        if isinstance(value, str | dict | int):
            raise TypeError("graphql-core: Expected Iterable")
        expected = [scalar.serialize(each) for each in value]
    except (GraphQLError, TypeError, ValueError):
        with pytest.raises(NotCompiled):
            _serialized(value, leaf, listed=True)
        return
    assert _serialized(value, leaf, listed=True) == expected
