#!/usr/bin/env bash
# Run every test: static checks (ruff, mypy, import-linter), unit and property tests, the OVH API
# simulator's tests, and the end-to-end tests on a real kube-apiserver and etcd.
# Arguments go to pytest, for example: hack/test.sh tests/unit -k planner
set -euo pipefail

REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$REPO_ROOT"

hack/setup.sh
exec .venv/bin/pytest "$@"
