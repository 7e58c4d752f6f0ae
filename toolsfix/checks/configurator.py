"""Checks over a distrib and its configurator: is the driver selection right for every release?

Pure functions from facts (inventory, static analysis, sandboxed execution) to findings. They
never read files themselves, so the same checks serve ``scan`` on a distrib and ``verify`` on
the configurator installed in a guest's BINDIR.

On a guest the question is narrower than on a distrib: ``configure_module_solaris`` only runs
on SunOS, so a Linux guest's configurator (which carries the function too) is not-applicable,
and a capped selection that picks the right build for *this* guest (Solaris 10) does no harm
there. :func:`check_installed_configurator` is that guest-side check, registered by id.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Optional

from toolsfix import installer
from toolsfix.catalog import finding
from toolsfix.checks.base import CheckResult, Registry
from toolsfix.checks.selection import compile_findings
from toolsfix.findings import Evidence, Finding, Outcome, Severity, Skipped
from toolsfix.installer import Analysis, DirPair
from toolsfix.knowledge import (
    GUEST_OF_FAMILY,
    SOLARIS_11_GUESTS,
    SOLARIS_DIRS,
    SUNOS_FAMILIES,
    OsFamily,
)
from toolsfix.perl import CompileCheck, Execution
from toolsfix.proofdb import ProofRecord

if TYPE_CHECKING:  # only annotations: verify needs no distrib reader (start-up time)
    from toolsfix.distrib import Inventory


def _line_evidence(a: Analysis, line: Optional[int], text: str) -> Evidence:
    return Evidence(path=a.path, line=line, excerpt=text.strip() or None)


def _excerpt(source: str, line: Optional[int]) -> str:
    if not line:
        return ""
    lines = source.splitlines()
    return lines[line - 1].rstrip("\r") if 0 < line <= len(lines) else ""


def selection_findings(
    a: Analysis, source: str, target: str, commands: Sequence[str] = ()
) -> list[Finding]:
    """The configurator's own state: buggy, hand-patched, unrecognised, damaged.

    ``commands`` are the remedy commands for a fixable state (``verify`` knows them for an
    installed guest: patch, then re-run the configurator).
    """
    out: list[Finding] = []
    ev_cap = _line_evidence(a, a.current_minor_line, _excerpt(source, a.current_minor_line))
    ev_cmp = (
        _line_evidence(a, a.comparison.line, _excerpt(source, a.comparison.line))
        if a.comparison
        else None
    )
    evidence = [e for e in (ev_cap, ev_cmp) if e is not None and e.line]
    if a.selection_bug == installer.PRESENT:
        out.append(
            finding(
                "TF100",
                f"{a.path}: {installer.FUNCTION} caps the release at $currentMinor = "
                f"{a.current_minor}; Solaris 11 guests get the Solaris 10 vmxnet3s build",
                evidence=evidence,
                subject=a.path,
                target=target,
                commands=commands,
            )
        )
    elif a.selection_bug == installer.HAND_PATCHED:
        out.append(
            finding(
                "TF101",
                f"{a.path}: comparison flipped to `{a.comparison.op if a.comparison else '?'}` "
                f"with $currentMinor = {a.current_minor}: picks max(minor, 10)",
                evidence=evidence,
                subject=a.path,
                target=target,
                commands=commands,
            )
        )
    elif a.selection_bug == installer.UNKNOWN:
        span = a.function
        out.append(
            finding(
                "TF102",
                f"{a.path}: {a.reason}",
                evidence=evidence
                or [Evidence(path=a.path, line=span.start if span else None, detail=a.reason)],
                subject=a.path,
                target=target,
            )
        )
    if a.damaged_comments or a.line_ending != "lf":
        notes = []
        if a.damaged_comments:
            notes.append(f"{a.damaged_comments} comment marker(s) replaced by ***REMOVED***")
        if a.line_ending != "lf":
            notes.append(f"{a.line_ending.upper()} line endings")
        out.append(
            finding(
                "TF109",
                f"{a.path}: " + "; ".join(notes),
                evidence=[Evidence(path=a.path, detail="; ".join(notes))],
                subject=a.path,
            )
        )
    return out


def crosscheck_findings(
    a: Analysis,
    inv: Inventory,
    dirs: Mapping[str, Optional[Mapping[str, Optional[DirPair]]]],
    target: str,
) -> list[Finding]:
    """Compare what would be copied with what the distrib ships."""
    out: list[Finding] = []
    if inv.layout() != "solaris":
        return out
    builds = inv.solaris_builds()
    has_11 = any(d in ("11", "11_64") for d, _ in builds)
    if not has_11:
        out.append(
            finding(
                "TF105",
                f"{inv.source}: lib/modules/binary has no 11 or 11_64 directory; "
                "Solaris 11 guests cannot get a matching build",
                evidence=[
                    Evidence(path=f"{inv.source}", detail=f"dirs: {sorted(inv.binary_dirs)}")
                ],
                subject=inv.source,
            )
        )
    wrong: dict[str, list[str]] = {}
    missing: dict[tuple[str, str], list[str]] = {}
    for guest, modules in dirs.items():
        if modules is None:
            continue
        for module, pair in modules.items():
            if pair is None:
                continue
            for d in pair:
                if d and (d, module) not in builds:
                    missing.setdefault((d, module), []).append(guest)
            if guest in SOLARIS_11_GUESTS and pair[0] != "11" and ("11", module) in builds:
                wrong.setdefault(module, []).append(guest)
    for module, guests in sorted(wrong.items()):
        got = dirs[guests[0]][module] if dirs[guests[0]] else None  # type: ignore[index]
        ship = builds[("11", module)]
        out.append(
            finding(
                "TF104",
                f"{', '.join(guests)} would get {module} from {got[0] if got else '?'}"
                f"/{got[1] if got else '?'} although the distrib ships 11/{module}",
                evidence=[
                    Evidence(path=a.path, line=a.current_minor_line, detail="predicted selection"),
                    ship.evidence(),
                ],
                subject=module,
                target=target,
                dir="11/11_64",
            )
        )
    if missing:
        paths = sorted(f"lib/modules/binary/{d}/{m}" for d, m in missing)
        guests = sorted({g for gs in missing.values() for g in gs})
        out.append(
            finding(
                "TF110",
                f"the configurator would copy {len(paths)} build(s) the distrib does not ship "
                f"(for {', '.join(guests)}): {', '.join(paths[:6])}"
                + (" ..." if len(paths) > 6 else ""),
                evidence=[Evidence(path=p, detail="absent from the distrib") for p in paths],
                subject="lib/modules/binary",
            )
        )
    unexpected = sorted(inv.binary_dirs - set(SOLARIS_DIRS))
    if unexpected:
        out.append(
            finding(
                "TF106",
                f"unexpected directories under lib/modules/binary: {', '.join(unexpected)}",
                evidence=[Evidence(path="lib/modules/binary", detail=", ".join(unexpected))],
                subject="lib/modules/binary",
            )
        )
    return out


def consistency_findings(a: Optional[Analysis], inv: Inventory) -> list[Finding]:
    """Every component of one distrib should name the same Tools version."""
    seen: dict[str, str] = {}
    if a is not None and a.version:
        seen[a.path] = a.version
    for path, data in inv.scripts.items():
        if path == (a.path if a else None):
            continue
        version, _build, _ = installer.find_buildnr(data.decode("utf-8", "replace"))
        if version:
            seen[path] = version
    mono = inv.manifest.get("monolithic.version")
    if mono:
        seen["etc/manifest.txt.shipped"] = mono
    if len(set(seen.values())) <= 1:
        return []
    detail = ", ".join(f"{p}={v}" for p, v in sorted(seen.items()))
    return [
        finding(
            "TF108",
            f"components disagree on the Tools version: {detail}",
            evidence=[Evidence(path=p, detail=f"version {v}") for p, v in sorted(seen.items())],
            subject=inv.source,
        )
    ]


def execution_findings(
    a: Analysis, execution: Optional[Execution], modules: tuple[str, ...]
) -> tuple[list[Finding], list[Skipped]]:
    """Disagreement between the static model and the file's own executed code is a finding."""
    if execution is None:
        return [], [Skipped("TF107", "execution disabled (--no-exec)", "not-evaluated")]
    if not execution.ran:
        return [], [Skipped("TF107", f"execution not possible: {execution.reason}")]
    if a.selection_bug == installer.UNKNOWN or not a.driver_dirs:
        return [], []
    executed = execution.driver_dirs(modules)
    diffs: list[str] = []
    for guest, predicted in a.driver_dirs.items():
        got = executed.get(guest)
        pred = {m: p for m, p in predicted.items() if m in modules} if predicted else None
        if (pred or None) != (got or None):
            for module in modules:
                pm = pred.get(module) if pred else None
                gm = got.get(module) if got else None
                if pm != gm:
                    diffs.append(f"{guest}/{module}: model {pm}, executed {gm}")
    if not diffs:
        return [], []
    return [
        finding(
            "TF107",
            f"{a.path}: model and execution disagree on {len(diffs)} selection(s): {diffs[0]}",
            evidence=[Evidence(path=a.path, detail=d) for d in diffs[:10]],
            subject=a.path,
        )
    ], []


def record_findings(a: Analysis, differs_from: Sequence[ProofRecord]) -> list[Finding]:
    """TF112: the file names a release whose copy is on record, and is not that copy.

    ``differs_from`` are the records of its release (:meth:`ProofTable.same_release`: none
    has these bytes). A file carrying toolsfix's patch marker is expected to differ, so that
    finding is information, not a warning; anything else changed it in a way nobody said.
    """
    if not differs_from:
        return []
    first = differs_from[0]
    on_record = ", ".join(sorted({r.sha256[:16] for r in differs_from}))
    patched = a.marker_patch is not None
    note = f" (it carries toolsfix's patch marker {a.marker_patch!r})" if patched else ""
    return [
        finding(
            "TF112",
            f"{a.path} says VMware Tools {a.version} build-{a.build}, but its bytes are not "
            f"that release's copy on record (learned from {first.source}){note}",
            evidence=[
                Evidence(path=a.path, detail=f"sha256 {a.sha256}"),
                Evidence(path=first.file or None, detail=f"on record: sha256 {on_record}..."),
            ],
            subject=a.path,
            severity=Severity.INFO if patched else None,
        )
    ]


# --------------------------------------------------------------------------- on a guest

#: What the installed configurator's analysis reports on a guest (TF109, text damage, is a
#: distrib concern: the installed copy's comments do not change what it selects; TF111 is not:
#: a configurator perl rejects fails the re-run the remedies ask for).
INSTALLED_CHECKS: tuple[str, ...] = ("TF100", "TF101", "TF102", "TF107", "TF111")
# A buggy or hand-patched configurator is harmless where it picks the right build anyway.
_HARMLESS = ("configurator-buggy", "configurator-hand-patched")


@dataclass(frozen=True)
class InstalledConfigurator:
    """The configurator in a guest's BINDIR, analysed, and what decides whether it matters.

    ``analysis`` is the verdict the configurator service states (execution wins where it and
    the model disagree) and ``model`` the static model as read; both are None when there is
    no configurator (``unread`` then says why when it exists but could not be read).
    ``solaris_product`` is the service's product rule (False for a Linux Tools configurator,
    ``product_reason`` saying why); ``family`` is the guest's OS family when known.
    """

    path: str
    target: str  # how remedies name the target
    bindir: str
    family: Optional[OsFamily] = None
    expected_family: Optional[str] = None  # the build family the guest needs ("10", "11")
    analysis: Optional[Analysis] = None
    model: Optional[Analysis] = None
    execution: Optional[Execution] = None
    compiled: Optional[CompileCheck] = None
    modules: tuple[str, ...] = ()
    source_text: str = ""
    unread: Optional[str] = None
    solaris_product: bool = True
    product_reason: str = ""

    @property
    def commands(self) -> tuple[str, ...]:
        """On the guest: patch the installed configurator, then let it copy the builds."""
        return ("toolsfix patch --root /", f"{self.bindir.rstrip('/')}/vmware-config-tools.pl -d")


INSTALLED_CONFIGURATOR_CHECKS: Registry[InstalledConfigurator] = Registry()


def _not_applicable(why: str) -> CheckResult:
    skipped = [Skipped(c, why, Outcome.NOT_APPLICABLE) for c in INSTALLED_CHECKS]
    return CheckResult.of(skipped=skipped)


def selection_right_for_guest(a: Analysis, family: Optional[str]) -> Optional[str]:
    """Why a buggy or hand-patched configurator does not matter on *this* guest, if it doesn't.

    The bug only bites Solaris 11: on Solaris 10 the capped selection is right, so verify
    reports it as not applicable instead of a finding (scan still reports it for the distrib).
    """
    guest = GUEST_OF_FAMILY.get(family or "")
    if guest is None or not a.driver_dirs:
        return None
    modules = a.driver_dirs.get(guest)
    pair = modules.get("vmxnet3s") if modules else None
    if pair is None or pair[0] != family:
        return None
    return (
        f"the installed configurator is {a.selection_bug}, but it selects {pair[0]}/{pair[1]} "
        "for this guest, which is right"
    )


@INSTALLED_CONFIGURATOR_CHECKS.register(*INSTALLED_CHECKS)
def check_installed_configurator(c: InstalledConfigurator) -> CheckResult:
    """TF100-TF102, TF107, TF111 for the configurator a guest has installed.

    Applies only where ``configure_module_solaris`` runs: a SunOS guest (or one whose family
    is unknown) with a Solaris Tools configurator. Elsewhere every id is not-applicable, with
    the reason, so a Linux guest is never told to patch a function it never runs.
    """
    if c.unread is not None:
        return CheckResult.of(skipped=[Skipped(i, c.unread) for i in INSTALLED_CHECKS])
    a, model = c.analysis, c.model or c.analysis
    if a is None or model is None:
        return _not_applicable(f"no configurator at {c.path}: nothing the tar installer runs")
    if c.family is not None and c.family not in (*SUNOS_FAMILIES, OsFamily.UNKNOWN):
        return _not_applicable(
            f"{c.family.label} guest: configure_module_solaris never runs here (the Solaris "
            "driver selection applies only to SunOS guests)"
        )
    if not c.solaris_product:
        return _not_applicable(f"{c.path}: {c.product_reason}")
    found = selection_findings(a, c.source_text, f"--root {c.target}", c.commands)
    skipped: list[Skipped] = []
    harmless = selection_right_for_guest(a, c.expected_family)
    if harmless is not None:
        skipped += [
            Skipped(f.id, harmless, Outcome.NOT_APPLICABLE)
            for f in found
            if f.category in _HARMLESS
        ]
        found = [f for f in found if f.category not in _HARMLESS]
    ex_found, ex_skipped = execution_findings(model, c.execution, c.modules)
    cc_found, cc_skipped = compile_findings(model, c.compiled, c.source_text, c.target)
    found = [f for f in found if f.id != "TF109"] + ex_found + cc_found
    return CheckResult.of(found, [*skipped, *ex_skipped, *cc_skipped])
