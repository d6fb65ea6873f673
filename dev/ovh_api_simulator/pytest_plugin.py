"""pytest fixtures: a session simulator seeded with dev/seeds/test.yaml, reset before each test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ovh_api_simulator.seed import load_seed_file
from ovh_api_simulator.testing import SimulatorServer

TEST_SEED_PATH = Path(__file__).resolve().parent.parent / "seeds" / "test.yaml"


def load_test_seed() -> dict[str, Any]:
    """Return the seed document of dev/seeds/test.yaml."""
    return load_seed_file(TEST_SEED_PATH)


@pytest.fixture(scope="session")
def ovh_simulator() -> Iterator[SimulatorServer]:
    """Yield a simulator running for the whole test session."""
    with SimulatorServer(seed=load_test_seed()) as server:
        yield server


@pytest.fixture
def ovh_sim(ovh_simulator: SimulatorServer) -> SimulatorServer:
    """Return the session simulator after resetting it to the test seed."""
    ovh_simulator.control.reset()
    ovh_simulator.control.seed(load_test_seed())
    return ovh_simulator
