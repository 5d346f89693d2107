"""Every NRMM_ variable the Compose file and the Kubernetes manifests set is one a service reads.

The settings ignore variables they do not know (pydantic-settings, extra="ignore"), so a misspelt name in a
deployment file would leave a service on its default (a broker on 127.0.0.1, say) without a word.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
import yaml

from gateway.settings import Settings as GatewaySettings
from inspection.settings import Settings as InspectionSettings
from notifications.settings import Settings as NotificationsSettings
from registry.settings import Settings as RegistrySettings
from sites.settings import Settings as SitesSettings

ROOT = Path(__file__).resolve().parents[2]
VAR = Path(os.environ.get("NRMM_VAR_DIR", ROOT / "var"))
# read outside the settings classes: the image's start script, and the gateway's first administrator
OTHERS = {"NRMM_HTTP_PORT", "NRMM_BOOTSTRAP_ADMIN_USERNAME", "NRMM_BOOTSTRAP_ADMIN_PASSWORD"}

pytestmark = pytest.mark.deploy


def known() -> set[str]:
    names = set(OTHERS)
    for settings in (GatewaySettings, RegistrySettings, SitesSettings, InspectionSettings, NotificationsSettings):
        names |= {f"NRMM_{field.upper()}" for field in settings.model_fields}
    return names


def compose_names() -> set[str]:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    return {name for service in compose["services"].values() for name in (service.get("environment") or {})
            if name.startswith("NRMM_")}


def manifest_names() -> set[str]:
    env = {**os.environ, "NRMM_VAR_DIR": str(VAR)}
    subprocess.run(["bash", str(ROOT / "deploy" / "tools.sh")], env=env, check=True, capture_output=True)
    paths = dict(line.split("=", 1) for line in subprocess.run(
        ["bash", str(ROOT / "deploy" / "tools.sh"), "env"], env=env, check=True, capture_output=True,
        text=True).stdout.splitlines())
    names = set()
    for overlay in ("small", "city"):
        built = subprocess.run([paths["KUSTOMIZE"], "build", str(ROOT / "deploy" / "k8s" / "overlays" / overlay)],
                               check=True, capture_output=True, text=True).stdout
        for doc in yaml.safe_load_all(built):
            if not doc:
                continue
            if doc["kind"] == "ConfigMap":
                names |= set(doc.get("data") or {})
            if doc["kind"] == "Deployment":
                for container in doc["spec"]["template"]["spec"]["containers"]:
                    names |= {e["name"] for e in container.get("env") or []}
    return {name for name in names if name.startswith("NRMM_")}


def test_compose_sets_only_variables_a_service_reads():
    names = compose_names()
    assert {"NRMM_KAFKA_BOOTSTRAP", "NRMM_MONGODB_URL", "NRMM_JWT_SECRET", "NRMM_SERVICE_NAME"} <= names
    assert names - known() == set()


def test_the_manifests_set_only_variables_a_service_reads():
    names = manifest_names()
    assert {"NRMM_KAFKA_BOOTSTRAP", "NRMM_MONGODB_URL", "NRMM_JWT_SECRET", "NRMM_TOPIC_REPLICATION_FACTOR"} <= names
    assert names - known() == set()
