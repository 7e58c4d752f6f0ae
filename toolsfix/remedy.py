"""Render findings into a reviewable POSIX sh remedy script.

toolsfix never changes a guest's network configuration itself: a wrong MTU or offload change
can cut the administrator off the machine. It writes the fix down instead, one commented
section per finding (what was found, the evidence, then the commands), for a human to review
and run. The commands come from the findings (``Finding.commands``, filled by the checks), so
the same script can be produced from a live run or from a saved ``verify --format json``
report.

Conventions of the generated script:

* ``#!/bin/sh`` and ``set -eu``; commands use only what the Solaris 10 Bourne shell also
  understands (the checks write them that way).
* A command that several findings share (e.g. ``EnableLSO=0`` for every instance) is emitted
  once; later sections say it already ran.
* Entries starting with ``#`` are notes; ``# MANUAL:`` marks steps toolsfix could not derive
  safely. A command holding control characters or line breaks is never emitted as code: it
  becomes a ``# MANUAL`` comment, so the script always parses.
* Host-side commands (ESXi advanced settings) must not run inside the guest: in a script that
  also fixes the guest they are emitted as comments to run on the host; a script with only
  host findings emits them as commands.
* Commands that patch or re-run VMware's Solaris configurator are only ever emitted for a
  guest that runs it: a SunOS guest whose Tools came from the tar installer
  (:class:`GuestScope`, read from the report's facts). For a Linux guest, or one whose drivers
  the OS or a package delivered, they become ``# NOT EMITTED`` comments saying why, whatever
  the findings (a report from an older toolsfix, or edited by hand) ask for.
"""

from __future__ import annotations

import codecs
import json
import os
import re
import textwrap
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Optional

from toolsfix import __version__
from toolsfix.errors import InputError
from toolsfix.findings import Evidence, Finding, Report, Severity
from toolsfix.knowledge import SUNOS_FAMILIES, OsFamily, Provenance
from toolsfix.safeio import MAX_REPORT_BYTES, read_bounded

__all__ = [
    "HOST_CATEGORIES",
    "GuestScope",
    "decode_report",
    "read_report",
    "remedy_for_report",
    "remedy_from_report_json",
    "render_remedy_script",
]

#: Finding categories whose commands run on the ESXi host, not in the guest.
HOST_CATEGORIES: frozenset[str] = frozenset({"esxi-lro", "esxi-teaming"})
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
_WIDTH = 96
_RULE = "# " + "-" * 76


def _clean(text: object) -> str:
    """One line of comment-safe text: control characters (newlines included) become spaces."""
    return _CONTROL.sub(" ", str(text)).replace("\t", " ").strip()


def _comment(text: object, prefix: str = "# ", indent: str = "") -> list[str]:
    cleaned = _clean(text)
    if not cleaned:
        return [prefix.rstrip()]
    width = max(_WIDTH - len(prefix) - len(indent), 40)
    wrapped = textwrap.wrap(cleaned, width, break_long_words=False, break_on_hyphens=False)
    return [f"{prefix}{indent}{line}" for line in wrapped]


def _evidence_line(ev: Evidence) -> str:
    return ev.describe()


#: Commands that patch or run VMware's Solaris configurator (``toolsfix patch``, ``perl
#: .../vmware-config-tools.pl``, the configurator itself).
_CONFIGURATOR_COMMAND = re.compile(r"^toolsfix\s+patch\b|vmware-config-tools\.pl")
_SUNOS_VALUES = frozenset(f.value for f in (*SUNOS_FAMILIES, OsFamily.UNKNOWN))


@dataclass(frozen=True)
class GuestScope:
    """Where the script runs, as far as the report says: the guest's OS family (an
    :class:`~toolsfix.knowledge.OsFamily` value) and whether its Tools came from the tar
    installer. None means "not stated" and refuses nothing."""

    family: Optional[str] = None
    tar_install: Optional[bool] = None

    @classmethod
    def from_facts(cls, facts: Mapping[str, Any]) -> GuestScope:
        """From a verify report's facts (``os``, ``tools``, ``drivers``, ``configurator``);
        tolerant of reports written before those fields existed."""
        os_ = facts.get("os")
        family = None
        if isinstance(os_, Mapping):
            family = os_.get("family") or (
                os_.get("kind") if os_.get("kind") in (OsFamily.LINUX, OsFamily.ESXI) else None
            )
        tools = facts.get("tools")
        tar: Optional[bool] = None
        if isinstance(tools, Mapping) and tools.get("available"):
            tar = tools.get("value") == Provenance.TAR_INSTALLER.value
        elif facts.get("configurator") is None and isinstance(facts.get("drivers"), list):
            present = [d for d in facts["drivers"] if isinstance(d, Mapping) and d.get("present")]
            others = (Provenance.OS.value, Provenance.PACKAGE.value)
            if present and all(d.get("provenance") in others for d in present):
                tar = False
        return cls(str(family) if family is not None else None, tar)

    def refuses_configurator(self) -> Optional[str]:
        """Why configurator commands must not be emitted for this guest, or None."""
        if self.family is not None and self.family not in _SUNOS_VALUES:
            label = OsFamily(self.family).label if self.family in _FAMILY_VALUES else self.family
            return f"{label} guest: VMware's Solaris configurator never runs there"
        if self.tar_install is False:
            return (
                "no VMware Tools tar install on this guest (its drivers come from the OS or a "
                "package): there is no configurator to patch or re-run"
            )
        return None


_FAMILY_VALUES = frozenset(f.value for f in OsFamily)


def _section(
    number: int,
    f: Finding,
    seen: dict[str, int],
    host_only: bool,
    refused: Optional[str] = None,
) -> list[str]:
    out = [_RULE]
    out += _comment(f"[{number}] {f.id} ({f.severity}) {f.title}")
    if f.subject:
        out += _comment(f"subject: {f.subject}", indent="    ")
    if f.confidence:
        out += _comment(f"confidence: {f.confidence}", indent="    ")
    out += _comment(f"found: {f.message}", indent="    ")
    if f.evidence:
        out.append("#     evidence:")
        for ev in f.evidence:
            out += _comment(_evidence_line(ev), indent="      ")
    if f.remedy:
        out += _comment(f"remedy: {f.remedy}", indent="    ")
    on_host = f.category in HOST_CATEGORIES and not host_only
    if on_host:
        out.append("# ON THE ESXI HOST (not in this guest), run:")
    commands = list(f.commands)
    if not commands:
        out += _comment(f"MANUAL: no command could be derived; follow the remedy above ({f.id})")
        return out
    for cmd in commands:
        if not isinstance(cmd, str):
            continue
        stripped = cmd.strip()
        if not stripped:
            continue
        # Notes and MANUAL steps stay on one line (not wrapped) so they can be copied whole.
        if stripped.startswith("#"):
            out.append("# " + _clean(stripped.lstrip("#")))
            continue
        if _CONTROL.search(stripped):
            out.append(
                "# MANUAL (not emitted: contains a line break or control character): "
                + _clean(stripped)
            )
            continue
        if on_host:
            out.append(f"#   {stripped}")
            continue
        if refused is not None and _CONFIGURATOR_COMMAND.search(stripped):
            out.append(f"# NOT EMITTED ({_clean(refused)}): {_clean(stripped)}")
            continue
        if stripped in seen:
            out += _comment(f"already done in [{seen[stripped]}]: {stripped}")
            continue
        seen[stripped] = number
        out.append(stripped)
    return out


def render_remedy_script(
    findings: Sequence[Finding], *, target: str, scope: GuestScope = GuestScope()
) -> str:
    """A reviewable ``#!/bin/sh`` script fixing ``findings`` (in the order given), for the
    guest ``scope`` describes (configurator commands are refused where it never runs)."""
    findings = list(findings)
    refused = scope.refuses_configurator()
    host_only = bool(findings) and all(f.category in HOST_CATEGORIES for f in findings)
    where = "the ESXi host" if host_only else "the guest itself"
    lines = ["#!/bin/sh"]
    lines += _comment(
        f"Remedy script for {target}, generated by toolsfix {__version__} from "
        f"{len(findings)} finding(s)."
    )
    lines += [
        "#",
        "# toolsfix never runs this script. Review every command before running it: run it as",
        f"# root on {where}, where the commands act on the running system (not on an image",
        "# root). Lines starting with '# MANUAL:' are steps toolsfix could not derive safely;",
        "# do them by hand. Commands noted as needing a driver reload or a reboot only take",
        "# full effect after that.",
        "",
        "set -eu",
        "",
    ]
    if not findings:
        lines += ["# Nothing to do: the report has no findings.", "exit 0"]
        return "\n".join(lines) + "\n"
    seen: dict[str, int] = {}
    for number, f in enumerate(findings, start=1):
        lines += _section(number, f, seen, host_only, refused)
        lines.append("")
    lines += [_RULE, "echo 'toolsfix remedy: done; reboot or reload drivers where noted'"]
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- from JSON


def _str_field(raw: dict[str, Any], key: str, index: int, default: Optional[str] = None) -> str:
    value = raw.get(key, default)
    if not isinstance(value, str):
        if default is not None and value is None:
            return default
        raise InputError(f"report finding #{index}: '{key}' missing or not a string")
    return value


def _evidence_from(items: object, index: int) -> tuple[Evidence, ...]:
    if items is None:
        return ()
    if not isinstance(items, list):
        raise InputError(f"report finding #{index}: 'evidence' is not a list")
    out: list[Evidence] = []
    for item in items:
        if not isinstance(item, dict):
            raise InputError(f"report finding #{index}: an evidence entry is not an object")
        line = item.get("line")
        out.append(
            Evidence(
                path=str(item["path"]) if item.get("path") is not None else None,
                line=line if isinstance(line, int) and not isinstance(line, bool) else None,
                command=str(item["command"]) if item.get("command") is not None else None,
                excerpt=str(item["excerpt"]) if item.get("excerpt") is not None else None,
                detail=str(item["detail"]) if item.get("detail") is not None else None,
            )
        )
    return tuple(out)


def _finding_from(raw: object, index: int) -> Finding:
    if not isinstance(raw, dict):
        raise InputError(f"report finding #{index} is not an object")
    try:
        severity = Severity.parse(_str_field(raw, "severity", index))
    except ValueError as exc:
        raise InputError(f"report finding #{index}: {exc}") from None
    commands = raw.get("commands", [])
    if not isinstance(commands, list) or not all(isinstance(c, str) for c in commands):
        raise InputError(f"report finding #{index}: 'commands' is not a list of strings")
    subject = raw.get("subject")
    confidence = raw.get("confidence")
    return Finding(
        id=_str_field(raw, "id", index),
        category=_str_field(raw, "category", index, ""),
        severity=severity,
        title=_str_field(raw, "title", index, ""),
        message=_str_field(raw, "message", index, ""),
        remedy=_str_field(raw, "remedy", index, ""),
        evidence=_evidence_from(raw.get("evidence"), index),
        subject=str(subject) if subject is not None else None,
        confidence=str(confidence) if confidence is not None else None,
        commands=tuple(commands),
    )


_BOMS = (
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF32_LE, "utf-32"),  # before UTF-16 LE: its BOM starts the same way
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


def decode_report(data: bytes, label: str = "report") -> str:
    """The text of a saved report: UTF-8, or any Unicode encoding that starts with its BOM.

    PowerShell's ``>`` writes UTF-16 with a BOM, so a report redirected there is accepted as
    it is; anything else that is not UTF-8 (a binary file, UTF-16 without a BOM, a report
    gzipped by hand) is refused with one line saying what was found instead.
    """
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            try:
                return data.decode(encoding)
            except UnicodeDecodeError as exc:
                raise InputError(
                    f"{label}: starts with a {encoding.upper()} byte order mark but is not "
                    f"valid {encoding.upper()} (at byte {exc.start})"
                ) from None
    if b"\0" in data[:4096]:
        raise InputError(
            f"{label}: binary data (NUL bytes), not a JSON report; give the file that "
            "`toolsfix verify --format json` wrote"
        )
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(
            f"{label}: not UTF-8 text (byte 0x{data[exc.start]:02x} at offset {exc.start}); "
            "give the file `toolsfix verify --format json` wrote"
        ) from None


def read_report(path: str | os.PathLike[str]) -> str:
    """The text of a saved report file: a regular file (never blocking on a FIFO), at most
    :data:`~toolsfix.safeio.MAX_REPORT_BYTES`, decoded by :func:`decode_report`."""
    label = os.fspath(path)
    data = read_bounded(path, limit=MAX_REPORT_BYTES, what="JSON report", label=label)
    return decode_report(data, label)


def findings_from_report_json(text: str) -> tuple[str, list[Finding]]:
    """(target, findings) of a saved ``--format json`` report; InputError when it is not one.

    Hostile JSON is one line too: nesting deep enough to exhaust the parser's stack is caught
    (``RecursionError``), as are numbers too long to convert (``ValueError``).
    """
    target, findings, _scope = _read_report(text)
    return target, findings


def _read_report(text: str) -> tuple[str, list[Finding], GuestScope]:
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise InputError(f"report is not valid JSON: {exc}") from None
    except RecursionError:
        raise InputError("report is not a toolsfix report: JSON nested too deeply") from None
    if not isinstance(data, dict) or not isinstance(data.get("findings"), list):
        raise InputError("not a toolsfix JSON report: no 'findings' list")
    target = data.get("target")
    try:
        findings = [_finding_from(raw, i) for i, raw in enumerate(data["findings"], start=1)]
        shown = str(target) if target is not None else "unknown target"
        scope = GuestScope.from_facts(data)
    except RecursionError:  # str() of a deeply nested value the parser still accepted
        raise InputError("report is not a toolsfix report: a field nests too deeply") from None
    return shown, findings, scope


def remedy_from_report_json(text: str) -> str:
    """The remedy script for a saved ``verify --format json`` report."""
    target, findings, scope = _read_report(text)
    return render_remedy_script(findings, target=target, scope=scope)


def remedy_for_report(report: Report) -> str:
    """The remedy script for a report just produced (``remedy --root/--bundle/--live``)."""
    scope = GuestScope.from_facts(report.facts)
    return render_remedy_script(report.findings, target=report.target, scope=scope)
