"""``toolsfix audit``: many guests, templates and distribs in one run.

The flow is inputs -> targets -> items -> summary:

* **inputs** are what the user typed (paths, quoted globs we expand ourselves, lines of
  ``--from`` files); a directory that is none of the kinds below stands for its children;
* each **target** has a kind, detected from the file system (``bundle``: a collector bundle,
  directory with ``manifest.txt`` or a tar of one; ``root``: an image root, ``etc/`` plus
  ``kernel/`` or ``usr/``; ``distrib``: a vmware-tools-distrib directory, a tarball or ISO of
  one, or a lone configurator script) or forced with ``--kind``;
* each **item** is the outcome of the single-input command for that target, ``verify --bundle``,
  ``verify --root`` or ``scan``, run in a worker process: its report is byte for byte the JSON
  that command prints (modulo whitespace), and its status says whether it could be evaluated.
  A failure of one item (unreadable, not evaluable, timed out, a crashed worker) is that item's
  status; it never stops the run.

Workers are separate processes, not threads, because the work is CPU-bound Python plus a Perl
child per configurator, and because a stuck item must be killable without harming the run:
each worker sits in its own process group, which the parent kills as a whole (the Perl sandbox
runs in a session of its own, bounded by its own CPU limit and deadline). LIEF is imported
and the fingerprint database loaded once per worker, when it starts, not once per item (where
fork is available the parent imports LIEF before forking, so the workers share its memory);
that start-up, about half a second, would otherwise dominate the cost of a small bundle.

Time limits are two-level: ``SIGALRM`` inside the worker stops a slow item cleanly (the worker
survives and takes the next one); if the worker does not answer within a grace period after
that (stuck in native code), the parent kills its process group and starts a replacement.

Interruption: SIGINT (Ctrl-C) and SIGTERM make the parent stop handing out work, kill the
workers and return what finished, marked partial; the CLI writes that partial report and exits
128 + the signal number (130 for Ctrl-C, 143 for SIGTERM).

This module holds the items' evaluation and the workers; inputs -> targets live in
:mod:`toolsfix.audit_inputs`, the records (options, items, result, summary) in
:mod:`toolsfix.audit_model`, and every public name of both is re-exported here.
"""

from __future__ import annotations

import contextlib
import json
import multiprocessing
import os
import signal
import sys
import threading
import time
from collections import deque
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from pathlib import Path
from types import FrameType
from typing import Any, Callable, Optional

from toolsfix.audit_inputs import (
    BUNDLE_MANIFEST,
    CONFIGURATOR,
    DISTRIB_DIR,
    GLOB_CHARS,
    KINDS,
    MAX_DEPTH,
    PEEK_MEMBERS,
    TAR_SUFFIXES,
    DetectError,
    Inputs,
    Target,
    detect_kind,
    expand_inputs,
    guess_kind,
    read_input_list,
)
from toolsfix.audit_model import (
    DEFAULT_TIMEOUT,
    SCHEMA_VERSION,
    STATUSES,
    AuditOptions,
    AuditResult,
    FindingRow,
    Item,
    pack_report,
)
from toolsfix.baseline import apply_policy
from toolsfix.errors import ExitCode, ToolsfixError
from toolsfix.findings import Report

__all__ = [
    "BUNDLE_MANIFEST",
    "CONFIGURATOR",
    "DEFAULT_TIMEOUT",
    "DISTRIB_DIR",
    "GLOB_CHARS",
    "KINDS",
    "MAX_DEPTH",
    "PEEK_MEMBERS",
    "SCHEMA_VERSION",
    "STATUSES",
    "TAR_SUFFIXES",
    "AuditOptions",
    "AuditResult",
    "DetectError",
    "FindingRow",
    "Inputs",
    "Item",
    "Target",
    "default_jobs",
    "detect_kind",
    "evaluate",
    "expand_inputs",
    "guess_kind",
    "pack_report",
    "read_input_list",
    "run_audit",
]

MAX_DEFAULT_JOBS = 8
HARD_GRACE = 5.0  # seconds after the in-worker limit before the parent kills the worker
START_LIMIT = 120.0  # seconds a worker may take to import LIEF and load the database
TICK = 0.2  # longest the parent sleeps before it looks at deadlines and signals again


class ItemTimeout(BaseException):
    """Raised by SIGALRM inside a worker; a BaseException so that no ``except Exception`` in
    the checks can swallow it (the Perl runner still kills its child on the way out)."""


@contextlib.contextmanager
def _time_limit(seconds: float) -> Iterator[None]:
    usable = (
        seconds > 0
        and hasattr(signal, "setitimer")
        and threading.current_thread() is threading.main_thread()
    )
    if not usable:
        yield
        return

    def fire(signum: int, frame: Optional[FrameType]) -> None:
        raise ItemTimeout()

    previous = signal.signal(signal.SIGALRM, fire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def single_report(target: Target, options: AuditOptions) -> Report:
    """What ``verify --bundle``/``verify --root``/``scan`` computes for the target, with the
    same options the CLI would pass."""
    if target.kind == "distrib":
        # only the service the item needs: a worker auditing distribs never loads verify's
        # guest parsers and checks, and the other way round
        from toolsfix.scan import ScanOptions, scan

        scan_options = ScanOptions(
            options.execute,
            options.perl_timeout,
            use_records=options.use_records,
            db_dirs=options.db_dirs,
        )
        return scan(target.path, scan_options)
    from toolsfix.verify import VerifyOptions, verify  # only the service the item needs (above)

    opts = VerifyOptions(options.db_dirs, options.execute, options.use_records)
    if target.kind == "root":
        return verify(root=target.path, options=opts)
    if target.kind == "bundle":
        return verify(bundle=target.path, options=opts)
    raise ToolsfixError(f"{target.input}: unknown kind {target.kind!r}", ExitCode.USAGE)


def _failed(
    target: Target, index: int, status: str, code: int, error: str, seconds: float = 0.0
) -> Item:
    return Item(index, target.input, target.kind, status, code, error=error, seconds=seconds)


def evaluate(target: Target, index: int, options: AuditOptions) -> Item:
    """One item, never raising for the item's own problems (they become its status)."""
    start = time.monotonic()
    if target.error is not None or target.kind is None:
        why = target.error or f"{target.input}: kind unknown"
        return _failed(target, index, "error", int(ExitCode.INPUT), why)
    try:
        with _time_limit(options.timeout):
            report = single_report(target, options)
            report = apply_policy(report, options.policy, item=target.input)
            text = json.dumps(report.to_dict())  # what `--format json` prints, unindented
    except ItemTimeout:
        why = f"{target.input}: no result within {options.timeout:g} s (--timeout)"
        return _failed(target, index, "timeout", int(ExitCode.INPUT), why, time.monotonic() - start)
    except ToolsfixError as exc:
        why = _one_line(str(exc))
        return _failed(
            target, index, "not-evaluable", int(exc.exit_code), why, time.monotonic() - start
        )
    except Exception as exc:
        # The same net as the single command's: what damaged input raised past the readers
        # gets the line the command would print; only the rest is an internal error (a bug).
        from toolsfix.failures import input_failure

        line = input_failure(exc)
        what = line if line is not None else f"internal error: {type(exc).__name__}: {exc}"
        why = _one_line(f"{target.input}: {what}")
        return _failed(target, index, "error", int(ExitCode.INPUT), why, time.monotonic() - start)
    doc = json.loads(text)
    failing = report.fails(options.fail_on)
    block = doc.get("baseline")
    return Item(
        index,
        target.input,
        target.kind,
        status="findings" if failing else "ok",
        exit_code=int(ExitCode.FINDINGS if failing else ExitCode.OK),
        report_z=pack_report(doc),
        findings=tuple(FindingRow.from_dict(f) for f in doc.get("findings", [])),
        skipped=len(doc.get("skipped", [])),
        waived=len(doc.get("waived", [])),
        baseline=None
        if not isinstance(block, dict)
        else {
            "compared_with": block.get("compared_with"),
            "new": block.get("new", 0),
            "fixed": len(block.get("fixed", [])),
            "unchanged": len(block.get("unchanged", [])),
        },
        tools=_tools_of(doc),
        os_release=_os_of(doc),
        seconds=time.monotonic() - start,
    )


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _tools_of(doc: Mapping[str, Any]) -> Optional[str]:
    """``9.2.2 build 893683`` from the configurator, else the installed drivers, else the
    distrib manifest."""
    pairs: list[tuple[Any, Any]] = []
    cfg = doc.get("configurator")
    if isinstance(cfg, dict):
        pairs.append((cfg.get("version"), cfg.get("build")))
    for d in doc.get("drivers") or []:
        if isinstance(d, dict) and d.get("present"):
            pairs.append((d.get("tools_version"), d.get("build")))
    distrib = doc.get("distrib")
    if isinstance(distrib, dict):
        pairs.append((distrib.get("manifest_version"), None))
    for version, build in pairs:
        if version:
            return f"{version} build {build}" if build else str(version)
    return None


def _os_of(doc: Mapping[str, Any]) -> Optional[str]:
    os_facts = doc.get("os")
    if not isinstance(os_facts, dict):
        return None
    release, kind = os_facts.get("release"), os_facts.get("kind")
    return str(release or kind) if (release or kind) else None


# --- workers -----------------------------------------------------------------------------------


def default_jobs() -> int:
    """One worker per CPU this process may use, at most MAX_DEFAULT_JOBS."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cpus = os.cpu_count() or 1
    return max(1, min(cpus, MAX_DEFAULT_JOBS))


def _prepare_worker(options: AuditOptions) -> None:
    """Pay the per-process costs once: LIEF, the fingerprint database, the catalog.

    ``verify`` asks :func:`toolsfix.fpdb.load_all` for the database on every call, and that
    reads and parses every database file (tens of milliseconds, a third of a small bundle's
    cost). A worker memoises :func:`toolsfix.fpdb.load_db`, which ``load_all`` calls, per
    list of directories: every item of the run gets the records loaded here (the database
    object only caches lookups, it is never changed). Only worker processes do this, never
    the caller; ``tests/test_audit.py`` checks the database is read once per worker.
    """
    from toolsfix import fingerprint, fpdb, scan, verify  # noqa: F401  (imported once here)
    from toolsfix.catalog import load_catalog

    fingerprint.lief_available()
    load_catalog()
    original = fpdb.load_db
    memo: dict[tuple[str, ...], fpdb.FingerprintDB] = {}

    def load_db_once(dirs: Sequence[Path], *, write_index: bool = False) -> fpdb.FingerprintDB:
        key = tuple(str(d) for d in dirs)
        if key not in memo:
            memo[key] = original(dirs, write_index=write_index)
        return memo[key]

    setattr(fpdb, "load_db", load_db_once)  # noqa: B010  (a process-local memo, see above)
    fpdb.load_all(options.db_dirs)


def _worker_main(conn: Connection, options: AuditOptions) -> None:
    """Worker loop: announce readiness, then answer (index, target) with an Item until told
    to stop (None) or the parent goes away."""
    with contextlib.suppress(OSError):
        os.setpgid(0, 0)  # its own group: out of reach of the terminal's Ctrl-C, killable whole
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides what Ctrl-C means
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    try:
        _prepare_worker(options)
    except ToolsfixError as exc:
        conn.send(("init-error", str(exc), int(exc.exit_code)))
        return
    except Exception as exc:
        conn.send(("init-error", f"worker start failed: {type(exc).__name__}: {exc}", 3))
        return
    conn.send(("ready",))
    while True:
        try:
            message = conn.recv()
        except (EOFError, OSError):
            return
        if message is None:
            return
        index, target = message
        try:
            conn.send(("item", evaluate(target, index, options)))
        except (BrokenPipeError, OSError):
            return


def _context() -> Any:
    """fork where available (workers start in milliseconds, sharing the parent's imports),
    spawn elsewhere."""
    methods = multiprocessing.get_all_start_methods()
    return multiprocessing.get_context("fork" if "fork" in methods else "spawn")


@dataclass
class _Slot:
    process: Any
    conn: Connection
    born: float
    ready: bool = False
    task: Optional[tuple[int, Target]] = None
    since: float = 0.0


def _preload() -> None:
    """Import LIEF and the services in the parent before forking workers.

    LIEF's import leaves about 40 MB of private memory (relocated native data) in a process;
    imported before the fork, the workers share those pages with the parent copy-on-write
    instead of each holding its own copy, and a replacement worker starts at once. Only
    imports: the database memo stays in the workers (see :func:`_prepare_worker`).
    """
    from toolsfix import fingerprint, scan, verify  # noqa: F401  (shared with forked workers)
    from toolsfix.catalog import load_catalog

    fingerprint.lief_available()
    load_catalog()


class _Pool:
    """Workers the parent feeds one target at a time, with deadlines and replacement."""

    def __init__(self, size: int, options: AuditOptions, deliver: Callable[[Item], None]) -> None:
        self.ctx = _context()
        if self.ctx.get_start_method() == "fork":
            _preload()
        self.options = options
        self.deliver = deliver
        self.stop_signal: Optional[int] = None
        self.slots: list[_Slot] = []
        for _ in range(size):
            self.slots.append(self._spawn())

    def _spawn(self) -> _Slot:
        parent, child = self.ctx.Pipe(duplex=True)
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(Exception):
                stream.flush()  # a forked child must not inherit half-written output
        process = self.ctx.Process(
            target=_worker_main, args=(child, self.options), name="toolsfix-audit", daemon=True
        )
        process.start()
        child.close()
        return _Slot(process, parent, time.monotonic())

    def _kill(self, slot: _Slot) -> None:
        pid = slot.process.pid
        try:
            os.killpg(pid, signal.SIGKILL)
        except (OSError, AttributeError):
            with contextlib.suppress(Exception):
                slot.process.kill()
        slot.process.join(timeout=5)
        slot.conn.close()

    def _replace(self, n: int) -> None:
        self._kill(self.slots[n])
        self.slots[n] = self._spawn()

    def shutdown(self) -> None:
        for slot in self.slots:
            if slot.task is None and slot.process.is_alive():
                with contextlib.suppress(Exception):
                    slot.conn.send(None)
        deadline = time.monotonic() + 2.0
        for slot in self.slots:
            if slot.task is None:
                slot.process.join(timeout=max(0.0, deadline - time.monotonic()))
            if slot.process.is_alive():
                self._kill(slot)
            else:
                slot.conn.close()

    def run(self, pending: deque[tuple[int, Target]]) -> None:
        limit = self.options.timeout + HARD_GRACE if self.options.timeout > 0 else None
        while (pending or any(s.task is not None for s in self.slots)) and not self.stop_signal:
            now = time.monotonic()
            for n, slot in enumerate(self.slots):
                if slot.ready and slot.task is None and pending:
                    slot.task, slot.since = pending.popleft(), now
                    try:
                        slot.conn.send(slot.task)
                    except OSError:
                        self._died(n)
            waitables: list[Any] = [s.conn for s in self.slots]
            waitables += [s.process.sentinel for s in self.slots]
            wait(waitables, timeout=TICK)
            if self.stop_signal:
                return
            now = time.monotonic()
            for n, slot in enumerate(self.slots):
                self._check(n, slot, now, limit)

    def _check(self, n: int, slot: _Slot, now: float, limit: Optional[float]) -> None:
        if slot.conn.poll():
            try:
                message = slot.conn.recv()
            except (EOFError, OSError):
                self._died(n)
                return
            if message[0] == "ready":
                slot.ready = True
            elif message[0] == "init-error":
                raise ToolsfixError(message[1], ExitCode(message[2]))
            elif message[0] == "item":
                slot.task = None
                self.deliver(message[1])
        elif not slot.process.is_alive():
            self._died(n)
        elif slot.task is not None and limit is not None and now - slot.since > limit:
            index, target = slot.task
            slot.task = None
            why = (
                f"{target.input}: no result within {self.options.timeout:g} s "
                "(--timeout; the worker was stopped)"
            )
            self.deliver(
                _failed(target, index, "timeout", int(ExitCode.INPUT), why, now - slot.since)
            )
            self._replace(n)
        elif not slot.ready and now - slot.born > START_LIMIT:
            raise ToolsfixError(
                f"an audit worker did not start within {START_LIMIT:g} s", ExitCode.INPUT
            )

    def _died(self, n: int) -> None:
        slot = self.slots[n]
        slot.process.join(timeout=1)
        code = slot.process.exitcode
        if slot.task is None and not slot.ready:
            raise ToolsfixError(f"an audit worker failed to start (exit code {code})")
        if slot.task is not None:
            index, target = slot.task
            slot.task = None
            how = f"signal {-code}" if isinstance(code, int) and code < 0 else f"exit code {code}"
            why = f"{target.input}: the worker evaluating it died ({how})"
            self.deliver(_failed(target, index, "error", int(ExitCode.INPUT), why))
        self._replace(n)


@contextlib.contextmanager
def _stop_on_signals(pool: _Pool) -> Iterator[None]:
    """SIGINT/SIGTERM set a flag the pool loop checks every TICK: the run stops between
    items, never in the middle of writing one."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def note(signum: int, frame: Optional[FrameType]) -> None:
        pool.stop_signal = signum

    previous = {s: signal.signal(s, note) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)


def run_audit(
    inputs: Inputs,
    options: AuditOptions,
    on_item: Optional[Callable[[Item], None]] = None,
) -> AuditResult:
    """Evaluate every target; ``on_item`` sees each item as it finishes (completion order)."""
    done: dict[int, Item] = {}

    def deliver(item: Item) -> None:
        done[item.index] = item
        if on_item is not None:
            on_item(item)

    pending: deque[tuple[int, Target]] = deque()
    for n, target in enumerate(inputs.targets):
        if target.kind is None or target.error is not None:
            deliver(evaluate(target, n, options))
        else:
            pending.append((n, target))
    stopped: Optional[int] = None
    if pending:
        jobs = options.jobs if options.jobs > 0 else default_jobs()
        pool = _Pool(min(jobs, len(pending)), options, deliver)
        try:
            with _stop_on_signals(pool):
                pool.run(pending)
            stopped = pool.stop_signal
        finally:
            pool.shutdown()
    items = tuple(done[n] for n in sorted(done))
    return AuditResult(items, len(inputs.targets), options, inputs.ignored, stopped)
