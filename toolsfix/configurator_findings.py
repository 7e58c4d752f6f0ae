"""The configurator's findings: for a distrib, or scoped to one guest.

Shared by ``scan`` and ``verify`` so both report the same checks the same way from the same
:class:`~toolsfix.configurator_facts.ConfiguratorFacts`; a check that does not apply (a
product that never runs the Solaris function, a release-specific check answered for one
guest) gives way to the entry that says why.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Optional

from toolsfix import installer
from toolsfix.checks import configurator as checks
from toolsfix.checks import selection
from toolsfix.checks.selection import SOLARIS_SELECTION_CHECKS, GuestView
from toolsfix.configurator_facts import (
    ConfiguratorFacts,
    GuestSelection,
    SolarisApplicability,
    applies_to_solaris,
)
from toolsfix.findings import Evidence, Finding, Outcome, Skipped
from toolsfix.installer import DirPair
from toolsfix.knowledge import Guest, expected_family

if TYPE_CHECKING:  # only annotations: verify needs no distrib reader (start-up time)
    from toolsfix.distrib import Inventory


@dataclass(frozen=True)
class GuestTarget:
    """The one guest ``scan --guest`` asks about, as the configurator would see it.

    ``guest`` is None when the guest is not SunOS 5.x (``os_kind`` says what it is), or when
    its release is too old or unknown to be simulated meaningfully; ``why`` then says so.
    """

    origin: str
    label: str
    guest: Optional[Guest]
    os_kind: Optional[str]
    evidence: tuple[Evidence, ...] = ()
    kernel_bits: Optional[int] = None
    why: str = ""

    @property
    def needs(self) -> Optional[str]:
        """The build family this guest needs (None: the configurator copies nothing)."""
        if self.guest is None:
            return None
        return expected_family(self.guest.uname_r, self.guest.uname_v)


@dataclass(frozen=True)
class GuestAnswer:
    """What this distrib will install on the target guest, and whether to patch."""

    target: GuestTarget
    known: bool
    dirs: Optional[dict[str, Optional[DirPair]]]
    source: Optional[str]
    wrong: Mapping[str, DirPair]
    patch: str  # needed | not-needed | not-applicable | cannot-help | review | unknown
    advice: str

    def summary(self) -> str:
        """One line for the text report's notes."""
        t = self.target
        if not self.known or self.dirs is None:
            got = "nothing" if self.known else "unknown"
        else:
            pair = self.dirs.get("vmxnet3s")
            got = f"vmxnet3s from {pair[0]}/{pair[1]}" if pair else "no vmxnet3s"
        needs = f" (needs {t.needs})" if t.needs else ""
        return f"on {t.label} ({t.origin}): {got}{needs}; patch {self.patch}: {self.advice}"

    def to_dict(self) -> dict[str, Any]:
        t = self.target
        return {
            "origin": t.origin,
            "label": t.label,
            "os_kind": t.os_kind,
            "uname_r": t.guest.uname_r if t.guest else None,
            "uname_v": t.guest.uname_v if t.guest else None,
            "release": t.guest.release if t.guest else None,
            "kernel_bits": t.kernel_bits,
            "expected_build_dir": t.needs,
            "evidence": [e.to_dict() for e in t.evidence],
            "driver_dirs": (
                None
                if self.dirs is None
                else {m: list(p) if p else None for m, p in self.dirs.items()}
            ),
            "known": self.known,
            "driver_dirs_source": self.source,
            "wrong_builds": {m: list(p) for m, p in sorted(self.wrong.items())},
            "patch": self.patch,
            "advice": self.advice,
        }


def guest_answer(
    facts: ConfiguratorFacts,
    target: GuestTarget,
    inv: Optional[Inventory] = None,
    applicability: Optional[SolarisApplicability] = None,
) -> GuestAnswer:
    """What ``facts``' configurator installs on ``target`` and whether a patch would help."""
    rule = (
        applicability if applicability is not None else applies_to_solaris(facts.analysis.product)
    )
    if not rule.applies:
        return GuestAnswer(target, False, None, None, {}, "not-applicable", rule.reason)
    if target.guest is None or target.needs is None:
        why = target.why or f"the configurator copies nothing on {target.label}"
        return GuestAnswer(target, True, None, None, {}, "not-applicable", why)
    sel = facts.selection_for(target.guest)
    known, dirs, source = sel.known, sel.dirs, sel.source
    view = GuestView(target.label, target.needs, known, dirs)
    wrong = selection.wrong_builds(view)
    state = facts.selection_bug
    if not known:
        return GuestAnswer(
            target,
            False,
            None,
            None,
            {},
            "unknown",
            "the selection logic was not understood and not proven by execution; "
            "review configure_module_solaris by hand",
        )
    if not wrong:
        return GuestAnswer(
            target, True, dirs, source, {}, "not-needed", "the guest gets the right builds"
        )
    builds = inv.solaris_builds() if inv is not None and inv.layout() == "solaris" else None
    if builds is not None and not any(d in (target.needs, f"{target.needs}_64") for d, _ in builds):
        return GuestAnswer(
            target,
            True,
            dirs,
            source,
            wrong,
            "cannot-help",
            f"the distrib ships no {target.needs} builds; use a release that does",
        )
    if state in (installer.PRESENT, installer.HAND_PATCHED):
        return GuestAnswer(
            target,
            True,
            dirs,
            source,
            wrong,
            "needed",
            "`toolsfix patch` sets $currentMinor to 11 (VMware's fix), then install",
        )
    return GuestAnswer(
        target,
        True,
        dirs,
        source,
        wrong,
        "review",
        f"the selection is {state}: no known patch applies; review configure_module_solaris",
    )


def findings(
    facts: ConfiguratorFacts,
    target: str,
    inv: Optional[Inventory] = None,
    commands: Sequence[str] = (),
    *,
    applicability: Optional[SolarisApplicability] = None,
    guest: Optional[GuestTarget] = None,
) -> tuple[list[Finding], list[Skipped]]:
    """The configurator's findings and skipped checks, for ``target`` (what remedies name).

    ``inv`` adds the distrib cross-checks (builds shipped vs copied, versions); ``commands``
    are the remedy commands for a fixable state (verify knows them for an installed guest);
    ``applicability`` (default: from the product alone) turns the Solaris selection checks
    into ``not-applicable``; ``guest`` scopes the release-specific checks to that one guest.
    """
    eff = facts.effective
    found = checks.selection_findings(eff, facts.text, target, commands)
    ex_found, skipped = checks.execution_findings(facts.analysis, facts.execution, facts.modules)
    found.extend(ex_found)
    compile_found, compile_skipped = selection.compile_findings(
        facts.analysis, facts.compiled, facts.text, target
    )
    found.extend(compile_found)
    skipped.extend(compile_skipped)
    found.extend(checks.record_findings(facts.analysis, facts.differs_from))
    if inv is not None:
        found.extend(checks.crosscheck_findings(eff, inv, facts.dirs, target))
        found.extend(checks.consistency_findings(facts.analysis, inv))
    rule = (
        applicability if applicability is not None else applies_to_solaris(facts.analysis.product)
    )
    if not rule.applies:
        return _give_way(found, skipped, [
            Skipped(c, rule.reason, Outcome.NOT_APPLICABLE) for c in SOLARIS_SELECTION_CHECKS
        ])  # fmt: skip
    if guest is not None:
        sel = (
            facts.selection_for(guest.guest)
            if guest.guest is not None
            else GuestSelection(True, None, None)
        )
        view = GuestView(guest.label, guest.needs, sel.known, sel.dirs, guest.evidence, guest.why)
        g_found, g_skipped = selection.guest_findings(eff, view, inv, target)
        found = [f for f in found if f.id not in selection.RELEASE_SCOPED_CHECKS]
        found, skipped = _give_way(found, skipped, g_skipped)
        found.extend(g_found)
    return found, skipped


def _give_way(
    found: list[Finding], skipped: list[Skipped], instead: Sequence[Skipped]
) -> tuple[list[Finding], list[Skipped]]:
    """Replace the findings and skipped entries of the checks ``instead`` names by it."""
    ids = {s.check for s in instead}
    kept = [f for f in found if f.id not in ids]
    rest = [s for s in skipped if s.check not in ids]
    seen: set[str] = set()
    for s in instead:
        if s.check not in seen:
            rest.append(s)
            seen.add(s.check)
    return kept, rest
