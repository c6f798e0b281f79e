"""Routes of the console: its page, its own files, and the libraries it names."""

from __future__ import annotations

import mimetypes
from pathlib import Path

from starlette.requests import Request
from starlette.responses import FileResponse, PlainTextResponse, Response
from starlette.routing import Route

CONSOLE_PATH = "/console"
APP_FILES = Path(__file__).resolve().parents[2] / "console" / "app"
PACKAGES = Path(__file__).resolve().parents[2] / "console" / "node_modules"
# The only library files the page loads, by the name it asks for.
VENDOR_FILES = {
    "cytoscape.min.js": "cytoscape/dist/cytoscape.min.js",
    "cytoscape-dagre.min.js": "cytoscape-dagre/dist/cytoscape-dagre.min.js",
    "cytoscape-svg.js": "cytoscape-svg/cytoscape-svg.js",
    "echarts.min.js": "echarts/dist/echarts.min.js",
}
# The page's address never changes with a release, so a browser asks again after
# an hour rather than running an old script against a new API for a day.
_CACHE = {"cache-control": "max-age=3600"}


async def page(request: Request) -> Response:
    """The console's single page: sign-in starts, and comes back, here."""
    return FileResponse(APP_FILES / "index.html", media_type="text/html", headers=_CACHE)


async def app_file(request: Request) -> Response:
    """One of the console's own scripts or styles (``console/app``), nothing outside it."""
    name = request.path_params["name"]
    path = (APP_FILES / name).resolve()
    if not path.is_relative_to(APP_FILES) or not path.is_file() or path.suffix == ".html":
        return PlainTextResponse("no such file", status_code=404)
    return _file(path)


async def vendor_file(request: Request) -> Response:
    """One of the drawing libraries the page names (an allow-list, not a folder)."""
    relative = VENDOR_FILES.get(request.path_params["name"])
    if relative is None:
        return PlainTextResponse("no such file", status_code=404)
    path = PACKAGES / relative
    if not path.is_file():
        return PlainTextResponse(
            f"{relative} is not installed: run `make install` (console/node_modules)",
            status_code=503,
        )
    return _file(path)


def _file(path: Path) -> Response:
    kind = "text/javascript" if path.suffix in {".js", ".mjs"} else None
    media_type = kind or mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    return FileResponse(path, media_type=media_type, headers=_CACHE)


def is_console_path(path: str) -> bool:
    """Paths served without a token: the page and its files hold no data."""
    return path == CONSOLE_PATH or path.startswith(CONSOLE_PATH + "/")


ROUTES = [
    Route(CONSOLE_PATH, page, methods=["GET"]),
    Route(f"{CONSOLE_PATH}/callback", page, methods=["GET"]),
    Route(f"{CONSOLE_PATH}/app/{{name:path}}", app_file, methods=["GET"]),
    Route(f"{CONSOLE_PATH}/vendor/{{name}}", vendor_file, methods=["GET"]),
]
