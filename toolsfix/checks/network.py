"""Solaris guest network readiness: LSO on the old transmit path, jumbo frames, TCP buffers.

Whether LSO is dangerous or how a jumbo MTU must be set depends on *which vmxnet3s build is
installed* (its LSO era and the OS it was built for), not on what the OS is; that is why the
checks take the identified drivers next to the guest facts. Everything else is read from
:class:`~toolsfix.guest.facts.GuestFacts`, so the same checks serve live guests, collector
bundles and offline image roots; facts that are not available make a check "not evaluated"
with the reason.

This module is the entry point only. The checks live one concern per module (:mod:`.lso`,
:mod:`.jumbo`, :mod:`.buffers`) over the shared derived view in :mod:`.netview`, and are
registered here, in this order, in :data:`SOLARIS_NETWORK_CHECKS`. Registering in one place
(rather than by decorators at import time) keeps the order of findings and skips fixed no
matter which check module happens to be imported first.

Every finding carries the concrete commands that fix it (``Finding.commands``), persistent
ones included; steps that cannot be derived safely (editing an existing conf line, moving a
line inside someone's boot script) are ``# MANUAL:`` comments with the exact before/after.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from toolsfix.checks import buffers, jumbo, lso
from toolsfix.checks.base import CheckResult, Registry
from toolsfix.checks.buffers import BUFFER_CHECK, TCP_BUFFER_TARGETS
from toolsfix.checks.jumbo import JUMBO_CHECKS
from toolsfix.checks.lso import LSO_CHECKS
from toolsfix.checks.netview import (
    CONF_PATH,
    NetFacts,
    NetView,
    active_drivers,
    driver_from_modinfo,
    driver_view,
)
from toolsfix.findings import Finding, Outcome, Skipped
from toolsfix.guest.facts import GuestFacts
from toolsfix.installed import InstalledDriver
from toolsfix.knowledge import NIC_MODULE

__all__ = [
    "ALL_CHECKS",
    "BUFFER_CHECK",
    "CONF_PATH",
    "JUMBO_CHECKS",
    "LSO_CHECKS",
    "SOLARIS_NETWORK_CHECKS",
    "TCP_BUFFER_TARGETS",
    "check_solaris_network",
    "evaluate_solaris_network",
]

SOLARIS_NETWORK_CHECKS: Registry[NetFacts] = Registry()
SOLARIS_NETWORK_CHECKS.register(*LSO_CHECKS)(lso.check_lso)
SOLARIS_NETWORK_CHECKS.register(*jumbo.BUILD_CHECKS)(jumbo.check_jumbo_build)
SOLARIS_NETWORK_CHECKS.register(*jumbo.MTU_CHECKS)(jumbo.check_mtu_consistency)
SOLARIS_NETWORK_CHECKS.register(BUFFER_CHECK)(buffers.check_tcp_buffers)

#: Every check id this module may report, in the order the checks run.
ALL_CHECKS: tuple[str, ...] = tuple(i for check in SOLARIS_NETWORK_CHECKS for i in check.ids)


def _dedupe_skips(skips: Iterable[Skipped]) -> list[Skipped]:
    """Several instances or builds can give the same skip; report it once, first one first."""
    seen: set[tuple[str, str, str]] = set()
    out: list[Skipped] = []
    for s in skips:
        key = (s.check, s.reason, s.outcome)
        if key not in seen:
            seen.add(key)
            out.append(s)
    return out


def _vmxnet3s_seen(facts: GuestFacts) -> bool:
    return (
        facts.module(NIC_MODULE) is not None
        or bool(facts.vmxnet3s_instances())
        or facts.driver_conf.known
    )


def evaluate_solaris_network(facts: GuestFacts, drivers: Sequence[InstalledDriver]) -> CheckResult:
    """Every registered Solaris network check over ``facts``, as one :class:`CheckResult`.

    ``drivers`` are the identified vmxnet3s files (both locations may be given; the one the
    running kernel loads is chosen by its bitness). A guest that is not Solaris, or has no
    vmxnet3s at all, gets every check as not-applicable.
    """
    kind = facts.os_kind
    if kind.known and kind.value != "solaris":
        reason = f"not a Solaris guest ({kind.value})"
        return CheckResult.of(
            skipped=[Skipped(c, reason, Outcome.NOT_APPLICABLE) for c in ALL_CHECKS]
        )
    active = active_drivers(facts, drivers)
    if not active and not _vmxnet3s_seen(facts):
        reason = "no vmxnet3s driver installed, loaded or configured"
        return CheckResult.of(
            skipped=[Skipped(c, reason, Outcome.NOT_APPLICABLE) for c in ALL_CHECKS]
        )
    views = [driver_view(d) for d in active]
    if not views:
        from_modinfo = driver_from_modinfo(facts)
        if from_modinfo is not None:
            views.append(from_modinfo)
    result = SOLARIS_NETWORK_CHECKS.run_all(NetFacts(net=NetView(facts), drivers=tuple(views)))
    return CheckResult.of(result.findings, _dedupe_skips(result.skipped))


def check_solaris_network(
    facts: GuestFacts, drivers: Sequence[InstalledDriver]
) -> tuple[list[Finding], list[Skipped]]:
    """LSO, jumbo-frame and TCP-buffer readiness of a Solaris guest with vmxnet3s.

    The (findings, skipped) shape callers have always used; see
    :func:`evaluate_solaris_network`.
    """
    result = evaluate_solaris_network(facts, drivers)
    return list(result.findings), list(result.skipped)
