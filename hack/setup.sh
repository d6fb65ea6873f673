#!/usr/bin/env bash
# Prepare a working copy from nothing: a Python virtual environment in .venv with the operator,
# its test tools and the development kit (OVH API simulator, local control plane), then the
# control-plane binaries (built once and cached under ~/.cache).
set -euo pipefail

REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$REPO_ROOT"

PYTHON=${PYTHON:-$(command -v python3.11 || command -v python3)}
"$PYTHON" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' ||
  { echo "setup: Python 3.11 or newer is required, found $("$PYTHON" --version)" >&2; exit 1; }

if [ ! -x .venv/bin/python ]; then
  echo "setup: creating .venv with $("$PYTHON" --version)" >&2
  "$PYTHON" -m venv .venv
fi

# Reinstall only when a dependency list or this script changed since the last install.
stamp=.venv/.installed
wanted=$(cat pyproject.toml dev/pyproject.toml hack/setup.sh | sha256sum | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$wanted" ]; then
  echo "setup: installing Python packages into .venv" >&2
  .venv/bin/python -m pip install --quiet --upgrade pip
  .venv/bin/python -m pip install --quiet -e '.[test,bench]' -e dev
  echo "$wanted" > "$stamp"
fi

hack/build-control-plane.sh
