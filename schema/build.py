"""The PartnerHub schema: an Apollo Federation 2 subgraph with its protective limits.

Before execution: the document's depth, aliases and tokens (strawberry's limiters),
then its cost with the variables sent (``schema.cost``, ``HUB_GRAPHQL_MAX_COST``).
During execution: a time limit (``HUB_GRAPHQL_TIMEOUT_SECONDS``); an operation still
running after it is cancelled and answered with a ``QUERY_TIMED_OUT`` error.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from functools import partial
from typing import Any

import strawberry
from graphql import ExecutionResult as GraphQLExecutionResult
from graphql import GraphQLError
from strawberry.extensions import (
    AddValidationRules,
    MaxAliasesLimiter,
    MaxTokensLimiter,
    ParserCache,
    QueryDepthLimiter,
    ValidationCache,
)
from strawberry.federation.schema import FederationAny
from strawberry.schema.schema import DEFAULT_ALLOWED_OPERATION_TYPES
from strawberry.types import ExecutionContext, ExecutionResult, Info
from strawberry.types.graphql import OperationType
from strawberry.utils.await_maybe import await_maybe

from schema.compiled.direct import DirectAnswers
from schema.compiled.plan import Plans
from schema.compiled.run import coerced_variables, run
from schema.context import Limits, RequestContext
from schema.cost import CostModel, QueryCostLimiter
from schema.errors import MaskInternalErrors, bad_input, timed_out, with_code
from schema.nodes import KIND_OF
from schema.persisted import PersistedDocuments, PersistedQueries
from schema.query import Query
from schema.subscriptions import FreshLoadersOverSockets, Subscription
from schema.tracing import OperationSpan

log = logging.getLogger("partnerhub.graphql")
ENTITY_NAMES = frozenset({"Batch", "Product", "Organization", "QualityAgreement"})
PARSED_DOCUMENTS = 512  # distinct documents whose parse and validation are kept


class PartnerHubSchema(strawberry.federation.Schema):
    limits: Limits = Limits()
    # Plans of the documents answered by tree reads (schema.compiled); None: all by graphql-core.
    plans: Plans | None = None
    # Answers from those plans without the per-request pipeline, for the HTTP view
    # (schema.compiled.direct); None when not compiled, or traced (the span is an extension).
    direct: DirectAnswers | None = None

    async def execute(
        self,
        query: str | None,
        variable_values: dict[str, Any] | None = None,
        context_value: Any | None = None,
        root_value: Any | None = None,
        operation_name: str | None = None,
        allowed_operation_types: Iterable[OperationType] | None = None,
        operation_extensions: dict[str, Any] | None = None,
    ) -> ExecutionResult:
        """One answer, so never a subscription: those stream, over a websocket only
        (``schema.subscriptions``); over HTTP one is refused with 400."""
        allowed = set(allowed_operation_types or DEFAULT_ALLOWED_OPERATION_TYPES)
        return await super().execute(
            query,
            variable_values,
            context_value,
            root_value,
            operation_name,
            allowed - {OperationType.SUBSCRIPTION},
            operation_extensions,
        )

    async def _execute_operation(
        self,
        execution_context: ExecutionContext,
        extensions_runner: Any,
        middleware_manager: Any,
        execute_function: Any,
        custom_context_kwargs: Any,
    ) -> Any:
        """Execution of one query, over HTTP or a websocket (both come through here),
        cancelled once it has run ``limits.timeout_seconds``. What it awaits is
        cancelled with it (loaders cancel a store read nobody waits for any more)."""
        seconds = self.limits.timeout_seconds
        execute_function = self._compiled_first(execution_context, execute_function)
        try:
            async with asyncio.timeout(seconds) as deadline:
                return await super()._execute_operation(
                    execution_context,
                    extensions_runner,
                    middleware_manager,
                    execute_function,
                    custom_context_kwargs,
                )
        except TimeoutError:
            if not deadline.expired():
                raise
        request_id = getattr(execution_context.context, "request_id", "unknown")
        log.warning("stopped a query after %g s (request %s)", seconds, request_id)
        result = GraphQLExecutionResult(data=None, errors=[timed_out(seconds)])
        execution_context.result = result
        return result

    def _compiled_first(self, execution_context: ExecutionContext, execute: Any) -> Any:
        """``execute`` (graphql-core's), or a compiled run of the same operation when it
        compiles (``schema.compiled``), falling back to ``execute`` on anything it does
        not answer itself. It runs where graphql-core would: after parsing, validation
        and the cost checks, inside the time limit and the extensions' execution hooks."""
        context = execution_context.context
        query, document = execution_context.query, execution_context.graphql_document
        if self.plans is None or query is None or document is None:
            return execute
        if not isinstance(context, RequestContext):
            return execute
        plan = self.plans.plan_for(query, document, execution_context.operation_name)
        if plan is None:
            return execute
        converter = (self.schema_converter.scalar_registry, self.config)

        async def compiled(*args: Any, **kwargs: Any) -> Any:
            assert plan is not None and isinstance(context, RequestContext)
            try:
                coerced = coerced_variables(plan, self._schema, execution_context.variables)
                data = await run(plan, converter, context, coerced)
            except Exception:
                # NotCompiled, or a store failing: graphql-core's answer, errors located
                # and masked as always (MaskInternalErrors), the failure logged once.
                return await await_maybe(execute(*args, **kwargs))
            return GraphQLExecutionResult(data=data, errors=None)

        return compiled

    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        """Client mistakes are logged at debug level only: a scanner must not flood the
        log. Our own faults are logged whole by MaskInternalErrors, with the request id."""
        for error in errors:
            with_code(error)  # parse and validation errors reach the client by this path only
            log.debug("GraphQL error for the client: %s", error.message)

    def entities_resolver(
        self, info: Info, representations: list[FederationAny]
    ) -> list[FederationAny]:
        """Check each representation before strawberry resolves it: a malformed one is an
        error for that item alone, never a failure of the whole field."""
        checked: list[FederationAny] = []
        positions: list[int] = []
        results: list[Any] = []
        for index, representation in enumerate(representations):
            problem = _representation_problem(representation)
            if problem:
                results.append(bad_input(f"representations[{index}]: {problem}"))
            else:
                results.append(None)
                checked.append(FederationAny(dict(representation)))  # type: ignore[call-overload]
                positions.append(index)
        for index, result in zip(positions, super().entities_resolver(info, checked), strict=True):
            results[index] = result
        return results


def _representation_problem(representation: Any) -> str | None:
    if not isinstance(representation, dict):
        return "expected an object with __typename and id"
    typename = representation.get("__typename")
    if typename not in ENTITY_NAMES:
        return f"__typename must be one of {', '.join(sorted(ENTITY_NAMES))}, got {typename!r}"
    if not isinstance(representation.get("id"), str):
        return "id must be a string (the entity's @key)"
    if set(representation) - {"__typename", "id"}:
        return "only __typename and id are part of the key"
    return None


def build_schema(
    limits: Limits | None = None, *, traced: bool = False, compiled: bool = True
) -> PartnerHubSchema:
    """The schema; ``traced`` adds one OpenTelemetry span per operation (``schema.tracing``);
    ``compiled`` answers plain reads by tree reads (``schema.compiled``), else graphql-core
    answers every request."""
    limits = limits or Limits()
    cost_model = CostModel(
        default_page_size=limits.default_page_size,
        max_page_size=limits.max_page_size,
        max_lineage_depth=limits.max_lineage_depth,
    )
    # The limiters' validation rules are made once: the validation cache keys on the
    # rule classes, and a limiter made per request makes new ones (the cache never hit,
    # and every request validated its document again).
    limiting_rules = [
        *QueryDepthLimiter(max_depth=limits.max_query_depth).validation_rules,
        *MaxAliasesLimiter(max_alias_count=limits.max_aliases).validation_rules,
    ]
    schema = PartnerHubSchema(
        query=Query,
        subscription=Subscription,
        types=list(KIND_OF),
        extensions=[
            # Outermost, so the span covers everything the operation costs.
            *([OperationSpan] if traced else []),
            # A persisted query's hash becomes its document before anything reads it.
            partial(PersistedQueries, PersistedDocuments()),
            partial(AddValidationRules, limiting_rules),
            partial(MaxTokensLimiter, max_token_count=limits.max_tokens),
            # After validation, with the variables: refused before any resolver runs.
            partial(QueryCostLimiter, max_cost=limits.max_cost, model=cost_model),
            # Clients repeat the same few documents: parse and validate each once.
            partial(ParserCache, maxsize=PARSED_DOCUMENTS),
            partial(ValidationCache, maxsize=PARSED_DOCUMENTS),
            MaskInternalErrors,
            FreshLoadersOverSockets,
        ],
    )
    schema.limits = limits
    if compiled:
        schema.plans = Plans(schema._schema, size=PARSED_DOCUMENTS)
        converter = (schema.schema_converter.scalar_registry, schema.config)
        if not traced:
            schema.direct = DirectAnswers(
                schema.plans, schema._schema, converter, limits, cost_model
            )
    return schema
