#!/usr/bin/env bash
# Set up and run the whole test suite: lint (ruff), import contracts (lint-imports), types (mypy), then pytest.
# Idempotent. scripts/setup-tests.sh installs what this machine can have (the virtualenv, Debian
# packages, the Kubernetes binaries, the images); services (PostgreSQL, Redis, Pushgateway) are
# started when installed. Tests that need a missing part skip with the reason, except under CI=true
# where they fail. Extra arguments go to pytest.
set -euo pipefail
cd -P "$(dirname "$0")/.."  # the checkout itself, even through a symlink
bash scripts/setup-tests.sh
eval "$(bash scripts/services.sh start)"
echo "== ruff"
.venv/bin/ruff check .
.venv/bin/ruff format --check .
echo "== import contracts"
.venv/bin/lint-imports --no-cache
echo "== mypy"
# The cache lives outside the checkout: a fresh clone (as CI makes) checks in seconds, not a minute.
export MYPY_CACHE_DIR="${MYPY_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/mlpy/mypy}"
.venv/bin/mypy
echo "== pytest"
exec .venv/bin/pytest "$@"
