#!/usr/bin/env bash
# Checks the deployment files offline (no Docker engine, no cluster), with the tools deploy/tools.sh installs into
# var/tools on first use. Runs every check, then exits non-zero if any failed. `.ci/run` runs it before the tests.
#   1. deploy/Dockerfile: hadolint, then the platform's rules (multi-stage, non-root, HEALTHCHECK)
#   2. docker-compose.yml: the Compose Specification's JSON schema (deploy/schemas/compose-spec.json) with
#      check-jsonschema, then the platform's rules (KRaft, replica set, healthchecks, only the gateway published)
#   3. each overlay of deploy/k8s: built with kustomize; Kubernetes' kinds validated against the schemas bundled in
#      kubernetes-validate, MongoDBCommunity against the operator's CRD schema, Kafka, KafkaNodePool and KafkaTopic
#      against Strimzi's API model (io.strimzi:api), then the platform's rules (deploy/checks/k8s_policy.py)
#
#   deploy/check.sh                 everything
#   deploy/check.sh dockerfile|compose|k8s    one part
# The built manifests are left in var/deploy-check/<overlay>.yaml.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VAR="${NRMM_VAR_DIR:-$ROOT/var}"
# the oldest Kubernetes the manifests are for, and the newest whose schemas kubernetes-validate bundles
KUBERNETES_VERSIONS="${NRMM_KUBERNETES_VERSIONS:-1.31.0 1.37.0}"
OUT="$VAR/deploy-check"
PART="${1:-all}"

log() { printf '[check] %s\n' "$*" >&2; }

"$ROOT/deploy/tools.sh" install
eval "$("$ROOT/deploy/tools.sh" env)"
mkdir -p "$OUT"

check_dockerfile() {
  log "deploy/Dockerfile: hadolint $("$HADOLINT" --version | awk '{print $NF}')"
  "$HADOLINT" --failure-threshold info "$ROOT/deploy/Dockerfile"
}

check_compose() {
  log "docker-compose.yml: the Compose Specification's schema"
  "$CHECK_JSONSCHEMA" --schemafile "$ROOT/deploy/schemas/compose-spec.json" "$ROOT/docker-compose.yml"
}

check_containers() {
  "$TOOLS_PYTHON" "$ROOT/deploy/checks/container_policy.py" "$ROOT/deploy/Dockerfile" "$ROOT/docker-compose.yml"
}

check_k8s() {
  local overlay name version status=0
  for overlay in "$ROOT"/deploy/k8s/overlays/*/; do
    name="$(basename "$overlay")"
    # NRMM_CHECK_OVERLAYS="small": only those (the tests' mutations); every overlay by default
    if [ -n "${NRMM_CHECK_OVERLAYS:-}" ] && [[ " $NRMM_CHECK_OVERLAYS " != *" $name "* ]]; then continue; fi
    log "deploy/k8s/overlays/$name: kustomize build"
    "$KUSTOMIZE" build "$overlay" > "$OUT/$name.yaml" || { status=1; continue; }
    java -Dslf4j.internal.verbosity=ERROR -cp "$STRIMZI_CLASSPATH" "$ROOT/deploy/checks/StrimziCheck.java" \
      "$OUT/$name.yaml" || status=1
    for version in $KUBERNETES_VERSIONS; do
      "$TOOLS_PYTHON" "$ROOT/deploy/checks/k8s_validate.py" --kubernetes-version "$version" \
        --mongodb-crds "$MONGODB_CRDS" "$OUT/$name.yaml" || status=1
    done
  done
  return "$status"
}

case "$PART" in
  all) checks=(check_dockerfile check_compose check_containers check_k8s) ;;
  dockerfile) checks=(check_dockerfile check_containers) ;;
  compose) checks=(check_compose check_containers) ;;
  k8s) checks=(check_k8s) ;;
  *) echo "usage: $0 [all|dockerfile|compose|k8s]" >&2; exit 2 ;;
esac
failed=()
for check in "${checks[@]}"; do
  "$check" || failed+=("${check#check_}")
done
if [ "${#failed[@]}" -gt 0 ]; then
  log "deployment files: FAILED: ${failed[*]}"
  exit 1
fi
log "deployment files: all checks passed ($PART)"
