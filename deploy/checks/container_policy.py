"""The platform's rules for its Dockerfile and Compose file, beyond hadolint and the Compose schema:

- Dockerfile: several stages; the last runs as a numeric non-root user, has a HEALTHCHECK and an ENTRYPOINT;
- docker-compose.yml: Kafka in KRaft mode, MongoDB as a replica set, every service of the platform present with a
  healthcheck, the broker and the database healthy before the services start, only the gateway published beyond
  the machine.

    python deploy/checks/container_policy.py deploy/Dockerfile docker-compose.yml
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import yaml

SERVICES = ("gateway", "registry", "sites", "inspection", "notifications")


def check_dockerfile(text: str) -> list[str]:
    lines = re.sub(r"\\\n", " ", text).splitlines()
    instructions = [line.strip() for line in lines if line.strip() and not line.strip().startswith("#")]
    stages = [i for i, line in enumerate(instructions) if line.upper().startswith("FROM ")]
    if len(stages) < 2:
        return ["Dockerfile: multi-stage expected (build stages apart from what runs)"]
    last = instructions[stages[-1]:]
    errors = []
    users = [line.split(None, 1)[1] for line in last if line.upper().startswith("USER ")]
    if not users or users[-1].split(":")[0] in ("root", "0") or not users[-1].split(":")[0].isdigit():
        errors.append("Dockerfile: the final stage must end as a numeric non-root USER (runAsNonRoot checks it)")
    if not any(line.upper().startswith("HEALTHCHECK ") and "NONE" not in line.upper() for line in last):
        errors.append("Dockerfile: the final stage needs a HEALTHCHECK")
    if not any(line.upper().startswith(("ENTRYPOINT ", "CMD ")) for line in last):
        errors.append("Dockerfile: the final stage needs an ENTRYPOINT or CMD")
    return errors


def check_compose(compose: dict) -> list[str]:
    errors = []
    services = compose.get("services") or {}
    kafka = (services.get("kafka") or {}).get("environment") or {}
    if "controller" not in str(kafka.get("KAFKA_PROCESS_ROLES", "")):
        errors.append("compose: kafka must run in KRaft mode (KAFKA_PROCESS_ROLES with controller)")
    mongo = services.get("mongo") or {}
    if "--replSet" not in (mongo.get("command") or []):
        errors.append("compose: mongo must run as a replica set (--replSet)")
    for name in ("kafka", "mongo", *SERVICES):
        service = services.get(name)
        if service is None:
            errors.append(f"compose: service {name} missing")
            continue
        if not (service.get("healthcheck") or {}).get("test"):
            errors.append(f"compose: service {name} needs a healthcheck")
    for name in SERVICES:
        service = services.get(name) or {}
        depends = service.get("depends_on") or {}
        for infra in ("kafka", "mongo"):
            if (depends.get(infra) if isinstance(depends, dict) else None) != {"condition": "service_healthy"}:
                errors.append(f"compose: {name} must wait for {infra} to be healthy")
        env = service.get("environment") or {}
        if env.get("NRMM_SERVICE_NAME") != name:
            errors.append(f"compose: {name} needs NRMM_SERVICE_NAME={name}")
        for port in service.get("ports") or []:
            if name != "gateway" and not str(port).startswith("127.0.0.1:"):
                errors.append(f"compose: {name} is published beyond this machine ({port}); only the gateway is")
    return errors


def main() -> int:
    dockerfile, compose = Path(sys.argv[1]), Path(sys.argv[2])
    errors = check_dockerfile(dockerfile.read_text()) + check_compose(yaml.safe_load(compose.read_text()))
    for error in errors:
        print(error, file=sys.stderr)
    print(f"container rules ({dockerfile.name}, {compose.name}): {len(errors)} errors")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
