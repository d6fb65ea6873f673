"""Fixtures of the deployment tests, shared with the end-to-end tests.

The end-to-end fixtures are imported so that the wheel test runs the operator with the chart's
RBAC and the same simulator setup. pytest keeps a separate instance of each per folder.
"""

from __future__ import annotations

from tests.e2e.conftest import (  # noqa: F401 - pytest finds fixtures by name.
    cluster,
    crd,
    e2e_simulator,
    operator_kubeconfig,
    workspace,
)
