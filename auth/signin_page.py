"""The sign-in form the authorization endpoint serves: plain HTML, every value escaped,
nothing loaded from anywhere (no script, no style sheet, no font), and a
Content-Security-Policy that says so to the browser. ``frame-ancestors 'none'`` keeps
the form out of other sites' frames (click-jacking a password form).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape

from starlette.responses import HTMLResponse

HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
}

_PAGE = """<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>Sign in to PartnerHub</title></head>
<body>
<main>
<h1>Sign in to PartnerHub</h1>
{notice}
<form method="post" action="{action}">
{hidden}
<p><label>E-mail<br><input type="email" name="email" value="{email}" autocomplete="username" required></label></p>
<p><label>Password<br><input type="password" name="password" autocomplete="current-password" required></label></p>
<p><button type="submit">Sign in</button></p>
</form>
{providers}<p>Signing in to <strong>{client}</strong>.</p>
</main>
</body>
</html>
"""

_ERROR = """<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Sign-in request refused</title></head>
<body><main><h1>This sign-in request cannot be served</h1><p>{reason}</p></main></body>
</html>
"""


def signin_form(
    action: str,
    hidden: Mapping[str, str],
    *,
    client_id: str,
    email: str = "",
    notice: str | None = None,
    status_code: int = 200,
    providers: Sequence[tuple[str, str]] = (),
) -> HTMLResponse:
    """The form; ``providers`` are (name, link) of the organizations' own sign-in."""
    links = "".join(
        f'<p><a href="{escape(link)}">Sign in with {escape(name)}</a></p>\n'
        for name, link in providers
    )
    fields = "\n".join(
        f'<input type="hidden" name="{escape(name)}" value="{escape(value)}">'
        for name, value in hidden.items()
    )
    page = _PAGE.format(
        action=escape(action),
        hidden=fields,
        email=escape(email),
        client=escape(client_id),
        providers=links,
        notice=f'<p role="alert">{escape(notice)}</p>' if notice else "",
    )
    return HTMLResponse(page, status_code=status_code, headers=HEADERS)


def refusal_page(reason: str, status_code: int = 400) -> HTMLResponse:
    """For a request that cannot be sent back to its client (unknown client, or a
    redirect URI not registered): RFC 6749 4.1.2.1 forbids redirecting those."""
    return HTMLResponse(
        _ERROR.format(reason=escape(reason)), status_code=status_code, headers=HEADERS
    )
