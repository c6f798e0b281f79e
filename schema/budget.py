"""A client's cost budget: what its queries may cost together over a window.

``schema.cost`` prices each operation and refuses one over ``HUB_GRAPHQL_MAX_COST``.
A client sending many affordable queries is limited by its budget instead: the hub
gives each request's context a ``spend_cost`` (``hub.limits``: per client or token
subject, a bigger one for operator tokens), the cost limiter hands it each accepted
operation's cost before execution, and when what is left cannot pay the cost the
operation is refused whole, nothing read: HTTP 429 with ``Retry-After`` and a
``COST_BUDGET_SPENT`` error whose ``extensions`` carry the query's ``cost``, the
``budget`` and its ``windowSeconds``, what is ``remaining`` and when it is whole again
(``refillsAt``, ``retryAfter``). A refused query spends nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from graphql import GraphQLError
from starlette.responses import Response

from auth.rate_limits import Refused

COST_BUDGET_SPENT = "COST_BUDGET_SPENT"

# Spends ``cost`` of the asker's budget, or says why it cannot (nothing spent then).
SpendCost = Callable[[int], Refused | None]


def budget_spent(cost: int, refused: Refused) -> GraphQLError:
    budget = refused.rate
    refills_at = datetime.fromtimestamp(refused.reset_at, UTC).isoformat(timespec="seconds")
    if cost > budget.amount:
        advice = "this query costs more than the whole budget: ask for smaller pages"
    else:
        advice = f"the budget is whole again in {refused.retry_after} s ({refills_at})"
    return GraphQLError(
        f"query cost {cost:,} is more than what is left of this client's budget "
        f"({refused.remaining:,} of {budget.amount:,} per {budget.seconds:,} s, "
        f"{_setting(refused.limit)}); {advice}",
        extensions={
            "code": COST_BUDGET_SPENT,
            "cost": cost,
            "budget": budget.amount,
            "windowSeconds": budget.seconds,
            "remaining": refused.remaining,
            "refillsAt": refills_at,
            "retryAfter": refused.retry_after,
        },
    )


def answer_too_many(response: Any, refused: Refused) -> None:
    """Make the HTTP answer a 429 with Retry-After (a socket has no status to set)."""
    if isinstance(response, Response):
        response.status_code = 429
        response.headers["Retry-After"] = str(refused.retry_after)


def already_paid(spend: SpendCost | None, paid: int) -> SpendCost | None:
    """``spend`` for a request whose cost ``paid`` an earlier attempt at it already
    paid (an answer from its plan that failed, ``schema.compiled.direct``): that cost,
    asked again for the same operation, is not charged twice."""
    if spend is None:
        return None
    owed = [paid]

    def spend_the_rest(cost: int) -> Refused | None:
        if owed and cost == owed[0]:
            owed.clear()
            return None
        return spend(cost)

    return spend_the_rest


def _setting(limit: str) -> str:
    return "HUB_LIMIT_GRAPHQL_OPERATOR_COST" if "operator" in limit else "HUB_LIMIT_GRAPHQL_COST"
