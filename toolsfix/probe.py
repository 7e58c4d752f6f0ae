"""Live jumbo-frame probe: full-size pings with the don't-fragment bit, and a path-MTU search.

Why a live probe at all: a Solaris 10 ``vmxnet3s`` build on Solaris 11 accepts ``dladm
set-linkprop -p mtu=9000`` and then silently fails to carry jumbo frames, so configuration
alone cannot prove that jumbo frames work. Only a packet of the full size, sent with DF set
(so nothing on the way may fragment it and hide the problem), shows the truth.

Design rules:

* It never raises. Every failure (no ``ping``, a ``ping`` that cannot set DF, an unknown host,
  no permission, a timeout) is a :class:`ProbeResult` with verdict ``not-evaluable`` and a
  note saying why, so a caller can report it like any other outcome.
* It only sends traffic to the host it is given, with a bounded packet count and a bounded
  wall-clock time (``-c``/``-W`` where the platform has them, and a hard deadline on the child
  process in any case).
* The ``ping`` command is injectable (``ping=["ip", "netns", "exec", "ns1", "ping"]``) so the
  same code runs inside a network namespace, through ``sudo`` or under a test double.
* Output is parsed by tokens, not columns, and the interpretation is a pure function
  (:func:`toolsfix.pingout.result_from_output`, re-exported here) so captured outputs can be
  judged without a network.
"""

from __future__ import annotations

import math
import os
import platform
import shutil
import signal
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any, Optional

from toolsfix.errors import ExitCode
from toolsfix.findings import SCHEMA_VERSION
from toolsfix.pingout import (
    _NO_STATS,
    _PING_HEADER_RE,
    IPV4_OVERHEAD,
    IPV6_OVERHEAD,
    PathMtuResult,
    PingOutput,
    ProbeResult,
    Verdict,
    overhead_for,
    parse_ping_output,
    result_from_output,
)

__all__ = [
    "IPV4_OVERHEAD",
    "IPV6_OVERHEAD",
    "JumboRun",
    "PathMtuResult",
    "PingOutput",
    "ProbeResult",
    "Verdict",
    "build_command",
    "find_path_mtu",
    "normalize_os",
    "overhead_for",
    "parse_ping_output",
    "probe_jumbo",
    "result_from_output",
    "run_jumbo",
]

#: Smallest MTU every IPv4 link must carry (RFC 791 reassembly minimum); the search floor.
DEFAULT_LOW_MTU = 576
#: Seconds between packets on Linux: iputils allows 0.2 s to unprivileged users too.
_LINUX_INTERVAL = 0.2
#: Extra seconds the child gets beyond its own expected run time before it is interrupted.
_SLACK = 2.0

_OS_FAMILIES = ("linux", "solaris", "illumos", "darwin", "freebsd", "openbsd", "netbsd")


# --------------------------------------------------------------------------- commands


def normalize_os(os_name: Optional[str] = None) -> Optional[str]:
    """Map an OS name (or this machine's, when None) to a ping dialect; None if unsupported.

    On SunOS, Oracle Solaris reports ``uname -v`` as ``Generic_...`` (10) or ``11.x`` (11),
    while illumos distributions report a distribution tag; that tells the two apart.
    """
    if os_name is None:
        system = platform.system().lower()
        if system == "sunos":
            version = platform.version()
            oracle = version.startswith("Generic") or version[:1].isdigit()
            return "solaris" if oracle else "illumos"
        os_name = system
    key = os_name.strip().lower()
    aliases = {
        "sunos": "solaris",
        "oracle solaris": "solaris",
        "openindiana": "illumos",
        "omnios": "illumos",
        "smartos": "illumos",
        "macos": "darwin",
        "osx": "darwin",
        "dragonfly": "freebsd",
        "dragonflybsd": "freebsd",
    }
    key = aliases.get(key, key)
    return key if key in _OS_FAMILIES else None


def _wait_seconds(timeout: float) -> int:
    """Whole seconds for -W/-w: older iputils and the BSDs accept integers only."""
    return max(1, math.ceil(timeout))


def build_command(
    host: str,
    *,
    mtu: int = 9000,
    count: int = 3,
    timeout: float = 2.0,
    os_name: Optional[str] = None,
    ping: Optional[Sequence[str]] = None,
) -> tuple[str, ...]:
    """The argv of a DF ping of ``mtu``-sized packets for the given OS dialect.

    ``ping`` replaces the program name (it may be a longer prefix such as
    ``["ip", "netns", "exec", "ns1", "ping"]``). Options always precede the host, and the
    host is the last argument except in Solaris statistics mode, whose size and count follow it.
    """
    family = normalize_os(os_name) or "linux"
    prog = list(ping) if ping else ["ping"]
    size = str(mtu - overhead_for(host))
    wait = str(_wait_seconds(timeout))
    if family in ("solaris", "illumos"):
        return (*prog, "-s", "-n", "-D", host, size, str(count))
    if family in ("darwin", "freebsd"):
        # -t: seconds before ping exits whatever happened (FreeBSD and macOS).
        deadline = str(count + _wait_seconds(timeout))
        return (*prog, "-n", "-D", "-s", size, "-c", str(count), "-t", deadline, host)
    if family in ("openbsd", "netbsd"):
        return (*prog, "-n", "-D", "-s", size, "-c", str(count), "-w", wait, host)
    return (
        *prog,
        "-n",
        "-M",
        "do",
        "-s",
        size,
        "-c",
        str(count),
        "-W",
        wait,
        "-i",
        str(_LINUX_INTERVAL),
        host,
    )


def _small_command(
    host: str, family: str, timeout: float, ping: Optional[Sequence[str]]
) -> tuple[str, ...]:
    """One default-size packet without DF: is the host answering at all?"""
    prog = list(ping) if ping else ["ping"]
    wait = str(_wait_seconds(timeout))
    if family in ("solaris", "illumos"):
        return (*prog, "-s", "-n", host, "56", "1")
    if family in ("darwin", "freebsd"):
        return (*prog, "-n", "-c", "1", "-t", str(1 + _wait_seconds(timeout)), host)
    if family in ("openbsd", "netbsd"):
        return (*prog, "-n", "-c", "1", "-w", wait, host)
    return (*prog, "-n", "-c", "1", "-W", wait, host)


def _run(argv: Sequence[str], deadline: float) -> tuple[Optional[int], str, Optional[str]]:
    """Run without a shell, stdout+stderr interleaved, interrupted at ``deadline`` seconds.

    SIGINT first, because ping prints its statistics on SIGINT; SIGKILL only if it lingers.
    Returns (returncode, output, problem) where problem explains a failure to run.
    """
    env = dict(os.environ, LC_ALL="C", LANG="C")
    try:
        proc = subprocess.Popen(
            list(argv),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            env=env,
        )
    except FileNotFoundError:
        return None, "", f"{argv[0]} not found"
    except PermissionError:
        return None, "", f"no permission to run {argv[0]}"
    except OSError as exc:
        return None, "", f"cannot run {argv[0]}: {exc.strerror or exc}"
    problem: Optional[str] = None
    try:
        raw, _ = proc.communicate(timeout=deadline)
    except subprocess.TimeoutExpired:
        problem = f"ping did not finish within {deadline:g} s and was interrupted"
        proc.send_signal(signal.SIGINT)
        try:
            raw, _ = proc.communicate(timeout=_SLACK)
        except subprocess.TimeoutExpired:
            proc.kill()
            raw, _ = proc.communicate()
    return proc.returncode, raw.decode("utf-8", "replace"), problem


def _not_evaluable(host: str, mtu: int, payload: int, note: str, **kw: Any) -> ProbeResult:
    return ProbeResult(
        verdict=Verdict.NOT_EVALUABLE, host=host, mtu=mtu, payload=payload, notes=(note,), **kw
    )


def _is_busybox(prog: Sequence[str]) -> bool:
    """True when the ping we would run is BusyBox's applet, which cannot set DF."""
    if any(os.path.basename(p) == "busybox" for p in prog):
        return True
    if len(prog) != 1:
        return False
    found = shutil.which(prog[0])
    return found is not None and os.path.basename(os.path.realpath(found)) == "busybox"


def _check_args(host: str, mtu: int, count: int, timeout: float) -> Optional[str]:
    """A reason the arguments are unusable, or None. Refuses option-looking hosts."""
    if not host or host.startswith("-") or any(c.isspace() or c == "\0" for c in host):
        return f"invalid host {host!r}"
    if not 68 <= mtu <= 65535 or mtu - overhead_for(host) < 0:
        return f"MTU {mtu} is outside 68-65535"
    if not 1 <= count <= 100:
        return f"count {count} is outside 1-100"
    if not 0 < timeout <= 60:
        return f"timeout {timeout:g} s is outside (0, 60]"
    return None


def probe_jumbo(
    host: str,
    *,
    mtu: int = 9000,
    count: int = 3,
    timeout: float = 2.0,
    os_name: Optional[str] = None,
    ping: Optional[Sequence[str]] = None,
    control: bool = True,
) -> ProbeResult:
    """Send ``count`` DF pings of ``mtu`` bytes (IP packet size) to ``host``; never raises.

    ``control``: after a ``no-reply``, send one small ping without DF so the result can tell a
    silent jumbo drop on the path (small packets answered) from a host that does not answer.
    """
    family = normalize_os(os_name)
    shown_os = family or os_name
    payload = mtu - overhead_for(host) if host else mtu - IPV4_OVERHEAD
    problem = _check_args(host, mtu, count, timeout)
    if problem:
        return _not_evaluable(host, mtu, payload, problem, os_name=shown_os)
    if family is None:
        return _not_evaluable(
            host, mtu, payload, f"no known DF ping syntax for OS {os_name!r}", os_name=shown_os
        )
    prog = list(ping) if ping else ["ping"]
    argv = build_command(host, mtu=mtu, count=count, timeout=timeout, os_name=family, ping=prog)
    notes: list[str] = []
    if family == "solaris":
        notes.append(
            "ping -D (don't fragment) is documented for illumos; on Oracle Solaris it is "
            "not confirmed"
        )
    if shutil.which(prog[0]) is None:
        return _not_evaluable(
            host, mtu, payload, f"{prog[0]} not found", command=argv, os_name=family
        )
    if family == "linux" and _is_busybox(prog):
        return _not_evaluable(
            host,
            mtu,
            payload,
            "cannot set DF: BusyBox ping has no -M option",
            command=argv,
            os_name=family,
        )
    interval = _LINUX_INTERVAL if family == "linux" else 1.0
    deadline = count * interval + _wait_seconds(timeout) + _SLACK
    rc, out, run_problem = _run(argv, deadline)
    if run_problem and rc is None:
        return _not_evaluable(host, mtu, payload, run_problem, command=argv, os_name=family)
    if run_problem:
        notes.append(run_problem)
    result = result_from_output(
        out,
        host=host,
        mtu=mtu,
        payload=payload,
        command=argv,
        returncode=rc,
        os_name=family,
        notes=notes,
    )
    if run_problem and result.verdict is Verdict.NOT_EVALUABLE and _PING_HEADER_RE.search(out):
        # Interrupted after it started sending, before statistics: the window passed in
        # silence. (Interrupted before the header, e.g. in a slow name lookup: not evaluable.)
        kept = tuple(n for n in result.notes if n != _NO_STATS)
        result = replace(result, verdict=Verdict.NO_REPLY, notes=kept)
    if result.verdict is Verdict.NO_REPLY and control:
        small = _small_command(host, family, timeout, prog)
        _, small_out, _ = _run(small, 1.0 + _wait_seconds(timeout) + _SLACK)
        answered = bool(parse_ping_output(small_out).received)
        note = (
            "small packets are answered: full-size DF packets are dropped silently on the "
            "path (an MTU mismatch with no ICMP 'fragmentation needed')"
            if answered
            else "small packets are not answered either: the host or ICMP is unreachable, "
            "so the jumbo path is unproven"
        )
        result = replace(result, small_reply=answered, notes=(*result.notes, note))
    return result


def find_path_mtu(
    host: str,
    *,
    low: int = DEFAULT_LOW_MTU,
    high: int = 9000,
    timeout: float = 2.0,
    os_name: Optional[str] = None,
    ping: Optional[Sequence[str]] = None,
    max_probes: int = 20,
) -> PathMtuResult:
    """Binary-search the largest MTU in [low, high] whose single DF ping passes; never raises.

    An MTU reported by a failure (``mtu=1500``) is tried next, which usually settles the
    search in three probes; without one (silent drops) it is a plain binary search, at most
    ``max_probes`` single-packet probes. A lost packet reads as "too big", so on a lossy path
    the answer can be low; the probes are returned so the caller can show that.
    """
    probes: list[ProbeResult] = []
    notes: list[str] = []
    if not 68 <= low <= high:
        return PathMtuResult(
            host,
            low,
            high,
            None,
            False,
            Verdict.NOT_EVALUABLE,
            notes=(f"invalid range {low}-{high}",),
        )

    def probe(size: int) -> ProbeResult:
        r = probe_jumbo(
            host, mtu=size, count=1, timeout=timeout, os_name=os_name, ping=ping, control=False
        )
        probes.append(r)
        return r

    best: Optional[int] = None
    floor_failed: Optional[ProbeResult] = None
    lo, hi = low, high + 1  # candidates are lo..hi-1; hi is the smallest known failure
    hint: Optional[int] = None
    candidate = high
    while len(probes) < max_probes:
        r = probe(candidate)
        if r.verdict is Verdict.NOT_EVALUABLE:
            notes.append(f"probe at MTU {candidate} could not be evaluated; search stopped")
            if best is None:
                return PathMtuResult(
                    host,
                    low,
                    high,
                    None,
                    False,
                    Verdict.NOT_EVALUABLE,
                    tuple(probes),
                    tuple([*notes, *r.notes]),
                )
            break
        if r.verdict is Verdict.PASS:
            best = candidate
            lo = candidate + 1
        else:
            hi = candidate
            if r.path_mtu is not None and r.path_mtu < hi:
                hi = r.path_mtu + 1
                hint = r.path_mtu
            if candidate == low or hi <= low:
                floor_failed = r
        if lo >= hi:
            break
        if best is None and floor_failed is not None:
            break
        if hint is not None and lo <= hint < hi:
            candidate, hint = hint, None
        elif best is None and not any(p.mtu == low for p in probes):
            candidate = low  # establish the floor early: a dead host costs two probes
        else:
            candidate = (lo + hi) // 2
    else:
        notes.append(f"stopped after {max_probes} probes")
    if best is None:
        verdict = floor_failed.verdict if floor_failed else Verdict.NOT_EVALUABLE
        return PathMtuResult(
            host,
            low,
            high,
            None,
            False,
            verdict,
            tuple(probes),
            tuple([*notes, f"even MTU {low} did not pass"]),
        )
    exact = lo >= hi
    return PathMtuResult(host, low, high, best, exact, Verdict.PASS, tuple(probes), tuple(notes))


# --------------------------------------------------------------------------- the command


@dataclass(frozen=True)
class JumboRun:
    """What ``toolsfix probe jumbo`` established: the probe at the asked MTU and, when asked
    for, the path-MTU search. Its exit code is decided here, with the verdicts it comes from,
    so the command line only renders and exits."""

    probe: ProbeResult
    path_mtu: Optional[PathMtuResult] = None

    def exit_code(self) -> ExitCode:
        """0 when full-size frames pass, 3 when the path could not be tested, 1 otherwise."""
        if self.probe.verdict is Verdict.PASS:
            return ExitCode.OK
        if self.probe.verdict is Verdict.NOT_EVALUABLE:
            return ExitCode.INPUT
        return ExitCode.FINDINGS

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"schema_version": SCHEMA_VERSION, "probe": self.probe.to_dict()}
        if self.path_mtu is not None:
            out["path_mtu"] = self.path_mtu.to_dict()
        return out


def run_jumbo(host: str, *, mtu: int = 9000, count: int = 3, search: bool = False) -> JumboRun:
    """Probe ``host`` at ``mtu`` and, with ``search``, find the largest MTU that passes."""
    result = probe_jumbo(host, mtu=mtu, count=count)
    return JumboRun(result, find_path_mtu(host, high=mtu) if search else None)
