"""The CORS allow-list: which other web origins' pages may call the hub.

None by default: the hub's own pages are same-origin and need no CORS, and without the
headers a browser keeps every other site's scripts from reading the hub's answers.
An operator who runs a dashboard on another origin names it in ``HUB_CORS_ORIGINS``;
those origins, and no others, may then send GET and POST with the ``Authorization``
and ``Content-Type`` headers (a bearer token, never cookies: credentials stay off).
"""

from __future__ import annotations

from typing import Any

from pydantic import AnyHttpUrl, TypeAdapter

ALLOWED_METHODS = ("GET", "POST")
ALLOWED_HEADERS = ("Authorization", "Content-Type")
PREFLIGHT_CACHE_SECONDS = 600

_URL = TypeAdapter(AnyHttpUrl)


def origin(value: str) -> str:
    """``value`` as an origin (scheme://host[:port], nothing else), or ValueError naming it."""
    url = _URL.validate_python(value)
    if url.path not in (None, "", "/") or url.query or url.fragment or url.username:
        raise ValueError(
            f"{value!r} is not an origin: give scheme://host[:port] only, e.g. https://bi.example.com"
        )
    default_port = {"http": 80, "https": 443}[url.scheme]
    port = "" if url.port in (None, default_port) else f":{url.port}"
    return f"{url.scheme}://{url.host}{port}"


def cors_options(origins: list[str]) -> dict[str, Any]:
    """Starlette's ``CORSMiddleware`` arguments for ``origins`` (already checked)."""
    return {
        "allow_origins": list(origins),
        "allow_methods": list(ALLOWED_METHODS),
        "allow_headers": list(ALLOWED_HEADERS),
        "allow_credentials": False,
        "max_age": PREFLIGHT_CACHE_SECONDS,
    }
