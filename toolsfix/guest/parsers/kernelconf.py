"""Solaris kernel configuration files: ``driver.conf(5)`` (vmxnet3s.conf) and ``/etc/system``.

The vmxnet3s driver reads its ring sizes, LSO switch and (on Solaris 10 builds) MTU from
``/kernel/drv/vmxnet3s.conf``: one integer list per property, one value per instance. What
matters is not what the file says but what the driver *ends up using*, so :class:`DriverConf`
mirrors the driver's own rules (list index = instance, invalid values fall back to the
default) in :meth:`DriverConf.value_for`. Syntax problems are recorded, not raised: the driver
also reads whatever it can, and a check must be able to quote the offending line.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Optional, Union

from toolsfix.guest.parsers._common import TextInput, as_text, numbered

__all__ = [
    "VMXNET3S_PROPERTIES",
    "ConfEntry",
    "ConfProblem",
    "ConfProperty",
    "ConfScalar",
    "ConfValue",
    "DriverConf",
    "EtcSystem",
    "PropSpec",
    "SystemDirective",
    "SystemSet",
    "parse_driver_conf",
    "parse_etc_system",
]

ConfScalar = Union[int, str]


@dataclass(frozen=True)
class PropSpec:
    """How the vmxnet3s driver reads one property: valid range and what it falls back to."""

    minimum: int
    maximum: int
    default: int
    multiple_of: int = 1
    note: str = ""


# Defaults and ranges of the vmxnet3s driver (docs/background.md, "The vmxnet3s driver").
# RxBufPoolLimit depends on the instance's RxRingSize; the bounds below are for the default ring
# size and ConfValue computes them per instance.
VMXNET3S_PROPERTIES: Mapping[str, PropSpec] = MappingProxyType(
    {
        "TxRingSize": PropSpec(minimum=32, maximum=4096, default=256, multiple_of=32),
        "RxRingSize": PropSpec(minimum=32, maximum=4096, default=256, multiple_of=32),
        "RxBufPoolLimit": PropSpec(
            minimum=0,
            maximum=2560,
            default=512,
            note="range 0..10*RxRingSize, default 2*RxRingSize",
        ),
        "EnableLSO": PropSpec(minimum=0, maximum=1, default=1),
        "MTU": PropSpec(
            minimum=60, maximum=9000, default=1500, note="read only by Solaris 9/10 builds"
        ),
    }
)


@dataclass(frozen=True)
class ConfProperty:
    """One ``name=value[,value...]`` assignment, with the line and text a finding quotes."""

    name: str
    values: tuple[ConfScalar, ...]
    line: int
    text: str  # the source text of the assignment, for evidence


@dataclass(frozen=True)
class ConfEntry:
    """One ``;``-terminated entry: global properties, or a device specification (name=...)."""

    properties: tuple[ConfProperty, ...]
    line: int

    @property
    def is_device_spec(self) -> bool:
        names = {p.name for p in self.properties}
        return "name" in names and bool(names & {"parent", "class"})


@dataclass(frozen=True)
class ConfProblem:
    """A line the parser could not make sense of: kept, never fatal, so a check can say so."""

    line: int
    message: str


@dataclass(frozen=True)
class ConfValue:
    """The value the driver ends up using for one property on one instance."""

    name: str
    instance: int
    value: Optional[int]  # None: unknown property without a usable configured value
    configured: Optional[ConfScalar]  # what the conf file holds for this instance, if anything
    from_conf: bool  # True when the conf value is used as-is
    valid: bool  # False when a configured value was rejected (invalid -> default)
    reason: str
    line: Optional[int]


_EMPTY_DUP: Mapping[str, tuple[int, ...]] = MappingProxyType({})


@dataclass(frozen=True)
class DriverConf:
    """A parsed driver.conf. ``properties`` holds the last global assignment of each name."""

    properties: Mapping[str, ConfProperty]
    entries: tuple[ConfEntry, ...] = ()
    problems: tuple[ConfProblem, ...] = ()
    duplicates: Mapping[str, tuple[int, ...]] = field(default_factory=lambda: _EMPTY_DUP)

    def get(self, name: str) -> Optional[ConfProperty]:
        return self.properties.get(name)

    def value_for(self, prop: str, instance: int = 0) -> ConfValue:
        """What the vmxnet3s driver would use for ``prop`` on ``instance``.

        Mirrors the driver: the value at index ``instance`` of the integer list; a missing
        property, a list too short or a non-integer list gives the default; an out-of-range
        value (or a ring size not a multiple of 32) is logged as invalid and replaced by the
        default.
        """
        conf = self.properties.get(prop)
        spec = VMXNET3S_PROPERTIES.get(prop)
        line = conf.line if conf else None

        def result(
            value: Optional[int],
            configured: Optional[ConfScalar],
            from_conf: bool,
            valid: bool,
            reason: str,
            at: Optional[int] = line,
        ) -> ConfValue:
            return ConfValue(
                name=prop,
                instance=instance,
                value=value,
                configured=configured,
                from_conf=from_conf,
                valid=valid,
                reason=reason,
                line=at,
            )

        if spec is None:
            if conf is None or instance >= len(conf.values) or instance < 0:
                return result(
                    None, None, False, True, "not a vmxnet3s property and not set for this instance"
                )
            v = conf.values[instance]
            return result(
                v if isinstance(v, int) else None,
                v,
                True,
                True,
                "not a vmxnet3s property: value shown as configured",
            )
        minimum, maximum, default = spec.minimum, spec.maximum, spec.default
        if prop == "RxBufPoolLimit":
            ring = self.value_for("RxRingSize", instance).value or 256
            maximum, default = 10 * ring, 2 * ring
        if conf is None:
            return result(default, None, False, True, "not set: driver default", None)
        if any(not isinstance(v, int) for v in conf.values):
            return result(
                default,
                None,
                False,
                False,
                "not an integer list: the driver cannot read it and uses its default",
            )
        if instance < 0 or instance >= len(conf.values):
            return result(
                default,
                None,
                False,
                True,
                f"no value for instance {instance} (list has {len(conf.values)}): driver default",
            )
        value = conf.values[instance]
        assert isinstance(value, int)
        if value < minimum or value > maximum:
            return result(
                default,
                value,
                False,
                False,
                f"{value} outside {minimum}..{maximum}: invalid, driver uses default {default}",
            )
        if spec.multiple_of > 1 and value % spec.multiple_of:
            return result(
                default,
                value,
                False,
                False,
                f"{value} not a multiple of {spec.multiple_of}: invalid, driver uses"
                f" default {default}",
            )
        return result(value, value, True, True, "set in conf")

    def effective(self, instance: int = 0) -> Mapping[str, ConfValue]:
        """Every known vmxnet3s property as the driver would see it on ``instance``."""
        return MappingProxyType({p: self.value_for(p, instance) for p in VMXNET3S_PROPERTIES})


def _conf_scalar(token: str, quoted: bool) -> ConfScalar:
    """A driver.conf value: decimal, octal (``010``) or hex (``0x10``) integer, else a word."""
    if quoted:
        return token
    tok = token.strip()
    try:
        if re.fullmatch(r"-?0[xX][0-9a-fA-F]+", tok):
            return int(tok, 16)
        if re.fullmatch(r"-?0[0-7]+", tok):
            return int(tok, 8)
        if re.fullmatch(r"-?\d+", tok):
            return int(tok, 10)
    except ValueError:
        pass
    return tok


def _conf_tokens(text: str) -> Iterator[tuple[str, str, int]]:
    """(kind, value, line): kinds "word", "string", "=", ",", ";"."""
    i, n, line = 0, len(text), 1
    while i < n:
        ch = text[i]
        if ch == "\n":
            line += 1
            i += 1
        elif ch.isspace():
            i += 1
        elif ch == "#":
            while i < n and text[i] != "\n":
                i += 1
        elif ch in "=,;":
            yield ch, ch, line
            i += 1
        elif ch == '"':
            start_line = line
            j = i + 1
            buf: list[str] = []
            while j < n and text[j] != '"':
                if text[j] == "\\" and j + 1 < n:
                    j += 1
                if text[j] == "\n":
                    line += 1
                buf.append(text[j])
                j += 1
            yield "string", "".join(buf), start_line
            i = j + 1
        else:
            j = i
            while j < n and not text[j].isspace() and text[j] not in '=,;"#':
                j += 1
            yield "word", text[i:j], line
            i = j


class _ConfReader:
    """The driver.conf grammar as a small state machine over :func:`_conf_tokens`.

    ``expect`` is what may come next: a property ``name``, ``eq_or_next`` (``=`` or the next
    name of a boolean property), a ``value``, or ``comma_or_next``. Anything else becomes a
    :class:`ConfProblem` and reading goes on, as the driver does.
    """

    def __init__(self, src_lines: list[str]) -> None:
        self.src_lines = src_lines
        self.entries: list[ConfEntry] = []
        self.problems: list[ConfProblem] = []
        self.props: list[ConfProperty] = []
        self.entry_line = 0
        self.name: Optional[str] = None
        self.name_line = 0
        self.values: list[ConfScalar] = []
        self.expect = "name"

    def close_prop(self) -> None:
        if self.name is not None:
            n = self.name_line
            last = self.src_lines[n - 1] if 0 < n <= len(self.src_lines) else ""
            self.props.append(
                ConfProperty(
                    name=self.name, values=tuple(self.values), line=n, text=last.strip()[:200]
                )
            )
        self.name, self.values = None, []

    def close_entry(self, line: int) -> None:
        self.close_prop()
        if self.props:
            self.entries.append(
                ConfEntry(properties=tuple(self.props), line=self.entry_line or line)
            )
        self.props, self.entry_line, self.expect = [], 0, "name"

    def problem(self, line: int, message: str) -> None:
        self.problems.append(ConfProblem(line=line, message=message))

    def start_prop(self, name: str, line: int) -> None:
        self.close_prop()
        self.name, self.name_line, self.expect = name, line, "eq_or_next"

    def feed(self, kind: str, val: str, line: int) -> None:
        if kind == ";":
            if self.expect == "value":
                self.problem(line, f"missing value after '{self.name}='")
            self.close_entry(line)
        elif self.expect in ("name", "eq_or_next"):
            if kind == "=" and self.expect == "eq_or_next":
                self.expect = "value"
            elif kind == "word":
                self.start_prop(val, line)
                self.entry_line = self.entry_line or line
            else:
                self.problem(line, f"unexpected {val!r}")
        elif self.expect == "value":
            if kind in ("word", "string"):
                self.values.append(_conf_scalar(val, kind == "string"))
                self.expect = "comma_or_next"
            else:
                self.problem(line, f"expected a value after '{self.name}=', got {val!r}")
        elif kind == ",":  # comma_or_next
            self.expect = "value"
        elif kind == "word":
            self.start_prop(val, line)
        else:
            self.problem(line, f"unexpected {val!r} after value of '{self.name}'")

    def finish(self) -> DriverConf:
        if self.name is not None or self.props:
            self.problem(len(self.src_lines), "last entry is not terminated by ';'")
            self.close_entry(len(self.src_lines))
        properties: dict[str, ConfProperty] = {}
        seen: dict[str, list[int]] = {}
        for entry in self.entries:
            if entry.is_device_spec:
                continue
            for prop in entry.properties:
                properties[prop.name] = prop
                seen.setdefault(prop.name, []).append(prop.line)
        dups = {k: tuple(v) for k, v in seen.items() if len(v) > 1}
        return DriverConf(
            properties=MappingProxyType(properties),
            entries=tuple(self.entries),
            problems=tuple(self.problems),
            duplicates=MappingProxyType(dups),
        )


def parse_driver_conf(text: TextInput) -> DriverConf:
    """Parse driver.conf(5) syntax: ``name=value,value,...;`` entries, possibly spanning lines,
    ``#`` comments, quoted strings, decimal/octal/hex integers. Problems are recorded, not
    raised; the rest of the file is still read."""
    source = as_text(text).replace("\r\n", "\n").replace("\r", "\n")
    reader = _ConfReader(source.split("\n"))
    for kind, val, line in _conf_tokens(source):
        reader.feed(kind, val, line)
    return reader.finish()


# --------------------------------------------------------------------------- /etc/system


@dataclass(frozen=True)
class SystemSet:
    """One ``set [module:]name op value`` line of ``/etc/system``."""

    module: Optional[str]
    name: str
    op: str  # "=", "|=" or "&="
    value: str
    line: int

    @property
    def int_value(self) -> Optional[int]:
        v = _conf_scalar(self.value, False)
        return v if isinstance(v, int) else None


@dataclass(frozen=True)
class SystemDirective:
    """One ``keyword: value`` line of ``/etc/system`` (forceload, exclude, moddir...)."""

    keyword: str  # forceload, exclude, moddir, rootdev, rootfs
    value: str
    line: int


@dataclass(frozen=True)
class EtcSystem:
    """``/etc/system``: its ``set`` lines and directives, in file order."""

    sets: tuple[SystemSet, ...]
    directives: tuple[SystemDirective, ...]

    def get(self, name: str, module: Optional[str] = None) -> Optional[SystemSet]:
        """The last ``set`` of ``[module:]name`` (later lines override earlier ones)."""
        found = None
        for s in self.sets:
            if s.name == name and s.module == module:
                found = s
        return found


_DIRECTIVE = re.compile(r"^(forceload|exclude|moddir|rootdev|rootfs|include)\s*:\s*(.*)$")
_SET_LINE = re.compile(r"^set\s+(?:(\w+):)?(\w+)\s*([|&]?=)\s*(\S+)", re.I)


def parse_etc_system(text: TextInput) -> EtcSystem:
    sets: list[SystemSet] = []
    directives: list[SystemDirective] = []
    for number, raw in numbered(text):
        line = raw.strip()
        if not line or line[0] in "*#":
            continue
        match = _SET_LINE.match(line)
        if match:
            module, name, op, value = match.groups()
            sets.append(
                SystemSet(module=module, name=name, op=op, value=value.strip("\"'"), line=number)
            )
            continue
        directive = _DIRECTIVE.match(line)
        if directive:
            keyword, value = directive.group(1), directive.group(2).strip()
            directives.append(SystemDirective(keyword=keyword, value=value, line=number))
    return EtcSystem(sets=tuple(sets), directives=tuple(directives))
