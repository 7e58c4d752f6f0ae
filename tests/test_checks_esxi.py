"""ESXi host LRO settings for routing guests, from esxcli / esxcfg-advcfg output files."""

from __future__ import annotations

from pathlib import Path

import pytest

from toolsfix.checks.esxi import LRO_SETTINGS, check_esxi, parse_esxi_settings_file
from toolsfix.errors import InputError
from toolsfix.guest import parsers as p
from toolsfix.guest.facts import facts_from_capture
from toolsfix.guest.testing import StaticCapture


def block(path: str, value: int, default: int = 1) -> str:
    return (
        f"   Path: {path}\n"
        "   Type: integer\n"
        f"   Int Value: {value}\n"
        f"   Default Int Value: {default}\n"
        "   Min Value: 0\n"
        "   Max Value: 1\n"
        "   String Value:\n"
        "   Default String Value:\n"
        "   Valid Characters:\n"
        "   Description: LRO setting\n"
        "\n"
    )


HOST_LRO_ON = (
    block("/Net/TcpipDefLROEnabled", 0)
    + block("/Net/Vmxnet3HwLRO", 1)
    + block("/Net/Vmxnet3SwLRO", 1)
    + block("/Net/UseHwTSO", 1)
)
HOST_LRO_OFF = "".join(block(name, 0) for name in LRO_SETTINGS)


def write(tmp_path: Path, text: str, name: str = "host.txt") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_esxi_host_with_lro_on_for_a_router(tmp_path: Path) -> None:
    settings = parse_esxi_settings_file(write(tmp_path, HOST_LRO_ON))
    findings, skipped = check_esxi(settings, guest_routes=True)
    assert skipped == []
    assert [f.subject for f in findings] == ["Net.Vmxnet3HwLRO", "Net.Vmxnet3SwLRO"]
    hw = findings[0]
    assert hw.id == "TF410" and hw.category == "esxi-lro" and hw.confidence is None
    assert hw.commands[0] == "esxcli system settings advanced set -o /Net/Vmxnet3HwLRO -i 0"
    assert "-o /Net/Vmxnet3HwLRO -i 0" in hw.remedy and "reboot the host" in hw.remedy
    (ev,) = hw.evidence
    assert ev.path == str(tmp_path / "host.txt") and ev.line == 12
    assert ev.excerpt is not None and "Int Value: 1" in ev.excerpt
    # Net.UseHwTSO is not an LRO setting; TcpipDefLROEnabled is 0
    assert all("TSO" not in f.message and "TcpipDef" not in f.message for f in findings)


def test_routing_unknown_reports_with_a_note(tmp_path: Path) -> None:
    settings = parse_esxi_settings_file(write(tmp_path, HOST_LRO_ON))
    findings, _ = check_esxi(settings, guest_routes=None)
    assert len(findings) == 2
    assert all(f.confidence == "low" and "not known" in f.message for f in findings)


def test_guest_that_does_not_route_is_not_applicable(tmp_path: Path) -> None:
    settings = parse_esxi_settings_file(write(tmp_path, HOST_LRO_ON))
    findings, skipped = check_esxi(settings, guest_routes=False)
    assert findings == []
    assert [(s.check, s.outcome) for s in skipped] == [("TF410", "not-applicable")]


def test_host_with_lro_off_no_findings(tmp_path: Path) -> None:
    findings, skipped = check_esxi(
        parse_esxi_settings_file(write(tmp_path, HOST_LRO_OFF)), guest_routes=True
    )
    assert findings == [] and skipped == []


def test_esxcfg_advcfg_lines(tmp_path: Path) -> None:
    text = "Value of Vmxnet3SwLRO is 1\nValue of Vmxnet2HwLRO is 0\nValue of VmxnetSwLROSL is 1\n"
    settings = parse_esxi_settings_file(write(tmp_path, text))
    assert settings.format == "esxcfg-advcfg"
    findings, _ = check_esxi(settings, guest_routes=True)
    assert [f.commands[0] for f in findings] == [
        "esxcli system settings advanced set -o /Net/Vmxnet3SwLRO -i 0",
        "esxcli system settings advanced set -o /Net/VmxnetSwLROSL -i 0",
    ]
    assert findings[1].evidence[0].line == 3


def test_mixed_formats_prefer_esxcli_blocks(tmp_path: Path) -> None:
    text = "Value of Vmxnet3HwLRO is 1\n" + block("/Net/Vmxnet3HwLRO", 0)
    settings = parse_esxi_settings_file(write(tmp_path, text))
    assert settings.format == "mixed"
    findings, skipped = check_esxi(settings, guest_routes=True)
    assert findings == [] and skipped == []


def test_bad_files_raise_one_line_input_errors(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no ESXi advanced settings found"):
        parse_esxi_settings_file(write(tmp_path, "hello\nworld\n"))
    with pytest.raises(InputError, match="cannot read ESXi settings"):
        parse_esxi_settings_file(tmp_path / "missing.txt")
    with pytest.raises(InputError, match="cannot read ESXi settings"):
        parse_esxi_settings_file(tmp_path)  # a directory


def test_settings_without_lro_entries_are_skipped(tmp_path: Path) -> None:
    settings = parse_esxi_settings_file(write(tmp_path, block("/Net/UseHwTSO", 1)))
    findings, skipped = check_esxi(settings, guest_routes=True)
    assert findings == []
    assert skipped[0].outcome == "not-evaluated" and "none of" in skipped[0].reason


def test_plain_parsed_settings_use_command_evidence() -> None:
    settings = p.parse_esxcli_advanced(HOST_LRO_ON)
    findings, _ = check_esxi(settings, guest_routes=True)
    assert findings[0].evidence[0].command == "esxcli system settings advanced list"
    assert findings[0].evidence[0].path is None


def test_from_guest_facts() -> None:
    facts = facts_from_capture(
        StaticCapture.from_outputs({"uname_s": "VMkernel\n", "esxcli_advanced": HOST_LRO_ON})
    )
    findings, _ = check_esxi(facts, guest_routes=True)
    assert len(findings) == 2
    linux = facts_from_capture(StaticCapture.from_outputs({"uname_s": "Linux\n"}))
    findings, skipped = check_esxi(linux, guest_routes=True)
    assert findings == [] and skipped[0].outcome == "not-evaluated"
    assert "does not apply" in skipped[0].reason
