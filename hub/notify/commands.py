"""The operator's commands for alerts beyond websockets: ``partnerhub webhooks ...`` and
``partnerhub alerts email ...``. A webhook's signing secret is printed once, when it
is added, and by no other command."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Annotated, TypeVar

import typer
from rich.console import Console
from rich.table import Table

from auth.principal import LOCAL_OPERATOR
from hub.records import alert_targets
from hub.records.alert_targets import AlertTarget, Channel, TargetError
from hub.records.audit import Actor
from hub.records.ledger import Ledger
from hub.records.outbox import Delivery, Outbox
from hub.settings import Settings

T = TypeVar("T")
console = Console()
webhooks_app = typer.Typer(
    help="Organizations' webhooks: alerts POSTed as signed JSON.", no_args_is_help=True
)
alerts_app = typer.Typer(
    help="Alerts for people and systems with no websocket.", no_args_is_help=True
)
email_app = typer.Typer(
    help="Alert e-mail through the SMTP relay (HUB_SMTP_*).", no_args_is_help=True
)
alerts_app.add_typer(email_app, name="email")

Kinds = Annotated[
    list[str] | None,
    typer.Option("--kind", help="An alert kind to send (repeat it); default: every kind."),
]
AsJson = Annotated[bool, typer.Option("--json", help="Print JSON (for scripts).")]


def _with_ledger(work: Callable[[Ledger], Awaitable[T]]) -> T:
    async def run() -> T:
        ledger = Ledger(Settings().database_url())
        try:
            await ledger.setup()
            return await work(ledger)
        finally:
            await ledger.close()

    return asyncio.run(run())


def _refused(error: TargetError) -> typer.Exit:
    console.print(f"[red]{error}[/red]")
    return typer.Exit(1)


def _described(target: AlertTarget) -> dict[str, object]:
    """A target for listings: everything but its secret."""
    return {
        "id": target.id,
        "channel": target.channel.value,
        "org": target.org,
        "address": target.address,
        "kinds": sorted(kind.value for kind in target.kinds),
        "created_at": target.created_at.isoformat(),
        "created_by": target.created_by,
    }


def _show_targets(found: list[AlertTarget], as_json: bool) -> None:
    rows = [_described(target) for target in found]
    if as_json:
        typer.echo(json.dumps(rows))
        return
    table = Table("id", "org", "address", "kinds", "added")
    for row in rows:
        kinds = row["kinds"]
        assert isinstance(kinds, list)
        every = len(kinds) == len(alert_targets.checked_kinds(None))
        table.add_row(
            str(row["id"]),
            str(row["org"]),
            str(row["address"]),
            "every kind" if every else ", ".join(kinds),
            str(row["created_at"])[:19],
        )
    console.print(table)


def _remove(target_id: str, channel: Channel) -> None:
    async def work(ledger: Ledger) -> bool:
        known = await alert_targets.by_ids(ledger.engine, [target_id])
        if target_id not in known or known[target_id].channel is not channel:
            return False
        return await alert_targets.remove(ledger.engine, target_id, Actor.of(LOCAL_OPERATOR))

    if not _with_ledger(work):
        console.print(f"[red]no {channel.value} {target_id!r}[/red]")
        raise typer.Exit(1)
    console.print(f"removed {target_id}")


@webhooks_app.command("add")
def webhooks_add(
    org: Annotated[str, typer.Option(help="The organization whose alerts it receives.")],
    url: Annotated[str, typer.Option(help="Where to POST them: https://...")],
    kind: Kinds = None,
    as_json: AsJson = False,
) -> None:
    """Register a webhook; its signing secret is printed this once."""
    settings = Settings()

    async def work(ledger: Ledger) -> AlertTarget:
        return await alert_targets.add_webhook(
            ledger.engine,
            org,
            url,
            kind,
            Actor.of(LOCAL_OPERATOR),
            allow_http=settings.webhooks_allow_http,
            key_ring=settings.key_ring(),  # sealed at rest when the hub has a KEK
        )

    try:
        target = _with_ledger(work)
    except TargetError as error:
        raise _refused(error) from None
    if as_json:
        typer.echo(json.dumps({**_described(target), "secret": target.secret}))
        return
    console.print(f"webhook id: {target.id}\nsecret:     {target.secret}")
    console.print(
        "[yellow]The secret is shown this once: give it to the receiver, which checks "
        "X-PartnerHub-Signature with it.[/yellow]"
    )


@webhooks_app.command("list")
def webhooks_list(
    org: Annotated[str | None, typer.Option(help="One organization's; default: all.")] = None,
    as_json: AsJson = False,
) -> None:
    """The registered webhooks (never their secrets)."""
    found = _with_ledger(
        lambda ledger: alert_targets.targets(ledger.engine, org=org, channel=Channel.WEBHOOK)
    )
    _show_targets(found, as_json)


@webhooks_app.command("remove")
def webhooks_remove(webhook_id: Annotated[str, typer.Argument(help="e.g. wh_0123abcd...")]) -> None:
    """Remove a webhook; deliveries still waiting for it fail."""
    _remove(webhook_id, Channel.WEBHOOK)


@webhooks_app.command("deliveries")
def webhooks_deliveries(
    webhook: Annotated[
        str | None, typer.Option(help="One webhook's (or address's) deliveries.")
    ] = None,
    limit: Annotated[int, typer.Option(min=1, help="At most this many, newest first.")] = 50,
    as_json: AsJson = False,
) -> None:
    """The delivery log of webhooks and e-mail: status, attempts, last answer."""
    found = _with_ledger(lambda ledger: Outbox(ledger.engine).log(target_id=webhook, limit=limit))
    if as_json:
        for delivery in found:
            typer.echo(json.dumps(_delivery_row(delivery)))
        return
    table = Table("delivery", "target", "alert", "status", "attempts", "last", "next attempt")
    for delivery in found:
        row = _delivery_row(delivery)
        last = " ".join(str(row[key]) for key in ("last_status", "last_error") if row[key])
        table.add_row(
            delivery.id,
            delivery.target_id,
            delivery.alert_id,
            delivery.status.value,
            str(delivery.attempts),
            last,
            str(row["next_attempt_at"] or "")[:19],
        )
    console.print(table)


def _delivery_row(delivery: Delivery) -> dict[str, object]:
    return {
        "id": delivery.id,
        "target_id": delivery.target_id,
        "channel": delivery.channel,
        "alert_id": delivery.alert_id,
        "status": delivery.status.value,
        "attempts": delivery.attempts,
        "last_status": delivery.last_status,
        "last_error": delivery.last_error,
        "created_at": delivery.created_at.isoformat(),
        "next_attempt_at": None
        if delivery.next_attempt_at is None
        else delivery.next_attempt_at.isoformat(),
        "finished_at": None if delivery.finished_at is None else delivery.finished_at.isoformat(),
    }


@email_app.command("add")
def email_add(
    org: Annotated[str, typer.Option(help="The organization whose alerts it receives.")],
    to: Annotated[str, typer.Option(help="The address, e.g. qa@birch.example.")],
    kind: Kinds = None,
    as_json: AsJson = False,
) -> None:
    """Send an organization's alerts to an address, through the SMTP relay."""

    async def work(ledger: Ledger) -> AlertTarget:
        return await alert_targets.add_email(ledger.engine, org, to, kind, Actor.of(LOCAL_OPERATOR))

    try:
        target = _with_ledger(work)
    except TargetError as error:
        raise _refused(error) from None
    if as_json:
        typer.echo(json.dumps(_described(target)))
        return
    console.print(f"e-mail target id: {target.id}")
    if Settings().smtp_relay() is None:
        console.print(
            "[yellow]No SMTP relay is configured (HUB_SMTP_HOST, HUB_SMTP_FROM): "
            "alerts wait in the outbox until one is.[/yellow]"
        )


@email_app.command("list")
def email_list(
    org: Annotated[str | None, typer.Option(help="One organization's; default: all.")] = None,
    as_json: AsJson = False,
) -> None:
    """The registered alert addresses."""
    found = _with_ledger(
        lambda ledger: alert_targets.targets(ledger.engine, org=org, channel=Channel.EMAIL)
    )
    _show_targets(found, as_json)


@email_app.command("remove")
def email_remove(target_id: Annotated[str, typer.Argument(help="e.g. em_0123abcd...")]) -> None:
    """Stop sending alerts to an address."""
    _remove(target_id, Channel.EMAIL)
