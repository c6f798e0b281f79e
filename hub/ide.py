"""GraphiQL served whole by the hub: its page loads no script or style from another host.

Strawberry's GraphiQL page loads React, GraphiQL and its explorer plugin from a public
CDN, so on a site without the public internet (many plant and QA networks) it stays on
"Loading...", and a GxP system should not run code it did not ship anyway. The same
packages, at the versions the page pins, are installed from the npm registry by
``make`` (``console/package.json`` and its lock file) and served from
``/graphiql/assets/<package>/<file>``; the page's CDN addresses are rewritten to
those. The page keeps its subresource-integrity hashes, so a browser still checks that
each file is, byte for byte, the one strawberry pinned.

Only the files the page names are served (an allow-list made from the page itself),
with no token: like the page, they hold no data.
"""

from __future__ import annotations

import mimetypes
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

from starlette.requests import Request
from starlette.responses import FileResponse, PlainTextResponse, Response

ASSET_ROUTE = "/graphiql/assets"
# Where ``make`` installs the console's npm packages.
PACKAGES = Path(__file__).resolve().parents[1] / "console" / "node_modules"
# A CDN address of the page: https://unpkg.com/<package>@<version>/<file>
_CDN_ADDRESS = re.compile(r"https://unpkg\.com/((?:@[\w.-]+/)?[\w.-]+)@([\w.-]+)/([\w./-]+)")


@dataclass(frozen=True, slots=True)
class LocalPage:
    """The IDE page with its assets served here, and the files it may ask for."""

    html: str
    assets: dict[str, Path]  # path under ASSET_ROUTE -> file on disk
    pinned: dict[str, str]  # package -> version the page pins


def localised(page: str, packages: Path = PACKAGES) -> LocalPage:
    """``page`` with every CDN address replaced by this hub's asset route."""
    assets: dict[str, Path] = {}
    pinned: dict[str, str] = {}

    def local(address: re.Match[str]) -> str:
        package, version, file = address.groups()
        pinned[package] = version
        assets[f"{package}/{file}"] = packages / package / file
        return f"{ASSET_ROUTE}/{package}/{file}"

    html = _CDN_ADDRESS.sub(local, page)
    return LocalPage(html, assets, pinned)


def asset_endpoint(page: LocalPage) -> Callable[[Request], Awaitable[Response]]:
    """The route serving ``page``'s assets, and nothing else."""

    async def asset(request: Request) -> Response:
        name = request.path_params["name"]
        path = page.assets.get(name)
        if path is None:
            return PlainTextResponse("no such asset", status_code=404)
        if not path.is_file():
            return PlainTextResponse(
                f"{name} is not installed: run `make install` (console/node_modules)",
                status_code=503,
            )
        media_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        # The address names no version, so a browser checks back after a day.
        cache = {"cache-control": "max-age=86400"}
        return FileResponse(path, media_type=media_type, headers=cache)

    return asset
