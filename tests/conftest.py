"""Shared pytest fixtures: paths to the committed synthetic samples."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SAMPLES = REPO / "vendor-samples"


@pytest.fixture(scope="session")
def samples() -> Path:
    return SAMPLES
