"""ESXi host LRO settings for guests that route.

LRO merges received TCP segments into large frames before the guest sees them. A guest that
forwards those frames sends them to a next hop whose MTU they exceed; with DF set the guest
answers "need to frag" and, in the reported case, saturated its uplink. The host-side switches
are ESXi advanced settings (all default 1). The settings come from a file the user captured on
the host (``esxcli system settings advanced list`` or ``esxcfg-advcfg -g`` lines); whether the
guest routes comes from the guest facts.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Optional, Union

from toolsfix.catalog import finding
from toolsfix.errors import InputError
from toolsfix.findings import Evidence, Finding, Skipped
from toolsfix.guest import parsers as p
from toolsfix.guest.facts import Fact, GuestFacts

__all__ = ["LRO_SETTINGS", "EsxSettingsFile", "check_esxi", "parse_esxi_settings_file"]

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
_MAX_FILE = 16 << 20


@dataclass(frozen=True)
class EsxSettingsFile(p.EsxAdvanced):
    """Parsed settings that remember the file they came from (for evidence)."""

    source: Optional[str] = None
    format: str = "esxcli"  # "esxcli", "esxcfg-advcfg" or "mixed"


def parse_esxi_settings_file(path: Union[str, Path]) -> EsxSettingsFile:
    """Read a file of ``esxcli system settings advanced list`` blocks and/or
    ``esxcfg-advcfg -g`` lines (``Value of X is N``). Raises InputError when the file cannot be
    read or holds neither format."""
    path = Path(path)
    try:
        if path.stat().st_size > _MAX_FILE:
            raise InputError(f"{path}: too large for an ESXi settings listing")
        text = path.read_bytes().decode("utf-8", errors="replace")
    except OSError as exc:
        raise InputError(f"{path}: cannot read ESXi settings: {exc.strerror or exc}") from None
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
        raise InputError(f"{path}: no ESXi advanced settings found (expected `{ESXCLI_COMMAND}`"
                         " output or `esxcfg-advcfg -g` lines)")
    fmt = ("mixed" if block.settings and lines.settings
           else "esxcli" if block.settings else "esxcfg-advcfg")
    return EsxSettingsFile(settings=MappingProxyType(merged), source=str(path), format=fmt)


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
        return [], [Skipped(CHECK, "the guest does not forward IPv4: host LRO is harmless",
                            "not-applicable")]
    listed = [(name, settings.get(name)) for name in LRO_SETTINGS]
    present = [(name, s) for name, s in listed if s is not None and s.int_value is not None]
    if not present:
        return [], [Skipped(CHECK, "the ESXi settings list none of "
                            + ", ".join(LRO_SETTINGS) + " with an integer value")]
    base = template or Evidence(command=ESXCLI_COMMAND)
    findings: list[Finding] = []
    for name, setting in present:
        if setting.int_value != 1:
            continue
        dotted = "Net." + name.rsplit("/", 1)[-1]
        excerpt = f"Path: {setting.path}  Int Value: {setting.int_value}"
        if setting.default_int_value is not None:
            excerpt += f"  Default Int Value: {setting.default_int_value}"
        ev = Evidence(path=base.path, line=setting.line if base.path else None,
                      command=base.command, excerpt=excerpt)
        if guest_routes:
            msg = f"{dotted} is 1 on the ESXi host and the guest forwards IPv4"
            confidence = None
        else:
            msg = (f"{dotted} is 1 on the ESXi host; whether the guest forwards IPv4 is not "
                   "known, so this matters only if it routes")
            confidence = "low"
        findings.append(finding(
            CHECK, msg, evidence=[ev], subject=dotted, confidence=confidence, option=name,
            commands=[
                f"esxcli system settings advanced set -o {name} -i 0",
                "# run the esxcli command on the ESXi host (not in the guest); "
                "reboot the host for it to take effect",
            ],
        ))
    return findings, []
