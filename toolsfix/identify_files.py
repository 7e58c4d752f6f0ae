"""``toolsfix fingerprint``: identify driver files and judge the run.

Fingerprinting and the rung ladder live in :mod:`toolsfix.fingerprint` and
:mod:`toolsfix.identify`; this service puts them together for a list of paths, decides which
architecture a file's location implies, and turns ``--fail-on`` into an exit code, so the
command line only parses, calls, renders and exits.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Optional

from toolsfix.errors import ExitCode, InputError
from toolsfix.findings import SCHEMA_VERSION
from toolsfix.fingerprint import MAX_FILE_SIZE, DriverFingerprint
from toolsfix.fingerprint_pool import fingerprint_files
from toolsfix.fpdb import FingerprintDB
from toolsfix.identify import RUNGS, Identification, identify
from toolsfix.knowledge import arch_of_dir, is_solaris_dir
from toolsfix.safeio import open_regular

#: ``--fail-on`` values: the weakest rung that still passes is the one above the threshold.
#: ``unknown`` (the default) fails on files nothing matched, including files that are not ELF
#: objects; ``nearest`` also on mere resemblances; ``never`` always exits 0.
FAIL_ON_CHOICES: tuple[str, ...] = ("code-identical", "nearest", "unknown", "never")
DEFAULT_FAIL_ON = "unknown"


def location_arch(path: Path) -> Optional[str]:
    """The architecture a file's directory implies, or None when it implies none.

    ``.../amd64/vmxnet3s`` (a guest's ``/kernel/drv/amd64``) is 64-bit; a distrib build
    directory says it by name (``11_64`` 64-bit, ``11`` 32-bit). Anything else implies
    nothing, so nothing is expected of the file's ELF class.
    """
    parent = path.parent.name
    if parent == "amd64":
        return "amd64"
    if parent and is_solaris_dir(parent) and path.parent.parent.name == "binary":
        return arch_of_dir(parent)
    return None


@dataclass(frozen=True)
class FileIdentification:
    """One file as given on the command line and what identification says about it."""

    path: str
    identification: Identification

    @property
    def rung(self) -> str:
        return self.identification.rung

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.path, **self.identification.to_dict()}


@dataclass(frozen=True)
class Identifications:
    """Every file of one ``fingerprint`` run, in the order given."""

    results: tuple[FileIdentification, ...]

    def failing(self, fail_on: str) -> list[FileIdentification]:
        """Files identified at ``fail_on`` or weaker (none for ``never``)."""
        if fail_on == "never":
            return []
        threshold = RUNGS.index(fail_on)
        return [r for r in self.results if RUNGS.index(r.rung) >= threshold]

    def exit_code(self, fail_on: str = DEFAULT_FAIL_ON) -> ExitCode:
        return ExitCode.FINDINGS if self.failing(fail_on) else ExitCode.OK

    def to_dict(self) -> dict[str, Any]:
        return {"schema_version": SCHEMA_VERSION, "results": [r.to_dict() for r in self.results]}


def default_jobs() -> int:
    """Worker processes when ``-j 0``: at most 2 (see :func:`fingerprint_files`)."""
    return min(2, os.cpu_count() or 1)


def _sha256_of(path: Path) -> Optional[str]:
    """sha256 of a regular file within the driver cap, or None (the full path reports why).

    hashlib releases the GIL on large buffers, so threads hash files in parallel.
    """
    try:
        fd = open_regular(os.fspath(path))
    except InputError:  # fingerprint_file words the refusal when it meets the file
        return None
    try:
        with open(fd, "rb", buffering=0, closefd=False) as fh:
            data = fh.read(MAX_FILE_SIZE + 1)
    except OSError:
        return None
    finally:
        os.close(fd)
    return None if len(data) > MAX_FILE_SIZE else hashlib.sha256(data).hexdigest()


def _known(path: Path, sha: Optional[str], db: FingerprintDB) -> Optional[DriverFingerprint]:
    """The recorded fingerprint of a file whose sha256 the database knows.

    A fingerprint is a pure function of the bytes, so a file with a known sha256 has exactly
    the recorded features: re-parsing it would only spend time (LIEF's import alone is
    0.3-0.8 s). Files of the same release as a learned database are then identified at the
    cost of hashing them. Its name is the given path; what no record stores (the engine, the
    warnings of a parse) is left empty.
    """
    if sha is None:
        return None
    records = db.by_sha256(sha)
    if not records:
        return None
    return replace(records[0].fingerprint, name=str(path), engine="database", warnings=())


def identify_files(paths: Sequence[Path], db: FingerprintDB, *, jobs: int = 0) -> Identifications:
    """Fingerprint ``paths`` (``jobs`` workers, 0 = :func:`default_jobs`) and identify each.

    Files are hashed first (threads); a file the database knows by its sha256 takes the
    recorded fingerprint, and only the others are parsed (LIEF is imported only then).
    """
    workers = jobs if jobs > 0 else default_jobs()
    if len(paths) > 1 and db:
        with ThreadPoolExecutor(max(1, workers)) as pool:
            shas = list(pool.map(_sha256_of, paths))
    else:
        shas = [None] * len(paths)
    fps: list[Optional[DriverFingerprint]] = [_known(p, s, db) for p, s in zip(paths, shas)]
    todo = [i for i, fp in enumerate(fps) if fp is None]
    for i, fp in zip(todo, fingerprint_files([paths[i] for i in todo], jobs=workers)):
        fps[i] = fp
    results = []
    for path, found in zip(paths, fps):
        assert found is not None  # every file was either known or fingerprinted
        results.append(
            FileIdentification(str(path), identify(found, db, location_arch=location_arch(path)))
        )
    return Identifications(tuple(results))
