"""The Dockerfile: hadolint finds nothing, and the image runs as documented."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
DOCKERFILE = REPO / "Dockerfile"
HADOLINT = Path(sys.executable).parent / "hadolint"


def test_hadolint_no_findings() -> None:
    result = subprocess.run(
        [str(HADOLINT), "--no-color", str(DOCKERFILE)],
        capture_output=True,
        text=True,
        check=False,
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == ""


def test_dockerfile_base_image_pinned() -> None:
    text = DOCKERFILE.read_text()

    assert re.search(r"^ARG PYTHON_IMAGE=python:3\.11\.\d+-slim-bookworm$", text, re.MULTILINE)
    assert text.count("FROM ${PYTHON_IMAGE}") == 3


def test_dockerfile_runtime_settings() -> None:
    lines = DOCKERFILE.read_text().splitlines()

    assert "USER 10001:10001" in lines
    assert "EXPOSE 8080 9090" in lines
    assert 'ENTRYPOINT ["ovh-nodepool-operator"]' in lines
    assert 'CMD ["run"]' in lines


def test_dockerignore_allows_only_build_inputs() -> None:
    patterns = [
        line
        for line in (REPO / ".dockerignore").read_text().splitlines()
        if line and not line.startswith("#")
    ]

    assert patterns[0] == "*"
    assert {line for line in patterns if line.startswith("!")} == {
        "!pyproject.toml",
        "!README.md",
        "!operator/",
    }
