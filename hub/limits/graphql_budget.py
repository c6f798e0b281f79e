"""Each client's GraphQL cost budget: cost units per window, spent by every query.

The budget belongs to whoever the token speaks for: its issuer and subject (a
partner's system: its client id; a person: the user), so two people signed in through
the same console each have their own, and two clients of one organization too. Tokens
holding ``admin`` (the operator's) draw from a budget of their own size.
"""

from __future__ import annotations

from auth.middleware import PrincipalUser
from auth.principal import Scope
from auth.rate_limits import Ask, Rate, RateLimits, Refused
from schema.budget import SpendCost

GRAPHQL_COST = "graphql_cost"
GRAPHQL_OPERATOR_COST = "graphql_operator_cost"


class CostBudgets:
    def __init__(self, per_client: Rate | None, per_operator: Rate | None) -> None:
        self.limits = RateLimits({GRAPHQL_COST: per_client, GRAPHQL_OPERATOR_COST: per_operator})

    def for_user(self, user: object) -> SpendCost | None:
        """What pays this request's queries; None when it has no token (refused
        anyway) or its kind of budget is turned off."""
        if not isinstance(user, PrincipalUser):
            return None
        token = user.token
        operator = Scope.ADMIN in token.principal.scopes
        limit = GRAPHQL_OPERATOR_COST if operator else GRAPHQL_COST
        if not self.limits.enabled(limit):
            return None
        asker = token.subject or token.client_id or token.principal.org_id
        key = f"{token.issuer} {asker}"

        def spend(cost: int) -> Refused | None:
            return self.limits.spend(Ask(limit, key, cost))

        return spend
