"""Prove the static model by running the configurator's own Perl, sandboxed.

The static model in :mod:`toolsfix.installer` reads the code; this module runs it. We extract
``configure_module_solaris`` and the helpers it calls from the file itself, compile them in a
Perl ``Safe`` compartment (opcode mask: no system/exec/backticks/open/fork/sockets/eval/require),
stub every side effect (uname, /etc/release, install_file, the install database, add_drv), and
record what the real code *would* copy for each simulated guest. Defence in depth around the
compartment: a separate process with a clean environment, an empty working directory, CPU,
memory and file-size limits and a wall-clock timeout.
"""

from __future__ import annotations

import dataclasses
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

from toolsfix.installer import CONFIGURED_MODULES, FUNCTION, GUESTS, DirPair, Guest
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


def find_perl() -> Optional[str]:
    """The perl to use: ``$TOOLSFIX_PERL`` or the first on PATH."""
    return os.environ.get("TOOLSFIX_PERL") or shutil.which("perl")


@dataclass(frozen=True)
class Extracted:
    subs: tuple[tuple[str, str], ...]
    repaired_comments: int


def extract(text: str) -> Optional[Extracted]:
    """The target function plus, transitively, every helper it calls that the file defines."""
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
        self, modules: Iterable[str]
    ) -> dict[str, Optional[dict[str, Optional[DirPair]]]]:
        out: dict[str, Optional[dict[str, Optional[DirPair]]]] = {}
        for guest in GUESTS:
            per = {m: self.module_dirs(guest.name, m) for m in modules}
            out[guest.name] = None if all(v is None for v in per.values()) else per
        return out


def _limits(cpu_seconds: int) -> None:  # pragma: no cover - runs in the child
    import resource

    resource.setrlimit(resource.RLIMIT_CPU, (cpu_seconds, cpu_seconds))
    resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))
    resource.setrlimit(resource.RLIMIT_FSIZE, (8 << 20, 8 << 20))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def _confined(argv: list[str], cwd: Path, timeout: float) -> subprocess.CompletedProcess[bytes]:
    """Run perl with a clean environment, an empty cwd, rlimits and a wall-clock timeout."""
    cpu = max(2, int(timeout))
    preexec = None if sys.platform == "win32" else (lambda: _limits(cpu))
    return subprocess.run(
        argv,
        cwd=cwd,
        env={"PATH": "/usr/bin:/bin", "LC_ALL": "C"},
        stdin=subprocess.DEVNULL,
        capture_output=True,
        timeout=timeout,
        check=False,
        preexec_fn=preexec,
    )


def _unescape(s: str) -> str:
    return re.sub(
        r"\\([\\tnr])", lambda m: {"\\": "\\", "t": "\t", "n": "\n", "r": "\r"}[m.group(1)], s
    )


def execute(
    text: str,
    *,
    guests: Sequence[Guest] = GUESTS,
    modules: Sequence[str] = CONFIGURED_MODULES,
    timeout: float = 20.0,
    perl: Optional[str] = None,
) -> Execution:
    """Run ``configure_module_solaris`` for every guest x module. Never raises on bad code."""
    perl = perl or find_perl()
    if perl is None:
        return Execution(False, "perl not found (set TOOLSFIX_PERL or use --no-exec)")
    extracted = extract(text)
    if extracted is None:
        return Execution(False, f"{FUNCTION} not found")
    with tempfile.TemporaryDirectory(prefix="toolsfix-perl-") as work:
        spec = Path(work, "spec")
        results = Path(work, "results")
        with spec.open("w", encoding="utf-8", errors="surrogateescape", newline="\n") as fh:
            for name, src in extracted.subs:
                fh.write(f"==SUB {name}\n{src}")
            for g in guests:
                fh.write(f"==GUEST\t{g.name}\t{g.uname_r}\t{g.uname_v}\t{g.release}\n")
            for m in modules:
                fh.write(f"==MODULE\t{m}\n")
        jail = Path(work, "cwd")
        jail.mkdir()
        try:
            proc = _confined([perl, str(HARNESS), str(spec), str(results)], jail, timeout)
        except subprocess.TimeoutExpired:
            return Execution(False, f"sandboxed run exceeded {timeout:g}s and was killed")
        except OSError as exc:
            return Execution(False, f"cannot run perl: {exc}")
        if not results.exists():
            err = proc.stderr.decode("utf-8", "replace").strip().splitlines()
            return Execution(False, f"sandbox failed: {err[-1] if err else proc.returncode}")
        records = results.read_text(encoding="utf-8", errors="surrogateescape").splitlines()
    result = _parse(records, extracted.repaired_comments, proc.returncode)
    # Report a fallback the file lacks only if its code actually calls it.
    source = "".join(src for _, src in extracted.subs)
    used = tuple(
        (name, why)
        for name, why in result.stubbed
        if why != "not defined in the file" or re.search(rf"\b{name}\s*\(", source)
    )
    return dataclasses.replace(result, stubbed=used)


def _parse(records: list[str], repaired: int, returncode: int) -> Execution:
    compiled: list[str] = []
    stubbed: list[tuple[str, str]] = []
    compile_errors: list[tuple[str, str]] = []
    calls: dict[tuple[str, str], list[Call]] = {}
    returns: dict[tuple[str, str], str] = {}
    errors: dict[tuple[str, str], str] = {}
    done = False
    for rec in records:
        fields = [_unescape(f) for f in rec.split("\t")]
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
        elif kind == "DONE":
            done = True
    if compile_errors:
        name, err = compile_errors[0]
        reason = f"could not compile {name} in the sandbox: {err.splitlines()[0] if err else ''}"
        ran = False
    elif not done:
        reason, ran = f"sandbox ended early (exit {returncode})", False
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


def perl_compiles(
    path: Path, *, timeout: float = 30.0, perl: Optional[str] = None
) -> Optional[bool]:
    """``perl -c FILE``: True/False, or None when perl is unavailable.

    ``perl -c`` runs BEGIN blocks and ``use`` statements; it is only ever pointed at a
    configurator the user is about to run as root anyway, in an empty working directory.
    """
    perl = perl or find_perl()
    if perl is None:
        return None
    with tempfile.TemporaryDirectory(prefix="toolsfix-perlc-") as jail:
        try:
            proc = _confined([perl, "-c", str(path)], Path(jail), timeout)
        except (subprocess.TimeoutExpired, OSError):
            return False
    return proc.returncode == 0
