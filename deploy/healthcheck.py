"""The container's health check: exit 0 when the hub in this container answers
``/healthz`` with 200, 1 otherwise (with the reason on standard error).

Standard library only, so that it runs in the image without the product's imports:
``python /app/deploy/healthcheck.py``. It asks ``127.0.0.1:$HUB_PORT`` (8000 unless
set), over https when the hub serves TLS itself (``HUB_TLS_CERT_FILE`` set; the
certificate names the public host, not the loopback address, so it is not verified).
"""

from __future__ import annotations

import os
import ssl
import sys
import urllib.error
import urllib.request

TIMEOUT_SECONDS = 4.0


def healthz_url(environ: dict[str, str]) -> str:
    scheme = "https" if environ.get("HUB_TLS_CERT_FILE") else "http"
    return f"{scheme}://127.0.0.1:{environ.get('HUB_PORT', '8000')}/healthz"


def check(url: str) -> str | None:
    """None when ``url`` answers 200, else why not."""
    context = ssl._create_unverified_context() if url.startswith("https:") else None
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT_SECONDS, context=context) as answer:
            status: int = answer.status
    except urllib.error.HTTPError as error:
        return f"{url} answered {error.code}"
    except (urllib.error.URLError, OSError) as error:
        return f"{url} did not answer: {error}"
    return None if status == 200 else f"{url} answered {status}"


def main() -> int:
    problem = check(healthz_url(dict(os.environ)))
    if problem is not None:
        print(f"unhealthy: {problem}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
