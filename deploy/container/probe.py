"""The container's health check: exit 0 when the service in this container answers 200 on a path (/readyz)."""

import os
import sys
import urllib.request

path = sys.argv[1] if len(sys.argv) > 1 else "/readyz"
url = f"http://127.0.0.1:{os.environ.get('NRMM_HTTP_PORT', '8000')}{path}"
try:
    with urllib.request.urlopen(url, timeout=3) as response:  # noqa: S310 - loopback, fixed scheme
        sys.exit(0 if response.status == 200 else 1)
except Exception as error:  # noqa: BLE001 - any failure is "unhealthy"
    print(f"{url}: {error}", file=sys.stderr)
    sys.exit(1)
