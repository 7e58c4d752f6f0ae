"""Analysis of VMware's configurator (``bin/vmware-config-tools.pl``): the driver-selection model.

The bug lives in ``configure_module_solaris``: ``$currentMinor`` caps the Solaris release the
driver directory is chosen for. We read the function the way a reviewer would: find the cap,
find the comparison that applies it, find which directory variable each module copies from,
and evaluate that model for every guest release we care about. Anything we do not recognise is
reported as ``unknown`` -- a wrong "fixed" is the one answer this tool must never give.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Optional

from toolsfix.knowledge import CONFIGURED_MODULES as CONFIGURED_MODULES
from toolsfix.knowledge import GUESTS as GUESTS
from toolsfix.knowledge import GUESTS_BY_NAME as GUESTS_BY_NAME
from toolsfix.knowledge import Guest as Guest
from toolsfix.perltext import DAMAGED_COMMENT, Line, Span, find_sub, lex, line_ending

FUNCTION = "configure_module_solaris"
MARKER_RE = re.compile(r"toolsfix:\s*patched\s+by\s+(?P<patch>[\w.-]+)")
BUILDNR_RE = re.compile(
    r"""\$buildNr\s*=\s*['"](?P<version>\d+(?:\.\d+)+)\s+build-(?P<build>\d+)['"]"""
)
PRODUCT_RE = re.compile(r"""['"](tools-for-(?:solaris|linux|freebsd))['"]""")

# Selection states of the contract (``configurator.selection_bug``).
PRESENT = "present"
ABSENT = "absent"
HAND_PATCHED = "hand-patched"
PATCHED = "patched"
UNKNOWN = "unknown"


# The simulated guests (``GUESTS``: the JSON contract's releases) and ``CONFIGURED_MODULES``
# live in toolsfix.knowledge; they are re-exported here for the callers that used to find
# them in this module.

# How a module's directory is chosen (docs/background.md, "Which directory each module uses").
RULE_FLAVOR = "osFlavorDir"  # 2009.06 on snv_111b, else osDir
RULE_OSDIR = "osDir"  # min(minor, currentMinor) (or whatever the comparison computes)
RULE_FORCE11_UNLESS_SNV = "11 on minor 11 unless snv, else osDir"  # vmmemctl, 8.6.17/9.2.2+
RULE_MINOR11 = "11 on minor 11, else osDir"  # vmhgfs, vmblock
RULE_UNKNOWN = "unknown"

DirPair = tuple[str, str]


@dataclass(frozen=True)
class Comparison:
    """``if (<lhs> <op> <rhs>) { $osDir = <then>; } else { $osDir = <else>; }``."""

    lhs: str
    op: str
    rhs: str
    then_value: str
    else_value: str
    line: int

    def os_dir(self, minor: int, current_minor: int) -> Optional[int]:
        env = {"minor": minor, "currentMinor": current_minor}

        def val(token: str) -> Optional[int]:
            token = token.lstrip("$").strip("{}")
            if token.isdigit():
                return int(token)
            return env.get(token)

        left, right = val(self.lhs), val(self.rhs)
        if left is None or right is None:
            return None
        holds = {
            "<": left < right,
            "<=": left <= right,
            ">": left > right,
            ">=": left >= right,
            "==": left == right,
            "!=": left != right,
        }[self.op]
        return val(self.then_value if holds else self.else_value)


@dataclass(frozen=True)
class ModuleRule:
    """How the configurator picks the build directory of one module (a ``RULE_*`` name),
    and the line that says so."""

    module: str
    rule: str
    line: int


@dataclass(frozen=True)
class Analysis:
    """Everything established about one configurator file."""

    path: str
    sha256: str
    size: int
    line_ending: str
    damaged_comments: int
    version: Optional[str]
    build: Optional[str]
    product: Optional[str]
    function: Optional[Span]
    current_minor: Optional[int]
    current_minor_line: Optional[int]
    comparison: Optional[Comparison]
    flavor_check: bool
    marker_patch: Optional[str]
    marker_line: Optional[int]
    selection_bug: str
    reason: str
    rules: tuple[ModuleRule, ...] = ()
    driver_dirs: Mapping[str, Optional[Mapping[str, Optional[DirPair]]]] = field(
        default_factory=dict
    )

    def rule_for(self, module: str) -> Optional[ModuleRule]:
        return next((r for r in self.rules if r.module == module), None)

    @property
    def has_model(self) -> bool:
        """Whether the static model can predict a selection (the state is recognised)."""
        return (
            self.selection_bug != UNKNOWN
            and self.current_minor is not None
            and self.comparison is not None
        )

    def predict_for(self, guest: Guest) -> Optional[dict[str, Optional[DirPair]]]:
        """What the model says ``guest`` gets (any guest, not only the contract's); None when
        nothing is copied. Check :attr:`has_model` first: without a model this is None too."""
        if not self.has_model or self.current_minor is None or self.comparison is None:
            return None
        return predict(guest, self.current_minor, self.comparison, self.flavor_check, self.rules)

    def to_dict(self) -> dict[str, object]:
        dirs: dict[str, object] = {}
        for guest, modules in self.driver_dirs.items():
            dirs[guest] = (
                None
                if modules is None
                else {m: (list(p) if p else None) for m, p in modules.items()}
            )
        return {
            "path": self.path,
            "sha256": self.sha256,
            "version": self.version,
            "build": self.build,
            "product": self.product,
            "selection_bug": self.selection_bug,
            "reason": self.reason,
            "current_minor": self.current_minor,
            "function_lines": [self.function.start, self.function.end] if self.function else None,
            "line_ending": self.line_ending,
            "damaged_comments": self.damaged_comments,
            "marker": self.marker_patch,
            "module_rules": {r.module: r.rule for r in self.rules},
            "driver_dirs": dirs,
        }


_CURRENT_MINOR_RE = re.compile(r"\$currentMinor\s*=\s*(\d+)\s*;")
_COND_RE = re.compile(
    r"^\s*(?:\}\s*)?(?:els)?if\s*\(\s*(\$\{?\w+\}?|\d+)\s*(<=|>=|==|!=|<|>)\s*(\$\{?\w+\}?|\d+)\s*\)"
)
_ASSIGN_RE = re.compile(r"^\s*\$(\w+)\s*=\s*(\$\{?\w+\}?|\d+(?:\.\d+)?)\s*;")
_MODULE_COND_RE = re.compile(r"\$module\s+eq\s+'(\w+)'")
_SRC_CONCAT_RE = re.compile(r"\$\{?dir\}?\s*\.\s*\$\{?(\w+)\}?\s*\.\s*'")
_SRC_INTERP_RE = re.compile(r"\$\{?dir\}?/?\$\{?(\w+)\}?(?:_64)?/")


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def find_buildnr(text: str) -> tuple[Optional[str], Optional[str], Optional[int]]:
    """Version, build and line of ``$buildNr = 'X.Y.Z build-N';`` (every release has one)."""
    for number, line in enumerate(text.splitlines(), 1):
        m = BUILDNR_RE.search(line)
        if m:
            return m.group("version"), m.group("build"), number
    return None, None, None


def find_product(lines: Sequence[Line]) -> Optional[str]:
    """What ``vmware_product()`` returns: every configurator *mentions* all products."""
    span = find_sub(lines, "vmware_product")
    if span is None:
        return None
    for line in lines[span.start - 1 : span.end]:
        if "return" in line.code:
            m = PRODUCT_RE.search(_live_text(line))
            if m:
                return m.group(1)
    return None


_TOKEN = r"(\$\{?\w+\}?|\d+)"
_TERNARY_RE = re.compile(
    rf"\$osDir\s*=\s*\(?\s*{_TOKEN}\s*(<=|>=|==|!=|<|>)\s*{_TOKEN}\s*\)?\s*\?\s*{_TOKEN}"
    rf"\s*:\s*{_TOKEN}\s*;"
)
_MINMAX_RE = re.compile(
    rf"\$osDir\s*=\s*(?:List::Util::)?(min|max)\s*\(\s*{_TOKEN}\s*,\s*{_TOKEN}\s*\)\s*;"
)


def _find_comparison(body: Sequence[Line]) -> Optional[Comparison]:
    """Where ``$osDir`` is computed from ``$currentMinor``: the if/else VMware ships, or the
    one-line refactors a maintainer might write (a ternary, ``min``/``max``)."""
    for line in body:
        if "currentMinor" not in line.code:
            continue
        t = _TERNARY_RE.search(line.code)
        if t:
            return Comparison(t.group(1), t.group(2), t.group(3), t.group(4), t.group(5),
                              line.number)  # fmt: skip
        mm = _MINMAX_RE.search(line.code)
        if mm:
            op = "<" if mm.group(1) == "min" else ">"
            a, b = mm.group(2), mm.group(3)
            return Comparison(a, op, b, a, b, line.number)
    for i, line in enumerate(body):
        m = _COND_RE.match(line.code)
        if not m or "currentMinor" not in line.code:
            continue
        lhs, op, rhs = m.groups()
        then_value = else_value = None
        in_else = False
        for follow in body[i + 1 : i + 12]:
            code = follow.stripped
            if re.match(r"^\}?\s*else\b", code):
                in_else = True
            a = _ASSIGN_RE.match(follow.code)
            if a and a.group(1) == "osDir":
                if in_else:
                    else_value = a.group(2)
                    break
                then_value = a.group(2)
        if then_value is not None and else_value is not None:
            return Comparison(lhs, op, rhs, then_value, else_value, line.number)
    return None


def _module_branches(body: Sequence[Line]) -> list[tuple[tuple[str, ...], list[Line]]]:
    """Each ``if ($module eq 'x' ...) { ... }`` block with the modules it handles."""
    branches: list[tuple[tuple[str, ...], list[Line]]] = []
    i = 0
    while i < len(body):
        line = body[i]
        live = _live_text(line)
        if re.search(r"\bif\s*\(", line.code) and _MODULE_COND_RE.search(live):
            modules = tuple(_MODULE_COND_RE.findall(live))
            depth = 0
            opened = False
            block: list[Line] = []
            j = i
            while j < len(body):
                block.append(body[j])
                for ch in body[j].code:
                    if ch == "{":
                        depth += 1
                        opened = True
                    elif ch == "}":
                        depth -= 1
                if opened and depth <= 0:
                    break
                j += 1
            branches.append((modules, block))
            i = j + 1
            continue
        i += 1
    return branches


def _live_text(line: Line) -> str:
    """The line without its comment, string contents intact (code_of keeps columns 1:1)."""
    return line.text[: len(line.code)]


def _rule_of_branch(module: str, block: Sequence[Line]) -> ModuleRule:
    """Which directory variable the branch copies from, and any override of it."""
    refs: list[tuple[str, int]] = []
    for line in block:
        live = _live_text(line)
        for rx in (_SRC_CONCAT_RE, _SRC_INTERP_RE):
            refs.extend((m.group(1), line.number) for m in rx.finditer(live))
    names = {v for v, _ in refs}
    if len(names) != 1:
        # No copy at all, or copies from two different variables: not a shape we know.
        return ModuleRule(module, RULE_UNKNOWN, block[0].number)
    var, line_no = refs[0]
    override = _override(block, var)
    if var == "osFlavorDir" and override is None:
        return ModuleRule(module, RULE_FLAVOR, line_no)
    if var == "osDir":
        return ModuleRule(module, override or RULE_OSDIR, line_no)
    # ``my $newMinor; if ($minor == 11) { $newMinor = $minor } else { $newMinor = $osDir }``
    if (
        var not in ("osFlavorDir", "minor", "currentMinor")
        and override == RULE_MINOR11
        and _assigns(block, var, "osDir")
    ):
        return ModuleRule(module, RULE_MINOR11, line_no)
    return ModuleRule(module, RULE_UNKNOWN, line_no)


def _override(block: Sequence[Line], var: str) -> Optional[str]:
    """Recognise ``if ($minor == 11 [&& not OpenSolaris]) { $var = $minor; }``."""
    for k, line in enumerate(block):
        a = _ASSIGN_RE.match(line.code)
        if not a or a.group(1) != var or a.group(2).strip("${}") != "minor":
            continue
        cond = next(
            (p.code for p in reversed(block[max(0, k - 3) : k]) if re.search(r"\bif\s*\(", p.code)),
            None,
        )
        if cond is None or not re.search(r"\$minor\s*==\s*11\b", cond):
            return RULE_UNKNOWN
        if re.search(r"opensolaris|snv|os_name", cond, re.IGNORECASE):
            return RULE_FORCE11_UNLESS_SNV
        return RULE_MINOR11
    return None


def _assigns(block: Sequence[Line], var: str, value: str) -> bool:
    for line in block:
        a = _ASSIGN_RE.match(line.code)
        if a and a.group(1) == var and a.group(2).strip("${}") == value:
            return True
    return False


def _classify(
    current_minor: Optional[int],
    comparison: Optional[Comparison],
    marker: Optional[str],
) -> tuple[str, str]:
    if current_minor is None:
        return UNKNOWN, "no `$currentMinor = N;` assignment in the function"
    if comparison is None:
        return UNKNOWN, "no recognisable comparison assigning $osDir from $currentMinor"
    sample = range(5, 14)
    got = [comparison.os_dir(m, current_minor) for m in sample]
    is_min = got == [min(m, current_minor) for m in sample]
    is_max = got == [max(m, current_minor) for m in sample]
    if marker is not None:
        if is_min and current_minor >= 11:
            return PATCHED, f"toolsfix marker ({marker}) and $currentMinor = {current_minor}"
        return UNKNOWN, f"toolsfix marker ({marker}) present but the logic was changed since"
    if is_min and current_minor == 10:
        return PRESENT, "osDir = min(minor, 10): Solaris 11 guests get the Solaris 10 builds"
    if is_min and current_minor >= 11:
        return ABSENT, f"osDir = min(minor, {current_minor}): vendor-fixed selection"
    if is_max and current_minor == 10:
        return HAND_PATCHED, "comparison flipped: osDir = max(minor, 10)"
    return UNKNOWN, (
        f"comparison `{comparison.lhs} {comparison.op} {comparison.rhs}` with $currentMinor = "
        f"{current_minor} matches no known variant"
    )


def predict(
    guest: Guest,
    current_minor: int,
    comparison: Comparison,
    flavor_check: bool,
    rules: Sequence[ModuleRule],
) -> Optional[dict[str, Optional[DirPair]]]:
    """Directories each module is copied from on ``guest``; None when nothing is copied."""
    minor = guest.minor
    if minor < 10:
        return None
    os_dir = comparison.os_dir(minor, current_minor)
    if os_dir is None:
        return None
    flavor: str = "2009.06" if flavor_check and guest.uname_v == "snv_111b" else str(os_dir)
    out: dict[str, Optional[DirPair]] = {}
    for rule in rules:
        if rule.module not in CONFIGURED_MODULES:
            continue
        d: Optional[str]
        if rule.rule == RULE_FLAVOR:
            d = flavor
        elif rule.rule == RULE_OSDIR:
            d = str(os_dir)
        elif rule.rule == RULE_FORCE11_UNLESS_SNV:
            d = "11" if minor == 11 and not guest.uname_v.startswith("snv") else str(os_dir)
        elif rule.rule == RULE_MINOR11:
            d = str(minor) if minor == 11 else str(os_dir)
        else:
            d = None
        out[rule.module] = (d, f"{d}_64") if d is not None else None
    return out


def analyse_text(
    text: str,
    *,
    path: str,
    data: Optional[bytes] = None,
    lines: Optional[Sequence[Line]] = None,
) -> Analysis:
    """Analyse a configurator's text. Never raises on odd input: oddities become ``unknown``.

    ``lines`` is ``lex(text)`` when the caller has lexed the file already (the configurator
    service lexes once and shares the lines with the sandboxed proof).
    """
    raw = data if data is not None else text.encode("utf-8", "surrogateescape")
    if lines is None:
        lines = lex(text)
    version, build, _ = find_buildnr(text)
    header = Analysis(
        path=path,
        sha256=_sha256(raw),
        size=len(raw),
        line_ending=line_ending(text),
        damaged_comments=text.count(DAMAGED_COMMENT),
        version=version,
        build=build,
        product=find_product(lines),
        function=None,
        current_minor=None,
        current_minor_line=None,
        comparison=None,
        flavor_check=False,
        marker_patch=None,
        marker_line=None,
        selection_bug=UNKNOWN,
        reason=f"function {FUNCTION} not found",
    )
    span = find_sub(lines, FUNCTION)
    if span is None:
        return header
    body = lines[span.start - 1 : span.end]
    current_minor = current_line = None
    for line in body:
        m = _CURRENT_MINOR_RE.search(line.code)
        if m:
            current_minor, current_line = int(m.group(1)), line.number
            break
    marker = marker_line = None
    for line in lines[max(0, span.start - 4) : span.end]:
        mm = MARKER_RE.search(line.text)
        if mm:
            marker, marker_line = mm.group("patch"), line.number
            break
    comparison = _find_comparison(body)
    flavor_check = any("snv_111b" in _live_text(ln) and "eq" in ln.code for ln in body) and any(
        "2009.06" in ln.code for ln in body
    )
    rules: list[ModuleRule] = []
    for modules, block in _module_branches(body):
        for module in modules:
            if all(r.module != module for r in rules):
                rules.append(_rule_of_branch(module, block))
    state, reason = _classify(current_minor, comparison, marker)
    driver_dirs: dict[str, Optional[Mapping[str, Optional[DirPair]]]] = {}
    if current_minor is not None and comparison is not None and state != UNKNOWN:
        for guest in GUESTS:
            driver_dirs[guest.name] = predict(guest, current_minor, comparison, flavor_check, rules)
    return replace(
        header,
        function=span,
        current_minor=current_minor,
        current_minor_line=current_line,
        comparison=comparison,
        flavor_check=flavor_check,
        marker_patch=marker,
        marker_line=marker_line,
        selection_bug=state,
        reason=reason,
        rules=tuple(rules),
        driver_dirs=driver_dirs,
    )


def decode(data: bytes) -> str:
    """Configurators are ASCII in practice; keep any stray byte round-trippable."""
    return data.decode("utf-8", "surrogateescape")


def analyse_bytes(data: bytes, *, path: str) -> Analysis:
    return analyse_text(decode(data), path=path, data=data)
