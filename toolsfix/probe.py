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
  (:func:`result_from_output`) so captured outputs can be judged without a network.
"""

from __future__ import annotations

import enum
import ipaddress
import math
import os
import platform
import re
import shlex
import shutil
import signal
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Optional

from toolsfix.findings import Evidence

__all__ = [
    "PathMtuResult",
    "ProbeResult",
    "Verdict",
    "build_command",
    "find_path_mtu",
    "normalize_os",
    "parse_ping_output",
    "probe_jumbo",
    "result_from_output",
]

#: IPv4 header (20) + ICMP echo header (8): a 9000-byte MTU carries an 8972-byte payload.
IPV4_OVERHEAD = 28
#: IPv6 header (40) + ICMPv6 echo header (8).
IPV6_OVERHEAD = 48
#: Smallest MTU every IPv4 link must carry (RFC 791 reassembly minimum); the search floor.
DEFAULT_LOW_MTU = 576
#: Seconds between packets on Linux: iputils allows 0.2 s to unprivileged users too.
_LINUX_INTERVAL = 0.2
#: Extra seconds the child gets beyond its own expected run time before it is interrupted.
_SLACK = 2.0
#: Output kept in a result: enough to show the evidence, bounded so reports stay small.
_EXCERPT_HEAD = 12
_EXCERPT_TAIL = 6
_EXCERPT_CHARS = 2000

_OS_FAMILIES = ("linux", "solaris", "illumos", "darwin", "freebsd", "openbsd", "netbsd")


class Verdict(str, enum.Enum):
    """What one DF probe showed. ``str`` values are what reports and JSON carry."""

    PASS = "pass"
    """At least one full-size reply came back with DF set: jumbo frames cross the path."""
    TOO_BIG = "too-big"
    """The local stack or a router refused the size (the packet would need fragmenting)."""
    NO_REPLY = "no-reply"
    """Every packet was lost without an error: a silent drop (MTU mismatch) or a dead host."""
    NOT_EVALUABLE = "not-evaluable"
    """The probe could not test the path at all (no ping, no DF, unknown host, ...)."""

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True)
class PingOutput:
    """Tokens read from one ping run; every field is "not seen" (None/empty) by default."""

    transmitted: Optional[int] = None
    received: Optional[int] = None
    errors: Optional[int] = None
    loss_percent: Optional[float] = None
    reply_sizes: tuple[int, ...] = ()
    learned_mtu: Optional[int] = None
    learned_from: Optional[str] = None
    too_big_line: Optional[str] = None
    unreachable_line: Optional[str] = None
    unknown_host_line: Optional[str] = None
    permission_line: Optional[str] = None
    bad_option_line: Optional[str] = None
    size_refused_line: Optional[str] = None
    busybox: bool = False


@dataclass(frozen=True)
class ProbeResult:
    """One DF ping run at one MTU, with the command and output that prove the verdict."""

    verdict: Verdict
    host: str
    mtu: int
    payload: int
    command: tuple[str, ...] = ()
    output: str = ""
    path_mtu: Optional[int] = None
    """The MTU the probe learned (from ``mtu=`` in a local error or a router's frag-needed)."""
    path_mtu_source: Optional[str] = None
    """``"local"`` (this host's route/interface) or the address of the router that said so."""
    transmitted: Optional[int] = None
    received: Optional[int] = None
    returncode: Optional[int] = None
    os_name: Optional[str] = None
    small_reply: Optional[bool] = None
    """After a ``no-reply``: did a small control ping get an answer? (None: not tried)."""
    notes: tuple[str, ...] = ()

    @property
    def command_line(self) -> str:
        return shlex.join(self.command) if self.command else ""

    @property
    def passed(self) -> bool:
        return self.verdict is Verdict.PASS

    def to_evidence(self) -> Evidence:
        """The command and its output excerpt, ready for a Finding."""
        detail = "; ".join(self.notes) if self.notes else None
        return Evidence(
            command=self.command_line or None,
            excerpt=self.output or None,
            detail=detail,
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "verdict": self.verdict.value,
            "host": self.host,
            "mtu": self.mtu,
            "payload": self.payload,
            "command": self.command_line,
            "output": self.output,
            "path_mtu": self.path_mtu,
            "path_mtu_source": self.path_mtu_source,
            "transmitted": self.transmitted,
            "received": self.received,
            "returncode": self.returncode,
            "os": self.os_name,
            "small_reply": self.small_reply,
            "notes": list(self.notes),
        }


@dataclass(frozen=True)
class PathMtuResult:
    """Outcome of :func:`find_path_mtu`: the largest MTU whose DF probe passed."""

    host: str
    low: int
    high: int
    path_mtu: Optional[int]
    """Largest tested MTU that passed; None when even ``low`` did not pass."""
    exact: bool
    """True when ``path_mtu + 1`` was shown to fail (or ``path_mtu == high``)."""
    verdict: Verdict
    """``pass`` when a size passed, otherwise the verdict of the failing floor probe."""
    probes: tuple[ProbeResult, ...] = field(default=())
    notes: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "host": self.host,
            "low": self.low,
            "high": self.high,
            "path_mtu": self.path_mtu,
            "exact": self.exact,
            "verdict": self.verdict.value,
            "probes": [p.to_dict() for p in self.probes],
            "notes": list(self.notes),
        }


# --------------------------------------------------------------------------- parsing

_STATS_RE = re.compile(
    r"(?P<tx>\d+)\s+packets?\s+transmitted,\s+(?P<rx>\d+)\s+(?:packets?\s+)?received"
    r"(?:,\s+\+(?P<err>\d+)\s+errors?)?"
    r"(?:.*?(?P<loss>\d+(?:\.\d+)?)%\s+packet\s+loss)?",
    re.IGNORECASE,
)
# A reply line has a round-trip time; error lines that also start "N bytes from" (BSD) do not.
_REPLY_RE = re.compile(r"^\s*(?P<size>\d+)\s+bytes\s+from\s+\S+.*\btime[=<]", re.IGNORECASE)
_FRAG_RE = re.compile(
    r"frag(?:mentation)?[ -]needed\s+and\s+DF\s+set\s*\(\s*mtu\s*=?\s*(?P<mtu>\d+)\s*\)",
    re.IGNORECASE,
)
_PKT_TOO_BIG_RE = re.compile(r"packet\s+too\s+big:?\s*mtu\s*=\s*(?P<mtu>\d+)", re.IGNORECASE)
_LOCAL_ERR_RE = re.compile(
    r"local\s+error:\s*message\s+too\s+long,?\s*mtu\s*=\s*(?P<mtu>\d+)", re.IGNORECASE
)
_MSG_TOO_LONG_RE = re.compile(r"message\s+too\s+long|frag(?:mentation)?[ -]needed", re.IGNORECASE)
_FROM_RE = re.compile(r"^\s*(?:From|\d+\s+bytes\s+from)\s+(?P<addr>[^\s:]+)", re.IGNORECASE)
_UNREACH_RE = re.compile(
    r"(?:destination\s+)?(?:host|net|network|port|protocol)\s+unreachable"
    r"|communication\s+(?:administratively\s+)?prohibited|no\s+route\s+to\s+host",
    re.IGNORECASE,
)
_UNKNOWN_HOST_RE = re.compile(
    r"unknown\s+host|name\s+or\s+service\s+not\s+known|temporary\s+failure\s+in\s+name"
    r"|cannot\s+resolve|could\s+not\s+resolve|no\s+address\s+associated|nodename\s+nor\s+servname"
    r"|name\s+does\s+not\s+resolve|bad\s+address",
    re.IGNORECASE,
)
_PERMISSION_RE = re.compile(
    r"operation\s+not\s+permitted|permission\s+denied|must\s+be\s+(?:run\s+as\s+)?root"
    r"|insufficient\s+privileges|lacking\s+privilege|not\s+super-?user",
    re.IGNORECASE,
)
_BAD_OPTION_RE = re.compile(
    r"(?:illegal|invalid|unrecognized|unknown)\s+option|option\s+requires|usage:\s*ping",
    re.IGNORECASE,
)
_SIZE_REFUSED_RE = re.compile(
    r"packet\s+size\s+too\s+large|invalid\s+packet\s+size|packet\s+size\s+\S+\s+is\s+too\s+large"
    r"|illegal\s+packet\s+size|invalid\s+(?:data|packet)\s+size",
    re.IGNORECASE,
)
_PING_HEADER_RE = re.compile(r"^\s*PING\s+\S", re.MULTILINE)
_NO_STATS = "no ping statistics in the output"
_BUSYBOX_RE = re.compile(r"\bBusyBox\s+v\d", re.IGNORECASE)
_EXEC_FAILED_RE = re.compile(r"no\s+such\s+file\s+or\s+directory|command\s+not\s+found", re.I)


def parse_ping_output(text: str) -> PingOutput:
    """Read the tokens that matter from any supported ping's combined stdout+stderr.

    Tolerant by design: unknown lines are ignored, and nothing here raises on odd input.
    """
    transmitted = received = errors = None
    loss: Optional[float] = None
    sizes: list[int] = []
    learned: Optional[int] = None
    learned_from: Optional[str] = None
    too_big_line = unreachable = unknown = permission = bad_option = size_refused = None
    busybox = _BUSYBOX_RE.search(text) is not None
    for raw in text.splitlines():
        line = raw.strip()
        if not line:
            continue
        stats = _STATS_RE.search(line)
        if stats:
            transmitted = int(stats.group("tx"))
            received = int(stats.group("rx"))
            if stats.group("err"):
                errors = int(stats.group("err"))
            if stats.group("loss"):
                loss = float(stats.group("loss"))
            continue
        reply = _REPLY_RE.match(line)
        if reply:
            sizes.append(int(reply.group("size")))
            continue
        mtu_match = _LOCAL_ERR_RE.search(line)
        source: Optional[str] = "local"
        if mtu_match is None:
            mtu_match = _FRAG_RE.search(line) or _PKT_TOO_BIG_RE.search(line)
            sender = _FROM_RE.match(line)
            source = sender.group("addr") if sender else None
        if mtu_match:
            value = int(mtu_match.group("mtu"))
            # Keep the smallest MTU reported: that is the narrowest hop seen.
            if value > 0 and (learned is None or value < learned):
                learned, learned_from = value, source
            too_big_line = too_big_line or line
            continue
        if _MSG_TOO_LONG_RE.search(line):
            too_big_line = too_big_line or line
            continue
        if _SIZE_REFUSED_RE.search(line):
            size_refused = size_refused or line
        elif _BAD_OPTION_RE.search(line):
            bad_option = bad_option or line
        elif _UNKNOWN_HOST_RE.search(line):
            unknown = unknown or line
        elif _PERMISSION_RE.search(line):
            permission = permission or line
        elif _UNREACH_RE.search(line):
            unreachable = unreachable or line
    return PingOutput(
        transmitted=transmitted,
        received=received,
        errors=errors,
        loss_percent=loss,
        reply_sizes=tuple(sizes),
        learned_mtu=learned,
        learned_from=learned_from,
        too_big_line=too_big_line,
        unreachable_line=unreachable,
        unknown_host_line=unknown,
        permission_line=permission,
        bad_option_line=bad_option,
        size_refused_line=size_refused,
        busybox=busybox,
    )


def _excerpt(text: str) -> str:
    """Head and tail of the output: the header, the first errors and the statistics."""
    lines = [ln.rstrip() for ln in text.splitlines() if ln.strip()]
    if len(lines) > _EXCERPT_HEAD + _EXCERPT_TAIL:
        skipped = len(lines) - _EXCERPT_HEAD - _EXCERPT_TAIL
        lines = [*lines[:_EXCERPT_HEAD], f"[... {skipped} lines ...]", *lines[-_EXCERPT_TAIL:]]
    out = "\n".join(lines)
    if len(out) > _EXCERPT_CHARS:
        out = out[: _EXCERPT_CHARS - 4] + " ..."
    return out


def overhead_for(host: str) -> int:
    """Header bytes between MTU and ping payload: IPv6 literals pay 48, everything else 28."""
    try:
        addr = ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return IPV4_OVERHEAD
    return IPV6_OVERHEAD if addr.version == 6 else IPV4_OVERHEAD


def result_from_output(
    output: str,
    *,
    host: str,
    mtu: int,
    payload: Optional[int] = None,
    command: Sequence[str] = (),
    returncode: Optional[int] = None,
    os_name: Optional[str] = None,
    notes: Sequence[str] = (),
) -> ProbeResult:
    """Judge one DF ping from its output alone (pure: no process, no network).

    Order matters: full-size replies win over everything (the path carried the size); then a
    refusal that names an MTU (too-big); then reasons the test could not run; then silence.
    """
    size = payload if payload is not None else mtu - overhead_for(host)
    parsed = parse_ping_output(output)
    extra: list[str] = list(notes)
    verdict: Verdict
    path_mtu: Optional[int] = None
    source: Optional[str] = None
    received = parsed.received
    if received is None and parsed.reply_sizes:
        received = len(parsed.reply_sizes)

    full = [s for s in parsed.reply_sizes if s >= size + 8]
    if received and (full or not parsed.reply_sizes):
        verdict = Verdict.PASS
        if parsed.transmitted and received < parsed.transmitted:
            extra.append(f"{parsed.transmitted - received} of {parsed.transmitted} lost")
    elif received and parsed.reply_sizes:
        verdict = Verdict.NOT_EVALUABLE
        extra.append(
            f"replies were smaller ({max(parsed.reply_sizes)} bytes) than the "
            f"{size + 8} bytes sent"
        )
    elif parsed.too_big_line is not None:
        verdict = Verdict.TOO_BIG
        path_mtu = parsed.learned_mtu
        source = parsed.learned_from if path_mtu is not None else None
        if path_mtu is None:
            extra.append("the size was refused with DF set; no MTU was reported")
        elif source == "local":
            extra.append(f"this host's route to {host} allows only MTU {path_mtu}")
        else:
            who = f"router {source}" if source else "a router"
            extra.append(f"{who} needs fragmentation: next-hop MTU {path_mtu}")
    elif parsed.size_refused_line is not None:
        verdict = Verdict.NOT_EVALUABLE
        extra.append(f"the local ping refused the payload size: {parsed.size_refused_line}")
    elif parsed.bad_option_line is not None or parsed.busybox:
        verdict = Verdict.NOT_EVALUABLE
        extra.append("cannot set DF: this ping does not accept the don't-fragment option")
    elif parsed.unknown_host_line is not None:
        verdict = Verdict.NOT_EVALUABLE
        extra.append(f"unknown host: {parsed.unknown_host_line}")
    elif parsed.permission_line is not None:
        verdict = Verdict.NOT_EVALUABLE
        extra.append(f"no permission to send ICMP: {parsed.permission_line}")
    elif parsed.unreachable_line is not None:
        verdict = Verdict.NOT_EVALUABLE
        extra.append(f"host unreachable: {parsed.unreachable_line}")
    elif parsed.transmitted:
        verdict = Verdict.NO_REPLY
    elif _EXEC_FAILED_RE.search(output):
        verdict = Verdict.NOT_EVALUABLE
        extra.append("ping could not be started")
    else:
        verdict = Verdict.NOT_EVALUABLE
        extra.append(_NO_STATS)
    return ProbeResult(
        verdict=verdict,
        host=host,
        mtu=mtu,
        payload=size,
        command=tuple(command),
        output=_excerpt(output),
        path_mtu=path_mtu,
        path_mtu_source=source,
        transmitted=parsed.transmitted,
        received=received,
        returncode=returncode,
        os_name=os_name,
        notes=tuple(extra),
    )


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
        *prog, "-n", "-M", "do", "-s", size, "-c", str(count), "-W", wait,
        "-i", str(_LINUX_INTERVAL), host,
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
    argv = build_command(
        host, mtu=mtu, count=count, timeout=timeout, os_name=family, ping=prog
    )
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
            host, mtu, payload, "cannot set DF: BusyBox ping has no -M option",
            command=argv, os_name=family,
        )
    interval = _LINUX_INTERVAL if family == "linux" else 1.0
    deadline = count * interval + _wait_seconds(timeout) + _SLACK
    rc, out, run_problem = _run(argv, deadline)
    if run_problem and rc is None:
        return _not_evaluable(host, mtu, payload, run_problem, command=argv, os_name=family)
    if run_problem:
        notes.append(run_problem)
    result = result_from_output(
        out, host=host, mtu=mtu, payload=payload, command=argv, returncode=rc,
        os_name=family, notes=notes,
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
            host, low, high, None, False, Verdict.NOT_EVALUABLE,
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
                    host, low, high, None, False, Verdict.NOT_EVALUABLE,
                    tuple(probes), tuple([*notes, *r.notes]),
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
            host, low, high, None, False, verdict, tuple(probes),
            tuple([*notes, f"even MTU {low} did not pass"]),
        )
    exact = lo >= hi
    return PathMtuResult(host, low, high, best, exact, Verdict.PASS, tuple(probes), tuple(notes))
