"""Security headers on every response of the hub.

Every HTTP response gets

- ``X-Content-Type-Options: nosniff`` (a JSON or CSV answer is never run as a script),
- ``Referrer-Policy: no-referrer`` (URLs, which may hold lot ids, stay on the hub),
- ``X-Frame-Options: DENY`` and a ``Content-Security-Policy`` with
  ``frame-ancestors 'none'`` (no other site frames the console or the sign-in form),
- ``Strict-Transport-Security``, only when the request came over https: directly, or
  through a proxy the hub trusts (uvicorn's proxy headers set the scheme from
  ``X-Forwarded-Proto`` only for ``HUB_TRUSTED_PROXIES``, ``hub.web.transport``).
  Over plain http the header means nothing to a browser, and a hub on loopback must
  not pin itself to https.

The policy fits the hub's pages: scripts, styles, fonts and connections to the hub
itself only, images also from ``data:`` and ``blob:`` (the console's downloads and
drawings). A page that needs more says so with its own ``Content-Security-Policy``
header, which is kept: the sign-in form's stricter one (``auth.signin_page``), and
GraphiQL's, which names its inline blocks by hash (``hub.web.page_policy``).
"""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from hub.web.page_policy import DEFAULT_POLICY

HSTS = "max-age=31536000; includeSubDomains"
ALWAYS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": DEFAULT_POLICY,
}


class SecurityHeadersMiddleware:
    """Adds the headers above to each HTTP response, keeping any a route set itself."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        over_https = scope.get("scheme") == "https"

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in ALWAYS.items():
                    headers.setdefault(name, value)
                if over_https:
                    headers.setdefault("Strict-Transport-Security", HSTS)
            await send(message)

        await self.app(scope, receive, send_with_headers)
