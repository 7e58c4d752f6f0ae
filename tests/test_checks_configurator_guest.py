"""The installed configurator's checks on a guest: they apply only where
``configure_module_solaris`` runs, and say not-applicable with the reason everywhere else."""

from __future__ import annotations

from dataclasses import replace
from typing import Optional

import pytest
from samplelib import SAMPLES

from toolsfix import configurator as service
from toolsfix.checks.base import CheckResult
from toolsfix.checks.configurator import (
    INSTALLED_CHECKS,
    INSTALLED_CONFIGURATOR_CHECKS,
    InstalledConfigurator,
)
from toolsfix.knowledge import OsFamily

PATH = "/usr/bin/vmware-config-tools.pl"


def installed(
    family: Optional[OsFamily], expected: Optional[str], variant: str = "9.2.2"
) -> InstalledConfigurator:
    data = (SAMPLES / "scripts" / f"vmware-config-tools-{variant}.pl").read_bytes()
    found = service.analyse(data, PATH, service.ConfiguratorOptions(execute=False))
    rule = service.applies_to_solaris(found.analysis.product)
    return InstalledConfigurator(
        PATH, "/mnt/image", "/usr/bin", family, expected,
        analysis=found.effective, model=found.analysis, execution=found.execution,
        compiled=found.compiled, modules=found.modules, source_text=found.text,
        solaris_product=rule.applies, product_reason=rule.reason,
    )  # fmt: skip


def run(c: InstalledConfigurator) -> CheckResult:
    return INSTALLED_CONFIGURATOR_CHECKS.run_all(c)


def not_applicable(result: CheckResult) -> dict[str, str]:
    return {s.check: s.reason for s in result.skipped if s.outcome == "not-applicable"}


@pytest.mark.parametrize("family", [OsFamily.SOLARIS_11, OsFamily.ILLUMOS, None])
def test_buggy_configurator_on_a_guest_that_runs_it(family: Optional[OsFamily]) -> None:
    """Solaris 11, a tar install on illumos (5.11 to the configurator), or a family not
    established: the cap bites, with the guest-side commands (patch, then re-run)."""
    result = run(installed(family, "11"))
    tf100 = next(f for f in result.findings if f.id == "TF100")
    assert tf100.commands == ("toolsfix patch --root /", "/usr/bin/vmware-config-tools.pl -d")
    assert "--root /mnt/image" in tf100.remedy


@pytest.mark.parametrize("family", [OsFamily.LINUX, OsFamily.ESXI])
def test_never_on_a_guest_that_is_not_sunos(family: OsFamily) -> None:
    """The reported defect: a Linux guest's configurator carries the Solaris function (capped
    at 10) and verify said TF100. It never runs there: every id not-applicable, no finding."""
    result = run(installed(family, None))
    assert result.findings == ()
    reasons = not_applicable(result)
    assert set(reasons) == set(INSTALLED_CHECKS)
    assert all(f"{family.label} guest" in r and "never runs" in r for r in reasons.values())


def test_linux_tools_configurator_on_an_unknown_guest() -> None:
    """The product rule (shared with scan) also decides: tools-for-linux never runs it."""
    c = replace(installed(None, None), solaris_product=False, product_reason="Linux distrib: x")
    result = run(c)
    assert result.findings == ()
    assert all(r == f"{PATH}: Linux distrib: x" for r in not_applicable(result).values())


def test_capped_selection_is_harmless_where_it_picks_the_right_build() -> None:
    result = run(installed(OsFamily.SOLARIS_10, "10"))
    assert "TF100" not in {f.id for f in result.findings}
    assert "selects 10/10_64 for this guest, which is right" in not_applicable(result)["TF100"]


def test_fixed_configurator_gives_nothing() -> None:
    assert run(installed(OsFamily.SOLARIS_11, "11", "9.9.2")).findings == ()


def test_unreadable_and_absent_configurators() -> None:
    base = InstalledConfigurator(PATH, "/", "/usr/bin", OsFamily.SOLARIS_11, "11")
    unread = run(replace(base, unread=f"{PATH} could not be read: Permission denied"))
    assert {s.check for s in unread.skipped if s.outcome == "not-evaluated"} == set(
        INSTALLED_CHECKS
    )
    absent = run(base)
    assert absent.findings == () and "no configurator" in not_applicable(absent)["TF100"]
