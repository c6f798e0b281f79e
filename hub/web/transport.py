"""How the hub is reached: over TLS itself, or behind proxies whose addresses it trusts.

``HUB_TLS_CERT_FILE`` and ``HUB_TLS_KEY_FILE`` make ``partnerhub serve`` speak https
itself. Behind a load balancer or reverse proxy that ends TLS, ``HUB_TRUSTED_PROXIES``
lists the proxies' addresses (or networks): only a connection from one of them may
say, in ``X-Forwarded-For`` and ``X-Forwarded-Proto``, who the client is and that it
came over https. From any other peer those headers are ignored, so nobody can claim an
address (limits and logs count by it) or https by writing a header. With neither set,
the hub trusts no forwarded header at all (uvicorn's own default trusts loopback).
"""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Any


def proxy_address(value: str) -> str:
    """``value`` checked as an IP address or network (e.g. 10.0.0.5, 10.0.0.0/8), or '*'."""
    if value == "*":
        return value
    try:
        ipaddress.ip_network(value, strict=False)
    except ValueError:
        raise ValueError(
            f"{value!r} is not an IP address or network (e.g. 10.0.0.5 or 10.0.0.0/8)"
        ) from None
    return value


def transport_options(
    trusted_proxies: list[str], cert_file: Path | None, key_file: Path | None
) -> dict[str, Any]:
    """uvicorn's options for TLS and forwarded headers (the settings checked the files)."""
    options: dict[str, Any] = {"proxy_headers": bool(trusted_proxies)}
    if trusted_proxies:
        options["forwarded_allow_ips"] = list(trusted_proxies)
    if cert_file is not None and key_file is not None:
        options["ssl_certfile"] = str(cert_file)
        options["ssl_keyfile"] = str(key_file)
    return options
