"""A GraphQL query document turned into a plan of tree reads, or None.

A plan is made once per document and operation and kept (``Plans``). Only plain
selections compile: root look-ups and listings of the graph's main kinds, their
stored attributes, ``sources``, ``__typename`` and the links ``LINKS`` names (the
resolvers that only follow an edge or an id the record names). Anything else, a
directive, a fragment on another type, a repeated response key, makes the whole
document graphql-core's.
"""

from __future__ import annotations

import dataclasses
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from enum import Enum
from types import MappingProxyType
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLBoolean,
    GraphQLEnumType,
    GraphQLField,
    GraphQLFloat,
    GraphQLID,
    GraphQLInt,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLScalarType,
    GraphQLSchema,
    GraphQLString,
    InlineFragmentNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
)
from graphql.utilities import get_operation_ast

from graph.ids import NodeKind
from graph.model import NODE_TYPES, EdgeKind
from graph.store import Reach
from schema.cost import CostMemo
from schema.nodes import KIND_OF, GraphNode

TYPENAME = "__typename"


class NotCompiled(Exception):
    """The document (or this answer) is left to graphql-core."""


def _to(kind: NodeKind, *parts: str, field: str | None = None) -> Callable[[str], Reach]:
    return lambda key: Reach(key, kind, id_field=field, id_parts=parts)


def _along(kind: NodeKind, edge: EdgeKind, *, outgoing: bool) -> Callable[[str], Reach]:
    return lambda key: Reach(key, kind, edge=edge, outgoing=outgoing)


N, E = NodeKind, EdgeKind
# (type, field) -> the reach its resolver makes (schema.nodes): an id the record names
# (load_one) or the far ends of edges (linked). Every other resolver is graphql-core's.
LINKS: dict[tuple[str, str], Callable[[str], Reach]] = {
    ("Batch", "vendor"): _to(N.ORGANIZATION, "maker"),
    ("Batch", "site"): _to(N.SITE, "maker", "site_code"),
    ("Batch", "material"): _to(N.MATERIAL, "maker", "material_code"),
    ("Batch", "product"): lambda key: Reach(
        key, N.PRODUCT, id_parts=("maker", "material_code"), via=E.FOR_PRODUCT, via_kind=N.MATERIAL
    ),
    ("Batch", "inputs"): _along(N.BATCH, E.CONSUMED, outgoing=True),
    ("Batch", "outputs"): _along(N.BATCH, E.CONSUMED, outgoing=False),
    ("Batch", "sameLotAs"): _along(N.BATCH, E.SAME_LOT, outgoing=True),
    ("Batch", "receivedAs"): _along(N.BATCH, E.SAME_LOT, outgoing=False),
    ("Batch", "partOf"): _along(N.BATCH, E.PART_OF, outgoing=True),
    ("Batch", "parts"): _along(N.BATCH, E.PART_OF, outgoing=False),
    ("Batch", "results"): _along(N.TEST_RESULT, E.TESTED, outgoing=False),
    ("Batch", "deviations"): _along(N.DEVIATION, E.AFFECTS, outgoing=False),
    ("Organization", "agreements"): _along(N.QUALITY_AGREEMENT, E.PARTY_TO, outgoing=True),
    ("Organization", "sites"): _along(N.SITE, E.OWNED_BY, outgoing=False),
    ("Site", "organization"): _to(N.ORGANIZATION, "org"),
    ("Site", "qualifications"): _along(N.QUALIFICATION, E.QUALIFIES, outgoing=False),
    ("Product", "sponsor"): _to(N.ORGANIZATION, "sponsor"),
    ("Material", "owner"): _to(N.ORGANIZATION, "org"),
    ("Material", "product"): _to(N.PRODUCT, field="product_id"),
    ("QualityAgreement", "sponsor"): _to(N.ORGANIZATION, "sponsor"),
    ("QualityAgreement", "vendor"): _to(N.ORGANIZATION, "vendor"),
    ("Qualification", "vendor"): _to(N.ORGANIZATION, "vendor"),
    ("Qualification", "site"): _to(N.SITE, "vendor", "site_code"),
    ("TestResult", "lab"): _to(N.ORGANIZATION, "lab"),
    ("TestResult", "batch"): _to(N.BATCH, field="batch_id"),
    ("Deviation", "organization"): _to(N.ORGANIZATION, "org"),
}
# Root fields: a node by id, and a page of nodes (schema.query).
LOOK_UPS = {"batch": N.BATCH, "product": N.PRODUCT, "organization": N.ORGANIZATION}
LOOK_UPS |= {"agreement": N.QUALITY_AGREEMENT}
LISTINGS = {"batches": N.BATCH, "products": N.PRODUCT, "organizations": N.ORGANIZATION}
LISTINGS |= {"agreements": N.QUALITY_AGREEMENT}
PROVENANCE = frozenset({"ingestionId", "location", TYPENAME})
PAGE_INFO = frozenset({"hasNextPage", "hasPreviousPage", "startCursor", "endCursor", TYPENAME})


@dataclass(frozen=True, slots=True)
class Value:
    """A stored attribute (``attribute`` of the record; ``id``: the node's id),
    serialized by its GraphQL type."""

    key: str
    attribute: str
    serialize: Callable[[Any], Any]
    nullable: bool
    listed: bool
    unchanged: type | None = None  # see ``_shortcuts``
    names: Mapping[Any, str] | None = None
    exact: type | None = None  # ``unchanged`` when every value of it is (str, bool)


@dataclass(frozen=True, slots=True)
class Constant:
    key: str
    value: str  # a __typename


@dataclass(frozen=True, slots=True)
class Sources:
    key: str
    fields: tuple[tuple[str, str], ...]  # (response key, field name)


@dataclass(frozen=True, slots=True)
class Linked:
    key: str
    reach: Reach  # its ``then``: the linked shape's own reaches
    many: bool
    nullable: bool
    shape: Shape


Item = Value | Constant | Sources | Linked


@dataclass(frozen=True, slots=True)
class Shape:
    """What to answer for each node of one type."""

    items: tuple[Item, ...]

    def reaches(self) -> tuple[Reach, ...]:
        return tuple(item.reach for item in self.items if isinstance(item, Linked))


@dataclass(frozen=True, slots=True)
class Root:
    key: str
    field: GraphQLField
    node: FieldNode
    kind: NodeKind
    listing: bool
    shape: Shape  # a node's shape
    connection: tuple[Part, ...] = ()  # a listing's
    typename: str = ""  # a listing's connection type
    lineage: Walked | None = None  # a lineage's


@dataclass(frozen=True, slots=True)
class Leaf:
    """A field of a plain object (not a node), its value read by ``name``."""

    key: str
    name: str
    serialize: Callable[[Any], Any]
    nullable: bool
    unchanged: type | None = None  # see ``_shortcuts``
    names: Mapping[Any, str] | None = None
    exact: type | None = None  # ``unchanged`` when every value of it is (str, bool)


@dataclass(frozen=True, slots=True)
class Walked:
    """What a ``lineage`` asks for: its own fields, its nodes' (with the lot's shape,
    if ``batch`` is asked for) and its edges'."""

    fields: tuple[Leaf, ...]
    nodes_key: str | None = None
    node_fields: tuple[Leaf, ...] = ()
    batch_key: str | None = None
    batch: Shape | None = None
    edges_key: str | None = None
    edge_fields: tuple[Leaf, ...] = ()
    order: tuple[str, ...] = ()  # the response keys in the selection's order
    node_order: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Part:
    """One field of a connection: ``what`` is "__typename", "nodes", "edges" or
    "pageInfo"; for the last two, their own fields as (response key, field name), and
    ``typename`` their type's name."""

    key: str
    what: str
    fields: tuple[tuple[str, str], ...] = ()
    typename: str = ""


@dataclass(frozen=True, slots=True)
class Plan:
    document: DocumentNode  # parsed and validated (a plan is made after validation only)
    operation: OperationDefinitionNode
    roots: tuple[Root, ...]
    costs: CostMemo  # the operation's costs already counted (the direct answers')


class Plans:
    """Plans by (document text, operation name), the last ``size`` documents kept."""

    def __init__(self, schema: GraphQLSchema, size: int = 512) -> None:
        self.schema = schema
        self.size = size
        self.made: OrderedDict[tuple[str, str | None], Plan | None] = OrderedDict()

    def plan_for(self, query: str, document: DocumentNode, operation: str | None) -> Plan | None:
        key = (query, operation)
        if key in self.made:
            self.made.move_to_end(key)
            return self.made[key]
        try:
            plan: Plan | None = _compile(self.schema, document, operation)
        except NotCompiled:
            plan = None
        self.made[key] = plan
        if len(self.made) > self.size:
            self.made.popitem(last=False)
        return plan

    def known(self, query: str, operation: str | None) -> Plan | None:
        """The plan made for this document and operation, if one was: such a document
        has been parsed, passed validation and the document limits (plans are made
        after them), which hold for the same text whatever the variables."""
        return self.made.get((query, operation))


def _compile(schema: GraphQLSchema, document: DocumentNode, name: str | None) -> Plan:
    operation = get_operation_ast(document, name)
    if operation is None or operation.operation is not OperationType.QUERY:
        raise NotCompiled
    if operation.directives:
        raise NotCompiled
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    query = schema.query_type
    assert query is not None
    roots: list[Root] = []
    for node in _fields(operation.selection_set, query.name, fragments):
        roots.append(_root(schema, query, node, fragments))
    return Plan(document, operation, tuple(roots), CostMemo(document, operation))


def _root(
    schema: GraphQLSchema,
    query: GraphQLObjectType,
    node: FieldNode,
    fragments: dict[str, FragmentDefinitionNode],
) -> Root:
    name, key = node.name.value, _key(node)
    field = query.fields.get(name)
    if field is None or node.selection_set is None:
        raise NotCompiled
    if name in LOOK_UPS:
        kind = LOOK_UPS[name]
        shape = _shape(schema, _object(field), node.selection_set, fragments)
        return Root(key, field, node, kind, listing=False, shape=shape)
    if name == "lineage":
        return Root(
            key,
            field,
            node,
            N.BATCH,
            False,
            Shape(()),
            lineage=_walked(schema, field, node.selection_set, fragments),
        )
    if name not in LISTINGS:
        raise NotCompiled
    kind = LISTINGS[name]
    connection_type = _object(field)
    node_type: GraphQLObjectType | None = None
    parts: list[Part] = []
    shapes: list[Shape] = []
    for part in _fields(node.selection_set, connection_type.name, fragments):
        what, part_key = part.name.value, _key(part)
        if what == TYPENAME:
            parts.append(Part(part_key, what))
        elif what == "nodes" and part.selection_set is not None:
            node_type = _object(connection_type.fields[what])
            shapes.append(_shape(schema, node_type, part.selection_set, fragments))
            parts.append(Part(part_key, what))
        elif what == "pageInfo" and part.selection_set is not None:
            info_type = _object(connection_type.fields[what])
            fields = _fields(part.selection_set, info_type.name, fragments)
            if any(f.name.value not in PAGE_INFO for f in fields):
                raise NotCompiled
            names = tuple((_key(f), f.name.value) for f in fields)
            parts.append(Part(part_key, what, names, info_type.name))
        elif what == "edges" and part.selection_set is not None:
            edge_type = _object(connection_type.fields[what])
            edge_fields = []
            for f in _fields(part.selection_set, edge_type.name, fragments):
                if f.name.value == "node" and f.selection_set is not None:
                    node_type = _object(edge_type.fields["node"])
                    shapes.append(_shape(schema, node_type, f.selection_set, fragments))
                elif f.name.value not in ("cursor", TYPENAME):
                    raise NotCompiled
                edge_fields.append((_key(f), f.name.value))
            parts.append(Part(part_key, what, tuple(edge_fields), edge_type.name))
        else:
            raise NotCompiled
    if len(shapes) > 1:  # nodes and edges { node } both asked: rare, left to graphql-core
        raise NotCompiled
    shape = shapes[0] if shapes else Shape(())
    return Root(key, field, node, kind, True, shape, tuple(parts), typename=connection_type.name)


def _walked(
    schema: GraphQLSchema,
    field: GraphQLField,
    selections: SelectionSetNode,
    fragments: dict[str, FragmentDefinitionNode],
) -> Walked:
    """``lineage``'s selection: its plain fields, ``nodes`` (``batch`` a lot's shape)
    and ``edges``; ``nonCompliant`` and a node's ``complianceGaps`` are graphql-core's."""
    of = _object(field)
    fields: list[Leaf] = []
    parts: dict[str, Any] = {}
    selected = _fields(selections, of.name, fragments)
    node_order: tuple[str, ...] = ()
    for node in selected:
        name = node.name.value
        if name in ("nodes", "edges") and node.selection_set is not None:
            item = _object(of.fields[name])
            leaves, batch = [], None
            subs = _fields(node.selection_set, item.name, fragments)
            if name == "nodes":
                node_order = tuple(_key(sub) for sub in subs)
            for sub in subs:
                if name == "nodes" and sub.name.value == "batch" and sub.selection_set:
                    batch = (
                        _key(sub),
                        _shape(schema, _object(item.fields["batch"]), sub.selection_set, fragments),
                    )
                else:
                    leaves.append(_leaf(item, sub))
            parts[name] = (_key(node), tuple(leaves), batch)
        else:
            fields.append(_leaf(of, node))
    nodes_key, node_fields, batch = parts.get("nodes", (None, (), None))
    edges_key, edge_fields, _ = parts.get("edges", (None, (), None))
    return Walked(
        tuple(fields),
        nodes_key,
        node_fields,
        batch[0] if batch else None,
        batch[1] if batch else None,
        edges_key,
        edge_fields,
        tuple(_key(node) for node in selected),
        node_order,
    )


def _leaf(of: GraphQLObjectType, node: FieldNode) -> Leaf:
    """A scalar or enum field of a plain object (a typename: the object's name)."""
    name = node.name.value
    if name == TYPENAME:
        return Leaf(_key(node), name, lambda _: of.name, nullable=False)
    field = of.fields.get(name)
    if field is None or node.selection_set is not None:
        raise NotCompiled
    definition = (field.extensions or {}).get("strawberry-definition")
    if definition is None or definition.base_resolver is not None:
        raise NotCompiled
    leaf = _unwrap_non_null(field.type)
    serialize = getattr(leaf, "serialize", None)
    if serialize is None:
        raise NotCompiled
    nullable = not isinstance(field.type, GraphQLNonNull)
    return Leaf(_key(node), name, serialize, nullable, *_shortcuts(leaf))


def _shape(
    schema: GraphQLSchema,
    of: GraphQLObjectType,
    selections: SelectionSetNode,
    fragments: dict[str, FragmentDefinitionNode],
) -> Shape:
    items: list[Item] = []
    for node in _fields(selections, of.name, fragments):
        name, key = node.name.value, _key(node)
        if name == TYPENAME:
            items.append(Constant(key, of.name))
            continue
        field = of.fields.get(name)
        if field is None:
            raise NotCompiled
        if name == "sources":
            if node.selection_set is None:
                raise NotCompiled
            sub = _fields(node.selection_set, "Provenance", fragments)
            if any(f.name.value not in PROVENANCE for f in sub):
                raise NotCompiled
            items.append(Sources(key, tuple((_key(f), f.name.value) for f in sub)))
            continue
        link = LINKS.get((of.name, name))
        if link is not None:
            if node.arguments or node.selection_set is None:
                raise NotCompiled
            target = _object(field)
            shape = _shape(schema, target, node.selection_set, fragments)
            many = isinstance(_unwrap_non_null(field.type), GraphQLList)
            reach = link(key)
            reach = dataclasses.replace(reach, then=shape.reaches())
            nullable = not isinstance(field.type, GraphQLNonNull)
            items.append(Linked(key, reach, many, nullable, shape))
            continue
        items.append(_value(of, name, key, field))
    return Shape(tuple(items))


def _value(of: GraphQLObjectType, name: str, key: str, field: GraphQLField) -> Value:
    """A field copied from the record (GraphNode.from_stored), not a resolver's."""
    definition = (field.extensions or {}).get("strawberry-definition")
    if definition is None or definition.base_resolver is not None:
        raise NotCompiled
    attribute = definition.python_name
    if attribute != "id" and not _stored_attribute(of.name, attribute):
        raise NotCompiled
    nullable = not isinstance(field.type, GraphQLNonNull)
    inner = _unwrap_non_null(field.type)
    listed = isinstance(inner, GraphQLList)
    leaf = _unwrap_non_null(inner.of_type) if isinstance(inner, GraphQLList) else inner
    serialize = getattr(leaf, "serialize", None)
    if serialize is None:
        raise NotCompiled
    return Value(key, attribute, serialize, nullable, listed, *_shortcuts(leaf))


# Serializing is a call per leaf, and a lineage answer has a few hundred leaves. Two
# shortcuts give the serializer's own answer without the call:
# - graphql-core's serializers of these built-in scalars give a value of this Python
#   type back as it is (``serialize_string``, ``serialize_id``, ``serialize_boolean``;
#   ``serialize_int`` within the 32-bit range and ``serialize_float`` when finite, which
#   the run checks: ``_RANGED``);
# - a strawberry enum's serializer maps each member of its Python enum to a name by a
#   scan of its values: the names are read from it once, member by member.
_ANSWERED_AS_THEY_ARE: dict[GraphQLScalarType, type] = {
    GraphQLString: str,
    GraphQLID: str,
    GraphQLBoolean: bool,
    GraphQLInt: int,
    GraphQLFloat: float,
}
_RANGED = (int, float)


def _shortcuts(leaf: Any) -> tuple[type | None, Mapping[Any, str] | None, type | None]:
    """The Python type whose values ``leaf`` serializes unchanged, the names of its
    enum's members, and the type whose every value it answers as it is (no range to
    check): each if it has one."""
    if isinstance(leaf, GraphQLScalarType):
        unchanged = _ANSWERED_AS_THEY_ARE.get(leaf)
        return unchanged, None, (None if unchanged in _RANGED else unchanged)
    members = getattr(leaf, "wrapped_cls", None)
    if (
        isinstance(leaf, GraphQLEnumType)
        and isinstance(members, type)
        and issubclass(members, Enum)
    ):
        names = MappingProxyType({member: leaf.serialize(member) for member in members})
        return None, names, None
    return None, None, None


def _stored_attribute(type_name: str, attribute: str) -> bool:
    return attribute in NODE_TYPES[_kind_of(type_name)].model_fields


def _kind_of(type_name: str) -> NodeKind:
    for cls, kind in KIND_OF.items():
        if _graphql_name(cls) == type_name:
            return kind
    raise NotCompiled


def _graphql_name(cls: type[GraphNode]) -> str:
    return str(cls.__strawberry_definition__.name)  # type: ignore[attr-defined]


def _object(field: GraphQLField) -> GraphQLObjectType:
    of: Any = field.type
    while isinstance(of, GraphQLNonNull | GraphQLList):
        of = of.of_type
    if not isinstance(of, GraphQLObjectType):
        raise NotCompiled
    return of


def _unwrap_non_null(of: Any) -> Any:
    return of.of_type if isinstance(of, GraphQLNonNull) else of


def _key(node: FieldNode) -> str:
    return node.alias.value if node.alias else node.name.value


def _fields(
    selections: SelectionSetNode, type_name: str, fragments: dict[str, FragmentDefinitionNode]
) -> list[FieldNode]:
    """The fields selected on ``type_name``, fragments of that same type flattened; a
    directive, a fragment on another type or a response key given twice: not compiled."""
    found = list(_flatten(selections, type_name, fragments, depth=0))
    keys = [_key(node) for node in found]
    if len(set(keys)) != len(keys):
        raise NotCompiled
    return found


def _flatten(
    selections: SelectionSetNode,
    type_name: str,
    fragments: dict[str, FragmentDefinitionNode],
    depth: int,
) -> Iterator[FieldNode]:
    if depth > 8:
        raise NotCompiled
    for selection in selections.selections:
        if selection.directives:
            raise NotCompiled
        if isinstance(selection, FieldNode):
            yield selection
            continue
        if isinstance(selection, FragmentSpreadNode):
            fragment = fragments.get(selection.name.value)
            if fragment is None or fragment.type_condition.name.value != type_name:
                raise NotCompiled
            if fragment.directives:
                raise NotCompiled
            yield from _flatten(fragment.selection_set, type_name, fragments, depth + 1)
            continue
        if isinstance(selection, InlineFragmentNode):
            condition = selection.type_condition
            if condition is not None and condition.name.value != type_name:
                raise NotCompiled
            yield from _flatten(selection.selection_set, type_name, fragments, depth + 1)
            continue
        raise NotCompiled
