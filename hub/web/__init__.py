"""What the hub puts around every HTTP exchange: security headers and the pages'
Content-Security-Policy (``headers``), the CORS allow-list (``cors``), and how it is
reached, over TLS directly or behind proxies it trusts (``transport``)."""
