"""Sending one queued alert by e-mail, through the SMTP relay the hub is configured with.

A plain-text message built from the stored alert, which was judged as the organization
(``AlertPayload``): it names only what that organization may read. The standard
library's ``smtplib`` does the talking, in a worker thread so the event loop never
waits on the relay. A 4xx reply, a refused connection, a timeout, a relay that will not
take our login or STARTTLS (a setting to fix, after which the mail should still go) are
tried again later; a 5xx reply (the relay, or the recipient's server, refuses the mail
for good) fails at once. The password stays in the settings object: it is given to
``login`` and nowhere else.
"""

from __future__ import annotations

import asyncio
import smtplib
import ssl
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from hub.notify.attempt import Attempt
from hub.notify.payload import AlertPayload
from hub.records.alert_targets import AlertTarget
from hub.records.outbox import Delivery


@dataclass(frozen=True, slots=True)
class SmtpRelay:
    host: str
    port: int
    starttls: bool
    sender: str  # the From address
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    timeout: float = 10.0


def message(payload: AlertPayload, to: str, sender: str) -> EmailMessage:
    mail = EmailMessage()
    mail["From"] = sender
    mail["To"] = to
    mail["Subject"] = f"[PartnerHub] {payload.kind}: {payload.subject_id}"
    mail["Date"] = formatdate(localtime=False)
    mail["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or None)
    lots = ", ".join(payload.batch_ids) or "none you may read"
    lines = [
        f"PartnerHub alert for {payload.org}",
        "",
        payload.message,
        "",
        f"kind:       {payload.kind}",
        f"about:      {payload.subject_id}",
        f"lots:       {lots}",
        f"ingestion:  {payload.ingestion_id}",
        f"raised at:  {payload.raised_at.isoformat()}",
        f"alert id:   {payload.alert_id}",
    ]
    if payload.rules:
        lines.append(f"rules:      {', '.join(payload.rules)}")
    if payload.gap_reasons:
        lines.append(f"gaps:       {', '.join(payload.gap_reasons)}")
    mail.set_content("\n".join(lines) + "\n")
    return mail


async def send(relay: SmtpRelay | None, target: AlertTarget, delivery: Delivery) -> Attempt:
    if relay is None:
        return Attempt.retry("no SMTP relay configured (HUB_SMTP_HOST, HUB_SMTP_FROM)")
    mail = message(AlertPayload.model_validate_json(delivery.body), target.address, relay.sender)
    return await asyncio.to_thread(_send_now, relay, mail)


def _send_now(relay: SmtpRelay, mail: EmailMessage) -> Attempt:
    try:
        with smtplib.SMTP(relay.host, relay.port, timeout=relay.timeout) as smtp:
            if relay.starttls:
                smtp.starttls(context=ssl.create_default_context())
            if relay.username is not None:
                smtp.login(relay.username, relay.password or "")
            refused = smtp.send_message(mail)
    except smtplib.SMTPRecipientsRefused as error:
        codes = [code for code, _ in error.recipients.values()]
        return _by_code(min(codes), "recipient refused")
    except smtplib.SMTPAuthenticationError as error:
        return Attempt.retry("the relay refused the hub's login", error.smtp_code)
    except smtplib.SMTPResponseException as error:
        return _by_code(error.smtp_code, _said(error.smtp_error))
    except (smtplib.SMTPException, OSError) as error:
        return Attempt.retry(f"{type(error).__name__}: {error}")
    if refused:  # only some recipients: there is one
        code, said = next(iter(refused.values()))
        return _by_code(code, _said(said))
    return Attempt.ok(250)


def _by_code(code: int, said: str) -> Attempt:
    if 400 <= code < 500:
        return Attempt.retry(f"SMTP {code}: {said}", code)
    return Attempt.refused(f"SMTP {code}: {said}", code)


def _said(reply: bytes | str) -> str:
    return reply.decode(errors="replace") if isinstance(reply, bytes) else reply
