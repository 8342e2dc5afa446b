#!/usr/bin/env bash
# Creates bench/.venv-evidently: Evidently lives in its own venv because it pins pandas<3,
# while mlpy's venv runs pandas 3; the benchmark calls it as a subprocess.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
venv="$here/.venv-evidently"
if [[ ! -x "$venv/bin/python" ]]; then
    python3 -m venv "$venv"
fi
"$venv/bin/pip" install --quiet --upgrade pip
"$venv/bin/pip" install --quiet "evidently==0.7.23" "pandas<3" pyarrow
"$venv/bin/python" -c "import evidently; print('evidently', evidently.__version__)"
