"""The operator's commands for people who sign in: ``partnerhub users add | list |
disable``. A password is typed at a hidden prompt (twice) or read from standard input
(``--password-stdin``, for scripts); it is never echoed, printed, logged or kept in
clear (``auth.passwords``)."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Awaitable, Callable
from typing import Annotated, TypeVar

import typer
from rich.console import Console
from rich.table import Table

from auth.service import AuthService
from auth.users import HubUser, UserExists
from hub.records.audit import auth_changes
from hub.records.database import migrate
from hub.settings import Settings

T = TypeVar("T")
console = Console()
users_app = typer.Typer(
    help="People who sign in (authorization code + PKCE) for their organization.",
    no_args_is_help=True,
)


def with_auth(work: Callable[[AuthService], Awaitable[T]]) -> T:
    """Run ``work`` on the authorization server of HUB_DATABASE, changes audited."""

    async def run() -> T:
        settings = Settings()
        service = AuthService.from_url(
            settings.database_url(), settings.auth_config(), migrate=migrate
        )
        service.on_change = auth_changes(service.store.engine)
        try:
            await service.setup()
            return await work(service)
        finally:
            await service.close()

    return asyncio.run(run())


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    password: str = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    return password


@users_app.command("add")
def users_add(
    org: Annotated[str, typer.Option(help="The organization's slug, e.g. birch.")],
    email: Annotated[str, typer.Option(help="The person's e-mail address: their login.")],
    scopes: Annotated[
        list[str] | None,
        typer.Option(help="graph:read, ingest:write or admin (repeat, or comma-separated)."),
    ] = None,
    kind: Annotated[str | None, typer.Option(help="SPONSOR, CMO, CDMO, TESTING_LAB, ...")] = None,
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from standard input.")
    ] = False,
) -> None:
    """Register a person of an organization; asks for the password (never echoed)."""
    granted = [s.strip() for given in scopes or ["graph:read"] for s in given.split(",")]
    password = _read_password(password_stdin)

    async def work(service: AuthService) -> HubUser:
        return await service.add_user(
            org, email, password, [s for s in granted if s], org_kind=kind
        )

    try:
        user = with_auth(work)
    except (ValueError, UserExists) as error:
        console.print(f"[red]{error}[/red]")
        raise typer.Exit(1) from None
    console.print(f"added {user.email} ({user.user_id}) of {user.org_id}")


@users_app.command("list")
def users_list(
    org: Annotated[str | None, typer.Option(help="Only this organization's people.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON (for scripts).")] = False,
) -> None:
    """Every person who may sign in, or has been disabled."""
    users = with_auth(lambda service: service.users.list(org))
    if as_json:
        typer.echo(json.dumps([_described(user) for user in users], indent=2))
        return
    table = Table(title="Users")
    for column in ("e-mail", "user id", "organization", "scopes", "created", "disabled"):
        table.add_column(column, overflow="fold")
    for user in users:
        table.add_row(
            user.email,
            user.user_id,
            user.org_id,
            " ".join(sorted(user.scopes)),
            f"{user.created_at:%Y-%m-%d %H:%M}",
            f"{user.disabled_at:%Y-%m-%d %H:%M}" if user.disabled_at else "",
        )
    console.print(table)


def _described(user: HubUser) -> dict[str, object]:
    return {
        "email": user.email,
        "user_id": user.user_id,
        "org": user.org_id,
        "scopes": sorted(user.scopes),
        "created_at": user.created_at.isoformat(),
        "disabled_at": user.disabled_at.isoformat() if user.disabled_at else None,
    }


@users_app.command("disable")
def users_disable(email: Annotated[str, typer.Argument()]) -> None:
    """No more sign-ins; the person's sessions end (their access tokens run out in minutes)."""
    if with_auth(lambda service: service.disable_user(email)) is None:
        console.print(f"[red]no active user {email!r}[/red]")
        raise typer.Exit(1)
    console.print(f"disabled {email}")
