"""Fixtures of the OVH API simulator tests; tests/conftest.py registers the simulator plugin."""

from __future__ import annotations

from typing import Any

import pytest

from ovh_api_simulator.testing import SimulatorServer, make_client


@pytest.fixture
def client(ovh_sim: SimulatorServer) -> Any:
    """Return a python-ovh client signed with the demo application key."""
    return make_client(ovh_sim)
