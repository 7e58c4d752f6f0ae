"""Fingerprinting many files at once, in worker processes when that pays off.

Kept apart from :mod:`toolsfix.fingerprint` (one file's features) because it is about
processes: how many workers, when they start, what they inherit.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

from toolsfix.elf.lief_reader import lief_available, lief_installed
from toolsfix.fingerprint import DriverFingerprint, fingerprint_file

__all__ = ["fingerprint_files"]


def _fingerprint_chunk(paths: Sequence[str]) -> list[DriverFingerprint]:
    return [fingerprint_file(p) for p in paths]


def fingerprint_files(
    paths: Sequence[os.PathLike[str] | str], *, jobs: int = 1
) -> list[DriverFingerprint]:
    """Fingerprint many files, in ``jobs`` worker processes when that pays off.

    Parsing is CPU-bound Python work, so processes (not threads) are what scale. The engine
    is imported *before* the workers start: forked, they inherit it, where each would
    otherwise import LIEF itself (0.3-0.8 s apiece, the cost of parsing hundreds of files).
    Small batches stay in-process, where pool start-up would cost more than it saves.
    """
    names = [os.fspath(p) for p in paths]
    if jobs <= 1 or len(names) < 64:
        return _fingerprint_chunk(names)
    # lazy: only a large batch with workers needs them
    import concurrent.futures
    import multiprocessing

    if lief_installed():
        lief_available()  # import it here, once, for every forked worker
    methods = multiprocessing.get_all_start_methods()
    context = multiprocessing.get_context("fork" if "fork" in methods else None)
    size = max(16, len(names) // (jobs * 4))
    chunks = [names[i : i + size] for i in range(0, len(names), size)]
    with concurrent.futures.ProcessPoolExecutor(jobs, mp_context=context) as pool:
        return [fp for part in pool.map(_fingerprint_chunk, chunks) for fp in part]
