#!/usr/bin/env bash
# The main command: the quickstart on this machine. Starts the backing services (devenv),
# devcluster (a local Kubernetes API surrogate whose process kubelet runs pods as local
# processes), installs the CRDs with kubectl, starts the operator, applies the quickstart
# Platform and ContentPipeline, waits for Ready and calls the pipeline.
#
#   bash scripts/run.sh          # start everything (idempotent: restarts devcluster and operator)
#   bash scripts/run.sh down     # stop the operator, devcluster and its pods
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

STATE=.machina/devcluster
KUBECONFIG_PATH="$STATE/kubeconfig"
NS=acme
# The node's image mapping finds the binaries through the same variable (${TARGET_DIR}).
BIN="$(realpath -m "${CARGO_TARGET_DIR:-target}")/debug"
mkdir -p "$STATE"

stop() {
  for name in operator devcluster; do
    if [[ -f "$STATE/$name.pid" ]]; then
      kill "$(cat "$STATE/$name.pid")" 2>/dev/null || true
      for _ in $(seq 1 60); do kill -0 "$(cat "$STATE/$name.pid")" 2>/dev/null || break; sleep 0.5; done
      rm -f "$STATE/$name.pid"
    fi
  done
}

if [[ "${1:-}" == "down" ]]; then
  stop
  echo "stopped the operator and devcluster (backing services: devenv/down.sh)"
  exit 0
fi

devenv/up.sh
cargo build --workspace --bins --locked
stop

echo "==> devcluster (API on 127.0.0.1:6443, kubeconfig $KUBECONFIG_PATH)"
rm -f "$KUBECONFIG_PATH"
nohup "$BIN/devcluster" --listen 127.0.0.1:6443 --kubeconfig "$KUBECONFIG_PATH" \
  --data-dir "$STATE/data" --state-dir "$STATE/node" \
  >"$STATE/devcluster.log" 2>&1 &
echo $! >"$STATE/devcluster.pid"
for _ in $(seq 1 100); do [[ -s "$KUBECONFIG_PATH" ]] && break; sleep 0.2; done
export KUBECONFIG="$PWD/$KUBECONFIG_PATH"
kubectl version >/dev/null

echo "==> CRDs"
kubectl apply --server-side -f config/crd/bases >/dev/null
kubectl wait --for=condition=Established crd --all --timeout=60s >/dev/null

echo "==> namespace $NS and the backend Secrets (from .machina/backing.env)"
set -a; . .machina/backing.env; set +a
kubectl create namespace "$NS" --dry-run=client -o yaml | kubectl apply --server-side -f - >/dev/null
kubectl -n "$NS" create secret generic acme-mongodb-admin --from-literal=uri="$MACHINA_MONGODB_URI" \
  --dry-run=client -o yaml | kubectl apply --server-side -f - >/dev/null
kubectl -n "$NS" create secret generic acme-redis --from-literal=url="$MACHINA_REDIS_URL" \
  --dry-run=client -o yaml | kubectl apply --server-side -f - >/dev/null
kubectl -n "$NS" create secret generic acme-rabbitmq-admin \
  --from-literal=username="$MACHINA_RABBITMQ_USERNAME" --from-literal=password="$MACHINA_RABBITMQ_PASSWORD" \
  --from-literal=amqpUrl="$MACHINA_AMQP_URL" --from-literal=managementUrl="$MACHINA_RABBITMQ_MANAGEMENT_URL" \
  --dry-run=client -o yaml | kubectl apply --server-side -f - >/dev/null

echo "==> operator (log: $STATE/operator.log)"
# Outside the cluster the operator reaches Services (the template service) by their cluster
# DNS names through the node's hosts file, as pods do.
MACHINA_LOG_FORMAT=text MACHINA_HTTP_ADDR=127.0.0.1:8081 MACHINA_HOSTS_FILE="$STATE/node/hosts/$NS.hosts" \
  nohup "$BIN/machina-operator" >"$STATE/operator.log" 2>&1 &
echo $! >"$STATE/operator.pid"

echo "==> quickstart Platform and ContentPipeline"
kubectl -n "$NS" apply --server-side -f config/quickstart/platform.yaml -f config/quickstart/pipeline.yaml
kubectl -n "$NS" wait --for=condition=Ready contentpipeline/greeter --timeout=300s
kubectl -n "$NS" get machina

ADDR=$(awk '/ greeter\.acme\.svc /{print $1; exit}' "$STATE/node/hosts/$NS.hosts")
echo "==> POST http://$ADDR:8080/v1/generate (greeter.acme.svc, through the Service proxy)"
curl -sS -X POST "http://$ADDR:8080/v1/generate" -H 'content-type: application/json' \
  -d '{"context": {"name": "Ada"}}'
echo
cat <<TEXT

Machina runs on devcluster. Try:
  export KUBECONFIG=$PWD/$KUBECONFIG_PATH
  kubectl -n $NS get machina,deploy,pods,svc
  kubectl -n $NS describe contentpipeline greeter
  curl -sS -X POST http://$ADDR:8080/v1/generate -H 'content-type: application/json' -d '{"context": {"name": "Grace"}}'
Stop: bash scripts/run.sh down   (backing services: devenv/down.sh)
On a real cluster: kubectl apply --server-side -k config/default, then the samples in config/samples/.
TEXT
