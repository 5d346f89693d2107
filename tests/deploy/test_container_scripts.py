"""The image's start script and health check (deploy/container), run here as the image runs them."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
START = ROOT / "deploy" / "container" / "start.sh"
PROBE = ROOT / "deploy" / "container" / "probe.py"

pytestmark = pytest.mark.deploy


@pytest.mark.parametrize("name", ["", "bogus", "gateway; rm -rf /"])
def test_the_start_script_refuses_anything_but_a_service_name(name):
    result = subprocess.run(["sh", str(START)], env={**os.environ, "NRMM_SERVICE_NAME": name},
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 64
    assert "NRMM_SERVICE_NAME must name a service" in result.stderr


class Answers(BaseHTTPRequestHandler):
    status = {"/readyz": 503, "/healthz": 200}

    def do_GET(self):  # noqa: N802 - the standard library's name
        self.send_response(self.status.get(self.path, 404))
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Answers)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd.server_address[1]
    httpd.shutdown()
    httpd.server_close()


def probe(port: int, path: str) -> int:
    return subprocess.run([sys.executable, str(PROBE), path], env={**os.environ, "NRMM_HTTP_PORT": str(port)},
                          capture_output=True, timeout=30).returncode


def test_the_health_check_is_healthy_on_200_only(server):
    assert probe(server, "/healthz") == 0
    assert probe(server, "/readyz") == 1  # 503: not ready (database unreachable, a runner dead)
    assert probe(server, "/nothing") == 1


def test_the_health_check_is_unhealthy_when_nothing_answers():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        free = sock.getsockname()[1]
    assert probe(free, "/readyz") == 1
