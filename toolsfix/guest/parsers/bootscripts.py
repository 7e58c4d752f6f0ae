"""Network tunables that boot scripts and SMF methods set, so they survive a reboot.

``ndd`` and ``ifconfig`` settings are lost at reboot; administrators persist them by running
the same commands from ``/etc/rc2.d`` scripts or SMF methods (``ipadm`` and ``dladm`` keep
their own store, but are scripted too). Whether LSO stays off or a jumbo MTU comes back after
a reboot is therefore a question about these scripts, and the answer must quote the line.
Only the command word counts: ``echo "ndd -set ..."`` sets nothing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import NamedTuple, Optional

from toolsfix.guest.parsers._common import TextInput, numbered

__all__ = ["PersistentSetting", "find_persistent_settings"]


@dataclass(frozen=True)
class PersistentSetting:
    """A network tunable set from a boot script or SMF method (survives reboots).

    ``tool``: "ndd", "ipadm", "dladm", "ifconfig" or "ethtool"; ``action``: "-set",
    "set-prop", "set-ifprop", "set-linkprop", "mtu" or "-K"; ``target``: the ndd device
    (``/dev/ip``, ``/dev/vmxnet3s0``), the ipadm protocol or interface, the dladm link, the
    interface; ``properties``: (name, value) pairs. ``temporary`` is True for ``-t``.
    """

    tool: str
    action: str
    target: Optional[str]
    properties: tuple[tuple[str, str], ...]
    protocol: Optional[str]
    temporary: bool
    path: str
    line: int
    text: str


def _strip_comment(line: str) -> str:
    quote: Optional[str] = None
    for i, ch in enumerate(line):
        if quote:
            if ch == quote:
                quote = None
        elif ch in "\"'":
            quote = ch
        elif ch == "#" and (i == 0 or line[i - 1].isspace()):
            return line[:i]
    return line


def _prop_pairs(spec: str) -> list[tuple[str, str]]:
    pairs = []
    for part in spec.split(","):
        if "=" in part:
            k, _, v = part.partition("=")
            pairs.append((k.strip(), v.strip()))
    return pairs


_SETTING_TOOLS = frozenset({"ndd", "ipadm", "dladm", "ifconfig", "ethtool"})
_CMD_PREFIXES = frozenset(
    {
        "sudo",
        "pfexec",
        "exec",
        "nohup",
        "command",
        "time",
        "if",
        "then",
        "do",
        "else",
        "elif",
        "while",
        "until",
        "!",
        "{",
        "(",
        "`",
        "$(",
    }
)


# A NamedTuple, not a frozen dataclass: it is private and never replaced or serialised, and a
# dataclass costs about a millisecond at import (its methods are generated and compiled).
class _Where(NamedTuple):
    """Where a command was found: the script, its (first) line and the logical line's text."""

    path: str
    line: int
    text: str

    def setting(
        self,
        tool: str,
        action: str,
        target: Optional[str],
        properties: tuple[tuple[str, str], ...],
        protocol: Optional[str] = None,
        temporary: bool = False,
    ) -> PersistentSetting:
        return PersistentSetting(
            tool=tool,
            action=action,
            target=target,
            properties=properties,
            protocol=protocol,
            temporary=temporary,
            path=self.path,
            line=self.line,
            text=self.text,
        )


def _command_word(tokens: list[str]) -> int:
    """Index of the command word: only prefixes such as ``sudo``, ``if``, variable assignments
    or a case pattern (``start)``) may precede it, so ``echo "ndd -set"`` is not a setting."""
    idx = 0
    while idx < len(tokens) and (
        tokens[idx] in _CMD_PREFIXES
        or re.fullmatch(r"\w+=\S*", tokens[idx])
        or tokens[idx].endswith(")")
    ):
        idx += 1
    return idx


def _simple_setting(tool: str, args: list[str], where: _Where) -> Optional[PersistentSetting]:
    """``ndd -set``, ``ifconfig <if> ... mtu N`` and ``ethtool -K``: one fixed shape each."""
    if tool == "ndd":
        if len(args) >= 4 and args[0] == "-set":
            return where.setting("ndd", "-set", args[1], ((args[2], args[3]),))
        return None
    if tool == "ifconfig":
        if "mtu" in args[1:]:
            i = args.index("mtu", 1)
            if i + 1 < len(args):
                return where.setting("ifconfig", "mtu", args[0], (("mtu", args[i + 1]),))
        return None
    # ethtool
    if len(args) >= 4 and args[0] in ("-K", "--features", "--offload"):
        from toolsfix.guest.parsers.linux import normalise_feature_name  # lazy: Linux only

        feats = tuple(
            (normalise_feature_name(args[i]), args[i + 1]) for i in range(2, len(args) - 1, 2)
        )
        return where.setting("ethtool", "-K", args[1], feats)
    return None


def _adm_setting(tool: str, args: list[str], where: _Where) -> Optional[PersistentSetting]:
    """``ipadm``/``dladm`` ``set-prop``, ``set-ifprop``, ``set-linkprop`` with their options."""
    if not args or args[0] not in ("set-prop", "set-ifprop", "set-linkprop"):
        return None
    action = args[0]
    props: list[tuple[str, str]] = []
    protocol: Optional[str] = None
    temporary = False
    operands: list[str] = []
    i = 1
    while i < len(args):
        a = args[i]
        if a in ("-t", "--temporary"):
            temporary = True
        elif a in ("-p", "--prop") and i + 1 < len(args):
            props.extend(_prop_pairs(args[i + 1]))
            i += 1
        elif a.startswith("-p") and len(a) > 2:
            props.extend(_prop_pairs(a[2:]))
        elif a in ("-m", "--module") and i + 1 < len(args):
            protocol = args[i + 1]
            i += 1
        elif a.startswith("-m") and len(a) > 2:
            protocol = a[2:]
        elif a in ("-R", "--root-dir") and i + 1 < len(args):
            i += 1
        elif not a.startswith("-"):
            operands.append(a)
        i += 1
    if not props:
        return None
    target = operands[-1] if operands else None
    if action == "set-prop" and protocol is None:
        protocol = target
    return where.setting(tool, action, target, tuple(props), protocol, temporary)


def _setting_from(tokens: list[str], where: _Where) -> Optional[PersistentSetting]:
    idx = _command_word(tokens)
    if idx >= len(tokens):
        return None
    tool = tokens[idx].strip("\"'`(){}").rsplit("/", 1)[-1]
    if tool not in _SETTING_TOOLS:
        return None
    args = [a for a in (t.strip("\"'`()") for t in tokens[idx + 1 :]) if a]
    if tool in ("ndd", "ifconfig", "ethtool"):
        return _simple_setting(tool, args, where)
    return _adm_setting(tool, args, where)


def find_persistent_settings(text: TextInput, path: str) -> list[PersistentSetting]:
    """Every ndd/ipadm/dladm (and ifconfig mtu, ethtool -K) setting a script makes, with its
    line; commented-out lines are skipped, backslash continuations are joined."""
    found: list[PersistentSetting] = []
    pending = ""
    pending_line = 0
    for number, raw in numbered(text):
        stripped = raw.strip()
        if not pending and (not stripped or stripped.startswith("#")):
            continue
        if stripped.endswith("\\"):
            if not pending:
                pending_line = number
            pending += stripped[:-1] + " "
            continue
        logical = pending + stripped
        start = pending_line if pending else number
        pending = ""
        code = _strip_comment(logical)
        where = _Where(path=path, line=start, text=logical.strip()[:200])
        for segment in re.split(r";|&&|\|\||\||\bthen\b|\bdo\b|\belse\b", code):
            tokens = segment.split()
            if not tokens:
                continue
            setting = _setting_from(tokens, where)
            if setting is not None:
                found.append(setting)
    return found
