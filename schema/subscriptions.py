"""The root Subscription: real-time alerts, over a websocket (graphql-transport-ws).

A websocket's context is a ``SocketContext``: who is asking becomes known only when the
client's ``connection_init`` is accepted (the hub's ``on_ws_connect`` verifies the
token, ``hub.app``), and until then it holds no scopes and no visibility, so nothing
can be read through it; the protocol itself refuses an operation sent before that
(close code 4401). ``alerts`` is served only there: over HTTP it is a BAD_USER_INPUT
error saying where to subscribe.

Alerts are detected and scoped in ``graph.quality.alerts`` and delivered by ``schema.alert_bus``: a
subscriber hears only about what its principal may read.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

import strawberry
from graphql import GraphQLError
from strawberry.extensions import SchemaExtension
from strawberry.types import Info

from auth.principal import Principal, Scope
from graph.quality.alerts import AlertKind
from graph.quality.compliance import GapReason
from graph.quality.cpv import NelsonRule

# GapReason and NelsonRule become GraphQL enums (with their descriptions) where the
# fields that own them are defined: those modules first, whoever imports this one.
from schema import compliance, oversight  # noqa: F401
from schema.alert_bus import AlertBus, Notice
from schema.context import RequestContext, context_of
from schema.errors import bad_input
from schema.loaders import Loaders

strawberry.enum(
    AlertKind,
    description="What an alert is about: OUT_OF_SPECIFICATION (a result with verdict OOS or "
    "FAIL, or a value outside its specification), RUN_RULE (a new point breaks a Nelson run "
    "rule on its control chart), DEVIATION (a deviation first reported), COMPLIANCE_GAP (a "
    "lot made without an agreement in force or a qualified vendor, or after an unapproved "
    "change); the partnership lifecycle's, judged on the day of detection: "
    "MILESTONE_OVERDUE (a tech transfer milestone past its planned day and not done), "
    "UNAPPROVED_CHANGE (a change implemented without the approval the sponsor's agreement "
    "asks for), INSPECTION_OUTCOME (an agency inspection of a vendor site ending OAI or "
    "non-compliant: for the vendor and its sponsors), CAPA_OVERDUE (an audit finding's "
    "CAPA past its due day and not closed).",
)

# Until connection_init is accepted: no organization's reader, no scope.
NOT_YET_AUTHENTICATED = Principal(org_id="not-yet-authenticated", org_kind=None, scopes=frozenset())


@dataclass
class SocketContext(RequestContext):
    """A websocket's context. Strawberry makes it before the client has sent its token,
    so the visibility and loaders are set by ``authenticate`` only."""

    alerts: AlertBus | None = None
    connection_params: dict[str, Any] | None = None  # connection_init's payload
    expires_at: float | None = None  # the token's expiry (epoch seconds)
    authenticated: bool = False

    def __post_init__(self) -> None:
        pass  # nothing may be read until ``authenticate``

    def authenticate(self, principal: Principal, expires_at: float) -> None:
        self.principal, self.expires_at, self.authenticated = principal, expires_at, True
        RequestContext.__post_init__(self)
        self.loaders = Loaders(self.store, self.visibility)  # for this principal's visibility


class FreshLoadersOverSockets(SchemaExtension):
    """A websocket lives for hours; its loaders' caches would serve stale nodes and
    grow without end. Each operation over one starts with empty ones."""

    def on_operation(self) -> Iterator[None]:
        context = self.execution_context.context
        if isinstance(context, SocketContext) and context.authenticated:
            context.loaders = Loaders(context.store, context.visibility)
        yield


@strawberry.type(
    description="Something a partner should hear about at once, raised by an ingestion. A "
    "subscriber receives an alert only about a subject its organization may read, and the "
    "alert names only what it may read."
)
class Alert:
    alert_id: strawberry.ID = strawberry.field(
        description="The same for the same alert (its kind, subject and ingestion), here and "
        "in webhook and e-mail deliveries: deduplicate on it."
    )
    kind: AlertKind
    subject_id: strawberry.ID = strawberry.field(
        description="The result (OUT_OF_SPECIFICATION, RUN_RULE), deviation (DEVIATION) or "
        "lot (COMPLIANCE_GAP) the alert is about."
    )
    batch_ids: list[strawberry.ID] = strawberry.field(
        description="The lots concerned (the subscriber may read each)."
    )
    ingestion_id: strawberry.ID = strawberry.field(
        description="The ingestion whose records raised it (GET /ingestions/{id})."
    )
    message: str = strawberry.field(description="For people: what happened, with the figures.")
    raised_at: datetime
    rules: list[NelsonRule] = strawberry.field(
        description="RUN_RULE: the rules whose patterns include the point; empty otherwise."
    )
    gap_reasons: list[GapReason] = strawberry.field(
        description="COMPLIANCE_GAP: why the lot is not compliant; empty otherwise."
    )
    missed_before: int = strawberry.field(
        description="Alerts dropped for this subscription just before this one because it "
        "read too slowly (the hub keeps HUB_ALERTS_QUEUE_SIZE waiting at most); 0 normally."
    )

    @classmethod
    def of(cls, notice: Notice) -> Alert:
        alert = notice.alert
        return cls(
            alert_id=strawberry.ID(alert.id),
            kind=alert.kind,
            subject_id=strawberry.ID(alert.subject_id),
            batch_ids=[strawberry.ID(batch_id) for batch_id in alert.batch_ids],
            ingestion_id=strawberry.ID(alert.ingestion_id),
            message=alert.message,
            raised_at=alert.raised_at,
            rules=list(alert.rules),
            gap_reasons=list(alert.gap_reasons),
            missed_before=notice.missed,
        )


@strawberry.type
class Subscription:
    @strawberry.subscription(
        description="Alerts raised by ingestions from now on, about what your organization may "
        "read (the operator: everything). Over a websocket at /graphql speaking "
        "graphql-transport-ws, with the bearer token in connection_init's payload "
        '({"authorization": "Bearer ..."}) or the handshake\'s Authorization header; scope '
        "graph:read. Each alert once (deduplicate on alertId across reconnects), whichever "
        "hub process applied the ingestion."
    )
    async def alerts(
        self,
        info: Info,
        kinds: Annotated[
            list[AlertKind] | None,
            strawberry.argument(description="Only these kinds (default: every kind)."),
        ] = None,
    ) -> AsyncGenerator[Alert, None]:
        context = context_of(info)
        if not isinstance(context, SocketContext) or context.alerts is None:
            raise bad_input(
                "alerts: subscribe over a websocket at /graphql with the graphql-transport-ws "
                "protocol"
            )
        if not context.principal.has(Scope.GRAPH_READ):  # on_ws_connect refused it already
            raise GraphQLError(
                "alerts: needs the graph:read scope", extensions={"code": "FORBIDDEN"}
            )
        if kinds is not None and not kinds:
            raise bad_input("kinds: name at least one kind, or leave it out for every kind")
        async with context.alerts.subscribe(context.visibility, kinds) as subscriber:
            async for notice in subscriber:
                yield Alert.of(notice)
