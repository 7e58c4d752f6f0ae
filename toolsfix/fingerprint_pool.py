"""Fingerprinting many files at once, in worker processes when that pays off.

Kept apart from :mod:`toolsfix.fingerprint` (one file's features) because it is about
processes: how many workers, when they start, what they inherit.
"""

from __future__ import annotations

import os
import signal
import sys
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Optional, TypeVar

from toolsfix.elf.lief_reader import lief_available, lief_installed
from toolsfix.fingerprint import DriverFingerprint, fingerprint_bytes, fingerprint_file

if TYPE_CHECKING:  # the pool machinery loads only when a stream is long enough to use it
    from concurrent.futures import Future, ProcessPoolExecutor

__all__ = ["fingerprint_files", "fingerprint_paths", "fingerprint_stream"]

_T = TypeVar("_T")

#: Objects per task handed to the streaming worker, and tasks in flight: about
#: ``STREAM_BATCH * STREAM_AHEAD`` driver objects (~2-3 MB) are held at any time, enough for
#: the worker never to wait for the stream nor the stream for the worker.
STREAM_BATCH = 32
STREAM_AHEAD = 4
#: Worker processes parsing the objects of a distrib (``fingerprints learn``). Two, from
#: measurement (60 MB real-shaped tarball, 2,000 objects, 2 cores): 2.2-2.5 s with one worker,
#: 2.0-2.25 s with two -- the decompression and tar walk leave part of a core idle that a
#: second parser fills (not measured on more cores). One before Python 3.11: a fork pool
#: there starts its processes on demand, so the second would be forked while the pool's
#: manager thread already runs (see :func:`_stream_pool`).
STREAM_WORKERS = 2 if sys.version_info >= (3, 11) else 1


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


# --------------------------------------------------------------------------------------------
# A stream of objects (``fingerprints learn``)


def _worker_init() -> None:
    """Ctrl-C reaches the whole process group: the parent handles it and stops the worker,
    which must not print a traceback of its own."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _warm_up() -> bool:
    """Import the engine in the worker while the parent streams (LIEF: 0.3-0.9 s)."""
    return lief_installed() and lief_available()


def _fingerprint_batch(batch: Sequence[tuple[str, bytes]]) -> list[DriverFingerprint]:
    return [fingerprint_bytes(data, name=name) for name, data in batch]


def _stream_pool(workers: int = 1) -> Optional[ProcessPoolExecutor]:
    """``workers`` forked workers (at most one per CPU), started now, early enough to import
    LIEF while the stream begins.

    None where forking is unavailable or would not run in parallel (one CPU), and in a
    process that already runs other threads: a fork copies only the calling thread, so a lock
    another thread holds at that instant (a decompressor's, a previous pool's queue) would
    stay locked in the worker forever. The caller's stream starts its own threads only after
    this, when its first entry is read.
    """
    # lazy: only a stream of objects uses worker processes
    import concurrent.futures
    import multiprocessing
    import threading

    if (
        (os.cpu_count() or 1) < 2
        or "fork" not in multiprocessing.get_all_start_methods()
        or threading.active_count() > 1
    ):
        return None
    count = min(workers, os.cpu_count() or 1)  # two or more CPUs here
    pool = concurrent.futures.ProcessPoolExecutor(
        count, mp_context=multiprocessing.get_context("fork"), initializer=_worker_init
    )
    for _ in range(count):
        pool.submit(_warm_up)
    return pool


def fingerprint_stream(items: Iterable[tuple[str, bytes]]) -> Iterator[DriverFingerprint]:
    """Fingerprints of ``(name, bytes)`` items, in order, made while the caller reads on.

    Learning a distrib is a stream (decompression, tar walk) followed per driver by a parse:
    one worker process parses batches while this process keeps reading, so the engine's
    import and the parses overlap the decompression instead of adding to it. At most
    :data:`STREAM_AHEAD` batches are in flight, so memory stays bounded whatever the stream's
    length. Without a worker (no fork, one CPU) or after it died, objects are fingerprinted
    here, with the same result.
    """
    return _pipelined(items, _fingerprint_batch, workers=STREAM_WORKERS)


def fingerprint_paths(
    paths: Sequence[os.PathLike[str] | str], *, prepare: Optional[Callable[[], object]] = None
) -> Iterator[DriverFingerprint]:
    """Fingerprints of files, in order, parsed in one worker while the caller uses them.

    ``toolsfix fingerprint`` of many files unknown to the database: the worker imports the
    engine (LIEF: 0.3-0.9 s) and parses while this process runs ``prepare`` (building the
    nearest-match index of the database) and then identifies each fingerprint as it arrives,
    so import, parsing and identification use both cores instead of running one after the
    other. The worker is forked before this process imports the engine. Without a worker the
    files are parsed here, with the same result.
    """
    return _pipelined([os.fspath(p) for p in paths], _fingerprint_chunk, prepare)


def _pipelined(
    items: Iterable[_T],
    work: Callable[[Sequence[_T]], list[DriverFingerprint]],
    prepare: Optional[Callable[[], object]] = None,
    *,
    workers: int = 1,
) -> Iterator[DriverFingerprint]:
    pool = _stream_pool(workers)
    if prepare is not None:
        prepare()  # runs while the worker imports the engine
    if pool is None:
        for item in items:
            yield from work([item])
        return
    # lazy: only reached with a pool, whose module is then loaded
    from concurrent.futures.process import BrokenProcessPool

    pending: deque[tuple[list[_T], Optional[Future[list[DriverFingerprint]]]]] = deque()
    broken = False

    def send(batch: list[_T]) -> None:
        nonlocal broken
        future = None
        if not broken:
            try:
                future = pool.submit(work, batch)
            except BrokenProcessPool:
                broken = True
        pending.append((batch, future))

    def receive() -> list[DriverFingerprint]:
        nonlocal broken
        batch, future = pending.popleft()
        if future is not None:
            try:
                return future.result()
            except BrokenProcessPool:  # the worker died (killed, out of memory): go on here
                broken = True
        return work(batch)

    try:
        batch: list[_T] = []
        for item in items:
            batch.append(item)
            if len(batch) >= STREAM_BATCH:
                send(batch)
                batch = []
                while len(pending) > STREAM_AHEAD:
                    yield from receive()
        if batch:
            send(batch)
        while pending:
            yield from receive()
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
