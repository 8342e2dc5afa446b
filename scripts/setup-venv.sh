#!/usr/bin/env bash
# Create .venv (Python 3.11+) and install mlpy with the given extras, pinned by constraints.txt.
# Idempotent: a stamp of pyproject.toml + constraints.txt + extras skips the install when nothing changed.
# Usage: bash scripts/setup-venv.sh [EXTRAS]   (default: all)
set -euo pipefail
cd -P "$(dirname "$0")/.."  # the checkout itself, even through a symlink
extras="${1:-all}"

pick_python() {
  local candidate
  for candidate in "${PYTHON:-}" python3.13 python3.12 python3.11 python3; do
    [ -n "$candidate" ] || continue
    command -v "$candidate" >/dev/null 2>&1 || continue
    if "$candidate" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' 2>/dev/null; then
      echo "$candidate"; return 0
    fi
  done
  echo "mlpy needs Python 3.11 or newer (set PYTHON=/path/to/python3.11)" >&2
  return 1
}

if [ ! -x .venv/bin/python ]; then
  "$(pick_python)" -m venv .venv
fi
want="$(cat pyproject.toml constraints.txt | sha256sum | cut -c1-16)"
# dev includes all and localk8s, and all includes every service extra: a current stamp of a wider
# set will do.
case "$extras" in
  dev) covered=(dev) ;;
  all) covered=(all dev) ;;
  localk8s) covered=(localk8s dev) ;;
  *) covered=("$extras" all dev) ;;
esac
for name in "${covered[@]}"; do
  if [ "$(cat ".venv/.mlpy-install-$name" 2>/dev/null)" = "$want" ]; then
    exit 0
  fi
done
# uv (pinned in constraints.txt) installs the same pins as pip in about a tenth of the time; pip
# stays the fallback where uv cannot be installed. Both compile the bytecode now: where
# PYTHONDONTWRITEBYTECODE is set (as on CI machines), Python would otherwise compile scikit-learn,
# SciPy and pandas from source in every process, doubling each command's start-up.
if .venv/bin/python -m pip install --quiet --disable-pip-version-check -c constraints.txt uv >/dev/null 2>&1; then
  .venv/bin/uv pip install --quiet --compile-bytecode --python .venv/bin/python -c constraints.txt -e ".[$extras]"
else
  echo "setup-venv: uv could not be installed; installing with pip (slower)" >&2
  .venv/bin/python -m pip install --quiet --disable-pip-version-check --upgrade "pip>=24" >/dev/null
  .venv/bin/python -m pip install --quiet --disable-pip-version-check -c constraints.txt -e ".[$extras]"
fi
# The checkout's own packages (installed editable) too; a source edited later is compiled in memory.
.venv/bin/python -m compileall -q -j 0 mlpy server/mlpy_server operator/mlpy_operator tools/localk8s >/dev/null
echo "$want" >".venv/.mlpy-install-$extras"
