"""Human text: a one-screen verdict first, then the findings, most severe first.

The verdict answers what a reader asks before any finding: which product and build this is,
whether its driver selection is buggy, fixed or patched, and what each Solaris release would
get (scan) or has installed (verify). It is drawn from the same document the JSON renderer
writes (``Report.to_dict()``), so the two formats cannot tell different stories. Lines stay
under :data:`~toolsfix.report.lines.LINE_MAX` characters; long lists are cut and counted (the
JSON output keeps everything).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Optional

from toolsfix.findings import Finding, Report, sorted_findings
from toolsfix.knowledge import (
    CONFIGURED_MODULES,
    GUESTS_BY_NAME,
    TAR_INSTALLER_FAMILIES,
    Provenance,
    expected_family,
    family_of_dir,
)
from toolsfix.report.base import Renderer
from toolsfix.report.lines import cut, fit_all, joined, more, table

#: The network drivers: the modules the selection bug hurts, marked in the release table when a
#: release would get another release's build. (The others may legitimately come from a shared
#: directory, e.g. OpenSolaris 2009.06 takes vmhgfs from 11.)
NIC_MODULES = ("vmxnet3s", "vmxnet")
#: Evidence lines shown per finding; the rest are counted (JSON has them all).
MAX_EVIDENCE = 6
#: Note lines (waivers, baseline, assumptions) shown in the verdict.
MAX_NOTES = 12
#: Installed drivers listed in a verify verdict.
MAX_DRIVERS = 12

PRODUCTS = {
    "tools-for-solaris": "VMware Tools for Solaris",
    "tools-for-linux": "VMware Tools for Linux",
}

#: How the text names a driver's provenance (``drivers[].provenance``).
DELIVERED_BY = {
    Provenance.TAR_INSTALLER.value: "from the Tools tar installer",
    Provenance.PACKAGE.value: "from a package",
    Provenance.OS.value: "shipped with the OS",
    Provenance.UNKNOWN.value: "origin unknown",
}

SELECTION = {
    "present": "BUGGY",
    "absent": "correct (vendor-fixed)",
    "hand-patched": "fixed by hand",
    "patched": "patched by toolsfix",
    "unknown": "not recognised",
}


class TextRenderer(Renderer):
    def render(self, report: Report) -> str:
        doc = report.to_dict()
        lines = verdict_lines(report, doc)
        found = sorted_findings(report.findings)
        if found or report.skipped:
            lines.append("")
        for f in found:
            lines.extend(finding_lines(f))
        for s in report.skipped:
            lines.append(f"{s.check} [{s.outcome}] {s.reason}")
        lines.append(f"{report.command} {report.target}: {outcome_line(report)}")
        return "\n".join(fit_all(lines)) + "\n"


def outcome_line(report: Report) -> str:
    """``3 finding(s), worst high`` or ``no findings``."""
    n = len(report.findings)
    return f"{n} finding(s), worst {report.worst()}" if n else "no findings"


def finding_lines(f: Finding) -> list[str]:
    """One finding: its line, its evidence (at most :data:`MAX_EVIDENCE`), its remedy."""
    lines = [f"{f.id} [{f.severity}] {f.category}: {f.message}"]
    evidence = [f"    evidence: {ev.describe()}" for ev in f.evidence]
    lines.extend(cut(evidence, MAX_EVIDENCE, "evidence (all in --format json)"))
    lines.append(f"    remedy:   {f.remedy}")
    return lines


def verdict_lines(report: Report, doc: Mapping[str, Any]) -> list[str]:
    """The header block: what was examined and what it amounts to, before any finding."""
    lines = [f"{report.command}: {report.target}"]
    if report.command == "scan":
        lines.extend(_scan_verdict(doc))
    elif report.command == "verify":
        lines.extend(_verify_verdict(doc))
    notes = [f"  note:        {n}" for n in _strings(doc.get("summary"))]
    lines.extend(cut(notes, MAX_NOTES, "notes"))
    lines.extend(policy_lines(doc))
    counts = _counts(report.findings)
    lines.append(f"  verdict:     {outcome_line(report)}{counts}")
    return lines


def _counts(findings: Sequence[Finding]) -> str:
    by_id: dict[str, int] = {}
    for f in sorted_findings(findings):
        by_id[f.id] = by_id.get(f.id, 0) + 1
    if not by_id:
        return ""
    parts = [f"{i} x{n}" if n > 1 else i for i, n in by_id.items()]
    return f" ({joined(parts, 120)})"


# --- scan ------------------------------------------------------------------------------------


def _scan_verdict(doc: Mapping[str, Any]) -> list[str]:
    lines: list[str] = []
    distrib = doc.get("distrib")
    if isinstance(distrib, Mapping):
        dirs = _strings(distrib.get("binary_dirs"))
        what = [
            str(distrib.get("kind") or "distrib"),
            f"{distrib.get('members', '?')} members",
            f"layout {distrib.get('layout') or '?'}",
        ]
        if dirs:
            what.append(f"builds {joined(dirs, 100, ' ')}")
        missing = _strings(distrib.get("missing_dirs"))
        if missing:
            what.append(f"missing {joined(missing, 60, ' ')}")
        lines.append(f"  distrib:     {', '.join(what)}")
    cfg = doc.get("configurator")
    if not isinstance(cfg, Mapping):
        lines.append("  configurator: none found (see the findings)")
        return lines
    lines.extend(_configurator_lines(cfg, doc))
    if cfg.get("product") == "tools-for-linux" or cfg.get("applies_to_solaris") is False:
        return lines
    lines.extend(_release_table(cfg))
    return lines


def _configurator_lines(cfg: Mapping[str, Any], doc: Mapping[str, Any]) -> list[str]:
    product = PRODUCTS.get(str(cfg.get("product")), "VMware Tools")
    version = cfg.get("version") or "version unknown"
    build = f" build {cfg['build']}" if cfg.get("build") else ""
    lines = [f"  product:     {product} {version}{build} ({cfg.get('path') or '?'})"]
    if cfg.get("product") == "tools-for-linux" or cfg.get("applies_to_solaris") is False:
        reason = cfg.get("applicability_reason") or next(
            (
                s.get("reason")
                for s in _mappings(doc.get("skipped"))
                if s.get("outcome") == "not-applicable"
            ),
            "configure_module_solaris never runs on Linux",
        )
        lines.append(f"  selection:   not applicable ({reason})")
        return lines
    state = str(cfg.get("selection_bug"))
    minor = cfg.get("current_minor")
    cap = f"$currentMinor = {minor}; " if minor is not None else ""
    lines.append(f"  selection:   {SELECTION.get(state, state)}: {cap}{cfg.get('reason') or ''}")
    if cfg.get("damaged_comments"):
        lines.append(
            f"  damaged:     {cfg['damaged_comments']} comment marker(s) replaced by "
            "***REMOVED***: the file cannot run as it is"
        )
    execution = cfg.get("execution")
    if isinstance(execution, Mapping):
        lines.append(f"  proof:       {_proof(execution)}")
    return lines


def _proof(execution: Mapping[str, Any]) -> str:
    if not execution.get("ran"):
        return f"not run ({execution.get('reason') or 'disabled'})"
    agrees = execution.get("agrees_with_model")
    how = (
        "run sandboxed when it was learned (proof on record)"
        if execution.get("source") == "record"
        else "run sandboxed"
    )
    if agrees is True:
        return f"the file's own Perl, {how}, agrees with the model"
    if agrees is False:
        return f"the file's own Perl, {how}, DISAGREES with the model (see findings)"
    return f"the file's own Perl, {how} (no model to compare with)"


def _release_table(cfg: Mapping[str, Any]) -> list[str]:
    """What each simulated release gets, one row per release, one column per module."""
    dirs = cfg.get("driver_dirs")
    if not isinstance(dirs, Mapping) or not dirs:
        return ["  releases:    no prediction (the selection logic was not understood)"]
    modules = [
        m
        for m in CONFIGURED_MODULES
        if any(isinstance(v, Mapping) and m in v for v in dirs.values())
    ]
    source = cfg.get("driver_dirs_source") or "model"
    lines = [
        f"  what each release gets (from the {source}; 10 = the 10 and 10_64 builds, "
        "- = nothing copied, * = a NIC driver built for another release):"
    ]
    rows: list[list[str]] = [["release", "needs", *modules]]
    for name, got in dirs.items():
        needs = _needs(name)
        row = [name, needs or "-"]
        for m in modules:
            pair = got.get(m) if isinstance(got, Mapping) else None
            cell = _pair(pair)
            if m in NIC_MODULES and needs and cell != "-" and _family(pair) != needs:
                cell += " *"
            row.append(cell)
        rows.append(row)
    lines.extend(table(rows, indent="    "))
    return lines


def _needs(guest: str) -> Optional[str]:
    g = GUESTS_BY_NAME.get(guest)
    return expected_family(g.uname_r, g.uname_v) if g is not None else None


def _family(pair: Any) -> Optional[str]:
    if isinstance(pair, Sequence) and not isinstance(pair, str) and pair and pair[0]:
        return family_of_dir(str(pair[0]))
    return None


def _pair(pair: Any) -> str:
    """``["11", "11_64"]`` -> ``11``; an unusual pair in full; nothing copied -> ``-``."""
    if not isinstance(pair, Sequence) or isinstance(pair, str) or not pair:
        return "-"
    d32 = str(pair[0]) if pair[0] else "-"
    d64 = str(pair[1]) if len(pair) > 1 and pair[1] else "-"
    return d32 if d64 == f"{d32}_64" else f"{d32}/{d64}"


# --- verify ----------------------------------------------------------------------------------


def _verify_verdict(doc: Mapping[str, Any]) -> list[str]:
    lines: list[str] = []
    if doc.get("origin"):
        lines.append(f"  source:      {doc['origin']}")
    os_ = doc.get("os")
    if isinstance(os_, Mapping) and os_.get("kind"):
        lines.append(f"  guest:       {_guest(os_)}")
    cfg = doc.get("configurator")
    if isinstance(cfg, Mapping):
        lines.extend(_configurator_lines(cfg, doc))
    elif isinstance(doc.get("install_db"), Mapping):
        present = doc["install_db"].get("present")
        lines.append(
            "  tools:       "
            + (
                "install database found, no configurator"
                if present
                else "no VMware Tools tar install (no install database)"
            )
        )
    drivers = _mappings(doc.get("drivers"))
    if drivers:
        lines.append("  installed drivers (* = not the build this release needs):")
        rows = [["module", "path", "build", "needs", "identified"]]
        for d in drivers[:MAX_DRIVERS]:
            rows.append(_driver_row(d))
        lines.extend(table(rows, indent="    "))
        if len(drivers) > MAX_DRIVERS:
            lines.append(f"    {more(len(drivers) - MAX_DRIVERS, 'drivers')}")
    host = doc.get("esxi_host")
    if isinstance(host, Mapping):
        files = [
            f"{f.get('path')} ({', '.join(_strings(f.get('contains'))) or '?'})"
            for f in _mappings(host.get("files"))
        ]
        lines.append(f"  esxi host:   {joined(files, 160) or 'no files'}")
    return lines


def _guest(os_: Mapping[str, Any]) -> str:
    name = os_.get("release") or str(os_.get("kind"))
    kernel = " ".join(str(os_[k]) for k in ("uname_r", "uname_v") if os_.get(k))
    if kernel and os_.get("kind") == "solaris":
        kernel = f"SunOS {kernel}"
    bits = f", {os_['kernel_bits']}-bit" if os_.get("kernel_bits") else ""
    family = f", family {os_['family']}" if os_.get("family") else ""
    needs = ""
    tar_family = os_.get("family") in (None, *(f.value for f in TAR_INSTALLER_FAMILIES))
    if os_.get("kind") == "solaris" and tar_family and os_.get("expected_build_dir"):
        needs = f"; needs the {os_['expected_build_dir']} builds"
    return f"{name} ({kernel or 'kernel unknown'}{bits}{family}){needs}"


def _driver_row(d: Mapping[str, Any]) -> list[str]:
    if not d.get("present", True):
        return [
            str(d.get("module")),
            str(d.get("path")),
            "missing",
            str(d.get("expected_os_dir") or "-"),
            "-",
        ]
    build = str(d.get("os_dir") or "?")
    if d.get("matches_os") is False:
        build += " *"
    who = str(d.get("rung") or "unknown")
    if d.get("tools_version") or d.get("build"):
        who += f": Tools {d.get('tools_version') or '?'} build {d.get('build') or '?'}"
    if d.get("provenance"):
        who += f", {DELIVERED_BY.get(str(d['provenance']), str(d['provenance']))}"
    return [
        str(d.get("module")),
        str(d.get("path")),
        build,
        str(d.get("expected_os_dir") or "-"),
        who,
    ]


# --- waivers and baseline (--waivers, --baseline) ---------------------------------------------


def policy_lines(doc: Mapping[str, Any]) -> list[str]:
    """What ``--waivers`` set aside and what ``--baseline`` compared, from their JSON blocks."""
    lines: list[str] = []
    waived = []
    for w in _mappings(doc.get("waived")):
        f, waiver = w.get("finding") or {}, w.get("waiver") or {}
        until = waiver.get("expires") or "no expiry"
        what = f"{f.get('id')} ({f.get('severity')})"
        waived.append(f"  waived {what}: {waiver.get('reason')} (until {until})")
    lines.extend(cut(waived, MAX_NOTES, "waived findings"))
    b = doc.get("baseline")
    if isinstance(b, Mapping):
        fixed = _mappings(b.get("fixed"))
        unchanged = b.get("unchanged")
        tail = "" if b.get("compared_with") else " (not in the baseline: everything is new)"
        lines.append(
            f"  baseline {b.get('source')}: {b.get('new', 0)} new, {len(fixed)} fixed, "
            f"{len(unchanged) if isinstance(unchanged, list) else 0} unchanged{tail}"
        )
        shown = [f"  fixed {f.get('id')}: {f.get('message', '')}" for f in fixed]
        lines.extend(cut(shown, MAX_NOTES, "fixed findings"))
    return lines


# --- helpers ---------------------------------------------------------------------------------


def _strings(value: Any) -> list[str]:
    return [str(v) for v in value] if isinstance(value, list) else []


def _mappings(value: Any) -> list[Mapping[str, Any]]:
    return [v for v in value if isinstance(v, Mapping)] if isinstance(value, list) else []
