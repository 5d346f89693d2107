"""The image's Python environment is what deploy/Dockerfile builds: `uv sync --frozen --no-dev --no-editable`,
without the development group. Every module of the kernel and the services imports there, outside the repository
(a dependency declared only for the tests, like httpx was, would break every service in production)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("nrmm_kernel", "gateway", "registry", "sites", "inspection", "notifications")

pytestmark = [pytest.mark.deploy, pytest.mark.integration]  # the tools and an image environment: slow

IMPORT_ALL = """
import importlib, pkgutil, sys
failed = []
for top in sys.argv[1:]:
    package = importlib.import_module(top)
    assert "site-packages" in package.__file__, package.__file__  # installed, not the sources
    for module in pkgutil.walk_packages(package.__path__, top + "."):
        try:
            importlib.import_module(module.name)
        except ImportError as error:
            failed.append(f"{module.name}: {error}")
print("\\n".join(failed))
sys.exit(1 if failed else 0)
"""


def test_every_module_imports_in_the_production_environment(tmp_path):
    uv = shutil.which("uv")
    assert uv, "uv is needed (the README's commands install it)"
    venv = tmp_path / "venv"
    subprocess.run([uv, "sync", "--frozen", "--no-dev", "--no-editable", "--quiet"], cwd=ROOT, check=True,
                   env={**os.environ, "UV_PROJECT_ENVIRONMENT": str(venv)}, timeout=600)
    result = subprocess.run([str(venv / "bin" / "python"), "-c", IMPORT_ALL, *PACKAGES], cwd=tmp_path,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    dev_only = [name for name in ("pytest", "schemathesis", "playwright") if (venv / "bin" / name).exists()]
    assert not dev_only, f"development tools in the production environment: {dev_only}"
