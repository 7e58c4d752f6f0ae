"""``toolsfix fingerprint``: identify driver files and judge the run.

Fingerprinting and the rung ladder live in :mod:`toolsfix.fingerprint` and
:mod:`toolsfix.identify`; this service puts them together for a list of paths, decides which
architecture a file's location implies, and turns ``--fail-on`` into an exit code, so the
command line only parses, calls, renders and exits.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional

from toolsfix.errors import ExitCode, InputError
from toolsfix.fpdb import FingerprintDB
from toolsfix.identify import RUNGS, Identification, identify, identify_known, prepare_nearest
from toolsfix.knowledge import arch_of_dir, is_solaris_dir
from toolsfix.safeio import MAX_DRIVER_BYTES, open_regular

if TYPE_CHECKING:  # the fingerprint module loads only when a file must be parsed
    from toolsfix.fingerprint import DriverFingerprint

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
        from toolsfix.findings import SCHEMA_VERSION  # lazy: start-up time (text needs none)

        return {"schema_version": SCHEMA_VERSION, "results": [r.to_dict() for r in self.results]}


def default_jobs() -> int:
    """Processes when ``-j 0``: at most 2 (see :func:`identify_files`)."""
    return min(2, os.cpu_count() or 1)


#: Unknown files from which ``-j 2`` (the default on two or more CPUs) parses in a worker
#: process beside identification; fewer are parsed here (a fork would cost more).
PIPELINE_MIN = 64


def _sha256_of(path: Path) -> Optional[str]:
    """sha256 of a regular file within the driver cap, or None (the full path reports why).

    Files are hashed one after the other: a thread pool cost ~0.1 ms of hand-over per file,
    more than hashing a typical 20 KB object takes. Reads are sized from ``fstat`` (a read of
    "up to the cap" would allocate the whole 64 MB cap for every file), and bounded by the
    cap of :data:`toolsfix.fingerprint.MAX_FILE_SIZE` on the bytes actually read, so a file
    growing under us cannot make it read more.
    """
    try:
        fd = open_regular(os.fspath(path))
    except InputError:  # fingerprint_file words the refusal when it meets the file
        return None
    try:
        size = os.fstat(fd).st_size
        if size > MAX_DRIVER_BYTES:
            return None
        digest = hashlib.sha256()
        total = 0
        while chunk := os.read(fd, size + 1):
            total += len(chunk)
            if total > MAX_DRIVER_BYTES:
                return None
            digest.update(chunk)
    except OSError:
        return None
    finally:
        os.close(fd)
    return digest.hexdigest()


def identify_files(paths: Sequence[Path], db: FingerprintDB, *, jobs: int = 0) -> Identifications:
    """Fingerprint ``paths`` (``jobs`` processes, 0 = :func:`default_jobs`) and identify each.

    Files are hashed first and looked up in one batch. A file the database knows by its
    sha256 is answered from the matching records' heads (:func:`identify_known`): a
    fingerprint is a pure function of the bytes, so re-parsing the file (LIEF's import alone
    is 0.3-0.8 s) or building the full records would only spend time. Only the other files
    are parsed, and LIEF is imported only then. With two processes (``-j 2``, the default
    on two CPUs) one worker imports LIEF and parses while this process builds the
    nearest-match index and identifies each file as its fingerprint arrives; with more,
    a pool parses all unknown files first; with one, everything runs here.
    """
    workers = jobs if jobs > 0 else default_jobs()
    shas = [_sha256_of(p) for p in paths] if db else [None] * len(paths)
    known = db.heads_by_sha256(s for s in shas if s is not None) if db else {}
    answers: list[Optional[Identification]] = [
        identify_known(str(p), known[s], location_arch=location_arch(p))
        if s is not None and s in known
        else None
        for p, s in zip(paths, shas)
    ]
    todo = [i for i, answer in enumerate(answers) if answer is None]
    if todo:
        # lazy: ELF parsing (and LIEF) load only when a file is not known by its hash
        from toolsfix.fingerprint_pool import fingerprint_files, fingerprint_paths

        unknown = [paths[i] for i in todo]
        if workers == 2 and len(todo) >= PIPELINE_MIN and db:
            fps: Iterable[DriverFingerprint] = fingerprint_paths(
                unknown, prepare=lambda: prepare_nearest(db)
            )
        else:
            fps = fingerprint_files(unknown, jobs=workers)
        for i, fp in zip(todo, fps):
            answers[i] = identify(fp, db, location_arch=location_arch(paths[i]))
    results = []
    for path, answer in zip(paths, answers):
        assert answer is not None  # every file was either known or fingerprinted
        results.append(FileIdentification(str(path), answer))
    return Identifications(tuple(results))
