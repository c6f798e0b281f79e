"""The hub's access token format (RFC 9068 JWT access tokens), in one place.

Header: ``typ: at+jwt``, ``alg`` (RS256 by default), ``kid``.
Claims: ``iss`` (the hub's issuer URL), ``sub`` and ``client_id`` (the OAuth client),
``aud`` (the hub's audience), ``exp``, ``iat``, ``jti``, ``scope`` (space-separated),
and the two below, naming the organization the client acts for.
"""

from __future__ import annotations

ORG_CLAIM = "partnerhub_org"
ORG_KIND_CLAIM = "partnerhub_org_kind"
