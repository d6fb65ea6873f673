"""Static checks run as tests: lint, format, types and the layer contracts."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
CANDIDATES = ("operator", "dev", "tests", "benchmarks", "hack")
FOLDERS = [name for name in CANDIDATES if any((REPO / name).rglob("*.py"))]

CHECKS = {
    "ruff-lint": [str(BIN / "ruff"), "check", *FOLDERS],
    "ruff-format": [str(BIN / "ruff"), "format", "--check", *FOLDERS],
    "mypy": [str(BIN / "mypy"), *FOLDERS],
    "import-linter": [str(BIN / "lint-imports")],
}


@pytest.mark.parametrize("name", sorted(CHECKS))
def test_static_check_passes(name: str) -> None:
    result = subprocess.run(CHECKS[name], cwd=REPO, capture_output=True, text=True, check=False)

    assert result.returncode == 0, f"{name} failed:\n{result.stdout}\n{result.stderr}"
