"""The deployment files pass deploy/check.sh, and each check fails when what it guards is removed.

No Docker engine and no cluster: hadolint, the Compose Specification's schema, kustomize, Kubernetes' schemas
(kubernetes-validate), the MongoDB Community operator's CRD and Strimzi's API model, all offline, with the tools
deploy/tools.sh installs into var/tools (`.ci/run` installs them first; here they are installed if missing).
Each mutation runs on a copy of deploy/ and docker-compose.yml.
"""

from __future__ import annotations

import base64
import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
VAR = Path(os.environ.get("NRMM_VAR_DIR", ROOT / "var"))

pytestmark = [pytest.mark.deploy, pytest.mark.integration]  # the tools and an image environment: slow


def run_check(root: Path, part: str = "all") -> subprocess.CompletedProcess:
    env = {**os.environ, "NRMM_VAR_DIR": str(VAR), "NRMM_CHECK_OVERLAYS": "small" if root != ROOT else ""}
    return subprocess.run(["bash", str(root / "deploy" / "check.sh"), part], env=env, capture_output=True,
                          text=True, timeout=900)


def test_the_deployment_files_pass_every_check():
    result = run_check(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout + result.stderr
    assert "all checks passed" in out
    for overlay in ("small", "city"):
        assert f"{overlay}: " in out and (VAR / "deploy-check" / f"{overlay}.yaml").is_file()


# (file, text, replacement, part of check.sh, what the failure says)
MUTATIONS = {
    "compose: a dependency's condition (required by the Compose schema)": (
        "docker-compose.yml", "    kafka: { condition: service_healthy }\n", "    kafka: {}\n", "compose",
        "condition"),
    "compose: the database's healthcheck": (
        "docker-compose.yml", "    healthcheck:\n      # the first check initiates", "    x-healthcheck:\n      # the",
        "compose", "service mongo needs a healthcheck"),
    "Dockerfile: the non-root user": ("deploy/Dockerfile", "USER 10001:10001\n", "", "dockerfile", "non-root USER"),
    "Dockerfile: the health check": ("deploy/Dockerfile", "HEALTHCHECK --interval", "# HEALTHCHECK --interval",
                                     "dockerfile", "HEALTHCHECK"),
    "Dockerfile: hadolint (cd instead of WORKDIR)": ("deploy/Dockerfile", "RUN npm run build\n",
                                                     "RUN cd /web && npm run build\n", "dockerfile", "DL3003"),
    "Deployment: its selector (required by Kubernetes' schema)": (
        "deploy/k8s/base/services/sites.yaml",
        "  selector:\n    matchLabels: {app.kubernetes.io/name: sites}\n  strategy:", "  strategy:", "k8s",
        "'selector' is a required property"),
    "Deployment: an unknown field (strict schema)": (
        "deploy/k8s/base/services/registry.yaml", "          readinessProbe:", "          readinesProbe:", "k8s",
        "'readinesProbe' was unexpected"),
    "Deployment: the readiness probe on /readyz": (
        "deploy/k8s/base/services/inspection.yaml", "path: /readyz", "path: /healthz", "k8s",
        "readinessProbe must be GET /readyz"),
    "Kafka: its listeners (required by Strimzi's model)": (
        "deploy/k8s/base/kafka.yaml", "    listeners:\n", "    x-listeners:\n", "k8s", "listeners: required"),
    "KafkaNodePool: its roles (required by Strimzi's model)": (
        "deploy/k8s/base/kafka.yaml", "  roles: [controller, broker]\n", "", "k8s", "roles: required"),
    "KafkaTopic: partitions below Strimzi's minimum": (
        "deploy/k8s/base/topics.yaml", "  topicName: nrmm.sites.events\n  partitions: 3\n",
        "  topicName: nrmm.sites.events\n  partitions: 0\n", "k8s", "0 is below the minimum 1"),
    "KafkaTopic: keeping everything": (
        "deploy/k8s/base/topics.yaml", "  config: {retention.ms: -1, retention.bytes: -1,",
        "  config: {retention.bytes: -1,", "k8s", "event topics keep everything"),
    "MongoDBCommunity: its type (required by the operator's CRD)": (
        "deploy/k8s/base/mongodb.yaml", "  type: ReplicaSet\n", "", "k8s", "'type' is a required property"),
    "MongoDBCommunity: a service's user": (
        "deploy/k8s/base/mongodb.yaml", "connectionStringSecretName: nrmm-mongodb-sites ",
        "connectionStringSecretName: nrmm-mongodb-sitez ", "k8s", "nrmm-mongodb-sites"),
    "PodDisruptionBudget: one that selects nothing": (
        "deploy/k8s/base/services/notifications.yaml",
        "    matchLabels: {app.kubernetes.io/name: notifications}\n---\napiVersion: autoscaling/v2",
        "    matchLabels: {app.kubernetes.io/name: notification}\n---\napiVersion: autoscaling/v2",
        "k8s", "Deployment/notifications: no PodDisruptionBudget selects it"),
    "NetworkPolicy: deny by default": (
        "deploy/k8s/base/network-policies.yaml", "  policyTypes: [Ingress, Egress]\n---",
        "  policyTypes: [Ingress]\n---", "k8s", "none denies all traffic"),
}


@pytest.mark.parametrize("case", list(MUTATIONS))
def test_a_check_fails_when_what_it_guards_is_removed(case, tmp_path):
    path, text, replacement, part, said = MUTATIONS[case]
    shutil.copytree(ROOT / "deploy", tmp_path / "deploy")
    shutil.copy(ROOT / "docker-compose.yml", tmp_path / "docker-compose.yml")
    target = tmp_path / path
    content = target.read_text()
    assert content.count(text) >= 1, f"the mutation no longer applies to {path}"
    target.write_text(content.replace(text, replacement, 1))
    result = run_check(tmp_path, part)
    assert result.returncode != 0, f"{case}: the check passed\n{result.stdout}{result.stderr}"
    assert said in result.stdout + result.stderr, result.stdout + result.stderr


def tools() -> dict[str, str]:
    env = {**os.environ, "NRMM_VAR_DIR": str(VAR)}
    subprocess.run(["bash", str(ROOT / "deploy" / "tools.sh")], env=env, check=True, capture_output=True)
    out = subprocess.run(["bash", str(ROOT / "deploy" / "tools.sh"), "env"], env=env, check=True,
                         capture_output=True, text=True).stdout
    return dict(line.split("=", 1) for line in out.splitlines())


def test_a_private_overlay_replaces_every_placeholder_secret(tmp_path):
    private = tmp_path / "city"
    subprocess.run(["bash", str(ROOT / "deploy" / "k8s" / "private-overlay.sh"), "city", str(private)], check=True)
    assert oct((private / "signing-key").stat().st_mode & 0o777) == "0o600"
    paths = tools()
    built = subprocess.run([paths["KUSTOMIZE"], "build", str(private)], check=True, capture_output=True, text=True)
    assert "REPLACE-ME" not in built.stdout
    secrets = {d["metadata"]["name"]: d for d in yaml.safe_load_all(built.stdout) if d and d["kind"] == "Secret"}
    assert len(secrets) == 6
    for name, secret in secrets.items():
        (value,) = secret["data"].values()
        assert len(base64.b64decode(value)) >= 32, name  # NRMM_JWT_SECRET needs 32+ characters
    manifest = tmp_path / "private.yaml"
    manifest.write_text(built.stdout)
    result = subprocess.run([paths["TOOLS_PYTHON"], str(ROOT / "deploy" / "checks" / "k8s_validate.py"),
                             "--mongodb-crds", paths["MONGODB_CRDS"], str(manifest)],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    deployments = [d for d in yaml.safe_load_all(built.stdout) if d and d["kind"] == "Deployment"]
    assert min(d["spec"]["replicas"] for d in deployments) >= 2  # several instances of each (issue #25)
    # a second run never overwrites secrets that may be in use
    again = subprocess.run(["bash", str(ROOT / "deploy" / "k8s" / "private-overlay.sh"), "city", str(private)],
                           capture_output=True, text=True)
    assert again.returncode != 0 and "exists" in again.stderr
