"""A plan run: its roots' store reads, and the answer shaped from what they return.

Each root does what its resolver in ``schema.query`` does (the same argument checks,
the same store call under the asker's visibility), then one tree read for the whole
selection below it. Any GraphQL error on the way (a malformed id, a page too large, a
null where the schema promises a value) raises ``NotCompiled``: graphql-core then
answers the request, errors and all, as it always did.
"""

from __future__ import annotations

from typing import Any

from graphql import GraphQLError, GraphQLSchema
from graphql.execution.values import get_argument_values, get_variable_values
from strawberry.types.arguments import convert_arguments

from graph.store import StoredNode, TreeNode
from schema.compiled.plan import (
    TYPENAME,
    Constant,
    Linked,
    NotCompiled,
    Part,
    Plan,
    Root,
    Shape,
    Sources,
    Value,
)
from schema.context import RequestContext
from schema.errors import bad_input, checked_id
from schema.pagination import decode_cursor, encode_cursor, page_size


async def run(
    plan: Plan,
    schema: GraphQLSchema,
    converter: tuple[Any, Any],
    context: RequestContext,
    variables: dict[str, Any] | None,
) -> dict[str, Any]:
    coerced = get_variable_values(
        schema, plan.operation.variable_definitions or (), variables or {}
    )
    if isinstance(coerced, list):  # graphql-core says what is wrong with them
        raise NotCompiled
    data: dict[str, Any] = {}
    for root in plan.roots:
        arguments = _arguments(root, coerced, converter)
        data[root.key] = await (_listing if root.listing else _look_up)(root, arguments, context)
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
                _fields(part, {"node": node, "cursor": cursor, TYPENAME: part.typename})
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
            answer[part.key] = _fields(part, info)
    return answer


def _fields(part: Part, values: dict[str, Any]) -> dict[str, Any]:
    return {key: values[name] for key, name in part.fields}


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
    if value is None:
        if not item.nullable:
            raise NotCompiled
        return None
    try:
        if item.listed:
            return [item.serialize(each) for each in value]
        return item.serialize(value)
    except (GraphQLError, TypeError, ValueError):
        raise NotCompiled from None


def _provenance(item: Sources, ref: str) -> dict[str, Any]:
    ingestion_id, _, location = ref.partition("#")
    values = {"ingestionId": ingestion_id, "location": location, TYPENAME: "Provenance"}
    return {key: values[name] for key, name in item.fields}
