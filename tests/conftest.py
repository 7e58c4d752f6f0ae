"""Shared pytest fixtures: paths to the committed synthetic samples.

Every test process gets an empty user database of its own (``TOOLSFIX_USER_DB``, inherited by
the commands tests spawn): what a developer learned on this machine must not change what a
test sees (fingerprints identify drivers, proofs on record replace perl runs).
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from pathlib import Path

import pytest

_USER_DB = tempfile.mkdtemp(prefix="toolsfix-test-user-db-")
atexit.register(shutil.rmtree, _USER_DB, ignore_errors=True)
os.environ["TOOLSFIX_USER_DB"] = _USER_DB

REPO = Path(__file__).resolve().parent.parent
SAMPLES = REPO / "vendor-samples"


@pytest.fixture(scope="session")
def samples() -> Path:
    return SAMPLES
