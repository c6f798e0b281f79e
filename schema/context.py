"""What every resolver receives: the store, who is asking, loaders and limits.

The HTTP layer builds one ``RequestContext`` per request. Resolvers read only from
it, so authentication changes how the principal is found, never the resolvers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from strawberry.types import Info

from auth.principal import Principal
from graph.directory import Directory
from graph.quality.readiness import AuditTrail
from graph.store import GraphStore
from graph.visibility import Visibility
from schema.budget import SpendCost
from schema.cost import DEFAULT_MAX_COST
from schema.loaders import Loaders


@dataclass(frozen=True, slots=True)
class Limits:
    """What one query may ask for; beyond these it gets a clear GraphQL error."""

    max_query_depth: int = 12
    max_aliases: int = 30
    max_tokens: int = 5_000
    max_page_size: int = 500
    default_page_size: int = 50
    max_lineage_depth: int = 20
    max_cost: int = DEFAULT_MAX_COST  # what a query costs: schema.cost
    timeout_seconds: float = 30.0  # execution of one operation is stopped after it


@dataclass
class RequestContext:
    store: GraphStore
    principal: Principal
    request_id: str
    limits: Limits = field(default_factory=Limits)
    visibility: Visibility = field(init=False)  # what the principal may read, in every query
    # The HTTP request and response, for integrations that want them (strawberry sets them).
    request: Any = None
    response: Any = None
    # The hub's audit trail verdict for an organization's deliveries (the hub supplies
    # it: schema/ never reads the hub's records itself); None where there is none.
    audit_trail: AuditTrail | None = None
    # Pays each operation's cost from the asker's budget (``schema.budget``); None: no budget.
    spend_cost: SpendCost | None = None
    # How much of the partner directory a partner lists (the hub's HUB_DIRECTORY).
    directory: Directory = Directory.RELATED

    def __post_init__(self) -> None:
        self.visibility = Visibility.of(self.principal, self.directory)

    @cached_property
    def loaders(self) -> Loaders:
        """The request's loaders, made when a resolver first needs them: a request
        answered from a plan (``schema.compiled``) reads through none."""
        return Loaders(self.store, self.visibility)


def context_of(info: Info[RequestContext, Any]) -> RequestContext:
    return info.context
