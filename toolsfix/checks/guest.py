"""Every check ``verify`` runs on one guest, in order, over one input.

The guest-side registries (configurator, drivers, Solaris and Linux network) each apply to
the OS families and driver provenances they were written for and say ``not-applicable``
elsewhere; this module runs them over one :class:`GuestInput` and applies the two rules that
span them:

* a finding that rests on a file that could not be read (the driver conf, a boot script) is
  not a finding but "not evaluated", and so is the silence of a check that needed that file;
* an interrupted collector bundle is itself a finding (TF500), so a partial collection never
  passes as a clean guest.
"""

from __future__ import annotations

import fnmatch
import posixpath
from collections.abc import Sequence
from typing import NamedTuple, Optional

from toolsfix.catalog import finding
from toolsfix.checks import linux, network
from toolsfix.checks.base import CheckResult
from toolsfix.checks.configurator import INSTALLED_CONFIGURATOR_CHECKS, InstalledConfigurator
from toolsfix.checks.drivers import CONF_PATH, DriverCheckInput, evaluate_drivers
from toolsfix.findings import Evidence, Finding, Skipped
from toolsfix.guest.bundle import MANIFEST
from toolsfix.guest.drivers import DriverFacts
from toolsfix.guest.facts import SCRIPT_GLOBS, GuestFacts

__all__ = ["CONF_CHECKS", "SCRIPT_CHECKS", "GuestInput", "evaluate_guest"]

#: Network checks that read /kernel/drv/vmxnet3s.conf (EnableLSO, MTU, accept-jumbo) ...
CONF_CHECKS = ("TF300", "TF301", "TF310", "TF311", "TF312", "TF313")
#: ... and those that read persistent settings from boot scripts (LSO off at boot, the MTU).
SCRIPT_CHECKS = ("TF301", "TF310", "TF311", "TF313")


# A NamedTuple, not a frozen dataclass: an input bundle, never replaced or serialised, and a
# dataclass costs about a millisecond at import (its methods are generated and compiled).
class GuestInput(NamedTuple):
    """Everything the guest checks read: facts, driver facts, the analysed configurator, how
    the target is named, and what an interrupted collection lacks (None when complete)."""

    facts: GuestFacts
    drivers: DriverFacts
    configurator: InstalledConfigurator
    target: str
    interrupted: Optional[tuple[str, ...]] = None


def _is_script(path: str) -> bool:
    """A boot script or SMF method (or its directory) that persistent settings are read from."""
    return any(path == posixpath.dirname(g) or fnmatch.fnmatchcase(path, g) for g in SCRIPT_GLOBS)


def _not_evaluated(result: CheckResult, checks: Sequence[str], path: str, why: str) -> CheckResult:
    """Findings of ``checks`` that rest on the unread ``path`` become not-evaluated, and so do
    those checks that found nothing (their silence is not a pass: the file was not seen)."""
    kept: list[Finding] = []
    reported: set[str] = set()
    for f in result.findings:
        if f.id in checks and any(e.path == path for e in f.evidence):
            continue
        kept.append(f)
        reported.add(f.id)
    demoted = [Skipped(c, why) for c in checks if c not in reported]
    return CheckResult.of(kept, [*result.skipped, *demoted])


def _network(inp: GuestInput) -> CheckResult:
    kind = inp.facts.os_kind.value if inp.facts.os_kind.available else None
    if kind == "solaris":
        result = network.evaluate_solaris_network(inp.facts, inp.drivers.nic())
    elif kind == "linux":
        result = linux.evaluate_linux_network(inp.facts)
    else:
        return CheckResult()
    for path, why in sorted(inp.drivers.unreadable.items()):
        checks = CONF_CHECKS if path == CONF_PATH else SCRIPT_CHECKS if _is_script(path) else ()
        if checks:
            result = _not_evaluated(result, checks, path, f"{path} could not be read: {why}")
    return result


def _interrupted(inp: GuestInput) -> CheckResult:
    """TF500 for a bundle whose collector was cut short."""
    if inp.interrupted is None:
        return CheckResult()
    missing = "; ".join(inp.interrupted)
    return CheckResult.of(
        [
            finding(
                "TF500",
                f"{inp.target}: the collection was interrupted ({MANIFEST} has no finished= "
                f"line): missing: {missing}",
                evidence=[Evidence(path=MANIFEST, detail=f"missing: {missing}")],
                subject=inp.target,
            )
        ]
    )


def evaluate_guest(inp: GuestInput) -> CheckResult:
    """Configurator, driver and network checks, then the collection's completeness."""
    return CheckResult.merge(
        (
            INSTALLED_CONFIGURATOR_CHECKS.run_all(inp.configurator),
            evaluate_drivers(DriverCheckInput(inp.facts, inp.drivers, inp.target)),
            _network(inp),
            _interrupted(inp),
        )
    )
