#!/usr/bin/env bash
# Set up and run the whole test suite: lint (ruff), types (mypy), then pytest.
# Idempotent. Services (PostgreSQL, Redis, Pushgateway) are started when installed; tests that need a
# missing one skip with the reason, except under CI=true where they fail. Extra arguments go to pytest.
set -euo pipefail
cd -P "$(dirname "$0")/.."  # the checkout itself, even through a symlink
bash scripts/setup-venv.sh dev
eval "$(bash scripts/services.sh start)"
if [ -f scripts/k8s/env.sh ]; then
  # shellcheck source=/dev/null
  source scripts/k8s/env.sh
fi
echo "== ruff"
.venv/bin/ruff check .
.venv/bin/ruff format --check .
echo "== mypy"
.venv/bin/mypy
echo "== pytest"
exec .venv/bin/pytest "$@"
