"""Shared test helpers for the synthetic samples (imported by test modules, not a test)."""

from __future__ import annotations

import importlib.util
import shutil
import sys
from functools import cache
from pathlib import Path
from types import ModuleType

import pytest

REPO = Path(__file__).resolve().parent.parent
SAMPLES = REPO / "vendor-samples"


@cache
def elfgen() -> ModuleType:
    """vendor-samples/elfgen.py, loaded once; skips the test when gcc/binutils are missing."""
    if shutil.which("gcc") is None or shutil.which("objcopy") is None:
        pytest.skip("elfgen needs gcc and binutils")
    spec = importlib.util.spec_from_file_location("toolsfix_test_elfgen", SAMPLES / "elfgen.py")
    assert spec is not None and spec.loader is not None
    module = sys.modules.get(spec.name)
    if module is None:
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module  # dataclasses need the module registered
        spec.loader.exec_module(module)
    return module


@cache
def driver(module: str, os_dir: str, version: str = "9.2.2", build: str = "893683",
           variant: str = "") -> bytes:  # fmt: skip
    """A synthetic driver object built by elfgen (cached per argument set)."""
    data = elfgen().build_driver(module, os_dir, version, build, variant=variant)
    assert isinstance(data, bytes)
    return data
