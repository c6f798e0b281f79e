"""Real receivers of alert notifications for the tests: an HTTP server recording every
webhook POST and answering with scripted statuses, and an SMTP server (aiosmtpd)
keeping every message, both on loopback."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP as SMTPServer
from aiosmtpd.smtp import AuthResult, Envelope, LoginPassword, Session
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from deploy.neo4j.launcher import free_port


@dataclass(frozen=True)
class Posted:
    headers: dict[str, str]
    body: bytes


@dataclass
class WebhookReceiver:
    """POST /hook/NAME: recorded under NAME, answered with the next status scripted for
    NAME (200 once the script is used up)."""

    posted: dict[str, list[Posted]] = field(default_factory=lambda: defaultdict(list))
    answers: dict[str, list[int]] = field(default_factory=dict)
    retry_after: dict[str, str] = field(default_factory=dict)  # NAME -> its Retry-After

    def app(self) -> Starlette:
        async def hook(request: Request) -> Response:
            name = request.path_params["name"]
            self.posted[name].append(Posted(dict(request.headers), await request.body()))
            script = self.answers.get(name)
            if not script:
                return Response(status_code=200)
            headers = {"retry-after": self.retry_after[name]} if name in self.retry_after else {}
            return Response(status_code=script.pop(0), headers=headers)

        return Starlette(routes=[Route("/hook/{name}", hook, methods=["POST"])])


class Mailbox:
    """The SMTP server's handler: keeps each message; logins only as (login, password)."""

    def __init__(self, login: str, password: str) -> None:
        self.messages: list[tuple[list[str], EmailMessage]] = []
        self._login, self._password = login.encode(), password.encode()

    async def handle_DATA(self, server: SMTPServer, session: Session, envelope: Envelope) -> str:
        assert isinstance(envelope.content, bytes)
        parsed = message_from_bytes(envelope.content, policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        self.messages.append((list(envelope.rcpt_tos), parsed))
        return "250 OK"

    def authenticate(
        self, server: SMTPServer, session: Session, envelope: Envelope, mechanism: str, data: Any
    ) -> AuthResult:
        ok = (
            isinstance(data, LoginPassword)
            and data.login == self._login
            and data.password == self._password
        )
        return AuthResult(success=ok)

    async def wait_for(self, count: int, within: float = 20.0) -> None:
        async with asyncio.timeout(within):
            while len(self.messages) < count:
                await asyncio.sleep(0.05)


@dataclass(frozen=True)
class SmtpServer:
    port: int
    mailbox: Mailbox


@contextmanager
def smtp_server(login: str, password: str) -> Iterator[SmtpServer]:
    """aiosmtpd on a free loopback port, in its own thread, requiring a login (over plain
    SMTP: it is loopback)."""
    mailbox = Mailbox(login, password)
    port = free_port()
    controller = Controller(
        mailbox,
        hostname="127.0.0.1",
        port=port,
        authenticator=mailbox.authenticate,
        auth_required=True,
        auth_require_tls=False,
    )
    controller.start()
    try:
        yield SmtpServer(port, mailbox)
    finally:
        controller.stop()
