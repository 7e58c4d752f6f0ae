"""OS-level confinement of the sandboxed perl run, and bounded I/O with it.

Defence in depth around the harness (docs/security.md), applied by the forked child to itself
before exec: resource limits, a private network namespace, an unprivileged identity,
``no_new_privs`` and Landlock, each best-effort and reported rather than fatal, because the
harness alone must already hold. :func:`_communicate` feeds the job and reads the results
without ever holding more than the limits. Which layers apply (and the switch the tests use
to prove the harness alone holds) is decided in :mod:`toolsfix.perl`; this module only does it.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
import time
from typing import TYPE_CHECKING, Any, NamedTuple, Optional

if TYPE_CHECKING:
    import subprocess

# subprocess, selectors and signal are imported by the functions that talk to a running perl:
# a scan with --no-exec, or whose proof is on record, starts none and need not load them.

# Bounds on what we read back. The harness keeps its results under 4 MiB (sandbox.pl,
# MAX_OUTPUT); anything longer is not the harness talking.
OUTPUT_LIMIT = 5 << 20
STDERR_LIMIT = 64 << 10
MEMORY_LIMIT = 1 << 30
OPEN_FILES_LIMIT = 32
NOBODY = 65534
#: Added to the sandboxed perl's niceness (see :func:`_child_setup`).
PROOF_NICENESS = 10
_CLONE_NEWUSER = 0x10000000
_CLONE_NEWNET = 0x40000000
_PR_SET_NO_NEW_PRIVS = 38
# Landlock (Linux >= 5.13): syscall numbers are the same on every architecture.
_SYS_LANDLOCK_CREATE_RULESET, _SYS_LANDLOCK_ADD_RULE, _SYS_LANDLOCK_RESTRICT_SELF = 444, 445, 446
_LL_WRITE_FILE = 1 << 1
_LL_TRUNCATE = 1 << 14


# A NamedTuple, not a frozen dataclass: it is private and never replaced or serialised, and a
# dataclass costs about a millisecond at import (its methods are generated and compiled).
class _Plan(NamedTuple):
    """What the child applies to itself before exec: limits, then namespaces, then identity."""

    cpu_seconds: int
    unshare_flags: int  # 0: no namespace
    drop_to: Optional[tuple[int, int]]  # (uid, gid) when running as root
    os_layer: bool  # False: rlimits only (the tests' harness-only mode)


def _unprivileged_ids() -> tuple[int, int]:
    try:
        import pwd  # Unix-only: imported where used, so the import failing is handled here

        pw = pwd.getpwnam("nobody")
    except (ImportError, KeyError):
        return NOBODY, NOBODY
    return pw.pw_uid, pw.pw_gid


def _libc() -> Any:
    """libc for unshare/prctl, loaded in the parent: the forked child should only call."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        import ctypes  # Linux only (unshare/prctl): never imported on other platforms

        return ctypes.CDLL(None, use_errno=True)
    except (OSError, ImportError):
        return None


def _errno_text() -> str:
    import ctypes  # only after a libc call failed, which needed ctypes already

    return os.strerror(ctypes.get_errno())


def _child_setup(plan: _Plan, status_fd: int, libc: Any) -> None:
    """Runs in the forked child, before exec: every step best-effort, each outcome reported."""
    notes: list[str] = []
    try:
        # The proof runs beside the stream it overlaps: when the cores are contended, the
        # decompressor (the scan's critical path) goes first. Limits and timeouts are unchanged.
        os.nice(PROOF_NICENESS)
        notes.append(f"priority: nice +{PROOF_NICENESS}")
    except OSError as exc:
        notes.append(f"priority not lowered: {exc}")
    try:
        import resource  # Unix-only: a failed import is one of the reported outcomes

        limits = [
            ("cpu", resource.RLIMIT_CPU, plan.cpu_seconds),
            ("as", resource.RLIMIT_AS, MEMORY_LIMIT),
            ("fsize", resource.RLIMIT_FSIZE, 0),
            ("nofile", resource.RLIMIT_NOFILE, OPEN_FILES_LIMIT),
            ("core", resource.RLIMIT_CORE, 0),
        ]
        for name, which, value in limits:
            try:
                resource.setrlimit(which, (value, value))
                notes.append(f"limit {name}={value}")
            except (ValueError, OSError) as exc:
                notes.append(f"limit {name} not set: {exc}")
        if plan.unshare_flags and libc is not None:
            if libc.unshare(plan.unshare_flags) == 0:
                notes.append("network: private namespace (no interfaces)")
            else:
                notes.append(f"network: namespace not created: {_errno_text()}")
        elif plan.os_layer:
            notes.append("network: namespaces not available on this platform")
        if plan.drop_to is not None:
            uid, gid = plan.drop_to
            try:
                os.setgroups([])
                os.setgid(gid)
                os.setuid(uid)
                notes.append(f"identity: dropped root to uid {uid} gid {gid}")
            except OSError as exc:
                notes.append(f"identity: still root, could not drop privileges: {exc}")
        # After the uid change: the kernel would otherwise refuse the exec itself.
        try:
            resource.setrlimit(resource.RLIMIT_NPROC, (0, 0))
            note = "limit nproc=0" + (" (not enforced for root)" if os.geteuid() == 0 else "")
            notes.append(note)
        except (ValueError, OSError) as exc:
            notes.append(f"limit nproc not set: {exc}")
        if libc is not None:
            if libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0:
                notes.append("no_new_privs set")
            else:
                notes.append(f"no_new_privs not set: {_errno_text()}")
            if plan.os_layer:
                notes.append(_landlock(libc))
    except BaseException as exc:  # never let a confinement step fail the run
        notes.append(f"confinement step failed: {exc!r}")
    with contextlib.suppress(OSError):
        os.write(status_fd, "\n".join(notes).encode("utf-8", "replace")[:16384])


def _landlock(libc: Any) -> str:
    """Forbid every filesystem write except to /dev/null, TCP, and signals/abstract sockets
    outside the sandbox, for this process and what it execs. Reads stay allowed (perl loads its
    modules). Runs in the child after no_new_privs; returns what it did, in one line."""
    import ctypes  # Linux only, like Landlock itself

    abi = libc.syscall(_SYS_LANDLOCK_CREATE_RULESET, None, 0, 1)  # 1: ask for the ABI version
    if abi < 1:
        return f"filesystem: landlock not available: {_errno_text()}"
    # EXECUTE and READ_* (bits 0, 2, 3) stay unhandled; every right that changes the tree is.
    fs = sum(1 << b for b in (1, 4, 5, 6, 7, 8, 9, 10, 11, 12))
    fs |= (1 << 13 if abi >= 2 else 0) | (_LL_TRUNCATE if abi >= 3 else 0)
    net = 0b11 if abi >= 4 else 0  # bind, connect (TCP)
    scoped = 0b11 if abi >= 6 else 0  # abstract unix sockets, signals
    attr = (ctypes.c_uint64 * 3)(fs, net, scoped)
    size = 24 if abi >= 6 else 16 if abi >= 4 else 8
    ruleset = libc.syscall(_SYS_LANDLOCK_CREATE_RULESET, ctypes.byref(attr), size, 0)
    if ruleset < 0:
        return f"filesystem: landlock ruleset refused: {_errno_text()}"
    try:
        null = os.open("/dev/null", os.O_PATH | os.O_CLOEXEC)
        try:

            class PathBeneath(ctypes.Structure):
                _pack_ = 1
                _fields_ = (("allowed_access", ctypes.c_uint64), ("parent_fd", ctypes.c_int32))

            rights = _LL_WRITE_FILE | (_LL_TRUNCATE if abi >= 3 else 0)
            rule = PathBeneath(rights, null)
            if libc.syscall(_SYS_LANDLOCK_ADD_RULE, ruleset, 1, ctypes.byref(rule), 0) != 0:
                return f"filesystem: landlock rule refused: {_errno_text()}"
        finally:
            os.close(null)
        if libc.syscall(_SYS_LANDLOCK_RESTRICT_SELF, ruleset, 0) != 0:
            return f"filesystem: landlock not applied: {_errno_text()}"
    finally:
        os.close(ruleset)
    return f"filesystem: read-only except /dev/null (landlock ABI {abi})"


class _Raw(NamedTuple):
    stdout: bytes
    stderr: bytes
    returncode: Optional[int]
    problem: str  # "" | "timeout" | "overflow" | "start: ..."
    confinement: tuple[str, ...]


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    """The child leads its own session: kill exactly that group, then reap it."""
    import signal  # lazy: start-up time of scan (loaded already: subprocess imports it)
    import subprocess  # lazy: start-up time of scan (loaded already: the run started proc)

    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError, AttributeError):
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(5)


# How often a run with a ``cancel`` event looks at it while perl is quiet.
_CANCEL_POLL = 0.05


def _communicate(
    proc: subprocess.Popen[bytes],
    data: bytes,
    timeout: float,
    cancel: Optional[threading.Event] = None,
) -> tuple[bytes, bytes, str]:
    """Feed stdin and drain stdout/stderr without ever holding more than the limits."""
    import selectors  # lazy: start-up time of scan (only a run of perl needs it)
    import subprocess  # lazy: start-up time of scan (loaded already: the run started proc)

    assert proc.stdin is not None and proc.stdout is not None and proc.stderr is not None
    deadline = time.monotonic() + timeout
    out = bytearray()
    err = bytearray()
    view = memoryview(data)
    sent = 0
    sel = selectors.DefaultSelector()
    os.set_blocking(proc.stdin.fileno(), False)
    sel.register(proc.stdin, selectors.EVENT_WRITE)
    sel.register(proc.stdout, selectors.EVENT_READ)
    sel.register(proc.stderr, selectors.EVENT_READ)
    problem = ""
    try:
        while sel.get_map():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                problem = "timeout"
                break
            if cancel is not None:
                if cancel.is_set():
                    problem = "cancelled"
                    break
                remaining = min(remaining, _CANCEL_POLL)
            for key, _ in sel.select(remaining):
                stream = key.fileobj
                if stream is proc.stdin:
                    try:
                        sent += os.write(proc.stdin.fileno(), view[sent : sent + 65536])
                    except BlockingIOError:
                        continue
                    except OSError:  # the harness stopped reading: it will tell us why
                        sent = len(data)
                    if sent >= len(data):
                        sel.unregister(proc.stdin)
                        with contextlib.suppress(OSError):
                            proc.stdin.close()
                    continue
                chunk = os.read(key.fd, 65536)
                if not chunk:
                    sel.unregister(stream)
                    continue
                if stream is proc.stdout:
                    out += chunk
                    if len(out) > OUTPUT_LIMIT:
                        problem = "overflow"
                        break
                elif len(err) < STDERR_LIMIT:
                    err += chunk[: STDERR_LIMIT - len(err)]
            if problem:
                break
        if not problem:
            try:
                proc.wait(max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                problem = "timeout"
    finally:
        sel.close()
        if problem or proc.poll() is None:
            _kill_group(proc)
        for stream in (proc.stdin, proc.stdout, proc.stderr):
            with contextlib.suppress(OSError):
                stream.close()
    return bytes(out), bytes(err), problem
