"""The PartnerHub schema: an Apollo Federation 2 subgraph with its protective limits."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from functools import partial
from typing import Any

import strawberry
from graphql import GraphQLError
from strawberry.extensions import (
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

from schema.context import Limits
from schema.errors import MaskInternalErrors, bad_input, with_code
from schema.nodes import KIND_OF
from schema.query import Query
from schema.subscriptions import FreshLoadersOverSockets, Subscription

log = logging.getLogger("partnerhub.graphql")
ENTITY_NAMES = frozenset({"Batch", "Product", "Organization", "QualityAgreement"})


class PartnerHubSchema(strawberry.federation.Schema):
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


def build_schema(limits: Limits | None = None) -> PartnerHubSchema:
    limits = limits or Limits()
    return PartnerHubSchema(
        query=Query,
        subscription=Subscription,
        types=list(KIND_OF),
        extensions=[
            partial(QueryDepthLimiter, max_depth=limits.max_query_depth),
            partial(MaxAliasesLimiter, max_alias_count=limits.max_aliases),
            partial(MaxTokensLimiter, max_token_count=limits.max_tokens),
            # Clients repeat the same few documents: parse and validate each once.
            partial(ParserCache, maxsize=512),
            partial(ValidationCache, maxsize=512),
            MaskInternalErrors,
            FreshLoadersOverSockets,
        ],
    )
