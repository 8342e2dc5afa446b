#!/usr/bin/env bash
# Start, stop or inspect the local Kubernetes cluster by hand (the same code as the e2e fixtures).
#   bash scripts/k8s/cluster.sh start               # a real node where this machine can run one, else kwok
#   bash scripts/k8s/cluster.sh start --kwok-only   # fake kwok nodes only (no root needed)
#   bash scripts/k8s/cluster.sh status | stop | audit | images
# State (certs, etcd data, logs, kubeconfig) lives in ${MLPY_K8S_CLUSTER_DIR:-~/.cache/mlpy-k8s/cluster}.
# It brings its own dependencies: the virtualenv with the localk8s extra (a no-op once installed).
set -euo pipefail
REPO="$(cd -P "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
bash "$REPO/scripts/setup-venv.sh" localk8s
exec "$REPO/.venv/bin/python" -m localk8s "$@"
