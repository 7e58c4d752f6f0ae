"""``toolsfix scan``: will this distrib install the right driver build on every Solaris release?

Assembles the pipeline source -> inventory -> configurator analysis -> (sandboxed execution)
-> checks -> report. Read-only by construction: nothing here opens a file for writing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

from toolsfix import installer
from toolsfix.catalog import finding
from toolsfix.checks import configurator as checks
from toolsfix.distrib import CONFIGURATOR, Inventory, inventory, open_source
from toolsfix.errors import InputError
from toolsfix.findings import Evidence, Finding, Report, Skipped
from toolsfix.installer import Analysis
from toolsfix.perl import Execution, execute
from toolsfix.perltext import find_sub, lex


@dataclass(frozen=True)
class ScanOptions:
    execute: bool = True
    perl_timeout: float = 20.0


@dataclass(frozen=True)
class ConfiguratorResult:
    """Static analysis plus the execution proof, with the selection the report states."""

    analysis: Analysis
    execution: Optional[Execution]
    modules: tuple[str, ...]

    def driver_dirs(self) -> tuple[dict[str, Any], Optional[str]]:
        """Predicted dirs as JSON, and where they come from (``model`` or ``execution``)."""
        a = self.analysis
        if a.driver_dirs:
            return a.to_dict()["driver_dirs"], "model"  # type: ignore[return-value]
        if self.execution is not None and self.execution.ran:
            raw = self.execution.driver_dirs(self.modules)
            return {
                g: None if m is None else {k: list(v) if v else None for k, v in m.items()}
                for g, m in raw.items()
            }, "execution"
        return {}, None

    def to_dict(self) -> dict[str, Any]:
        out = self.analysis.to_dict()
        dirs, origin = self.driver_dirs()
        out["driver_dirs"] = dirs
        out["driver_dirs_source"] = origin
        ex = self.execution
        if ex is None:
            out["execution"] = {"ran": False, "reason": "disabled"}
        else:
            agree = None
            if ex.ran and self.analysis.driver_dirs:
                model = {
                    g: None if m is None else {k: v for k, v in m.items() if k in self.modules}
                    for g, m in self.analysis.driver_dirs.items()
                }
                agree = model == ex.driver_dirs(self.modules)
            out["execution"] = {
                "ran": ex.ran,
                "reason": ex.reason or None,
                "agrees_with_model": agree,
                "stubbed_helpers": [n for n, _ in ex.stubbed],
                "repaired_comments": ex.repaired_comments,
            }
        return out


def modules_of(a: Analysis) -> tuple[str, ...]:
    """Modules the configurator configures on Solaris (vmci is dead code there)."""
    found = tuple(r.module for r in a.rules if r.module in installer.CONFIGURED_MODULES)
    return found or installer.CONFIGURED_MODULES


def package_manager_line(data: bytes) -> Optional[tuple[int, str]]:
    """Where a script shows it is vmware-install.pl (or its 10.x sh wrapper), not the
    configurator: (line, text), or None."""
    text = installer.decode(data)
    if find_sub(lex(text), installer.FUNCTION) is not None:
        return None
    for number, line in enumerate(text.splitlines()[:200], 1):
        if "Tar package manager" in line or "vmware-install.real.pl" in line:
            return number, line.strip()
    return None


def analyse_configurator(data: bytes, path: str, options: ScanOptions) -> ConfiguratorResult:
    analysis = installer.analyse_bytes(data, path=path)
    modules = modules_of(analysis)
    execution = (
        execute(installer.decode(data), modules=modules, timeout=options.perl_timeout)
        if options.execute
        else None
    )
    return ConfiguratorResult(analysis, execution, modules)


def configurator_findings(
    result: ConfiguratorResult,
    source_text: str,
    target: str,
    inv: Optional[Inventory],
    commands: Sequence[str] = (),
) -> tuple[list[Finding], list[Skipped]]:
    a = result.analysis
    found = checks.selection_findings(a, source_text, target, commands)
    ex_findings, skipped = checks.execution_findings(a, result.execution, result.modules)
    found.extend(ex_findings)
    if inv is not None:
        dirs = a.driver_dirs
        if not dirs and result.execution is not None and result.execution.ran:
            dirs = result.execution.driver_dirs(result.modules)
        found.extend(checks.crosscheck_findings(a, inv, dirs, target))
        found.extend(checks.consistency_findings(a, inv))
    return found, skipped


def scan(path: Path, options: ScanOptions = ScanOptions()) -> Report:
    source = open_source(path)
    inv = inventory(source)
    target = str(path)
    findings: list[Finding] = []
    skipped: list[Skipped] = []
    facts: dict[str, Any] = {"distrib": inv.to_dict() if source.kind != "script" else None}
    data = inv.configurator
    if data is None and not inv.drivers and not inv.scripts:
        raise InputError(
            f"{target}: not a VMware Tools distrib (no {CONFIGURATOR}, no installer, no "
            f"lib/modules/binary builds among {inv.members} members)"
        )
    if data is None:
        findings.append(
            finding(
                "TF103",
                f"{target}: no {CONFIGURATOR} in this distrib ({inv.members} members read)",
                evidence=[Evidence(path=target, detail=f"{inv.members} members")],
                subject=target,
            )
        )
        facts["configurator"] = None
        return Report("scan", target, tuple(findings), tuple(skipped), facts)
    label = CONFIGURATOR if source.kind != "script" else str(path)
    installer_line = package_manager_line(data) if source.kind == "script" else None
    if installer_line is not None:
        # vmware-install.pl only *mentions* the function: patching it fixes nothing.
        findings.append(
            finding(
                "TF103",
                f"{target} is the tar package manager (vmware-install.pl), not the "
                f"configurator: the driver selection lives in {CONFIGURATOR}",
                evidence=[Evidence(path=target, line=installer_line[0], excerpt=installer_line[1])],
                subject=target,
            )
        )
        facts["configurator"] = None
        return Report("scan", target, tuple(findings), tuple(skipped), facts)
    result = analyse_configurator(data, label, options)
    facts["configurator"] = result.to_dict()
    text = installer.decode(data)
    found, skip = configurator_findings(
        result, text, target, inv if source.kind != "script" else None
    )
    product = result.analysis.product
    if product == "tools-for-linux":
        # The Solaris function ships in every configurator but only runs on Solaris.
        skipped.append(
            Skipped("TF100", "Linux distrib: configure_module_solaris never runs", "not-applicable")
        )
        found = [
            f for f in found if f.category not in ("configurator-buggy", "driver-build-mismatch")
        ]
    findings.extend(found)
    skipped.extend(skip)
    return Report("scan", target, tuple(findings), tuple(skipped), facts)
