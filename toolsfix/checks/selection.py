"""Checks over what the configurator's code does: does the file compile, and what does one
named guest get from the distrib.

The distrib-wide checks (:mod:`toolsfix.checks.configurator`) judge the selection for every
simulated release; ``scan --guest`` asks a narrower question -- what will *this* guest get,
and does it matter -- so the release-specific findings are recomputed here for that guest and
the ones that do not concern it become ``not-applicable`` with the reason. Pure functions: the
facts come in, findings and skipped checks go out.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Optional

from toolsfix import installer
from toolsfix.catalog import finding
from toolsfix.findings import Evidence, Finding, Outcome, Skipped
from toolsfix.installer import Analysis, DirPair
from toolsfix.knowledge import family_of_dir
from toolsfix.perl import CompileCheck
from toolsfix.perltext import DAMAGED_COMMENT

if TYPE_CHECKING:  # only annotations: verify needs no distrib reader (start-up time)
    from toolsfix.distrib import Inventory

#: Checks that judge the Solaris driver selection (a Linux distrib or a guest the
#: configurator copies nothing to makes them all not applicable).
SOLARIS_SELECTION_CHECKS: tuple[str, ...] = (
    "TF100",
    "TF101",
    "TF102",
    "TF104",
    "TF105",
    "TF107",
    "TF110",
)
#: Checks whose verdict depends on which release the guest runs: recomputed for one guest.
RELEASE_SCOPED_CHECKS: tuple[str, ...] = ("TF104", "TF105", "TF110")
#: NIC drivers: their build must be the guest's own family (jumbo frames, LSO). Other modules
#: are judged as the distrib-wide check does: a Solaris 11 guest given a non-11 build.
NIC_MODULES: tuple[str, ...] = ("vmxnet3s", "vmxnet")
#: The finding each configurator state gives distrib-wide (it gives way when the guest is fine).
_STATE_CHECKS = {installer.PRESENT: "TF100", installer.HAND_PATCHED: "TF101"}


def compile_findings(
    a: Analysis, check: Optional[CompileCheck], source: str, target: str
) -> tuple[list[Finding], list[Skipped]]:
    """TF111 when perl rejects the file: the installer runs it and would stop there.

    A sandbox that was killed or broke proves nothing either way, so that is "not
    evaluated", never a claim that the file does not compile.
    """
    if check is None:
        return [], [Skipped("TF111", "compile check disabled (--no-exec)", Outcome.NOT_EVALUATED)]
    if check.compiles is None or (check.compiles is False and check.reason):
        why = check.reason or "no result"
        return [], [Skipped("TF111", f"compile check not possible: {why}", Outcome.NOT_EVALUATED)]
    if check.compiles:
        return [], []
    lines = source.splitlines()
    excerpt = None
    if check.line and 0 < check.line <= len(lines):
        excerpt = lines[check.line - 1].rstrip("\r").strip() or None
    where = f" at line {check.line}" if check.line else ""
    damage = (
        f"; {a.damaged_comments} comment marker(s) replaced by {DAMAGED_COMMENT}"
        if a.damaged_comments
        else ""
    )
    return [
        finding(
            "TF111",
            f"{a.path}: perl rejects the file{where} ({check.error or 'does not compile'}){damage}",
            evidence=[Evidence(path=a.path, line=check.line, excerpt=excerpt, detail=check.error)],
            subject=a.path,
            target=target,
        )
    ], []


@dataclass(frozen=True)
class GuestView:
    """What the checks need to know about the one guest ``scan --guest`` asks about.

    ``needs`` is the build family the guest needs (None: SunOS before 10 or not SunOS, where
    the configurator copies nothing); ``known`` says whether the selection is known at all
    (model or execution), ``dirs`` is what it gets (None: nothing copied).
    """

    label: str
    needs: Optional[str]
    known: bool
    dirs: Optional[Mapping[str, Optional[DirPair]]]
    evidence: tuple[Evidence, ...] = ()
    not_sunos: str = ""  # why the configurator never runs there, when it does not


def wrong_builds(view: GuestView) -> dict[str, DirPair]:
    """Modules the guest would get from a build directory of the wrong release."""
    out: dict[str, DirPair] = {}
    if view.needs is None or not view.dirs:
        return out
    for module, pair in view.dirs.items():
        if pair is None or not pair[0]:
            continue
        family = family_of_dir(pair[0])
        if module in NIC_MODULES:
            if family != view.needs:
                out[module] = pair
        elif view.needs == "11" and family != "11":
            out[module] = pair
    return out


def _needed_dir(module: str, needs: str) -> str:
    """Non-NIC modules are judged against the Solaris 11 build only (see NIC_MODULES)."""
    return needs if module in NIC_MODULES else "11"


def guest_findings(
    a: Analysis, view: GuestView, inv: Optional[Inventory], target: str
) -> tuple[list[Finding], list[Skipped]]:
    """TF104/TF105/TF110 for this one guest, and the selection checks that do not concern it.

    The skipped list names every check whose distrib-wide finding must give way: all of
    :data:`SOLARIS_SELECTION_CHECKS` when the configurator copies nothing to this guest, the
    configurator-state findings (TF100, TF101) when the guest gets the right builds anyway,
    and the release-scoped ones that have no finding for this guest.
    """
    found: list[Finding] = []
    skipped: list[Skipped] = []
    if view.needs is None:
        why = view.not_sunos or f"the configurator copies nothing on this guest ({view.label})"
        return [], [Skipped(c, why, Outcome.NOT_APPLICABLE) for c in SOLARIS_SELECTION_CHECKS]
    if not view.known:
        why = f"what this guest ({view.label}) gets is not known (see TF102)"
        return [], [Skipped(c, why, Outcome.NOT_EVALUATED) for c in RELEASE_SCOPED_CHECKS]
    wrong = wrong_builds(view)
    builds = inv.solaris_builds() if inv is not None and inv.layout() == "solaris" else None
    if not wrong:
        pair = (view.dirs or {}).get("vmxnet3s")
        got = f"{pair[0]}/{pair[1]}" if pair else "nothing"
        why = (
            f"on this guest ({view.label}) the selection picks {got} for vmxnet3s, which is right"
            if view.dirs
            else f"the configurator copies nothing on this guest ({view.label})"
        )
        state_check = _STATE_CHECKS.get(a.selection_bug)
        scoped = ([state_check] if state_check else []) + ["TF104"]
        skipped += [Skipped(c, why, Outcome.NOT_APPLICABLE) for c in scoped]
    elif builds is not None:
        for module, pair in sorted(wrong.items()):
            right = _needed_dir(module, view.needs)
            ship = builds.get((right, module))
            if ship is None:
                continue
            found.append(
                finding(
                    "TF104",
                    f"this guest ({view.label}) would get {module} from {pair[0]}/{pair[1]} "
                    f"although the distrib ships {right}/{module}",
                    evidence=[
                        *view.evidence,
                        Evidence(path=a.path, line=a.current_minor_line, detail="selection"),
                        ship.evidence(),
                    ],
                    subject=module,
                    target=target,
                    dir=f"{right}/{right}_64",
                )
            )
    if not any(f.id == "TF104" for f in found) and not any(s.check == "TF104" for s in skipped):
        skipped.append(
            Skipped(
                "TF104",
                f"the right build for this guest ({view.label}) is not in the distrib (TF105)"
                if builds is not None
                else "no distrib inventory (a lone configurator)",
                Outcome.NOT_APPLICABLE if builds is not None else Outcome.NOT_EVALUATED,
            )
        )
    if builds is None:
        skipped += [
            Skipped(c, "no distrib inventory (a lone configurator)", Outcome.NOT_EVALUATED)
            for c in ("TF105", "TF110")
        ]
        return found, skipped
    has_needed = any(d in (view.needs, f"{view.needs}_64") for d, _ in builds)
    if view.needs == "11" and not has_needed:
        found.append(
            finding(
                "TF105",
                f"{inv.source if inv else target}: lib/modules/binary has no 11 or 11_64 "
                f"directory; this guest ({view.label}) cannot get a matching build",
                evidence=[*view.evidence, Evidence(path=target, detail="no 11/11_64 builds")],
                subject=target,
            )
        )
    else:
        skipped.append(
            Skipped(
                "TF105",
                f"this guest ({view.label}) needs the {view.needs} builds"
                + (", which the distrib ships" if has_needed else ""),
                Outcome.NOT_APPLICABLE,
            )
        )
    missing = _missing(view.dirs or {}, builds)
    if missing:
        found.append(
            finding(
                "TF110",
                f"on this guest ({view.label}) the configurator would copy {len(missing)} "
                f"build(s) the distrib does not ship: {', '.join(missing[:6])}"
                + (" ..." if len(missing) > 6 else ""),
                evidence=[Evidence(path=p, detail="absent from the distrib") for p in missing],
                subject="lib/modules/binary",
            )
        )
    else:
        why = f"every build this guest ({view.label}) would get is in the distrib"
        skipped.append(Skipped("TF110", why, Outcome.NOT_APPLICABLE))
    return found, skipped


def _missing(
    dirs: Mapping[str, Optional[DirPair]], builds: Mapping[tuple[str, str], object]
) -> Sequence[str]:
    return sorted(
        f"lib/modules/binary/{d}/{module}"
        for module, pair in dirs.items()
        if pair is not None
        for d in pair
        if d and (d, module) not in builds
    )
