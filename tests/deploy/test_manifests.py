"""The deployment files parse and hold together: the image definition, the Compose
file and its environment example, the router's configuration and its supergraph.

No container engine runs here, so the image and the Compose file are checked for what
an operator relies on (non-root, health checks, no secrets in them), not run."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import yaml

from tests.deploy.supergraph import SUPERGRAPH_SDL, compose_supergraph, subgraphs

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
CONTAINERFILE = DEPLOY / "Containerfile"
COMPOSE = DEPLOY / "compose.yaml"
ENV_EXAMPLE = DEPLOY / "compose.env.example"
ROUTER = DEPLOY / "router" / "router.yaml"
# Go templates, not YAML until rendered (tests/deploy/test_chart.py renders them).
CHART_TEMPLATES = DEPLOY / "helm" / "partnerhub" / "templates"
NOT_OURS = ("target", "node_modules")

SECRET_NAME = re.compile(r"PASSWORD|SECRET|TOKEN|_KEY\b|KEY_|PRIVATE", re.IGNORECASE)


def _yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text())


def _deploy_files(*suffixes: str) -> list[Path]:
    return sorted(
        path
        for suffix in suffixes
        for path in DEPLOY.rglob(f"*{suffix}")
        if not any(part in NOT_OURS for part in path.parts) and CHART_TEMPLATES not in path.parents
    )


def test_every_yaml_and_json_file_in_deploy_parses() -> None:
    files = _deploy_files(".yaml", ".yml", ".json")
    assert COMPOSE in files and ROUTER in files
    for path in files:
        text = path.read_text()
        document = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
        assert isinstance(document, dict), f"{path.relative_to(ROOT)}: not a mapping"


# -- the image -------------------------------------------------------------------


def _instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of the Containerfile, continuation lines joined."""
    joined = re.sub(r"\\\n", " ", CONTAINERFILE.read_text())
    found = []
    for line in joined.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            keyword, _, rest = line.partition(" ")
            found.append((keyword.upper(), rest.strip()))
    return found


def _stages() -> dict[str, list[tuple[str, str]]]:
    stages: dict[str, list[tuple[str, str]]] = {}
    current: list[tuple[str, str]] = []
    for keyword, rest in _instructions():
        if keyword == "FROM":
            current = []
            stages[rest.split(" AS ")[-1].strip()] = current
        current.append((keyword, rest))
    return stages


def test_the_image_builds_from_the_locks_in_stages() -> None:
    stages = _stages()
    assert list(stages) == ["console", "build", "runtime"]
    runs = {
        name: " ".join(rest for kw, rest in body if kw == "RUN") for name, body in stages.items()
    }
    assert "uv sync --frozen --no-dev" in runs["build"]
    assert "npm ci" in runs["console"]
    copied = [rest for kw, rest in stages["runtime"] if kw == "COPY"]
    assert any(rest.startswith("--from=build /app") for rest in copied)
    assert any("--from=console" in rest and "node_modules" in rest for rest in copied)
    # The runtime has no build tools: uv and npm run only in the earlier stages.
    assert "uv " not in runs["runtime"] and "npm" not in runs["runtime"]


def test_the_image_runs_the_hub_as_a_non_root_user_with_a_health_check() -> None:
    runtime = _stages()["runtime"]
    users = [rest for kw, rest in runtime if kw == "USER"]
    assert users and users[-1].split(":")[0] not in ("0", "root")
    assert ("ENTRYPOINT", '["partnerhub"]') in runtime
    assert ("CMD", '["serve"]') in runtime
    [healthcheck] = [rest for kw, rest in runtime if kw == "HEALTHCHECK"]
    assert "/app/deploy/healthcheck.py" in healthcheck
    # The script the health check runs is copied into the image.
    assert any(kw == "COPY" and "deploy/healthcheck.py" in rest for kw, rest in _stages()["build"])


def test_the_image_bakes_in_no_secret() -> None:
    for keyword, rest in _instructions():
        if keyword in ("ENV", "ARG"):
            names = re.findall(r"([A-Za-z_][A-Za-z0-9_]*)=", rest) or [rest.split()[0]]
            assert not [name for name in names if SECRET_NAME.search(name)], rest
    copied = " ".join(rest for keyword, rest in _instructions() if keyword in ("COPY", "ADD"))
    assert ".env" not in copied
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert ".env" in ignored and ".venv" in ignored


# -- the Compose file ---------------------------------------------------------------


def test_every_compose_service_has_a_health_check() -> None:
    services = _yaml(COMPOSE)["services"]
    assert {"hub", "postgres", "neo4j", "router"} <= set(services)
    for name, service in services.items():
        check = service.get("healthcheck", {}).get("test")
        assert check and check[0] in ("CMD", "CMD-SHELL"), f"service {name}: no health check"


def test_compose_runs_three_hubs_as_non_root_behind_the_router() -> None:
    compose = _yaml(COMPOSE)
    services = compose["services"]
    hub = services["hub"]
    assert hub["deploy"]["replicas"] >= 3
    assert hub["user"].split(":")[0] not in ("0", "root")
    assert hub["read_only"] is True
    assert hub["environment"]["HUB_STORE"].startswith("neo4j://")
    assert hub["environment"]["HUB_DATABASE"].startswith("postgresql://")
    for needed in ("postgres", "neo4j"):
        assert hub["depends_on"][needed]["condition"] == "service_healthy"
    assert services["router"]["depends_on"]["hub"]["condition"] == "service_healthy"
    # Named volumes for the data that must outlive a container.
    for service in ("postgres", "neo4j"):
        for mount in services[service]["volumes"]:
            assert mount.split(":")[0] in compose["volumes"], mount


def test_compose_files_it_mounts_exist() -> None:
    for name, service in _yaml(COMPOSE)["services"].items():
        for mount in service.get("volumes", []):
            source = mount.split(":")[0]
            if source.startswith("."):
                assert (DEPLOY / source).is_file(), f"service {name} mounts missing {source}"


def test_compose_secrets_come_from_the_environment_file_only() -> None:
    text = COMPOSE.read_text()
    required = set(re.findall(r"\$\{([A-Z0-9_]+):\?", text))
    assert {"POSTGRES_PASSWORD", "NEO4J_PASSWORD"} <= required
    example = dict(
        line.split("=", 1)
        for line in ENV_EXAMPLE.read_text().splitlines()
        if line and not line.startswith("#")
    )
    assert required <= set(example), f"missing in the example: {required - set(example)}"
    for name, value in example.items():
        if SECRET_NAME.search(name):
            assert value == "CHANGE_ME", f"{name} in {ENV_EXAMPLE.name} must be a placeholder"

    def literal_secrets(node: Any, where: str) -> list[str]:
        if isinstance(node, dict):
            return [
                found
                for key, value in node.items()
                for found in (
                    [f"{where}.{key}"]
                    if SECRET_NAME.search(str(key)) and isinstance(value, str) and "${" not in value
                    else literal_secrets(value, f"{where}.{key}")
                )
            ]
        if isinstance(node, list):
            return [found for item in node for found in literal_secrets(item, where)]
        return []

    assert literal_secrets(_yaml(COMPOSE), "compose") == []
    # A password inside a URL is interpolated too.
    for url in re.findall(r"postgresql://\S+", text):
        assert re.match(r"postgresql://[^:]+:\$\{", url), url


# -- the router and the supergraph --------------------------------------------------


def test_the_router_passes_the_callers_authorization_to_the_hub() -> None:
    router = _yaml(ROUTER)
    propagated = [
        rule["propagate"]["named"].lower()
        for rule in router["headers"]["all"]["request"]
        if "propagate" in rule
    ]
    assert "authorization" in propagated
    assert router["health_check"]["enabled"] is True
    assert router["supergraph"]["listen"].endswith(":4000")
    # Tokens, not cookies: no credentials mode, and no wildcard origin.
    assert router["cors"]["allow_credentials"] is False
    assert not router["cors"].get("allow_any_origin", False)
    # The compose health check asks the port the router's health check listens on.
    check = " ".join(_yaml(COMPOSE)["services"]["router"]["healthcheck"]["test"])
    port = router["health_check"]["listen"].rsplit(":", 1)[1]
    assert f"/dev/tcp/127.0.0.1/{port}" in check and router["health_check"]["path"] in check


def test_the_supergraph_names_the_hub_subgraph_where_compose_serves_it() -> None:
    [(name, subgraph)] = subgraphs().items()
    assert name == "partnerhub"
    hub = _yaml(COMPOSE)["services"]["hub"]
    port = hub["environment"].get("HUB_PORT", "8000")
    assert subgraph["routing_url"] == f"http://hub:{port}/graphql"


def test_the_checked_in_supergraph_is_the_composition_of_todays_schema() -> None:
    composed = compose_supergraph()  # raises on any composition error or hint
    assert 'url: "http://hub:8000/graphql"' in composed
    assert SUPERGRAPH_SDL.read_text() == composed, (
        "deploy/router/supergraph.graphql is stale: run"
        " `PYTHONPATH=. .venv/bin/python -m tests.deploy.supergraph`"
    )
