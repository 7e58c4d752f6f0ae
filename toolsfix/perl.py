"""Prove the static model by running the configurator's own Perl, sandboxed.

The static model in :mod:`toolsfix.installer` reads the code; this module runs it. We extract
``configure_module_solaris`` and the helpers it calls from the file itself, compile them in a
Perl ``Safe`` compartment (opcode mask: no system/exec/backticks/open/fork/sockets/eval/require),
stub every side effect (uname, /etc/release, install_file, the install database, add_drv), and
record what the real code *would* copy for each simulated guest.

The file is untrusted, and ``Safe`` alone does not contain it (docs/security.md): the harness
(``sandbox.pl``) blocks every signal, never lets a value the file created be used or freed
outside the compartment, and reports through framed records with a per-run nonce that the
file's code cannot read. Around that, defence in depth at the OS level: a separate process in
its own session with a clean environment, an empty working directory, no inherited descriptors,
CPU/memory/file-size/descriptor/process limits, no core dumps, a wall-clock timeout, and --
where the platform allows it, never as a failure of the run -- an unprivileged uid and a private
network namespace. :func:`compile_check` replaces ``perl -c``, which would run the file's BEGIN
blocks and ``use`` statements on the host.

The OS layer itself is :mod:`toolsfix.perl_confine` (this module decides whether it applies);
the text rewrite the compile check runs on is :mod:`toolsfix.perl_neutral`.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import os
import re
import shutil
import sys
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

from toolsfix.installer import FUNCTION, DirPair
from toolsfix.knowledge import CONFIGURED_MODULES, GUESTS, Guest
from toolsfix.perl_confine import (
    _CLONE_NEWNET,
    _CLONE_NEWUSER,
    OUTPUT_LIMIT,
    _child_setup,
    _communicate,
    _libc,
    _Plan,
    _Raw,
    _unprivileged_ids,
)
from toolsfix.perl_confine import MEMORY_LIMIT as MEMORY_LIMIT
from toolsfix.perl_confine import NOBODY as NOBODY
from toolsfix.perl_confine import OPEN_FILES_LIMIT as OPEN_FILES_LIMIT
from toolsfix.perl_confine import STDERR_LIMIT as STDERR_LIMIT
from toolsfix.perl_neutral import NEUTRAL_PREFIX as NEUTRAL_PREFIX
from toolsfix.perl_neutral import neutralise
from toolsfix.perltext import DAMAGED_COMMENT, Line, find_sub, lex, sub_names, text_of

HARNESS = Path(__file__).with_name("sandbox.pl")

# Subs the harness stubs: never taken from the file, whatever it defines.
STUBBED = frozenset(
    {
        "install_file", "install_dir", "db_get_answer", "db_get_answer_if_exists",
        "db_add_answer", "db_remove_answer", "db_add_file", "direct_command", "shell_string",
        "internal_which", "file_name_exist", "vmware_product", "vmware_product_name", "wrap",
        "query", "get_answer", "error", "migrate_network_files",
    }
)  # fmt: skip
_CALL_RE = re.compile(r"\b([A-Za-z_]\w*)\s*\(")
_DIR_RE = re.compile(r"modules/binary/+([^/]+)/+([^/]+)$")

# The OS layer is defence in depth; the tests switch it off to prove the harness alone holds.
_OS_CONFINEMENT = True


def find_perl() -> Optional[str]:
    """The perl to use: ``$TOOLSFIX_PERL`` or the first on PATH."""
    return os.environ.get("TOOLSFIX_PERL") or shutil.which("perl")


@dataclass(frozen=True)
class Extracted:
    """The subs the proof compiles, as (name, source) with the helpers first and the target
    last, and how many comments damaged by a history cleaner were restored in them."""

    subs: tuple[tuple[str, str], ...]
    repaired_comments: int


def extract(text: str, *, lines: Optional[Sequence[Line]] = None) -> Optional[Extracted]:
    """The target function plus, transitively, every helper it calls that the file defines.

    ``lines`` is ``lex(text)`` when the caller already has it (the static analysis lexes the
    same file): lexing a real 485 KB configurator twice cost as much as the analysis itself.
    """
    if lines is None:
        lines = lex(text)
    defined = sub_names(lines)
    if FUNCTION not in defined:
        return None
    order: list[str] = []
    todo = [FUNCTION]
    sources: dict[str, str] = {}
    while todo:
        name = todo.pop(0)
        if name in sources:
            continue
        span = find_sub(lines, name)
        if span is None:
            if name == FUNCTION:
                return None
            continue
        sources[name] = text_of(lines, span)
        order.append(name)
        body: Sequence[Line] = lines[span.start - 1 : span.end]
        for line in body:
            for callee in _CALL_RE.findall(line.code):
                if callee in defined and callee not in STUBBED and callee not in sources:
                    todo.append(callee)
    repaired = 0
    subs: list[tuple[str, str]] = []
    # Helpers first so the target compiles against them; comments damaged by a history
    # cleaner are restored, since ``***REMOVED***`` is not Perl.
    for name in [*order[1:], order[0]]:
        src = sources[name]
        repaired += src.count(DAMAGED_COMMENT)
        subs.append((name, src.replace(DAMAGED_COMMENT, "#")))
    return Extracted(tuple(subs), repaired)


@dataclass(frozen=True)
class Call:
    """One call the file's code made to a stubbed sub (``install_file``, ...) and its
    arguments, as the harness recorded it."""

    func: str
    args: tuple[str, ...]


@dataclass(frozen=True)
class Execution:
    """What the file's own code did for each simulated guest and module."""

    ran: bool
    reason: str = ""
    compiled: tuple[str, ...] = ()
    stubbed: tuple[tuple[str, str], ...] = ()
    compile_errors: tuple[tuple[str, str], ...] = ()
    repaired_comments: int = 0
    calls: Mapping[tuple[str, str], tuple[Call, ...]] = field(default_factory=dict)
    returns: Mapping[tuple[str, str], str] = field(default_factory=dict)
    errors: Mapping[tuple[str, str], str] = field(default_factory=dict)
    # How the perl process was confined (each OS-level step, applied or why not).
    confinement: tuple[str, ...] = ()

    def copies(self, guest: str, module: str) -> list[tuple[str, str]]:
        return [
            (c.args[0], c.args[1])
            for c in self.calls.get((guest, module), ())
            if c.func == "install_file" and len(c.args) >= 2
        ]

    def module_dirs(self, guest: str, module: str) -> Optional[DirPair]:
        """(32-bit dir, 64-bit dir) the module was copied from, None when nothing was."""
        d32 = d64 = None
        for src, dst in self.copies(guest, module):
            m = _DIR_RE.search(src)
            if not m or m.group(2) != module:
                continue
            if dst.rstrip("/") == f"/kernel/drv/amd64/{module}":
                d64 = m.group(1)
            elif dst.rstrip("/") == f"/kernel/drv/{module}":
                d32 = m.group(1)
        if d32 is None and d64 is None:
            return None
        return (d32 or "", d64 or "")

    def conf_dir(self, guest: str, module: str = "vmxnet3s") -> Optional[str]:
        for src, dst in self.copies(guest, module):
            if dst.endswith(f"/{module}.conf"):
                m = re.search(r"modules/binary/+([^/]+)/+[^/]+$", src)
                return m.group(1) if m else None
        return None

    def driver_dirs(
        self, modules: Iterable[str], guests: Sequence[Guest] = GUESTS
    ) -> dict[str, Optional[dict[str, Optional[DirPair]]]]:
        """Per guest: module -> (dir32, dir64) copied, None for a guest that got nothing."""
        modules = tuple(modules)
        out: dict[str, Optional[dict[str, Optional[DirPair]]]] = {}
        for guest in guests:
            per = {m: self.module_dirs(guest.name, m) for m in modules}
            out[guest.name] = None if all(v is None for v in per.values()) else per
        return out


@dataclass(frozen=True)
class CompileCheck:
    """Whether a configurator compiles, decided without running any of its code on the host.

    ``compiles`` is None only when there is no perl. ``line`` is the file's own line number of
    the first error; ``reason`` says why the check itself failed (a killed or broken sandbox),
    in which case ``compiles`` is False: an unproven file is not a compiling one.
    """

    compiles: Optional[bool]
    error: str = ""
    line: Optional[int] = None
    reason: str = ""
    confinement: tuple[str, ...] = ()


# ---------------------------------------------------------------------------------------------
# OS-level confinement
# ---------------------------------------------------------------------------------------------
def _plan(cpu_seconds: int) -> _Plan:
    if not _OS_CONFINEMENT:
        return _Plan(cpu_seconds, 0, None, os_layer=False)
    root = hasattr(os, "geteuid") and os.geteuid() == 0
    flags = 0
    if sys.platform.startswith("linux"):
        # As root a network namespace needs nothing else; otherwise it needs a user namespace
        # of its own (unprivileged user namespaces), which the child simply tries.
        flags = _CLONE_NEWNET if root else _CLONE_NEWUSER | _CLONE_NEWNET
    return _Plan(cpu_seconds, flags, _unprivileged_ids() if root else None, os_layer=True)


#: The whole environment of the perl child. Besides ``PATH`` and ``LC_ALL``, two glibc malloc
#: thresholds (ignored by any other libc). Compiling a large string eval, perl's lexer grows
#: a buffer once per quoted string or pattern: 5,300 mmap, mremap and munmap calls for the
#: benchmark's 460 KB configurator. Served from the heap and never trimmed instead, a bare
#: string eval of that file went from ~0.09 s to ~0.035 s and the compile check's perl CPU
#: from ~0.2 s to ~0.085 s. RLIMIT_AS still bounds the child's memory.
HARNESS_ENV: Mapping[str, str] = {
    "PATH": "/usr/bin:/bin",
    "LC_ALL": "C",
    "MALLOC_MMAP_THRESHOLD_": str(256 * 1024 * 1024),
    "MALLOC_TRIM_THRESHOLD_": str(256 * 1024 * 1024),
}


def _run_harness(
    perl: str, job: bytes, timeout: float, cancel: Optional[threading.Event] = None
) -> _Raw:
    """Run ``perl -`` on harness + job, confined; read at most OUTPUT_LIMIT bytes back.

    ``cancel``, set from another thread, kills the run's process group at once (problem
    ``cancelled``): a scan whose archive turns out damaged after the configurator member
    must not wait for, or leave behind, a proof nobody will read.
    """
    if cancel is not None and cancel.is_set():
        return _Raw(b"", b"", None, "cancelled", ())
    program = HARNESS.read_bytes() + b"\n__DATA__\n" + job
    plan = _plan(max(1, math.ceil(timeout)))
    libc = _libc()
    # The child (_child_setup) runs between fork and exec while other threads of this process
    # may be mid-import (the proof overlaps a scan's stream): it must find the one module it
    # uses already loaded, and only look it up.
    with contextlib.suppress(ImportError):
        import resource  # noqa: F401  # lazy: Unix-only (absent elsewhere), see above
    # lazy: start-up time of scan -- these load only when perl runs, not for --no-exec or
    # when a proof on record answers (tempfile also imports random)
    import subprocess
    import tempfile

    status_r, status_w = os.pipe()
    try:
        with tempfile.TemporaryDirectory(prefix="toolsfix-perl-") as jail:
            try:
                proc = subprocess.Popen(
                    [perl, "-"],
                    cwd=jail,
                    env=HARNESS_ENV,
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    close_fds=True,
                    start_new_session=True,
                    preexec_fn=lambda: _child_setup(plan, status_w, libc),
                )
            except (OSError, subprocess.SubprocessError) as exc:
                return _Raw(b"", b"", None, f"start: {exc}", ())
            os.close(status_w)
            status_w = -1
            with os.fdopen(status_r, "rb") as fh:
                status_r = -1
                notes = tuple(fh.read(16384).decode("utf-8", "replace").splitlines())
            out, err, problem = _communicate(proc, program, timeout, cancel)
    finally:
        for fd in (status_r, status_w):
            if fd >= 0:
                os.close(fd)
    return _Raw(out, err, proc.returncode, problem, notes)


# ---------------------------------------------------------------------------------------------
# The results channel
# ---------------------------------------------------------------------------------------------
class _Invalid(Exception):
    """The results are not what the harness writes: nothing in them can be trusted."""


def _unescape(s: str) -> str:
    return re.sub(
        r"\\([\\tnr])", lambda m: {"\\": "\\", "t": "\t", "n": "\n", "r": "\r"}[m.group(1)], s
    )


def _records(data: bytes, nonce: str) -> list[list[str]]:
    """Framed records ``LEN:PAYLOAD\\n`` ending in ``END<TAB>COUNT<TAB>NONCE``, or _Invalid."""
    records: list[list[str]] = []
    pos = 0
    while pos < len(data):
        colon = data.find(b":", pos, pos + 11)
        head = data[pos:colon] if colon >= 0 else b""
        if not head.isdigit():
            raise _Invalid(f"malformed frame at byte {pos}")
        start = colon + 1
        end = start + int(head)
        if data[end : end + 1] != b"\n":
            raise _Invalid(f"truncated frame at byte {pos}")
        payload = data[start:end].decode("utf-8", "surrogateescape")
        records.append([_unescape(f) for f in payload.split("\t")])
        pos = end + 1
    if not records or records[-1][0] != "END":
        raise _Invalid("no trailer (the harness did not finish)")
    trailer = records.pop()
    if trailer[1:] != [str(len(records)), nonce]:
        raise _Invalid("trailer does not match the records or this run")
    return records


def _section(kind: str, body: str, name: str = "") -> bytes:
    raw = body.encode("utf-8", "surrogateescape")
    head = f"=={kind} {len(raw)}" + (f" {name}" if name else "")
    return head.encode("ascii") + b"\n" + raw + b"\n"


CANCELLED = "cancelled before it finished"


def _exchange(
    perl: str,
    mode: str,
    sections: Sequence[bytes],
    timeout: float,
    cancel: Optional[threading.Event] = None,
) -> tuple[Optional[list[list[str]]], str, tuple[str, ...]]:
    """(records, "", confinement) or (None, why the run cannot be trusted, confinement)."""
    # 16 bytes from the OS's CSPRNG, as secrets.token_hex(16) (not imported: start-up time)
    nonce = os.urandom(16).hex()
    job = f"toolsfix-sandbox 2 {nonce} {mode}\n".encode("ascii") + b"".join(sections)
    raw = _run_harness(perl, job, timeout, cancel)
    notes = raw.confinement
    if raw.problem == "cancelled":
        return None, CANCELLED, notes
    if raw.problem.startswith("start"):
        return None, f"cannot run perl: {raw.problem[7:]}", notes
    if raw.problem == "timeout":
        return None, f"sandboxed run exceeded {timeout:g}s and was killed", notes
    if raw.problem == "overflow":
        return None, f"sandbox output invalid: more than {OUTPUT_LIMIT} bytes", notes
    try:
        records = _records(raw.stdout, nonce)
    except _Invalid as exc:
        return None, _ended(raw, str(exc)), notes
    identity = next((r for r in records if r[0] == "CONFINED"), None)
    if identity is not None and len(identity) >= 3:
        notes = (*notes, f"harness ran as uid {identity[1]} (effective {identity[2]})")
    return records, "", notes


def _ended(raw: _Raw, detail: str) -> str:
    """Why a run without a valid trailer ended, in one line."""
    rc = raw.returncode
    if rc is not None and rc < 0:
        import signal  # lazy: start-up time of scan (loaded already: subprocess imports it)

        name = signal.Signals(-rc).name if -rc in signal.valid_signals() else str(-rc)
        cause = " (CPU limit)" if -rc == signal.SIGKILL else ""
        return f"sandbox was killed by {name}{cause}"
    lines = raw.stderr.decode("utf-8", "replace").strip().splitlines()
    last = lines[-1][:300] if lines else ""
    if "Out of memory" in last:
        return "sandbox ran out of memory"
    return f"sandbox output invalid: {detail} (exit {rc}{': ' + last if last else ''})"


# ---------------------------------------------------------------------------------------------
# Execution
# ---------------------------------------------------------------------------------------------
_GUEST_FIELD_MAX = 256
_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f]")


def _guest_field(value: str) -> str:
    """A guest value as one field of the GUEST record: tab-separated, so no control
    characters (a guest's ``uname -v`` or release line is input like any other)."""
    return _CONTROL_RE.sub(" ", value)[:_GUEST_FIELD_MAX]


def execute(
    text: str,
    *,
    guests: Sequence[Guest] = GUESTS,
    modules: Sequence[str] = CONFIGURED_MODULES,
    timeout: float = 20.0,
    perl: Optional[str] = None,
    lines: Optional[Sequence[Line]] = None,
    cancel: Optional[threading.Event] = None,
) -> Execution:
    """Run ``configure_module_solaris`` for every guest x module. Never raises on bad code.

    ``lines`` is ``lex(text)`` when the caller has it already (see :func:`extract`).
    ``cancel``, set from another thread, stops the run at once: the result then says
    :data:`CANCELLED` and ``ran`` is False.
    """
    perl = perl or find_perl()
    if perl is None:
        return Execution(False, "perl not found (set TOOLSFIX_PERL or use --no-exec)")
    extracted = extract(text, lines=lines)
    if extracted is None:
        return Execution(False, f"{FUNCTION} not found")
    sections = [_section("SUB", src, name) for name, src in extracted.subs]
    for g in guests:
        fields = (g.name, g.uname_r, g.uname_v, g.release)
        sections.append(_section("GUEST", "\t".join(_guest_field(v) for v in fields)))
    sections += [_section("MODULE", m) for m in modules]
    try:
        records, why, notes = _exchange(perl, "execute", sections, timeout, cancel)
    except OSError as exc:
        return Execution(False, f"cannot run perl: {exc}")
    if records is None:
        return Execution(False, why, repaired_comments=extracted.repaired_comments,
                         confinement=notes)  # fmt: skip
    result = _parse(records, extracted.repaired_comments)
    # Report a fallback the file lacks only if its code actually calls it.
    source = "".join(src for _, src in extracted.subs)
    used = tuple(
        (name, why)
        for name, why in result.stubbed
        if why != "not defined in the file" or re.search(rf"\b{name}\s*\(", source)
    )
    return dataclasses.replace(result, stubbed=used, confinement=notes)


def _parse(records: list[list[str]], repaired: int) -> Execution:
    compiled: list[str] = []
    stubbed: list[tuple[str, str]] = []
    compile_errors: list[tuple[str, str]] = []
    calls: dict[tuple[str, str], list[Call]] = {}
    returns: dict[tuple[str, str], str] = {}
    errors: dict[tuple[str, str], str] = {}
    truncated: list[str] = []
    done = overflow = False
    for fields in records:
        kind = fields[0]
        if kind == "COMPILED":
            compiled.append(fields[1])
        elif kind == "STUBBED":
            stubbed.append((fields[1], fields[2] if len(fields) > 2 else ""))
        elif kind == "COMPILE_ERROR":
            compile_errors.append((fields[1], fields[2] if len(fields) > 2 else ""))
        elif kind == "CALL" and len(fields) >= 4:
            calls.setdefault((fields[1], fields[2]), []).append(Call(fields[3], tuple(fields[4:])))
        elif kind == "RETURN":
            returns[(fields[1], fields[2])] = fields[3] if len(fields) > 3 else ""
        elif kind == "ERROR":
            errors[(fields[1], fields[2])] = fields[3] if len(fields) > 3 else ""
        elif kind == "TRUNCATED":
            truncated.append(f"{fields[1]}/{fields[2]}")
        elif kind == "OVERFLOW":
            overflow = True
        elif kind == "DONE":
            done = True
    if compile_errors:
        name, err = compile_errors[0]
        reason = f"could not compile {name} in the sandbox: {err.splitlines()[0] if err else ''}"
        ran = False
    elif overflow:
        reason, ran = "the sandboxed code produced more output than the sandbox keeps", False
    elif truncated:
        reason = f"{FUNCTION} made too many stubbed calls ({truncated[0]}); results incomplete"
        ran = False
    elif not done:
        reason, ran = "sandbox ended early", False
    else:
        reason, ran = "", True
    return Execution(
        ran=ran,
        reason=reason,
        compiled=tuple(compiled),
        stubbed=tuple(stubbed),
        compile_errors=tuple(compile_errors),
        repaired_comments=repaired,
        calls={k: tuple(v) for k, v in calls.items()},
        returns=returns,
        errors=errors,
    )


# ---------------------------------------------------------------------------------------------
# Compile check (replaces ``perl -c``)
# ---------------------------------------------------------------------------------------------

_ERROR_LINE_RE = re.compile(r" at configurator line (\d+)")


def compile_check(
    text: str,
    *,
    timeout: float = 30.0,
    perl: Optional[str] = None,
    lines: Optional[Sequence[Line]] = None,
    cancel: Optional[threading.Event] = None,
) -> CompileCheck:
    """Does ``text`` compile? Decided in the sandbox, with none of its code run (not even BEGIN).

    Unlike ``perl -c`` this takes the text, not a path, so it works for any path form and for
    archive members, and it runs nothing of the file: see :func:`neutralise`. The whole text is
    compiled in the compartment behind a leading ``return``, so not one statement of it runs.
    ``lines`` (``lex(text)``) and ``cancel`` are as for :func:`execute`; a cancelled check says
    :data:`CANCELLED` in ``reason``.
    """
    perl = perl or find_perl()
    if perl is None:
        return CompileCheck(None, reason="perl not found (set TOOLSFIX_PERL or use --no-exec)")
    # Called with the text alone unless there are lines to share: the tests replace
    # neutralise() with a one-argument stand-in to prove the compartment alone fails closed.
    neutral = neutralise(text) if lines is None else neutralise(text, lines=lines)
    try:
        records, why, notes = _exchange(
            perl, "compile", [_section("TEXT", neutral)], timeout, cancel
        )
    except OSError as exc:
        return CompileCheck(False, reason=f"cannot run perl: {exc}")
    if records is None:
        return CompileCheck(False, reason=why, confinement=notes)
    for fields in records:
        if fields[0] == "COMPILE_OK":
            return CompileCheck(True, confinement=notes)
        if fields[0] == "COMPILE_FAIL":
            message = fields[1] if len(fields) > 1 else ""
            first = message.splitlines()[0] if message else "does not compile"
            m = _ERROR_LINE_RE.search(first)
            return CompileCheck(
                False, error=first, line=int(m.group(1)) if m else None, confinement=notes
            )
    why = "sandbox output invalid: no compile result"
    return CompileCheck(False, reason=why, confinement=notes)


__all__ = [
    "CANCELLED",
    "HARNESS",
    "STUBBED",
    "Call",
    "CompileCheck",
    "Execution",
    "Extracted",
    "compile_check",
    "execute",
    "extract",
    "find_perl",
    "neutralise",
]
