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
"""

from __future__ import annotations

import contextlib
import glob
import json
import multiprocessing
import os
import signal
import sys
import tarfile
import threading
import time
import zlib
from collections import Counter, deque
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, wait
from pathlib import Path
from types import FrameType
from typing import Any, Callable, Optional

from toolsfix.baseline import Policy, apply_policy
from toolsfix.errors import ExitCode, ToolsfixError
from toolsfix.findings import Evidence, Report, Severity

__all__ = [
    "KINDS",
    "SCHEMA_VERSION",
    "STATUSES",
    "AuditOptions",
    "AuditResult",
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

SCHEMA_VERSION = "1.0"
KINDS = ("bundle", "root", "distrib")
STATUSES = ("ok", "findings", "not-evaluable", "error", "timeout")
DEFAULT_TIMEOUT = 300.0
MAX_DEFAULT_JOBS = 8
HARD_GRACE = 5.0  # seconds after the in-worker limit before the parent kills the worker
START_LIMIT = 120.0  # seconds a worker may take to import LIEF and load the database
MAX_DEPTH = 4  # directories of directories of ... items
TICK = 0.2  # longest the parent sleeps before it looks at deadlines and signals again

GLOB_CHARS = "*?["
DISTRIB_DIR = "vmware-tools-distrib"
CONFIGURATOR = "bin/vmware-config-tools.pl"
BUNDLE_MANIFEST = "manifest.txt"
TAR_SUFFIXES = (".tar.gz", ".tgz", ".tar", ".tar.bz2", ".tbz2", ".tar.xz", ".txz")
PEEK_MEMBERS = 64
_COMPRESSED = (b"\x1f\x8b", b"BZh", b"\xfd7zXZ\x00")


# --- inputs -> targets -------------------------------------------------------------------------


class DetectError(Exception):
    """The path cannot be looked at (missing, unreadable): the item is an error."""


def detect_kind(path: Path) -> Optional[str]:
    """``bundle``, ``root`` or ``distrib``; None for anything else (e.g. a directory of them).

    Roots are recognised before distribs: a Solaris 11 root has a top-level ``bin`` link to
    ``usr/bin``, which can hold the installed configurator, yet it is a guest, not a distrib.
    """
    try:
        if path.is_dir():
            if (path / BUNDLE_MANIFEST).is_file():
                return "bundle"
            if (path / "etc").is_dir() and ((path / "kernel").is_dir() or (path / "usr").is_dir()):
                return "root"
            if (
                path.name == DISTRIB_DIR
                or (path / DISTRIB_DIR).is_dir()
                or (path / CONFIGURATOR).is_file()
                or (path / "vmware-install.pl").is_file()
            ):
                return "distrib"
            return None
        if not path.exists():
            raise DetectError(f"{path}: no such file or directory")
        if not path.is_file():
            return None
        with path.open("rb") as fh:
            head = fh.read(32 * 1024 + 8)
    except OSError as exc:
        raise DetectError(f"{path}: cannot read: {exc.strerror or exc}") from None
    name = path.name.lower()
    if name.endswith(".iso") or head[32 * 1024 + 1 : 32 * 1024 + 6] == b"CD001":
        return "distrib"
    first_line = head.split(b"\n", 1)[0]
    if name.endswith(".pl") or (head.startswith(b"#!") and b"perl" in first_line):
        return "distrib"
    if head.startswith(_COMPRESSED) or head[257:262] == b"ustar" or name.endswith(TAR_SUFFIXES):
        return _peek_archive(path)
    return None


def _peek_archive(path: Path) -> Optional[str]:
    """Tell a bundle archive from a distrib tarball by its first member names.

    A damaged archive often still shows its first members, so the item gets the kind and the
    single command's own, precise error ("damaged: ...") instead of a vague one from here.
    """
    try:
        with tarfile.open(path, "r|*") as tar:
            for n, info in enumerate(tar):
                if n >= PEEK_MEMBERS:
                    break
                parts = [p for p in info.name.split("/") if p not in ("", ".")]
                if not parts:
                    continue
                if DISTRIB_DIR in parts or parts[-1] in ("vmware-config-tools.pl",):
                    return "distrib"
                if len(parts) <= 2 and parts[-1] in (BUNDLE_MANIFEST, "files.list"):
                    return "bundle"
                if parts[0] in ("commands", "listings") or parts[1:2] in (
                    ["commands"],
                    ["listings"],
                ):
                    return "bundle"
    except (tarfile.TarError, OSError, EOFError, zlib.error, ValueError):
        pass
    return None


def guess_kind(text: str) -> str:
    """The kind an unrecognised input's name suggests: ``distrib`` for ISO, Perl and
    VMware-Tools-named files, else ``bundle`` (what fleets mostly hold). The JSON contract
    gives every item a kind; such an item's status (error) says it was not evaluated."""
    name = text.rstrip("/").rsplit("/", 1)[-1].lower()
    hints = (".iso", ".pl", "vmware-tools", "vmwaretools", "vmware-solaris-tools", "distrib")
    return "distrib" if any(h in name for h in hints) else "bundle"


@dataclass(frozen=True)
class Target:
    """One thing to evaluate: the input as given, its kind, or why it cannot be evaluated."""

    input: str
    kind: Optional[str]
    error: Optional[str] = None

    @property
    def path(self) -> Path:
        return Path(self.input)


@dataclass(frozen=True)
class Inputs:
    targets: tuple[Target, ...]
    ignored: tuple[str, ...] = ()  # entries of expanded directories that are none of the kinds


def expand_inputs(inputs: Sequence[str], kind: Optional[str] = None) -> Inputs:
    """Targets for the inputs, in order, each path once.

    A quoted glob is expanded here (when no file has that literal name), so ``'fleet/*.tgz'``
    works from pipelines that do not run a shell. An input that matches nothing, does not
    exist or is none of the kinds becomes an error target: it is reported, not dropped. Inside
    an expanded directory, entries that are none of the kinds (a README, a notes file) are
    only listed as ignored. With ``kind`` forced, inputs are taken as that kind as they are.
    """
    targets: list[Target] = []
    ignored: list[str] = []
    seen: set[str] = set()

    def add(t: Target) -> None:
        key = os.path.normpath(t.input)
        if key not in seen:
            seen.add(key)
            targets.append(t)

    def visit(text: str, depth: int, explicit: bool) -> None:
        if kind is not None:
            add(Target(text, kind))
            return
        path = Path(text)
        try:
            found = detect_kind(path)
        except DetectError as exc:
            add(Target(text, guess_kind(text), str(exc)))
            return
        if found is not None:
            add(Target(text, found))
            return
        if path.is_dir() and depth < MAX_DEPTH:
            try:
                children = sorted(c for c in os.listdir(path) if not c.startswith("."))
            except OSError as exc:
                why = f"{text}: cannot list: {exc.strerror or exc}"
                add(Target(text, guess_kind(text), why))
                return
            before = len(targets)
            for child in children:
                visit(os.path.join(text, child), depth + 1, False)
            if len(targets) == before:
                if explicit:
                    why = f"{text}: no bundle, image root or distrib in it"
                    add(Target(text, guess_kind(text), why))
                else:
                    ignored.append(text)
            return
        if explicit:
            why = f"{text}: not a bundle, image root or distrib (--kind forces one)"
            add(Target(text, guess_kind(text), why))
        else:
            ignored.append(text)

    for raw in inputs:
        if any(c in raw for c in GLOB_CHARS) and not os.path.lexists(raw):
            matches = sorted(glob.glob(raw, recursive=True))
            if not matches:
                add(Target(raw, guess_kind(raw), f"{raw}: no path matches this pattern"))
            for m in matches:
                visit(m, 0, True)
        else:
            visit(raw, 0, True)
    return Inputs(tuple(targets), tuple(ignored))


def read_input_list(source: str) -> list[str]:
    """Paths from a ``--from`` file (``-`` = standard input): one per line, blank lines and
    lines starting with ``#`` skipped. Relative paths are relative to the current directory,
    as on the command line."""
    try:
        if source == "-":
            text = sys.stdin.read()
        else:
            text = Path(source).read_text(encoding="utf-8", errors="surrogateescape")
    except OSError as exc:
        raise ToolsfixError(
            f"{source}: cannot read the input list: {exc.strerror or exc}", ExitCode.INPUT
        ) from None
    out: list[str] = []
    for line in text.splitlines():
        entry = line.strip()
        if entry and not entry.startswith("#"):
            out.append(entry)
    return out


# --- items -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AuditOptions:
    """Everything a worker needs; picklable (sent once to each worker when it starts)."""

    jobs: int = 0  # 0 = default_jobs()
    timeout: float = DEFAULT_TIMEOUT  # seconds per item, 0 = no limit
    fail_on: Severity = Severity.LOW
    execute: bool = True
    perl_timeout: float = 20.0
    db_dirs: tuple[Path, ...] = ()
    policy: Policy = field(default_factory=Policy)


@dataclass(frozen=True)
class FindingRow:
    """The part of a finding the fleet renderers show; the full finding is in the report."""

    id: str
    category: str
    severity: Severity
    title: str
    message: str
    remedy: str
    subject: Optional[str] = None
    evidence: str = ""

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> FindingRow:
        evidence = "; ".join(_describe(e) for e in d.get("evidence") or [] if isinstance(e, dict))
        return cls(
            id=str(d.get("id")),
            category=str(d.get("category")),
            severity=Severity.parse(str(d.get("severity", "info"))),
            title=str(d.get("title", "")),
            message=str(d.get("message", "")),
            remedy=str(d.get("remedy", "")),
            subject=d.get("subject"),
            evidence=evidence,
        )


def _describe(e: Mapping[str, Any]) -> str:
    known = {k: e.get(k) for k in ("path", "line", "command", "excerpt", "detail")}
    return Evidence(**known).describe()


@dataclass(frozen=True)
class Item:
    """The outcome for one target (``items[]`` of the JSON report)."""

    index: int
    input: str
    kind: Optional[str]
    status: str
    exit_code: int
    # The single command's report as compact JSON, zlib-compressed: the parent holds every
    # item until the end, and a thousand reports of ~13 KB shrink to ~2 MB this way.
    report_z: Optional[bytes] = None
    error: Optional[str] = None
    findings: tuple[FindingRow, ...] = ()
    skipped: int = 0
    waived: int = 0
    baseline: Optional[Mapping[str, Any]] = None  # compared_with, new, fixed, unchanged
    tools: Optional[str] = None
    os_release: Optional[str] = None
    seconds: float = 0.0

    @property
    def evaluated(self) -> bool:
        return self.status in ("ok", "findings")

    def worst(self) -> Optional[Severity]:
        return max((f.severity for f in self.findings), default=None)

    def report(self) -> Optional[dict[str, Any]]:
        """The single command's report object (parsed on demand: items keep compact text)."""
        return None if self.report_z is None else json.loads(zlib.decompress(self.report_z))

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "input": self.input,
            "kind": self.kind,
            "status": self.status,
            "exit_code": self.exit_code,
            "report": self.report(),
        }
        if self.error is not None:
            out["error"] = self.error
        return out

    def rank(self) -> tuple[int, int, int, int]:
        """Sort key, worst first: findings by severity and count, then items that could not
        be evaluated (blind spots), then clean items; input order breaks ties."""
        worst = self.worst()
        if self.status == "findings" or (self.evaluated and worst is not None):
            level = 0 if self.status == "findings" else 2
            return (
                level,
                -(int(worst) if worst is not None else -1),
                -len(self.findings),
                self.index,
            )
        if not self.evaluated:
            return 1, 0, 0, self.index
        return 3, 0, 0, self.index


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

        return scan(target.path, ScanOptions(options.execute, options.perl_timeout))
    from toolsfix.verify import VerifyOptions, verify  # only the service the item needs (above)

    opts = VerifyOptions(options.db_dirs, options.execute)
    if target.kind == "root":
        return verify(root=target.path, options=opts)
    if target.kind == "bundle":
        return verify(bundle=target.path, options=opts)
    raise ToolsfixError(f"{target.input}: unknown kind {target.kind!r}", ExitCode.USAGE)


def pack_report(doc: Mapping[str, Any]) -> bytes:
    """How an item keeps its report (see :attr:`Item.report_z`)."""
    return zlib.compress(json.dumps(doc, separators=(",", ":")).encode("utf-8"), 1)


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

    def load_db_once(dirs: Sequence[Path]) -> fpdb.FingerprintDB:
        key = tuple(str(d) for d in dirs)
        if key not in memo:
            memo[key] = original(dirs)
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


# --- the run -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class AuditResult:
    """All items (input order), what was planned, and whether the run was cut short."""

    items: tuple[Item, ...]
    planned: int
    options: AuditOptions
    ignored: tuple[str, ...] = ()
    interrupted_by: Optional[int] = None  # signal number

    @property
    def partial(self) -> bool:
        return self.interrupted_by is not None

    def worst_first(self) -> list[Item]:
        return sorted(self.items, key=Item.rank)

    def exit_code(self) -> int:
        """128+signal when interrupted; 3 when no item could be evaluated; 1 when an item has
        findings at or above --fail-on *or* could not be evaluated (a fleet with a guest it
        could not read is not a clean fleet); else 0."""
        if self.interrupted_by is not None:
            return 128 + self.interrupted_by
        if not any(i.evaluated for i in self.items):
            return int(ExitCode.INPUT)
        if any(i.status != "ok" for i in self.items):
            return int(ExitCode.FINDINGS)
        return int(ExitCode.OK)

    def summary(self) -> dict[str, Any]:
        items = self.items
        by_category: Counter[str] = Counter()
        by_severity: Counter[str] = Counter()
        grid: dict[str, Counter[str]] = {}
        fixes: dict[str, dict[str, Any]] = {}
        for item in items:
            for f in item.findings:
                sev = str(f.severity)
                by_category[f.category] += 1
                by_severity[sev] += 1
                grid.setdefault(f.category, Counter())[sev] += 1
                entry = fixes.setdefault(
                    f.id,
                    {
                        "id": f.id,
                        "category": f.category,
                        "severity": sev,
                        "title": f.title,
                        "remedy": f.remedy,
                        "items": set(),
                        "findings": 0,
                    },
                )
                entry["items"].add(item.index)
                entry["findings"] += 1
        severities = [str(s) for s in sorted(Severity, reverse=True)]
        ranked = sorted(
            fixes.values(),
            key=lambda e: (-int(Severity.parse(e["severity"])), -len(e["items"]), e["id"]),
        )
        worst = max((w for w in (i.worst() for i in items) if w is not None), default=None)
        out: dict[str, Any] = {
            "items": len(items),
            "planned": self.planned,
            "evaluated": sum(1 for i in items if i.evaluated),
            "by_status": {s: sum(1 for i in items if i.status == s) for s in STATUSES},
            "by_kind": _count(i.kind or "unknown" for i in items),
            "by_category": dict(sorted(by_category.items())),
            "by_severity": {s: by_severity.get(s, 0) for s in severities},
            "by_category_severity": {
                c: {s: grid[c].get(s, 0) for s in severities} for c in sorted(grid)
            },
            "by_tools_version": _count(i.tools for i in items if i.tools),
            "by_os_release": _count(i.os_release for i in items if i.os_release),
            "fix_first": [
                {**{k: v for k, v in e.items() if k != "items"}, "items": len(e["items"])}
                for e in ranked
            ],
            "worst_severity": str(worst) if worst is not None else None,
            "fail_on": str(self.options.fail_on),
            "exit_code": self.exit_code(),
            "waived": sum(i.waived for i in items),
        }
        baseline = self.options.policy.baseline
        if baseline is not None:
            compared = {i.baseline.get("compared_with") for i in items if i.baseline}
            out["baseline"] = {
                "source": baseline.path,
                "new": sum(i.baseline["new"] for i in items if i.baseline),
                "fixed": sum(i.baseline["fixed"] for i in items if i.baseline),
                "unchanged": sum(i.baseline["unchanged"] for i in items if i.baseline),
                "not_in_baseline": [
                    i.input for i in items if i.baseline and i.baseline["compared_with"] is None
                ],
                "not_run": [k for k in baseline.items if k not in compared],
            }
        if self.options.policy.waivers is not None:
            out["waivers"] = self.options.policy.waivers.path
        if self.ignored:
            out["ignored"] = list(self.ignored)
        return out


def _count(values: Any) -> dict[str, int]:
    counts: Counter[str] = Counter(values)
    return dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))


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
