"""A plan run: its roots' store reads, and the answer shaped from what they return.

Each root does what its resolver in ``schema.query`` does (the same argument checks,
the same store call under the asker's visibility), then one tree read for the whole
selection below it. Any GraphQL error on the way (a malformed id, a page too large, a
null where the schema promises a value) raises ``NotCompiled``: graphql-core then
answers the request, errors and all, as it always did.
"""

from __future__ import annotations

from enum import Enum
from math import isfinite
from typing import Any

from graphql import GRAPHQL_MAX_INT, GRAPHQL_MIN_INT, GraphQLError, GraphQLSchema
from graphql.execution.values import VariableValues, get_argument_values, get_variable_values
from graphql.pyutils import is_iterable
from strawberry.types.arguments import convert_arguments

from graph.lineage import LineageEdge
from graph.store import StoredNode, TreeNode
from schema.compiled.plan import (
    TYPENAME,
    Constant,
    Leaf,
    Linked,
    NotCompiled,
    Plan,
    Root,
    Shape,
    Sources,
    Value,
)
from schema.context import RequestContext
from schema.errors import bad_input, checked_id
from schema.nodes import Provenance
from schema.pagination import decode_cursor, encode_cursor, page_size


def coerced_variables(
    plan: Plan, schema: GraphQLSchema, variables: dict[str, Any] | None
) -> VariableValues:
    """The request's variables coerced to the types the operation declares."""
    coerced = get_variable_values(
        schema, plan.operation.variable_definitions or (), variables or {}
    )
    if isinstance(coerced, list):  # graphql-core says what is wrong with them
        raise NotCompiled
    return coerced


async def run(
    plan: Plan, converter: tuple[Any, Any], context: RequestContext, coerced: VariableValues
) -> dict[str, Any]:
    data: dict[str, Any] = {}
    for root in plan.roots:
        arguments = _arguments(root, coerced, converter)
        answer = _walk if root.lineage else _listing if root.listing else _look_up
        data[root.key] = await answer(root, arguments, context)
    return data


def _arguments(root: Root, variables: Any, converter: tuple[Any, Any]) -> dict[str, Any]:
    try:
        given = get_argument_values(root.field, root.node, variables)
    except GraphQLError:
        raise NotCompiled from None
    definition = (root.field.extensions or {})["strawberry-definition"]
    registry, config = converter
    return convert_arguments(given, definition.arguments, scalar_registry=registry, config=config)


async def _look_up(root: Root, arguments: dict[str, Any], context: RequestContext) -> Any:
    try:
        node_id = checked_id(arguments["id"], root.kind, "id")
    except GraphQLError:
        raise NotCompiled from None
    trees = await context.store.read_tree(
        [node_id], root.kind, root.shape.reaches(), visibility=context.visibility
    )
    return _node(root.shape, trees[0]) if trees else None


async def _listing(root: Root, arguments: dict[str, Any], context: RequestContext) -> Any:
    try:
        size = page_size(arguments.get("first"), context.limits)
        after = arguments.get("after")
        after_id = decode_cursor(after)
        given = arguments.get("filter")
        try:
            conditions = given.to_query().conditions() if given is not None else ()
        except ValueError as error:
            raise bad_input(f"filter: {error}") from None
    except GraphQLError:
        raise NotCompiled from None
    page = await context.store.list_trees(
        root.kind, conditions, size, after_id, root.shape.reaches(), visibility=context.visibility
    )
    nodes = [_node(root.shape, tree) for tree in page.trees]
    cursors = [encode_cursor(tree.node.id) for tree in page.trees]
    answer: dict[str, Any] = {}
    for part in root.connection:
        if part.what == TYPENAME:
            answer[part.key] = root.typename
        elif part.what == "nodes":
            answer[part.key] = nodes
        elif part.what == "edges":
            answer[part.key] = [
                _picked(part.fields, {"node": node, "cursor": cursor, TYPENAME: part.typename})
                for node, cursor in zip(nodes, cursors, strict=True)
            ]
        else:
            info = {
                "hasNextPage": page.has_next,
                "hasPreviousPage": after is not None,
                "startCursor": cursors[0] if cursors else None,
                "endCursor": cursors[-1] if cursors else None,
                TYPENAME: part.typename,
            }
            answer[part.key] = _picked(part.fields, info)
    return answer


async def _walk(root: Root, arguments: dict[str, Any], context: RequestContext) -> Any:
    """``lineage``: the store's walk, then the lots' shapes in one tree read."""
    walked = root.lineage
    assert walked is not None
    depth = arguments["max_depth"]
    if not 0 <= depth <= context.limits.max_lineage_depth:
        raise NotCompiled
    try:
        batch_id = checked_id(arguments["batch_id"], root.kind, "batchId")
    except GraphQLError:
        raise NotCompiled from None
    found = await context.store.lineage(
        batch_id, arguments["direction"], depth, visibility=context.visibility
    )
    if found is None:
        return None
    lots: dict[str, TreeNode] = {}
    if walked.batch is not None:
        shown = [node.id for node in found.nodes if not node.redacted]
        trees = await context.store.read_tree(
            shown, root.kind, walked.batch.reaches(), visibility=context.visibility
        )
        lots = {tree.node.id: tree for tree in trees}
    own = {
        "root": found.root,
        "direction": found.direction,
        "maxDepth": found.max_depth,
        "truncated": found.truncated,
    }
    answer = _leaves(walked.fields, own)
    if walked.nodes_key is not None:
        nodes = []
        node_fields, batch_key, batch = walked.node_fields, walked.batch_key, walked.batch
        for node in found.nodes:
            values = {"id": node.id, "depth": node.depth, "redacted": node.redacted}
            shaped = _leaves(node_fields, values)
            if batch_key is not None and batch is not None:
                lot = None if node.redacted else lots.get(node.id)
                shaped[batch_key] = None if lot is None else _node(batch, lot)
                shaped = {key: shaped[key] for key in walked.node_order}
            nodes.append(shaped)  # without a batch, already in the selection's order
        answer[walked.nodes_key] = nodes
    if walked.edges_key is not None:
        answer[walked.edges_key] = [
            _leaves(walked.edge_fields, _edge_values(edge)) for edge in found.edges
        ]
    return {key: answer[key] for key in walked.order}


def _edge_values(edge: LineageEdge) -> dict[str, Any]:
    return {
        "from": edge.source,
        "to": edge.target,
        "kind": edge.kind,
        "quantity": edge.quantity,
        "unit": edge.unit,
    }


def _leaves(leaves: tuple[Leaf, ...], values: dict[str, Any]) -> dict[str, Any]:
    answer = {}
    for leaf in leaves:  # a string or boolean leaf, the most of them, needs no call
        value = values.get(leaf.name)
        if type(value) is leaf.exact:
            answer[leaf.key] = value
        elif leaf.name == TYPENAME:
            answer[leaf.key] = leaf.serialize(None)  # the object's type name
        else:
            answer[leaf.key] = _serialized(value, leaf)
    return answer


def _picked(fields: tuple[tuple[str, str], ...], values: dict[str, Any]) -> dict[str, Any]:
    """The answer's keys for an object's fields, (response key, field name) each."""
    return {key: values[name] for key, name in fields}


def _node(shape: Shape, tree: TreeNode) -> dict[str, Any]:
    stored = tree.node
    answer: dict[str, Any] = {}
    for item in shape.items:
        if isinstance(item, Value):
            answer[item.key] = _value(item, stored)
        elif isinstance(item, Constant):
            answer[item.key] = item.value
        elif isinstance(item, Sources):
            answer[item.key] = [_provenance(item, ref) for ref in stored.sources]
        else:
            answer[item.key] = _linked(item, tree.reached.get(item.key, []))
    return answer


def _linked(item: Linked, reached: list[TreeNode]) -> Any:
    if item.many:
        return [_node(item.shape, tree) for tree in reached]
    if reached:
        return _node(item.shape, reached[0])
    if not item.nullable:
        raise NotCompiled
    return None


def _value(item: Value, stored: StoredNode) -> Any:
    value = stored.id if item.attribute == "id" else getattr(stored.record, item.attribute)
    if type(value) is item.exact and not item.listed:
        return value
    return _serialized(value, item, listed=item.listed)


def _serialized(value: Any, of: Leaf | Value, *, listed: bool = False) -> Any:
    """``value`` as graphql-core would answer it; what it would make an error of stops
    the compiled run. The plan's shortcuts (``schema.compiled.plan._shortcuts``) give
    the serializer's answer without calling it."""
    if value is None:
        if not of.nullable:
            raise NotCompiled
        return None
    serialize = of.serialize
    if listed:  # each item by the serializer; what is not a list is graphql-core's error
        if not is_iterable(value):  # its own test: a string or a mapping is not one
            raise NotCompiled
        try:
            return [serialize(each) for each in value]
        except (GraphQLError, TypeError, ValueError):
            raise NotCompiled from None
    kind = type(value)
    if kind is of.unchanged and (
        kind is of.exact
        or (GRAPHQL_MIN_INT <= value <= GRAPHQL_MAX_INT if kind is int else isfinite(value))
    ):
        return value
    if of.names is not None and isinstance(value, Enum):
        name = of.names.get(value)
        if name is not None:
            return name
    try:
        return serialize(value)
    except (GraphQLError, TypeError, ValueError):
        raise NotCompiled from None


def _provenance(item: Sources, ref: str) -> dict[str, Any]:
    source = Provenance.parse(ref)
    values = {"ingestionId": source.ingestion_id, "location": source.location}
    return _picked(item.fields, values | {TYPENAME: "Provenance"})
