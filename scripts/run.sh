#!/usr/bin/env bash
# The main command. Until the local dev cluster exists it builds the workspace, regenerates and
# renders the install, and prints how to install Machina on a real cluster.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

cargo build --workspace --locked
cargo run -q --locked -p machina-crds --bin crdgen -- --check
config/check.sh >/dev/null

cat <<'TEXT'
Machina builds and its install renders. To install it on a cluster (kubectl context set):

  kubectl apply --server-side -k config/default        # CRDs, RBAC, operator in machina-system
  kubectl create namespace acme
  kubectl -n acme apply -f config/samples/secrets.example.yaml   # edit the values first
  kubectl -n acme apply -k config/samples              # a Platform, two Templates, a pipeline, a job
  kubectl -n acme get machina                          # every Machina resource, with Ready
  kubectl -n acme wait --for=condition=Ready platform/acme --timeout=5m

Environments (development → staging → production): config/overlays/, synced by Argo CD with
config/argocd/. A local dev cluster for this machine comes with the devcluster issue.
TEXT
