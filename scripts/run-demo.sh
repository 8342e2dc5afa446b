#!/usr/bin/env bash
# Set up and run the main job on embedded defaults (a SQLite file and a folder under ~/.mlpy):
# no server to install, no network needed once the packages are installed. Idempotent.
# Extra arguments go to `mlpy demo` (e.g. --no-serve).
set -euo pipefail
cd -P "$(dirname "$0")/.."  # the checkout itself, even through a symlink
bash scripts/setup-venv.sh all
exec .venv/bin/mlpy demo "$@"
