"""The supergraph the router serves, composed from ``deploy/router/supergraph.yaml``
with Apollo's composition library (the same as ``rover supergraph compose``).

``PYTHONPATH=. python -m tests.deploy.supergraph`` rewrites
``deploy/router/supergraph.graphql`` after the schema changed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from tests.federation.harness import compose

ROUTER_DIR = Path(__file__).resolve().parents[2] / "deploy" / "router"
SUPERGRAPH_CONFIG = ROUTER_DIR / "supergraph.yaml"
SUPERGRAPH_SDL = ROUTER_DIR / "supergraph.graphql"


def subgraphs() -> dict[str, Any]:
    config = yaml.safe_load(SUPERGRAPH_CONFIG.read_text())
    found: dict[str, Any] = config["subgraphs"]
    return found


def compose_supergraph() -> str:
    """The supergraph SDL of the subgraphs that supergraph.yaml names, each read from
    its schema file (relative to supergraph.yaml, as rover reads it)."""
    return compose(
        [
            {
                "name": name,
                "url": subgraph["routing_url"],
                "sdl": (ROUTER_DIR / subgraph["schema"]["file"]).read_text(),
            }
            for name, subgraph in subgraphs().items()
        ]
    )


if __name__ == "__main__":
    SUPERGRAPH_SDL.write_text(compose_supergraph())
    print(f"wrote {SUPERGRAPH_SDL}")
