"""Reference fields (a kind's ``REF_FIELDS``) refuse an id of the wrong kind, located.

Each kind gets the check on its reference fields alone (``checks_references``, from
``NodeRecord.__init_subclass__``), not on every field; these tests hold every kind of
node to it: the records of the demo network with a wrong-kind id put in each of their
reference fields, and every kind's reference fields checked by a validator (kinds the
demo does not hold).
"""

from __future__ import annotations

from itertools import islice

import pytest
from pydantic import ValidationError

import graph.lifecycle  # noqa: F401  (its kinds register in NODE_TYPES)
from graph.ids import NodeKind
from graph.model import NODE_TYPES, NodeRecord, TestResult, referenced_kind
from hub.demo.generator import generate_network


def _wrong_id(expected: tuple[NodeKind, ...]) -> str:
    return "org:wrong-kind" if NodeKind.ORGANIZATION not in expected else "product:p/wrong"


def test_a_wrong_kind_of_id_in_any_reference_field_of_the_demo_records_is_refused() -> None:
    tried = set()
    for record in islice(generate_network(300, 7), 20_000):
        if not isinstance(record, NodeRecord):
            continue
        for name, expected in record.REF_FIELDS.items():
            value = getattr(record, name)
            if not value or (record.KIND, name) in tried:
                continue
            tried.add((record.KIND, name))
            data = record.model_dump() | {name: _wrong_id(expected)}
            if not isinstance(value, str):
                data[name] = (value[0], _wrong_id(expected))  # one wrong id among right ones
            with pytest.raises(ValidationError) as refused:
                type(record).model_validate(data)
            (error,) = refused.value.errors()
            assert error["loc"] == (name,)
            assert "wrong" in error["msg"] and "id" in error["msg"]
            assert type(record).model_validate(record.model_dump()) == record  # right kinds pass
    assert {(NodeKind.MATERIAL, "product_id"), (NodeKind.TEST_RESULT, "batch_id")} <= tried


@pytest.mark.parametrize("kind", sorted(NODE_TYPES, key=str))
def test_every_reference_field_of_every_kind_is_checked(kind: NodeKind) -> None:
    model = NODE_TYPES[kind]
    checked = {
        name
        for validator in model.__pydantic_decorators__.field_validators.values()
        for name in validator.info.fields
    }
    assert set(model.REF_FIELDS) <= checked


def test_a_reference_is_judged_the_same_whether_its_kind_was_cached_or_not() -> None:
    # ``referenced_kind`` caches the kinds of good ids; a repeated id (a sample's many
    # results on one lot) is judged as the first time, and a malformed one every time.
    good = {"lab": "elm", "result_id": "R-1", "batch_id": "batch:elm/B-1"}
    for _ in range(3):
        assert TestResult.model_validate(good).batch_id == "batch:elm/B-1"
        for wrong, says in [("org:elm", "must be a Batch id"), ("batch:elm", "key parts")]:
            with pytest.raises(ValidationError) as refused:
                TestResult.model_validate(good | {"batch_id": wrong})
            (error,) = refused.value.errors()
            assert error["loc"] == ("batch_id",)
            assert says in error["msg"]
    assert referenced_kind.cache_info().hits >= 2
