"""The query cost limit: how much a query may make the hub read, judged before it runs.

The depth, alias and token limits bound the size of a document, not the work it asks
for: ``batches(first: 500) { nodes { inputs { inputs { inputs { number } } } } }`` is
small and shallow, and still multiplies into millions of lots. So every operation gets
a cost from its selection, its page sizes and its variables, and one costing more than
``HUB_GRAPHQL_MAX_COST`` is refused whole, before any resolver runs (nothing is read
from the store), with a ``QUERY_TOO_COSTLY`` error that says by how much.

Cost model
----------
* Every field selected costs 1: a scalar, an object, a list, ``__typename``.
* A field that returns a list of objects multiplies the cost of its sub-selection by
  the number of items it may hold:

  - a listing with ``first`` (``batches``, ``products``, ``organizations``,
    ``agreements``, ``qualifications``, ``complianceGaps``): its page, ``first`` or the
    default page (50), counted on the connection's ``edges`` and ``nodes`` (its
    ``pageInfo`` once). A ``first`` outside 1..``HUB_GRAPHQL_MAX_PAGE_SIZE`` counts as
    the largest page (the resolver refuses it anyway);
  - ``lineage(maxDepth: d)``: its ``nodes``, ``edges`` and ``nonCompliant`` count
    ``LOTS_PER_LEVEL`` x (d + 1) items, 275 at the default depth 10 and 525 at 20 (a
    ``maxDepth`` beyond ``HUB_GRAPHQL_MAX_LINEAGE_DEPTH`` counts as that limit);
  - ``impact``: its lists count as a lineage at the depth its walk goes to (50): 1,275;
  - ``_entities(representations: [...])``: one item per representation;
  - a list of compliance gaps (``Batch.complianceGaps``, a non-compliant lot's
    ``gaps``): 11 items, one per ``GapReason`` (``DECLARED_LIST_SIZES``); a readiness's
    or a validation stage's ``checks``: 11, one per readiness rule;
  - any other list of objects (``Batch.inputs``, ``results``, ``sources``,
    ``Organization.sites``, ``vendorScorecards``, ``controlCharts``, a chart's
    ``points``...): ``LIST_SIZE`` (50) items, as a default page.

  Lists of scalars and enums (``activities``, ``rules``, ``batchIds``) cost 1.
* Fragments and inline fragments are expanded where their type condition applies; on
  an interface or a union (``node``, ``_entities``) the costliest possible type counts.
  Fields selected twice under one response name count once (they are resolved once),
  and ``@skip``/``@include`` are honoured.
* Variables count with their values (and defaults): ``batches(first: $n)`` is priced
  with the ``$n`` sent.
* Introspection (``__schema``, ``__type``) costs 1: it is answered from the schema in
  memory, and graphql-core's own introspection depth rule bounds it.

So ``cost(field) = 1 + items x cost(sub-selection)``, summed over the selection.

The default limit, 200,000, allows a page of 500 batches with 20 fields each (10,002)
many times over, and the heaviest legitimate query of the suite, README and benchmarks:
500 batches with their maker, product, results and inputs with their makers
(``nodes { number vendor { name } product { name } results { value verdict } inputs {
number vendor { name } } }``, tests/schema/test_protection.py: 128,502). Next come
test_compliance.py's compliance gaps with their details, were they asked 500 at a time
(58,505; bench/compliance.py's page of 500: 21,505), test_oversight.py's control charts
(36,101) and any lineage at depth 20 with its lots' details (about 6,300). It refuses
a list nested in a list under a full page (500 x 50 x 50 items is 1,250,000 before a
single field is counted), such as the 7-deep ``NESTED`` query of
tests/schema/test_limits.py at ``first: 500`` (3,801,502), and three nested lists of
two fields or more under any page.

An operation within the limit is then paid from the asker's budget over a window
(``schema.budget``), and refused with HTTP 429 when the budget cannot pay it.

The check runs in ``on_execute``, after parsing and validation (both cached per
document) but before execution, because only there are the variables known: a
validation rule sees the document alone, and its verdict would be cached across
different variables.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from graphql import (
    ArgumentNode,
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLField,
    GraphQLIncludeDirective,
    GraphQLObjectType,
    GraphQLSchema,
    GraphQLSkipDirective,
    InlineFragmentNode,
    NamedTypeNode,
    OperationDefinitionNode,
    SelectionSetNode,
    VariableNode,
    Visitor,
    get_named_type,
    get_nullable_type,
    get_operation_ast,
    is_abstract_type,
    is_list_type,
    visit,
)
from graphql import ExecutionResult as GraphQLExecutionResult
from graphql.execution.values import (
    VariableValues,
    get_argument_values,
    get_directive_values,
    get_variable_values,
)
from strawberry.extensions import SchemaExtension

from graph.lineage import MAX_LINEAGE_DEPTH
from graph.quality.compliance import GapReason
from graph.quality.readiness import CHECKS as READINESS_CHECKS
from schema.budget import answer_too_many, budget_spent

QUERY_TOO_COSTLY = "QUERY_TOO_COSTLY"
DEFAULT_MAX_COST = 200_000
LIST_SIZE = 50  # items counted for a list of objects without paging: a default page
LOTS_PER_LEVEL = 25  # lots counted per level of a lineage walk
# Lists whose length the model bounds, by item type: a lot's compliance gaps are at most
# one per reason (and product; a lot is for one product but for a few).
# A readiness has one check per rule, a validation stage at most three.
DECLARED_LIST_SIZES = {"ComplianceGap": len(GapReason), "ReadinessCheck": len(READINESS_CHECKS)}
INTROSPECTION = frozenset({"__schema", "__type", "__typename"})


@dataclass(frozen=True, slots=True)
class CostModel:
    """The figures the cost is computed with (the limits' pages and depths)."""

    default_page_size: int = 50
    max_page_size: int = 500
    max_lineage_depth: int = 20
    list_size: int = LIST_SIZE
    lots_per_level: int = LOTS_PER_LEVEL
    impact_depth: int = MAX_LINEAGE_DEPTH

    def page(self, first: Any) -> int:
        if not isinstance(first, int):
            return self.default_page_size
        return first if 1 <= first <= self.max_page_size else self.max_page_size

    def lineage_items(self, max_depth: Any) -> int:
        depth = max_depth if isinstance(max_depth, int) else 10
        depth = min(max(depth, 0), self.max_lineage_depth)
        return self.lots_per_level * (depth + 1)


def too_costly(cost: int, limit: int) -> GraphQLError:
    return GraphQLError(
        f"query cost {cost:,} exceeds the limit {limit:,} (HUB_GRAPHQL_MAX_COST); "
        "ask for smaller pages or fewer nested lists",
        extensions={"code": QUERY_TOO_COSTLY, "cost": cost, "maxCost": limit},
    )


def operation_cost(
    schema: GraphQLSchema,
    document: DocumentNode,
    operation_name: str | None = None,
    variables: dict[str, Any] | None = None,
    model: CostModel | None = None,
) -> int | None:
    """The cost of the operation ``operation_name`` of ``document`` with ``variables``;
    None when execution would refuse it anyway before any resolver (no such operation,
    variables that do not fit their types)."""
    operation = get_operation_ast(document, operation_name)
    if operation is None:
        return None
    coerced = get_variable_values(schema, operation.variable_definitions or (), variables or {})
    if isinstance(coerced, list):
        return None
    return coerced_cost(schema, document, operation, coerced, model or CostModel())


def coerced_cost(
    schema: GraphQLSchema,
    document: DocumentNode,
    operation: OperationDefinitionNode,
    coerced: VariableValues,
    model: CostModel,
) -> int | None:
    """The cost of ``operation`` with variables already coerced to their types."""
    root = schema.get_root_type(operation.operation)
    if root is None:
        return None
    fragments = {
        definition.name.value: definition
        for definition in document.definitions
        if isinstance(definition, FragmentDefinitionNode)
    }
    counter = _Counter(schema, fragments, coerced, model)
    return counter.selection_cost(root, (operation.selection_set,), None)


# The arguments whose values the count reads (``_Counter._items``, ``_Counter._included``).
PRICED_ARGUMENTS = frozenset({"first", "maxDepth", "representations", "if"})
MEMO_SIZE = 256  # costs kept per operation
_MISSING = object()


class CostMemo:
    """The costs of one operation already counted, each under what can change it.

    The count reads variables in two ways only: the values of priced arguments (a page
    size, a lineage depth, the representations, ``@skip``/``@include``), and, through
    ``get_argument_values``, whether a variable for any other argument is missing or
    null (an argument execution would refuse counts 1). So two requests whose priced
    variables have equal values, and whose other variables are missing, null or given
    alike, cost the same, and the second is not counted again: a document asked with
    another lot's id each time is counted once per page size. Values that cannot be a
    key (a list of representations) are counted every time.
    """

    def __init__(self, document: DocumentNode, operation: OperationDefinitionNode) -> None:
        self.document = document
        self.operation = operation
        priced = _priced_variables(document)
        declared = [
            definition.variable.name.value for definition in operation.variable_definitions or ()
        ]
        self.priced = tuple(name for name in declared if name in priced)
        self.others = tuple(name for name in declared if name not in priced)
        self.known: dict[tuple[Any, ...], int | None] = {}

    def cost(self, schema: GraphQLSchema, coerced: VariableValues, model: CostModel) -> int | None:
        """The cost of the operation with ``coerced`` variables (``model`` never
        changes for one memo: it is the schema's)."""
        values = coerced.coerced
        key = (
            *(values.get(name, _MISSING) for name in self.priced),
            *(_given(values, name) for name in self.others),
        )
        try:
            return self.known[key]
        except KeyError:
            pass
        except TypeError:  # an unhashable value: counted, not kept
            return coerced_cost(schema, self.document, self.operation, coerced, model)
        if len(self.known) >= MEMO_SIZE:
            self.known.clear()
        cost = self.known[key] = coerced_cost(schema, self.document, self.operation, coerced, model)
        return cost


def _given(values: dict[str, Any], name: str) -> int:
    """0 when the variable is missing, 1 when it is null, 2 when it has a value."""
    if name not in values:
        return 0
    return 1 if values[name] is None else 2


def _priced_variables(document: DocumentNode) -> frozenset[str]:
    """The variables used anywhere inside a priced argument of ``document``."""
    finder = _PricedVariables()
    visit(document, finder)
    return frozenset(finder.names)


class _PricedVariables(Visitor):
    def __init__(self) -> None:
        super().__init__()
        self.names: set[str] = set()
        self.inside = 0  # priced arguments entered and not yet left

    def enter_argument(self, node: ArgumentNode, *_: Any) -> None:
        self.inside += node.name.value in PRICED_ARGUMENTS

    def leave_argument(self, node: ArgumentNode, *_: Any) -> None:
        self.inside -= node.name.value in PRICED_ARGUMENTS

    def enter_variable(self, node: VariableNode, *_: Any) -> None:
        if self.inside:
            self.names.add(node.name.value)


class _Counter:
    def __init__(
        self,
        schema: GraphQLSchema,
        fragments: dict[str, FragmentDefinitionNode],
        variables: VariableValues,
        model: CostModel,
    ) -> None:
        self.schema = schema
        self.fragments = fragments
        self.variables = variables
        self.model = model
        # A fragment spread in many places is counted once per type and page, so the
        # count takes time in proportion to the document, never to its expansion.
        self.known: dict[tuple[str, tuple[int, ...], int | None], int] = {}

    def selection_cost(
        self, parent: Any, selection_sets: tuple[SelectionSetNode, ...], items: int | None
    ) -> int:
        """The cost of ``selection_sets`` on ``parent``; ``items``: how many items the
        lists directly under it hold (a connection's page, a lineage's lots)."""
        key = (parent.name, tuple(map(id, selection_sets)), items)
        if key not in self.known:
            if is_abstract_type(parent):
                possible = self.schema.get_possible_types(parent)
                self.known[key] = max(
                    (self._object_cost(kind, selection_sets, items) for kind in possible),
                    default=0,
                )
            else:
                self.known[key] = self._object_cost(parent, selection_sets, items)
        return self.known[key]

    def _object_cost(
        self,
        parent: GraphQLObjectType,
        selection_sets: tuple[SelectionSetNode, ...],
        items: int | None,
    ) -> int:
        fields: dict[str, list[FieldNode]] = {}
        for node in self._fields(parent, selection_sets, set()):
            fields.setdefault(node.alias.value if node.alias else node.name.value, []).append(node)
        return sum(self._field_cost(parent, nodes, items) for nodes in fields.values())

    def _field_cost(
        self, parent: GraphQLObjectType, nodes: list[FieldNode], items: int | None
    ) -> int:
        name = nodes[0].name.value
        definition = parent.fields.get(name)
        sub_selections = tuple(node.selection_set for node in nodes if node.selection_set)
        if name in INTROSPECTION or definition is None or not sub_selections:
            return 1
        try:
            arguments = get_argument_values(definition, nodes[0], self.variables)
        except GraphQLError:
            return 1  # not resolved: execution refuses the arguments
        multiplier, below = self._items(parent, name, definition, arguments, items)
        if multiplier <= 0:
            return 1
        return 1 + multiplier * self.selection_cost(
            get_named_type(definition.type), sub_selections, below
        )

    def _items(
        self,
        parent: GraphQLObjectType,
        name: str,
        definition: GraphQLField,
        arguments: dict[str, Any],
        items: int | None,
    ) -> tuple[int, int | None]:
        """How many times the field's sub-selection counts, and how many items the
        lists right under it hold."""
        model = self.model
        if "first" in definition.args:  # a listing: its page is counted on edges and nodes
            return 1, model.page(arguments.get("first"))
        if parent is self.schema.query_type and name == "lineage":
            return 1, model.lineage_items(arguments.get("maxDepth"))
        if parent is self.schema.query_type and name == "impact":
            return 1, model.lineage_items(model.impact_depth)
        if parent is self.schema.query_type and name == "_entities":
            representations = arguments.get("representations")
            return (len(representations) if isinstance(representations, list) else 1), None
        if is_list_type(get_nullable_type(definition.type)):
            item = get_named_type(definition.type).name
            return items or DECLARED_LIST_SIZES.get(item, model.list_size), None
        return 1, None

    def _fields(
        self,
        parent: GraphQLObjectType,
        selection_sets: Sequence[SelectionSetNode],
        spread: set[str],
    ) -> Iterator[FieldNode]:
        """The fields selected on ``parent``, fragments expanded where they apply."""
        for selection_set in selection_sets:
            for selection in selection_set.selections:
                if not self._included(selection):
                    continue
                if isinstance(selection, FieldNode):
                    yield selection
                elif isinstance(selection, InlineFragmentNode):
                    if self._applies(selection.type_condition, parent):
                        yield from self._fields(parent, (selection.selection_set,), spread)
                elif isinstance(selection, FragmentSpreadNode):
                    name = selection.name.value
                    fragment = self.fragments.get(name)
                    if name in spread or fragment is None:
                        continue
                    spread.add(name)
                    if self._applies(fragment.type_condition, parent):
                        yield from self._fields(parent, (fragment.selection_set,), spread)

    def _included(self, node: Any) -> bool:
        try:
            skip = get_directive_values(GraphQLSkipDirective, node, self.variables)
            include = get_directive_values(GraphQLIncludeDirective, node, self.variables)
        except GraphQLError:
            return True
        if skip is not None and skip.get("if") is True:
            return False
        return not (include is not None and include.get("if") is False)

    def _applies(self, condition: NamedTypeNode | None, parent: GraphQLObjectType) -> bool:
        if condition is None:
            return True
        kind = self.schema.get_type(condition.name.value)
        if kind is parent:
            return True
        return kind is not None and is_abstract_type(kind) and self.schema.is_sub_type(kind, parent)


class QueryCostLimiter(SchemaExtension):
    """Refuses an operation costing more than ``max_cost`` before it executes."""

    def __init__(self, *, max_cost: int, model: CostModel) -> None:
        self.max_cost = max_cost
        self.model = model

    def on_execute(self) -> Iterator[None]:
        context = self.execution_context
        if context.graphql_document is not None and context.result is None:
            cost = operation_cost(
                context.schema._schema,
                context.graphql_document,
                context.operation_name,
                context.variables,
                self.model,
            )
            if cost is not None and cost > self.max_cost:
                # A result set here is answered instead of executing the operation.
                context.result = GraphQLExecutionResult(
                    data=None, errors=[too_costly(cost, self.max_cost)]
                )
            elif cost is not None:
                self._spend(cost)
        yield

    def _spend(self, cost: int) -> None:
        """Pay ``cost`` from the asker's budget (``schema.budget``), or refuse the operation."""
        asker = self.execution_context.context
        spend = getattr(asker, "spend_cost", None)
        refused = spend(cost) if spend is not None else None
        if refused is not None:
            self.execution_context.result = GraphQLExecutionResult(
                data=None, errors=[budget_spent(cost, refused)]
            )
            answer_too_many(getattr(asker, "response", None), refused)


__all__ = [
    "DEFAULT_MAX_COST",
    "QUERY_TOO_COSTLY",
    "CostModel",
    "QueryCostLimiter",
    "operation_cost",
]
