"""Reading an urlencoded form body without python-multipart, and strictly: RFC 6749
3.2 wants each parameter at most once, and a body is bounded before it is held.
Used by the token, authorization and revocation endpoints.
"""

from __future__ import annotations

from urllib.parse import parse_qsl

from authlib.oauth2.rfc6749.errors import InvalidRequestError  # type: ignore[import-untyped]
from starlette.requests import Request

MAX_FORM_BYTES = 8192


async def read_form(request: Request) -> dict[str, str]:
    """The urlencoded body (RFC 6749 3.2), each parameter at most once."""
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type != "application/x-www-form-urlencoded":
        raise InvalidRequestError("Expected an application/x-www-form-urlencoded body.")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_FORM_BYTES:
            raise InvalidRequestError("Request body too large.")
    try:
        pairs = parse_qsl(
            body.decode("utf-8"),
            keep_blank_values=True,
            strict_parsing=bool(body),
            errors="strict",  # a percent-escape that is not UTF-8 is an error, not "?"
        )
    except (UnicodeDecodeError, ValueError):
        raise InvalidRequestError("Malformed request body.") from None
    form: dict[str, str] = {}
    for name, value in pairs:
        if name in form:
            raise InvalidRequestError(f"Parameter {name!r} given more than once.")
        form[name] = value
    return form
