"""A request answered by its plan alone, without strawberry's per-request pipeline.

The usual way (``PartnerHubSchema._compiled_first``) runs a plan where graphql-core
would run, inside strawberry's operation: the extensions are made for every request
and each of their hooks awaited (persisted queries, the parse and validation caches,
the limiters, the cost, error masking), which cost more CPU than the compiled read
itself. A document whose plan exists has been through all of that once: parsed,
validated and within the depth, alias and token limits (plans are only made after
those, and their verdicts hold for the same text whatever the variables). What still
depends on each request is done here as the extensions do it: the cost with these
variables (``schema.cost``; counted once per plan and values that can change it,
``CostMemo``), paid from the asker's budget, then the run under the time limit.

A budget that cannot pay is answered here as the cost limiter answers it (HTTP 429, a
``COST_BUDGET_SPENT`` error), so the refusal is counted once. Everything else is left
to the usual way: no plan yet (it makes one), a cost over ``HUB_GRAPHQL_MAX_COST`` (it
refuses it with its error), and any failure of the run (a bad argument, a store error:
graphql-core answers, errors located and masked as always). After a failure the cost
is already paid, and ``Declined.paid`` says so, so that the usual way does not charge
it twice.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any

from graphql import ExecutionResult, GraphQLSchema

from schema.budget import answer_too_many, budget_spent
from schema.compiled.plan import Plans
from schema.compiled.run import coerced_variables, run
from schema.context import Limits, RequestContext
from schema.cost import CostModel
from schema.errors import timed_out

log = logging.getLogger("partnerhub.graphql")


@dataclass(frozen=True, slots=True)
class Asked:
    """One operation as an HTTP request sent it."""

    query: str
    variables: dict[str, Any] | None
    operation_name: str | None


@dataclass(frozen=True, slots=True)
class Declined:
    """Not answered here; ``paid``: the cost already paid from the asker's budget."""

    paid: int | None = None


@dataclass(frozen=True, slots=True)
class DirectAnswers:
    """What answering from a plan needs of the schema (``schema.build`` makes it)."""

    plans: Plans
    schema: GraphQLSchema
    converter: tuple[Any, Any]  # strawberry's scalar registry and config, for arguments
    limits: Limits
    cost_model: CostModel

    async def answer(self, asked: Asked, context: RequestContext) -> ExecutionResult | Declined:
        """The answer to ``asked`` from its plan, or ``Declined`` for the usual way."""
        plan = self.plans.known(asked.query, asked.operation_name)
        if plan is None:
            return Declined()
        try:
            coerced = coerced_variables(plan, self.schema, asked.variables)
            cost = plan.costs.cost(self.schema, coerced, self.cost_model)
        except Exception:  # NotCompiled or a count failing: the usual way reports it, located
            return Declined()
        if cost is None or cost > self.limits.max_cost:
            return Declined()
        refused = context.spend_cost(cost) if context.spend_cost is not None else None
        if refused is not None:  # nothing was spent: answered as the cost limiter does
            answer_too_many(context.response, refused)
            return ExecutionResult(data=None, errors=[budget_spent(cost, refused)])
        seconds = self.limits.timeout_seconds
        try:
            async with asyncio.timeout(seconds) as deadline:
                data = await run(plan, self.converter, context, coerced)
        except TimeoutError:
            if not deadline.expired():
                return Declined(paid=cost)
            log.warning("stopped a query after %g s (request %s)", seconds, context.request_id)
            return ExecutionResult(data=None, errors=[timed_out(seconds)])
        except Exception:  # NotCompiled or a store failing: the usual way answers
            return Declined(paid=cost)
        return ExecutionResult(data=data, errors=None)
