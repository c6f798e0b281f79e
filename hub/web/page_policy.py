"""A Content-Security-Policy made from a page itself, for pages with inline code.

GraphiQL's page (strawberry's, ``hub.ide``) carries an inline ``<script>`` and an
inline ``<style>``. Rather than allow every inline script (``'unsafe-inline'``, which
also lets in any script an attacker manages to inject), the policy names each inline
block by its SHA-256 hash: the browser runs exactly those blocks, byte for byte, and
nothing else that is inline. The hashes are computed from the page as it is served, so
a new strawberry page gets a matching policy without anyone copying hashes by hand.
"""

from __future__ import annotations

import base64
import hashlib
from html.parser import HTMLParser

# Every directive of the hub's pages (``headers.DEFAULT_POLICY``), with the inline
# blocks' hashes added to script-src and style-src.
_BASE = {
    "default-src": ["'self'"],
    "script-src": ["'self'"],
    "style-src": ["'self'"],
    "img-src": ["'self'", "data:", "blob:"],
    "font-src": ["'self'", "data:"],
    "connect-src": ["'self'"],
    "object-src": ["'none'"],
    "base-uri": ["'self'"],
    "form-action": ["'self'"],
    "frame-ancestors": ["'none'"],
}


class _InlineBlocks(HTMLParser):
    """Collects the text of each ``<script>`` without ``src`` and each ``<style>``."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=False)
        self.scripts: list[str] = []
        self.styles: list[str] = []
        self._open: list[str] | None = None
        self._text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "script" and not any(name == "src" for name, _ in attrs):
            self._open, self._text = self.scripts, []
        elif tag == "style":
            self._open, self._text = self.styles, []

    def handle_data(self, data: str) -> None:
        if self._open is not None:
            self._text.append(data)

    def handle_endtag(self, tag: str) -> None:
        if self._open is not None and tag in ("script", "style"):
            self._open.append("".join(self._text))
            self._open = None


def _hash(block: str) -> str:
    digest = hashlib.sha256(block.encode("utf-8")).digest()
    return f"'sha256-{base64.b64encode(digest).decode()}'"


def policy(directives: dict[str, list[str]]) -> str:
    return "; ".join(f"{name} {' '.join(values)}" for name, values in directives.items())


def policy_for_page(html: str) -> str:
    """The hub's policy, with the page's own inline scripts and styles allowed by hash."""
    blocks = _InlineBlocks()
    blocks.feed(html)
    blocks.close()
    directives = {name: list(values) for name, values in _BASE.items()}
    directives["script-src"] += sorted({_hash(block) for block in blocks.scripts})
    directives["style-src"] += sorted({_hash(block) for block in blocks.styles})
    return policy(directives)


DEFAULT_POLICY = policy(_BASE)
