"""ESXi host LRO settings for guests that route.

LRO merges received TCP segments into large frames before the guest sees them. A guest that
forwards those frames sends them to a next hop whose MTU they exceed; with DF set the guest
answers "need to frag" and, in the reported case, saturated its uplink. The host-side switches
are ESXi advanced settings (all default 1). The settings come from a file the user captured on
the host (``esxcli system settings advanced list`` or ``esxcfg-advcfg -g`` lines); whether the
guest routes comes from the guest facts.

This module also owns the ``--esxi-settings`` files as a whole. Users paste whatever they
captured on the host, so a file is classified by content, not by option: advanced settings,
vSwitch/portgroup failover policies (the NIC teaming checks in ``teaming.py``), or both.
:func:`check_host` runs every host-side check over all of them, with or without a guest.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Optional, Union

from toolsfix.catalog import finding
from toolsfix.checks.teaming import check_teaming
from toolsfix.errors import InputError
from toolsfix.findings import Evidence, Finding, Skipped
from toolsfix.guest import parsers as p
from toolsfix.guest.esxi_teaming import FailoverListing, parse_failover_listing
from toolsfix.guest.facts import Fact, GuestFacts
from toolsfix.guest.switchconf import load_switch_config
from toolsfix.guest.textinput import read_text

__all__ = [
    "LRO_SETTINGS",
    "EsxSettingsFile",
    "EsxiHostFile",
    "HostResult",
    "check_esxi",
    "check_host",
    "load_esxi_file",
    "parse_esxi_settings_file",
]

CHECK = "TF410"
LRO_SETTINGS: tuple[str, ...] = (
    "/Net/Vmxnet3HwLRO",
    "/Net/Vmxnet3SwLRO",
    "/Net/VmxnetSwLROSL",
    "/Net/Vmxnet2SwLRO",
    "/Net/Vmxnet2HwLRO",
    "/Net/TcpipDefLROEnabled",
)
ESXCLI_COMMAND = "esxcli system settings advanced list"


@dataclass(frozen=True)
class EsxSettingsFile(p.EsxAdvanced):
    """Parsed settings that remember the file they came from (for evidence)."""

    source: Optional[str] = None
    format: str = "esxcli"  # "esxcli", "esxcfg-advcfg" or "mixed"


def _settings_from_text(text: str, source: str) -> Optional[EsxSettingsFile]:
    """``esxcli system settings advanced list`` blocks and/or ``esxcfg-advcfg -g`` lines in
    ``text``, or None when there are none."""
    block = p.parse_esxcli_advanced(text)
    lines = p.parse_esxcfg_advcfg(text)
    # A "Value of X is N" line has no "Path:" key, so the block parser ignores it and vice
    # versa; merge both (esxcli blocks win: they carry the full path).
    merged = dict(lines.settings)
    for setting_path, setting in block.settings.items():
        leaf = setting_path.rsplit("/", 1)[-1]
        merged.pop("/" + leaf, None)
        merged[setting_path] = setting
    if not merged:
        return None
    if block.settings and lines.settings:
        fmt = "mixed"
    else:
        fmt = "esxcli" if block.settings else "esxcfg-advcfg"
    return EsxSettingsFile(settings=MappingProxyType(merged), source=source, format=fmt)


def parse_esxi_settings_file(path: Union[str, Path]) -> EsxSettingsFile:
    """Read a file of ``esxcli system settings advanced list`` blocks and/or
    ``esxcfg-advcfg -g`` lines (``Value of X is N``). Raises InputError when the file cannot be
    read or holds neither format."""
    settings = _settings_from_text(read_text(path, "ESXi settings"), str(path))
    if settings is None:
        raise InputError(
            f"{path}: no ESXi advanced settings found (expected `{ESXCLI_COMMAND}`"
            " output or `esxcfg-advcfg -g` lines)"
        )
    return settings


@dataclass(frozen=True)
class EsxiHostFile:
    """One ``--esxi-settings`` file: advanced settings, teaming policy, or both (a pasted
    session often holds several commands' output)."""

    path: str
    settings: Optional[EsxSettingsFile]
    teaming: FailoverListing

    def contents(self) -> list[str]:
        out = ["advanced-settings"] if self.settings is not None else []
        if self.teaming.policies:
            out.append("failover-policy")
        if self.teaming.portgroups:
            out.append("portgroup-list")
        return out


def load_esxi_file(path: Union[str, Path]) -> EsxiHostFile:
    """Read one ``--esxi-settings`` file and detect what it holds by content.

    InputError (exit 3) when it is unreadable, binary, empty, or holds neither advanced settings
    nor a failover policy."""
    text = read_text(path, "ESXi host output")
    settings = _settings_from_text(text, str(path))
    teaming = parse_failover_listing(text, source=str(path))
    if settings is None and not teaming:
        raise InputError(
            f"{path}: no ESXi advanced settings or vSwitch failover policy found (expected "
            f"`{ESXCLI_COMMAND}`, `esxcfg-advcfg -g` or `esxcli network vswitch standard "
            "[portgroup] policy failover get` output)"
        )
    return EsxiHostFile(str(path), settings, teaming)


SettingsInput = Union[GuestFacts, p.EsxAdvanced, Fact[p.EsxAdvanced]]


def _settings_of(
    given: SettingsInput,
) -> tuple[Optional[p.EsxAdvanced], Optional[Evidence], str]:
    """(settings, evidence template, reason when unavailable)."""
    if isinstance(given, GuestFacts):
        given = given.esxi_advanced
    if isinstance(given, Fact):
        if not given.known or given.value is None:
            return None, None, given.reason or "ESXi advanced settings not available"
        return given.value, given.source, ""
    source = getattr(given, "source", None)
    if source is not None:
        return given, Evidence(path=str(source)), ""
    return given, Evidence(command=ESXCLI_COMMAND), ""


def check_esxi(
    facts_or_settings: SettingsInput, *, guest_routes: Optional[bool]
) -> tuple[list[Finding], list[Skipped]]:
    """TF410 per LRO setting at 1 when the guest routes (or routing is unknown: then said so,
    with low confidence). ``guest_routes=False`` makes the check not applicable."""
    settings, template, reason = _settings_of(facts_or_settings)
    if settings is None:
        return [], [Skipped(CHECK, reason)]
    if guest_routes is False:
        return [], [
            Skipped(
                CHECK, "the guest does not forward IPv4: host LRO is harmless", "not-applicable"
            )
        ]
    listed = [(name, settings.get(name)) for name in LRO_SETTINGS]
    present = [(name, s) for name, s in listed if s is not None and s.int_value is not None]
    if not present:
        return [], [
            Skipped(
                CHECK,
                "the ESXi settings list none of "
                + ", ".join(LRO_SETTINGS)
                + " with an integer value",
            )
        ]
    base = template or Evidence(command=ESXCLI_COMMAND)
    findings: list[Finding] = []
    for name, setting in present:
        if setting.int_value != 1:
            continue
        dotted = "Net." + name.rsplit("/", 1)[-1]
        excerpt = f"Path: {setting.path}  Int Value: {setting.int_value}"
        if setting.default_int_value is not None:
            excerpt += f"  Default Int Value: {setting.default_int_value}"
        ev = Evidence(
            path=base.path,
            line=setting.line if base.path else None,
            command=base.command,
            excerpt=excerpt,
        )
        if guest_routes:
            msg = f"{dotted} is 1 on the ESXi host and the guest forwards IPv4"
            confidence = None
        else:
            msg = (
                f"{dotted} is 1 on the ESXi host; whether the guest forwards IPv4 is not "
                "known, so this matters only if it routes"
            )
            confidence = "low"
        findings.append(
            finding(
                CHECK,
                msg,
                evidence=[ev],
                subject=dotted,
                confidence=confidence,
                option=name,
                commands=[
                    f"esxcli system settings advanced set -o {name} -i 0",
                    "# run the esxcli command on the ESXi host (not in the guest); "
                    "reboot the host for it to take effect",
                ],
            )
        )
    return findings, []


@dataclass(frozen=True)
class HostResult:
    """Host-side outcome: findings, skipped checks and the facts the report shows."""

    findings: tuple[Finding, ...] = ()
    skipped: tuple[Skipped, ...] = ()
    facts: Mapping[str, object] = field(default_factory=dict)
    # Lines for the report summary: what was assumed where esxcli output and switch configs
    # leave a gap (which switch port each vmnic is cabled to).
    summary: tuple[str, ...] = ()


def check_host(
    esxi_files: Sequence[Union[str, Path]],
    switch_configs: Sequence[Union[str, Path]] = (),
    uplinks: Optional[Mapping[str, str]] = None,
    *,
    guest_routes: Optional[bool],
) -> HostResult:
    """Every host-side check over the ``--esxi-settings`` files: TF410 (LRO, per file that has
    advanced settings) and the teaming rules (TF420-TF424, over all failover policies of all
    files together, against the ``--switch-config`` files and ``--uplink`` mapping).

    Files are all read first, so a bad one fails the run (exit 3) before anything is reported.
    """
    files = [load_esxi_file(f) for f in esxi_files]
    switches = [load_switch_config(f) for f in switch_configs]
    findings: list[Finding] = []
    skipped: list[Skipped] = []
    with_settings = [f.settings for f in files if f.settings is not None]
    for settings in with_settings:
        found, skip = check_esxi(settings, guest_routes=guest_routes)
        findings.extend(found)
        skipped.extend(skip)
    if files and not with_settings:
        skipped.append(Skipped(CHECK, f"no `{ESXCLI_COMMAND}` output in --esxi-settings"))
    policies = [pol for f in files for pol in f.teaming.policies]
    rows = [row for f in files for row in f.teaming.portgroups]
    teaming = check_teaming(policies, switches, uplinks, rows)
    findings.extend(teaming.findings)
    skipped.extend(teaming.skipped)
    facts = {
        "files": [{"path": f.path, "contains": f.contents()} for f in files],
        "teaming": dict(teaming.facts),
    }
    return HostResult(tuple(findings), tuple(skipped), facts, teaming.assumptions)
