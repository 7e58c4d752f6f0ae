"""Reading ``ping`` output: what one don't-fragment probe showed, as a verdict with evidence.

Pure functions over captured text (no process is run here), so outputs from iputils, BusyBox,
illumos and Solaris ``ping -s`` can be judged without a network; :mod:`toolsfix.probe` runs
``ping`` and hands its output to :func:`result_from_output`. Output is read by tokens, never
by columns.
"""

from __future__ import annotations

import enum
import ipaddress
import re
import shlex
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Optional

from toolsfix.findings import Evidence

#: IPv4 header (20) + ICMP echo header (8): a 9000-byte MTU carries an 8972-byte payload.
IPV4_OVERHEAD = 28
#: IPv6 header (40) + ICMPv6 echo header (8).
IPV6_OVERHEAD = 48
#: Output kept in a result: enough to show the evidence, bounded so reports stay small.
_EXCERPT_HEAD = 12
_EXCERPT_TAIL = 6
_EXCERPT_CHARS = 2000


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
            f"replies were smaller ({max(parsed.reply_sizes)} bytes) than the {size + 8} bytes sent"
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
