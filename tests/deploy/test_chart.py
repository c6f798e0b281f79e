"""The Helm chart, with the real tools: ``helm lint``, ``helm template``, and the
rendered manifests checked against Kubernetes' own JSON schemas (kubernetes-validate,
strict: an unknown field fails). ``make test`` builds both into ``.tools/``
(``make deploy-tools``); without them these tests fail, never skip."""

from __future__ import annotations

import copy
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from hub.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "deploy" / "helm" / "partnerhub"
HELM = ROOT / ".tools" / "bin" / "helm"
KUBERNETES_VALIDATE = ROOT / ".tools" / "kubernetes-validate" / "bin" / "kubernetes-validate"
RELEASE = "ph"


def _tool(path: Path) -> str:
    if not path.is_file():
        pytest.fail(f"{path.relative_to(ROOT)} is missing: run `make deploy-tools`")
    return str(path)


def _run(*command: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command, input=stdin, capture_output=True, text=True, timeout=300, check=False
    )


def render(*overrides: str) -> list[dict[str, Any]]:
    sets = [part for value in overrides for part in ("--set", value)]
    done = _run(_tool(HELM), "template", RELEASE, str(CHART), *sets)
    assert done.returncode == 0, done.stderr
    return [document for document in yaml.safe_load_all(done.stdout) if document]


def _one(manifests: list[dict[str, Any]], kind: str) -> dict[str, Any]:
    [found] = [manifest for manifest in manifests if manifest["kind"] == kind]
    return found


@pytest.fixture(scope="module")
def manifests() -> list[dict[str, Any]]:
    return render()


def test_helm_lint_passes_strict() -> None:
    done = _run(_tool(HELM), "lint", "--strict", str(CHART))
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_rendered_chart_is_valid_kubernetes(manifests: list[dict[str, Any]]) -> None:
    kinds = sorted(manifest["kind"] for manifest in manifests)
    assert kinds == [
        "ConfigMap",
        "Deployment",
        "HorizontalPodAutoscaler",
        "Job",
        "PodDisruptionBudget",
        "Service",
        "ServiceAccount",
    ]
    done = _run(
        _tool(KUBERNETES_VALIDATE), "--strict", "--quiet", "-", stdin=yaml.safe_dump_all(manifests)
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_schema_check_refuses_a_wrong_field(manifests: list[dict[str, Any]]) -> None:
    """The validator is not a formality: a misspelt field in a manifest fails it."""
    broken = copy.deepcopy(_one(manifests, "PodDisruptionBudget"))
    broken["spec"]["minAvailabel"] = broken["spec"].pop("minAvailable")
    done = _run(
        _tool(KUBERNETES_VALIDATE), "--strict", "--quiet", "-", stdin=yaml.safe_dump(broken)
    )
    assert done.returncode != 0
    assert "minAvailabel" in done.stdout + done.stderr


def test_pods_are_probed_on_readyz_and_healthz(manifests: list[dict[str, Any]]) -> None:
    [hub] = _one(manifests, "Deployment")["spec"]["template"]["spec"]["containers"]
    assert hub["args"] == ["serve"]
    assert hub["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert hub["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert hub["resources"]["requests"] and hub["resources"]["limits"]


def test_pods_run_non_root_on_a_read_only_root(manifests: list[dict[str, Any]]) -> None:
    for kind in ("Deployment", "Job"):
        pod = _one(manifests, kind)["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert pod["securityContext"]["runAsUser"] != 0
        for container in pod["containers"]:
            context = container["securityContext"]
            assert context["readOnlyRootFilesystem"] is True
            assert context["allowPrivilegeEscalation"] is False
            assert context["capabilities"]["drop"] == ["ALL"]
            mounts = {mount["mountPath"] for mount in container["volumeMounts"]}
            assert "/tmp" in mounts  # the one writable place


def test_secrets_are_referenced_never_rendered(manifests: list[dict[str, Any]]) -> None:
    assert not [manifest for manifest in manifests if manifest["kind"] == "Secret"]
    values = yaml.safe_load((CHART / "values.yaml").read_text())
    secret_names = {entry["name"] for entry in values["secrets"]["env"]}
    assert {"HUB_DATABASE", "HUB_NEO4J_PASSWORD"} <= secret_names
    for kind in ("Deployment", "Job"):
        [container] = _one(manifests, kind)["spec"]["template"]["spec"]["containers"]
        env = {entry["name"]: entry for entry in container["env"]}
        for name in secret_names:
            assert "value" not in env[name], f"{kind}: {name} has a literal value"
            assert env[name]["valueFrom"]["secretKeyRef"]["name"] == values["secrets"]["name"]
    assert not secret_names & set(_one(manifests, "ConfigMap")["data"])


def test_every_setting_the_chart_passes_is_one_the_hub_reads(
    manifests: list[dict[str, Any]],
) -> None:
    """The hub ignores unknown HUB_* variables, so a misspelt one would do nothing."""
    known = {f"HUB_{name.upper()}" for name in Settings.model_fields}
    passed = set(_one(manifests, "ConfigMap")["data"])
    [job] = _one(manifests, "Job")["spec"]["template"]["spec"]["containers"]
    passed |= {entry["name"] for entry in job["env"]}
    assert passed - known == set()


def test_migrations_run_before_install_and_upgrade(manifests: list[dict[str, Any]]) -> None:
    job = _one(manifests, "Job")
    hooks = set(job["metadata"]["annotations"]["helm.sh/hook"].split(","))
    assert hooks == {"pre-install", "pre-upgrade"}
    [container] = job["spec"]["template"]["spec"]["containers"]
    script = " ".join(container["command"])
    assert "partnerhub db upgrade" in script and "partnerhub store setup" in script
    assert (
        container["image"]
        == _one(manifests, "Deployment")["spec"]["template"]["spec"]["containers"][0]["image"]
    )
    # A hook runs before the release's ConfigMap exists: its settings are inline.
    assert "envFrom" not in container
    assert {entry["name"] for entry in container["env"]} >= {"HUB_STORE", "HUB_DATABASE"}


def test_scaling_and_disruption_target_the_hub_pods(manifests: list[dict[str, Any]]) -> None:
    deployment = _one(manifests, "Deployment")
    pod_labels = deployment["spec"]["template"]["metadata"]["labels"]
    hpa = _one(manifests, "HorizontalPodAutoscaler")
    assert hpa["spec"]["scaleTargetRef"]["name"] == deployment["metadata"]["name"]
    assert hpa["spec"]["minReplicas"] >= 2
    # With an autoscaler the Deployment leaves the replica count to it.
    assert "replicas" not in deployment["spec"]
    pdb = _one(manifests, "PodDisruptionBudget")
    assert pdb["spec"]["selector"]["matchLabels"].items() <= pod_labels.items()
    assert pdb["spec"]["minAvailable"] < hpa["spec"]["minReplicas"]  # a drain can proceed
    service = _one(manifests, "Service")
    assert service["spec"]["selector"].items() <= pod_labels.items()


def test_without_autoscaling_the_replica_count_is_set() -> None:
    rendered = render("autoscaling.enabled=false", "replicaCount=4")
    assert _one(rendered, "Deployment")["spec"]["replicas"] == 4
    assert not [manifest for manifest in rendered if manifest["kind"] == "HorizontalPodAutoscaler"]


@pytest.mark.parametrize(
    ("value", "refusal"),
    [
        ("replicaCont=4", "'replicaCont' not allowed"),
        ("settings.HUB_NEO4J_PASSWORD=hunter2", "/settings"),
        ("probes.readiness.path=readyz", "/probes/readiness/path"),
    ],
)
def test_a_wrong_value_is_refused_before_anything_is_rendered(value: str, refusal: str) -> None:
    """values.schema.json: a misspelt key, a secret among the plain settings (it would
    land in a ConfigMap) or a malformed probe path fails at `helm install`, naming it."""
    done = _run(_tool(HELM), "template", RELEASE, str(CHART), "--set", value)
    assert done.returncode != 0
    assert refusal in done.stderr
    assert "hunter2" not in done.stdout + done.stderr
