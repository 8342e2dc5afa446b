#!/usr/bin/env bash
# Create .venv-kserve: the kserve SDK's inference clients, pinned by constraints-kserve.txt, for the
# tests that drive mlpy's server with them. A virtualenv of its own because kserve pins pandas below
# 3 (mlpy's is 3.x). Idempotent: a stamp of the pins skips the install when nothing changed. Needs
# .venv (scripts/setup-venv.sh), whose uv it uses.
set -euo pipefail
cd -P "$(dirname "$0")/.."
want="$(sha256sum constraints-kserve.txt | cut -c1-16)"
if [ "$(cat .venv-kserve/.stamp 2>/dev/null)" = "$want" ]; then
  exit 0
fi
[ -x .venv-kserve/bin/python ] || .venv/bin/python -m venv .venv-kserve
if [ -x .venv/bin/uv ]; then
  .venv/bin/uv pip install --quiet --python .venv-kserve/bin/python -r constraints-kserve.txt
else
  .venv-kserve/bin/python -m pip install --quiet --disable-pip-version-check -r constraints-kserve.txt
fi
echo "$want" >.venv-kserve/.stamp
