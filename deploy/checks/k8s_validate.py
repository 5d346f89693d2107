"""Validates built Kubernetes manifests offline (deploy/check.sh runs it with the tools' Python, deploy/tools.sh):

- Kubernetes' own kinds against the API schemas bundled in `kubernetes-validate` (strict: unknown fields fail);
- MongoDBCommunity against the openAPIV3Schema of the MongoDB Community operator's CRD (from its Go module),
  with unknown fields refused as `kubectl apply` (strict field validation) refuses them;
- Strimzi's kinds are read by StrimziCheck.java against Strimzi's API model (not here);
- then the platform's own rules (k8s_policy.py).

    python deploy/checks/k8s_validate.py --kubernetes-version 1.31.0 --mongodb-crds DIR built.yaml
"""

from __future__ import annotations

import argparse
import copy
import sys
from pathlib import Path

import jsonschema
import kubernetes_validate
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
from k8s_policy import check_platform  # noqa: E402

STRIMZI_GROUP = "kafka.strimzi.io/"


def load(path: Path) -> list[dict]:
    with path.open() as f:
        return [doc for doc in yaml.safe_load_all(f) if doc]


def name_of(doc: dict) -> str:
    return f"{doc.get('kind', '?')}/{(doc.get('metadata') or {}).get('name', '?')}"


def strict(schema: dict) -> dict:
    """The CRD schema with unknown fields refused wherever the API server would refuse them."""
    schema = copy.deepcopy(schema)
    # metadata is the API server's own (ObjectMeta), not the CRD's to describe
    schema.setdefault("properties", {})["metadata"] = {"type": "object", "x-kubernetes-preserve-unknown-fields": True}

    def walk(node):
        if isinstance(node, dict):
            if (node.get("type") == "object" and "properties" in node and "additionalProperties" not in node
                    and not node.get("x-kubernetes-preserve-unknown-fields")):
                node["additionalProperties"] = False
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(schema)
    return schema


def crd_validators(crd_dir: Path) -> dict[tuple[str, str], jsonschema.protocols.Validator]:
    validators = {}
    for path in sorted(crd_dir.glob("*.yaml")):
        for crd in load(path):
            if crd.get("kind") != "CustomResourceDefinition":
                continue
            group, kind = crd["spec"]["group"], crd["spec"]["names"]["kind"]
            for version in crd["spec"]["versions"]:
                schema = strict(version["schema"]["openAPIV3Schema"])
                validators[(f"{group}/{version['name']}", kind)] = jsonschema.Draft7Validator(schema)
    return validators


def check_schemas(docs: list[dict], kubernetes_version: str, crds: dict) -> list[str]:
    errors = []
    for doc in docs:
        where, api_version, kind = name_of(doc), doc.get("apiVersion", ""), doc.get("kind", "")
        if not (doc.get("metadata") or {}).get("name"):
            errors.append(f"{where}: metadata.name is required")
        if api_version.startswith(STRIMZI_GROUP):
            continue  # StrimziCheck.java
        if (api_version, kind) in crds:
            for error in sorted(crds[(api_version, kind)].iter_errors(doc), key=lambda e: list(e.absolute_path)):
                path = ".".join(str(p) for p in error.absolute_path) or "(root)"
                errors.append(f"{where}: {path}: {error.message}")
            continue
        try:
            kubernetes_validate.validate(doc, kubernetes_version, strict=True)
        except kubernetes_validate.ValidationError as error:  # the first error of the resource
            path = ".".join(str(p) for p in error.absolute_path) or "(root)"
            errors.append(f"{where}: {path}: {error.message}")
        except (kubernetes_validate.SchemaNotFoundError, kubernetes_validate.InvalidSchemaError) as error:
            errors.append(f"{where}: no schema to validate it against ({error})")
    return errors


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kubernetes-version", default="1.31.0")
    parser.add_argument("--mongodb-crds", type=Path, required=True)
    parser.add_argument("--one-instance", action="store_true",
                        help="the services run one instance each (deploy/k8s/components/one-instance)")
    parser.add_argument("manifests", type=Path)
    args = parser.parse_args()
    docs = load(args.manifests)
    crds = crd_validators(args.mongodb_crds)
    if not crds:
        print(f"no CRD found in {args.mongodb_crds}", file=sys.stderr)
        return 1
    errors = check_schemas(docs, args.kubernetes_version, crds) + check_platform(docs, args.one_instance)
    for error in errors:
        print(f"{args.manifests.stem}: {error}", file=sys.stderr)
    print(f"{args.manifests.stem}: {len(docs)} resources, Kubernetes {args.kubernetes_version} schemas + "
          f"MongoDB Community CRD + platform rules: {len(errors)} errors")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
