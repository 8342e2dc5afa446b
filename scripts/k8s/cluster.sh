#!/usr/bin/env bash
# Start, stop or inspect the local Kubernetes control plane by hand (same code as the e2e fixture).
#   bash scripts/k8s/cluster.sh start    # prints `export KUBECONFIG=...`
#   bash scripts/k8s/cluster.sh status
#   bash scripts/k8s/cluster.sh stop
# State (certs, etcd data, logs, kubeconfig) lives in ${MLPY_K8S_CLUSTER_DIR:-~/.cache/mlpy-k8s/cluster}.
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
PY="${PYTHON:-}"
if [ -z "$PY" ]; then
  if [ -x "$REPO/.venv/bin/python" ]; then PY="$REPO/.venv/bin/python"; else PY=python3; fi
fi
cd "$REPO"
exec "$PY" -m tests.e2e.cluster "$@"
