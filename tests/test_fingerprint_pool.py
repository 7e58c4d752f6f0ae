"""Fingerprinting a stream of objects in a worker process (``fingerprints learn``).

The worker is an optimisation only: what comes out must be what fingerprinting each object
here gives, in the same order, with bounded memory, whether the worker runs, is unavailable
or dies. Objects are synthetic (``vendor-samples/elfgen.py``) or plain bytes.
"""

from __future__ import annotations

import dataclasses
import multiprocessing
import os
import time
from collections.abc import Iterator

import pytest
from samplelib import driver

from toolsfix import fingerprint_pool
from toolsfix.errors import InputError
from toolsfix.fingerprint import DriverFingerprint, fingerprint_bytes
from toolsfix.fingerprint_pool import STREAM_AHEAD, STREAM_BATCH, fingerprint_stream

pytestmark = pytest.mark.skipif(
    "fork" not in multiprocessing.get_all_start_methods() or (os.cpu_count() or 1) < 2,
    reason="the streaming worker needs fork and two CPUs",
)


def _items(count: int) -> list[tuple[str, bytes]]:
    """Objects of several kinds, so that order mistakes show: ELF builds and non-ELF bytes."""
    objects = [driver("vmxnet3s", d) for d in ("10", "10_64", "11", "11_64")]
    out = []
    for i in range(count):
        data = objects[i % len(objects)] if i % 5 else f"not an object {i}".encode()
        out.append((f"lib/modules/binary/x/{i}", data))
    return out


def _expected(items: list[tuple[str, bytes]]) -> list[object]:
    return [fingerprint_bytes(data, name=name) for name, data in items]


def test_the_worker_gives_what_fingerprinting_here_gives() -> None:
    items = _items(3 * STREAM_BATCH + 7)  # full batches and a partial one
    got = list(fingerprint_stream(iter(items)))
    assert got == _expected(items)
    assert [fp.name for fp in got] == [name for name, _ in items]


def test_without_a_worker_the_result_is_the_same(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fingerprint_pool, "_stream_pool", lambda workers=1: None)
    items = _items(40)
    assert list(fingerprint_stream(iter(items))) == _expected(items)


def test_an_empty_stream_gives_nothing_and_stops_the_worker() -> None:
    assert list(fingerprint_stream(iter(()))) == []
    assert multiprocessing.active_children() == []


def test_the_stream_is_read_only_a_bounded_way_ahead() -> None:
    """Memory is bounded: the first fingerprint comes before more than a few batches of the
    stream were read, however long the stream is."""
    items = _items(20 * STREAM_BATCH)
    read = 0

    def counted() -> Iterator[tuple[str, bytes]]:
        nonlocal read
        for item in items:
            read += 1
            yield item

    stream = fingerprint_stream(counted())
    first = next(stream)
    assert first.name == items[0][0]
    assert read <= STREAM_BATCH * (STREAM_AHEAD + 1)
    assert len([first, *stream]) == len(items)


_PARENT = os.getpid()
_REAL_BATCH = fingerprint_pool._fingerprint_batch


def _named_by_process(batch: list[tuple[str, bytes]]) -> list[DriverFingerprint]:
    """Module-level (the pool hands it over by name): each fingerprint says who made it."""
    time.sleep(0.02)  # long enough that every worker is handed batches
    return [dataclasses.replace(fp, name=f"{os.getpid()}") for fp in _REAL_BATCH(batch)]


@pytest.mark.skipif(fingerprint_pool.STREAM_WORKERS < 2, reason="one worker on this Python")
def test_learning_parses_in_as_many_workers_as_measured(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fingerprint_pool, "_fingerprint_batch", _named_by_process)
    made_by = {fp.name for fp in fingerprint_stream(iter(_items(12 * STREAM_BATCH)))}
    assert len(made_by) == fingerprint_pool.STREAM_WORKERS and str(_PARENT) not in made_by
    assert multiprocessing.active_children() == []


def _dies_in_the_worker(batch: list[tuple[str, bytes]]) -> list[DriverFingerprint]:
    """Module-level, so the pool can hand it to the worker by name."""
    if os.getpid() != _PARENT:
        os._exit(1)
    return _REAL_BATCH(batch)


def test_a_dead_worker_is_replaced_by_fingerprinting_here(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A worker killed mid-stream (out of memory, a crash in the parser) costs speed only."""
    monkeypatch.setattr(fingerprint_pool, "_fingerprint_batch", _dies_in_the_worker)
    items = _items(2 * STREAM_BATCH + 3)
    assert list(fingerprint_stream(iter(items))) == _expected(items)
    assert multiprocessing.active_children() == []


def test_an_error_of_the_stream_reaches_the_caller_and_stops_the_worker() -> None:
    """A damaged archive found mid-stream is the caller's one-line error; no worker is left."""

    def damaged() -> Iterator[tuple[str, bytes]]:
        yield from _items(STREAM_BATCH + 1)
        raise InputError("x.tar.gz: not a readable archive: truncated")

    with pytest.raises(InputError, match="truncated"):
        list(fingerprint_stream(damaged()))
    assert multiprocessing.active_children() == []


# --------------------------------------------------------------------------------------------
# Files parsed in a worker while the caller identifies (``toolsfix fingerprint``)


def _files(tmp_path: os.PathLike[str], count: int) -> list[str]:
    from pathlib import Path

    out = []
    for i, (name, data) in enumerate(_items(count)):
        path = Path(tmp_path) / f"{i:03d}-{name.rsplit('/', 1)[-1]}.o"
        path.write_bytes(data)
        out.append(str(path))
    return out


def test_files_parsed_in_the_worker_are_what_parsing_here_gives(tmp_path: os.PathLike[str]) -> None:
    from toolsfix.fingerprint import fingerprint_file
    from toolsfix.fingerprint_pool import fingerprint_paths

    paths = _files(tmp_path, 2 * STREAM_BATCH + 5)
    order: list[str] = []
    got = []
    for fp in fingerprint_paths(paths, prepare=lambda: order.append("prepared")):
        order.append("result")
        got.append(fp)
    assert order[0] == "prepared" and order.count("prepared") == 1
    assert got == [fingerprint_file(p) for p in paths]
    assert multiprocessing.active_children() == []


def test_an_unreadable_file_is_the_same_error_through_the_worker(
    tmp_path: os.PathLike[str],
) -> None:
    from pathlib import Path

    from toolsfix.fingerprint_pool import fingerprint_paths

    paths = _files(tmp_path, STREAM_BATCH + 3)
    paths.insert(STREAM_BATCH + 1, str(Path(tmp_path) / "missing.o"))
    with pytest.raises(InputError, match=r"missing\.o: cannot read"):
        list(fingerprint_paths(paths))
    assert multiprocessing.active_children() == []


def test_identification_is_the_same_with_and_without_the_worker(
    tmp_path: os.PathLike[str],
) -> None:
    from pathlib import Path

    from toolsfix import fpdb
    from toolsfix.identify_files import PIPELINE_MIN, identify_files

    paths = [Path(p) for p in _files(tmp_path, PIPELINE_MIN + 10)]
    db = fpdb.load_db([fpdb.shipped_db_dir()])
    here = identify_files(paths, db, jobs=1)
    piped = identify_files(paths, db, jobs=2)
    assert piped.to_dict() == here.to_dict()
    assert {r.rung for r in here.results} >= {"unknown"}
