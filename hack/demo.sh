#!/usr/bin/env bash
# Run the demo: a local control plane, the OVH API simulator and the operator, all on 127.0.0.1.
#   hack/demo.sh         set up, start everything, and walk through create, scale, bounds, delete
#   hack/demo.sh stop    stop what the demo started
set -euo pipefail

REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$REPO_ROOT"

case "${1:-}" in
  "") hack/setup.sh ;;
  stop) ;;
  *) echo "usage: hack/demo.sh [stop]" >&2; exit 2 ;;
esac
exec .venv/bin/python hack/demo.py "$@"
