"""TF300/TF301: LSO on with a vmxnet3s build whose old transmit path sends oversized frames.

The old LSO transmit path (Tools through 9.4.x, and the 10.1.x Solaris 10 builds) hands the
virtual NIC segments larger than the MTU; throughput collapses. LSO is off when either the
driver never offers it (``EnableLSO=0`` in vmxnet3s.conf, persistent) or IP never uses it
(``ip_lso_outbound`` 0, which must also be set at boot to survive a reboot). TF300 is "on
now" (or on at boot, judged from the configuration when the runtime value is not available);
TF301 is "off now, but not after the next reboot".
"""

from __future__ import annotations

from typing import NamedTuple, Optional

from toolsfix.catalog import finding
from toolsfix.checks.base import CheckResult
from toolsfix.checks.netview import (
    NO_BUILD_REASON,
    DriverView,
    NetFacts,
    NetView,
    is_ip_lso,
    setting_evidence,
)
from toolsfix.findings import Evidence, Finding, Skipped
from toolsfix.knowledge import NEW_LSO_PATH, OLD_LSO_PATH

__all__ = ["LSO_CHECKS", "check_lso"]

LSO_CHECKS = ("TF300", "TF301")
_CONFIDENCE_ORDER = {"high": 0, "medium": 1, "low": 2}


# A NamedTuple, not a frozen dataclass: it is private and never replaced or serialised, and a
# dataclass costs about a millisecond at import (its methods are generated and compiled).
class _Risk(NamedTuple):
    driver: DriverView
    confidence: str
    why: str


def _lso_risk(drv: DriverView) -> tuple[Optional[_Risk], Optional[str]]:
    """(risk, None), (None, None) for a safe build, or (None, reason) when undecidable."""
    if drv.era == OLD_LSO_PATH:
        why = (
            f"{drv.describe()} uses the old LSO transmit path (Tools through 9.4.x, or a "
            "10.1.x Solaris 10 build), which sends frames larger than the MTU"
        )
        return _Risk(drv, "high" if drv.path else "medium", why), None
    if drv.era == NEW_LSO_PATH:
        return None, None
    if drv.family == "10":
        why = (
            f"{drv.describe()} is a Solaris 10 build whose LSO transmit path could not be "
            "established; Solaris 10 builds through Tools 9.4.x and again in 10.1.x use the "
            "old path, so it is treated as at risk"
        )
        return _Risk(drv, "low", why), None
    return None, (
        f"LSO transmit path of {drv.describe()} is unknown "
        f"(build family {drv.family or 'unknown'}); cannot tell whether LSO is safe"
    )


def _ip_lso_commands(net: NetView, persist_only: bool) -> list[str]:
    if net.minor == 11:
        # ipadm properties are persistent unless -t is given, and take effect at once.
        return ["ipadm set-prop -p _lso_outbound=0 ip"]
    script = "/etc/rc2.d/S99toolsfix-nolso"
    cmds = [] if persist_only else ["ndd -set /dev/ip ip_lso_outbound 0"]
    cmds += [
        f"printf '%s\\n' '#!/sbin/sh' '/usr/sbin/ndd -set /dev/ip ip_lso_outbound 0' > {script}",
        f"chmod 744 {script}",
    ]
    return cmds


def check_lso(nf: NetFacts) -> CheckResult:
    """TF300 (LSO on with an at-risk build) and TF301 (off only until the next reboot)."""
    if not nf.drivers:
        return CheckResult.of(skipped=[Skipped(c, NO_BUILD_REASON) for c in LSO_CHECKS])
    risks: list[_Risk] = []
    undecided: list[str] = []
    for drv in nf.drivers:
        risk, reason = _lso_risk(drv)
        if risk is not None:
            risks.append(risk)
        elif reason is not None:
            undecided.append(reason)
    if not risks:
        if undecided:
            return CheckResult.of(skipped=[Skipped(c, "; ".join(undecided)) for c in LSO_CHECKS])
        return CheckResult()
    risks.sort(key=lambda r: _CONFIDENCE_ORDER.get(r.confidence, 3))
    return _judge_instances(nf.net, risks)


def _judge_instances(net: NetView, risks: list[_Risk]) -> CheckResult:
    """Per vmxnet3s instance: is LSO on (now, or at boot), given the worst at-risk build?"""
    risk = risks[0]
    drv_evidence = [e for r in risks for e in r.driver.evidence]
    facts = net.facts

    runtime = facts.ip_lso_outbound
    runtime_value = runtime.value if runtime.known else None
    persist_value, persist_setting = net.ip_lso_persistent()
    runtime_ev = runtime.source if runtime.known and runtime.source else None
    persist_ev = setting_evidence(persist_setting) if persist_setting else None

    scripts = facts.persistent_settings
    unlinked = net.unlinked_evidence(is_ip_lso)
    unlinked_note = (
        f"; {unlinked[0].path}:{unlinked[0].line} sets it but is not linked from an rc "
        "directory, so it never runs"
        if unlinked
        else ""
    )
    findings: list[Finding] = []
    skipped: list[Skipped] = []
    for inst in net.instances:
        cv = net.conf.value_for("EnableLSO", inst)
        if cv.value != 1:
            continue  # EnableLSO=0 in the conf: the driver never offers LSO (persistent)
        subject = net.device(inst)
        conf_ev = net.conf_evidence("EnableLSO", inst)
        who = subject if net.instances_known else f"{subject} (instance list not available)"
        lso_note = f"EnableLSO is {cv.value} for instance {inst} ({cv.reason})"
        evidence = [conf_ev, *drv_evidence, *unlinked]
        fix_conf = net.conf_list_fix("EnableLSO", {}, fill=0)
        if runtime_value is not None:
            assert runtime_ev is not None
            evidence.insert(1, runtime_ev)
            if persist_ev is not None:
                evidence.insert(2, persist_ev)
            if runtime_value != 0:
                msg = (
                    f"{who}: LSO is on: {lso_note} and ip_lso_outbound is {runtime_value}; "
                    f"{risk.why}"
                )
                findings.append(
                    finding(
                        "TF300",
                        msg,
                        evidence=evidence,
                        subject=subject,
                        confidence=risk.confidence,
                        commands=[*_ip_lso_commands(net, False), *fix_conf],
                    )
                )
            elif not scripts.known:
                skipped.append(
                    Skipped(
                        "TF301",
                        "ip_lso_outbound is 0 now, but whether that "
                        f"survives a reboot is unknown: {scripts.reason}",
                    )
                )
            elif persist_value != 0:
                where = (
                    f"the boot configuration sets it to {persist_value}"
                    if persist_value is not None
                    else "neither the conf (EnableLSO=0) nor a boot script or SMF method "
                    "(ndd -set /dev/ip ip_lso_outbound 0) makes that persistent"
                )
                confidence = risk.confidence
                if net.minor == 11 and persist_value is None:
                    # `ipadm set-prop` run by hand persists in the ipadm store, which the
                    # facts do not show: only boot scripts were seen.
                    where += (
                        " (unless it was set with `ipadm set-prop -p _lso_outbound=0 ip`,"
                        " whose persistent store is not captured)"
                    )
                    confidence = "medium" if confidence == "high" else "low"
                msg = (
                    f"{who}: LSO is off only until the next reboot: ip_lso_outbound is 0 now "
                    f"but {where}{unlinked_note}; {lso_note}; {risk.why}"
                )
                findings.append(
                    finding(
                        "TF301",
                        msg,
                        evidence=evidence,
                        subject=subject,
                        confidence=confidence,
                        commands=[*_ip_lso_commands(net, True), *fix_conf],
                    )
                )
            continue
        # No runtime value (image root, or not captured): decide from the persistent config.
        if persist_value == 0:
            continue
        if persist_ev is not None:
            evidence.insert(1, persist_ev)
        evidence.insert(
            1,
            Evidence(
                command="ndd -get /dev/ip ip_lso_outbound",
                detail=runtime.reason or "runtime value not available",
            ),
        )
        confidence = risk.confidence
        if not scripts.known:
            persisted = f"boot scripts could not be scanned ({scripts.reason})"
            confidence = "low"
        elif persist_value is None:
            persisted = "no boot script or SMF method sets ip_lso_outbound to 0" + unlinked_note
        else:
            persisted = f"the boot configuration sets ip_lso_outbound to {persist_value}"
        msg = (
            f"{who}: LSO is on at boot, decided from the persistent configuration (the "
            f"runtime ip_lso_outbound is not available: {runtime.reason}): {lso_note} and "
            f"{persisted}; {risk.why}"
        )
        findings.append(
            finding(
                "TF300",
                msg,
                evidence=evidence,
                subject=subject,
                confidence=confidence,
                commands=[*_ip_lso_commands(net, False), *fix_conf],
            )
        )
    return CheckResult.of(findings, skipped)
