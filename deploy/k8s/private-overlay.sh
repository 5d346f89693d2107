#!/usr/bin/env bash
# Makes a private overlay: one of deploy/k8s/overlays (small or city) with every Secret's placeholder replaced by a
# fresh random value, kept in files beside it (mode 600) and never committed. Apply that overlay, not the public one.
# It keeps the overlay's replica counts: several instances of a service are safe (issue #25; README "Several
# instances"). deploy/k8s/components/one-instance remains for whoever wants one of each (add it under `components:`).
#
#   deploy/k8s/private-overlay.sh city /srv/nrmm/city        then: kubectl apply -k /srv/nrmm/city
#
# An existing directory is refused: its secrets are in use (a new signing key signs everyone out, new database
# passwords lock the services out until the operator has applied them).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
SIZE="${1:?usage: $0 small|city DIR}"
DIR="${2:?usage: $0 small|city DIR}"
OVERLAY="$ROOT/deploy/k8s/overlays/$SIZE"
[ -d "$OVERLAY" ] || { echo "no overlay $OVERLAY" >&2; exit 2; }
[ -e "$DIR" ] && { echo "$DIR exists: its secrets may be in use; choose a new directory" >&2; exit 1; }

mkdir -p "$DIR"
DIR="$(cd "$DIR" && pwd)"
umask 077
random() { head -c 36 /dev/urandom | base64 | tr -d '\n/+='; }
random > "$DIR/signing-key"
{
  echo "# Private overlay of deploy/k8s/overlays/$SIZE, made by deploy/k8s/private-overlay.sh: keep out of git."
  echo "apiVersion: kustomize.config.k8s.io/v1beta1"
  echo "kind: Kustomization"
  echo "resources:"
  echo "  - $(realpath --relative-to="$DIR" "$OVERLAY")"
  echo "secretGenerator:"
  echo "  - {name: nrmm-jwt, behavior: replace, files: [signing-key]}"
  for service in gateway registry sites inspection notifications; do
    random > "$DIR/$service-db-password"
    echo "  - {name: nrmm-mongodb-$service-password, behavior: replace, files: [password=$service-db-password]}"
  done
} > "$DIR/kustomization.yaml"
echo '*' > "$DIR/.gitignore"
echo "made $DIR (secrets in files beside kustomization.yaml; apply with kubectl apply -k $DIR)" >&2
