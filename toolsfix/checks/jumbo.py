"""TF310-TF314: can a jumbo MTU work, persist, and is the MTU in effect the one configured?

How a jumbo MTU is set depends on the installed vmxnet3s build, not on the OS: the Solaris 10
and OpenSolaris builds refuse MTUs above 1500 until ``ndd -set /dev/vmxnet3sN accept-jumbo 1``
ran, and take their persistent MTU from ``MTU=`` in vmxnet3s.conf; the Solaris 11 builds take
it from dladm and ignore ``MTU=``. A Solaris 10 build on a Solaris 11 guest (the configurator
bug) cannot do jumbo frames at all. Hence:

* TF310: Solaris 10 build on a Solaris 11 guest;
* TF311: accept-jumbo build, jumbo MTU wanted, but accept-jumbo or ``MTU=`` missing at boot;
* TF312: Solaris 11 build, ``MTU=`` in the conf relied on;
* TF313: an MTU is configured but another one is in effect;
* TF314: the IP MTU and the link MTU differ.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Optional

from toolsfix.catalog import finding
from toolsfix.checks.base import CheckResult
from toolsfix.checks.netview import (
    CONF_PATH,
    MAX_MTU,
    NO_BUILD_REASON,
    STANDARD_MTU,
    DriverView,
    Mtu,
    MtuSource,
    NetFacts,
    NetView,
    prop_value,
    rc_order,
    setting_evidence,
)
from toolsfix.findings import Evidence, Finding, Outcome, Severity, Skipped
from toolsfix.guest import parsers as p
from toolsfix.knowledge import ACCEPT_JUMBO_FAMILIES, NIC_MODULE

__all__ = [
    "BUILD_CHECKS",
    "JUMBO_CHECKS",
    "MTU_CHECKS",
    "check_jumbo_build",
    "check_mtu_consistency",
]

BUILD_CHECKS = ("TF310", "TF311", "TF312")
MTU_CHECKS = ("TF313", "TF314")
JUMBO_CHECKS = (*BUILD_CHECKS, *MTU_CHECKS)


# --------------------------------------------------------------------------- boot order


def _runs_before(first: p.PersistentSetting, second: p.PersistentSetting) -> Optional[bool]:
    """Does ``first`` run before ``second`` at boot? None when the order cannot be told
    (an SMF method against an rc script: SMF dependencies decide)."""
    if first.path == second.path:
        return first.line < second.line
    a, b = rc_order(first.path), rc_order(second.path)
    if a is None or b is None:
        return None
    return a < b


def _accept_jumbo_problems(net: NetView, inst: int) -> tuple[list[str], list[Evidence], list[str]]:
    """What is missing for a persistent jumbo MTU on a Solaris 10 build: (problems, evidence,
    commands)."""
    problems: list[str] = []
    evidence: list[Evidence] = []
    dev = net.device(inst)
    accept = net.accept_jumbo(inst)
    mtu_scripts = [
        (s, v) for s, v in net.mtu_settings(inst) if v > STANDARD_MTU and s.tool == "ifconfig"
    ]
    evidence += [setting_evidence(s) for s in accept]
    boot_cmds: list[str] = []
    if not accept:
        unlinked = net.unlinked_evidence(
            lambda s: (
                s.tool == "ndd"
                and s.target == f"/dev/{dev}"
                and prop_value(s, "accept-jumbo") == "1"
            )
        )
        evidence += unlinked
        note = (
            f"; {unlinked[0].path}:{unlinked[0].line} has it but is not linked from an rc "
            "directory, so it never runs"
            if unlinked
            else ""
        )
        problems.append(
            f"no boot script or SMF method runs `ndd -set /dev/{dev} accept-jumbo 1`"
            " (there is no ndd -get for it: only boot scripts show it is done)" + note
        )
        if mtu_scripts:
            s = mtu_scripts[0][0]
            boot_cmds.append(
                f"# MANUAL: in {s.path}, add `/usr/sbin/ndd -set /dev/{dev} accept-jumbo 1` "
                f"before line {s.line} (`{s.text}`)"
            )
    else:
        for s, _v in mtu_scripts:
            order = [_runs_before(a, s) for a in accept]
            if any(o is True for o in order):
                continue
            if all(o is False for o in order):
                problems.append(
                    f"`ndd -set /dev/{dev} accept-jumbo 1` runs after the MTU is "
                    f"set at {s.path}:{s.line}, so the MTU is refused"
                )
                boot_cmds.append(
                    f"# MANUAL: move `ndd -set /dev/{dev} accept-jumbo 1` "
                    f"({accept[0].path}:{accept[0].line}) before {s.path}:{s.line} (`{s.text}`)"
                )
    cv = net.conf.value_for("MTU", inst)
    if not (cv.from_conf and cv.value is not None and cv.value > STANDARD_MTU):
        if isinstance(cv.configured, int) and not cv.valid:
            problems.append(
                f"MTU={cv.configured} for instance {inst} in {CONF_PATH} is invalid ({cv.reason})"
            )
        else:
            problems.append(
                f"no MTU above {STANDARD_MTU} for instance {inst} in {CONF_PATH}, "
                "so the jumbo MTU does not persist"
            )
        evidence.append(net.conf_evidence("MTU", inst))
    return problems, evidence, boot_cmds


# --------------------------------------------------------------------------- TF310-TF312


def check_jumbo_build(nf: NetFacts) -> CheckResult:
    """TF310/TF311/TF312: does the installed build let the wanted MTU work and persist?"""
    if not nf.drivers:
        return CheckResult.of(skipped=[Skipped(c, NO_BUILD_REASON) for c in BUILD_CHECKS])
    families = [d for d in nf.drivers if d.family]
    if not families:
        reason = "the installed vmxnet3s build (the OS it was built for) is not identified"
        return CheckResult.of(skipped=[Skipped(c, reason) for c in BUILD_CHECKS])
    # A Solaris 10 build anywhere among the active ones decides (it is the restrictive case).
    drv = next((d for d in families if d.family == "10"), families[0])
    family = drv.family
    assert family is not None
    net = nf.net
    skipped: list[Skipped] = []
    if net.minor is None:
        facts = net.facts
        skipped.append(
            Skipped(
                "TF310",
                "the guest's Solaris release is not known: "
                f"{facts.uname_r.reason or facts.release.reason}",
            )
        )
    if family == "10" and net.minor == 11:
        return CheckResult.of([_solaris10_build_on_solaris11(net, drv)], skipped)
    if family in ACCEPT_JUMBO_FAMILIES:
        # Skips so far come first, as they were decided first.
        return CheckResult.of(skipped=skipped) + _accept_jumbo_build(net, drv, family)
    if family == "11":
        return CheckResult.of(_solaris11_conf_mtu(net, drv), skipped)
    skipped.append(
        Skipped("TF311", f"no jumbo-frame rules for build family {family}", Outcome.NOT_APPLICABLE)
    )
    return CheckResult.of(skipped=skipped)


def _solaris10_build_on_solaris11(net: NetView, drv: DriverView) -> Finding:
    """TF310: jumbo frames cannot work with this build, whatever is configured."""
    wanted = [w for i in net.instances for w in net.jumbo_wanted(i, conf_counts=True)]
    rel_ev = net.facts.uname_r.evidence()
    top = max((w.value for w in wanted), default=None)
    severity: Optional[Severity]
    if top is not None:
        msg = (
            f"{drv.describe()} is a Solaris 10 build on a Solaris 11 guest: a jumbo MTU "
            f"({top}) is configured, but jumbo frames cannot work with this build (the "
            "commands appear to succeed); install the Solaris 11 build first"
        )
        severity = None
    else:
        msg = (
            f"{drv.describe()} is a Solaris 10 build on a Solaris 11 guest: no jumbo MTU"
            " is configured now, but jumbo frames cannot work with this build; install "
            "the Solaris 11 build first"
        )
        severity = Severity.LOW
    return finding(
        "TF310",
        msg,
        evidence=[*drv.evidence, *rel_ev, *(w.evidence for w in wanted)],
        subject=drv.path or NIC_MODULE,
        severity=severity,
        commands=[
            "# MANUAL: install the Solaris 11 vmxnet3s build: `toolsfix patch` the "
            "configurator and re-run vmware-config-tools.pl (see TF200), then reboot",
            "# MANUAL: then set the MTU with `dladm set-linkprop -p mtu=9000 <link>` "
            "(MTU= in vmxnet3s.conf is ignored by Solaris 11 builds)",
        ],
    )


def _accept_jumbo_build(net: NetView, drv: DriverView, family: str) -> CheckResult:
    """TF311: per instance wanting a jumbo MTU, what keeps it from working after a reboot."""
    facts = net.facts
    jumbo: dict[int, tuple[int, list[Mtu]]] = {}
    for inst in net.instances:
        wanted = net.jumbo_wanted(inst, conf_counts=True)
        if wanted:
            jumbo[inst] = (min(max(w.value for w in wanted), MAX_MTU), wanted)
    conf_fix_values = {i: m for i, (m, _w) in jumbo.items()}
    if jumbo and not facts.persistent_settings.known:
        reason = (
            "a jumbo MTU is wanted, but boot scripts could not be scanned for accept-jumbo: "
            f"{facts.persistent_settings.reason}"
        )
        return CheckResult.of(skipped=[Skipped("TF311", reason)])
    findings: list[Finding] = []
    for inst, (mtu, wanted) in sorted(jumbo.items()):
        problems, evidence, boot_cmds = _accept_jumbo_problems(net, inst)
        if not problems:
            continue
        dev = net.device(inst)
        cmds = [f"ndd -set /dev/{dev} accept-jumbo 1", f"ifconfig {dev} mtu {mtu}"]
        cv = net.conf.value_for("MTU", inst)
        if not (cv.from_conf and cv.value is not None and cv.value > STANDARD_MTU):
            cmds += net.conf_list_fix("MTU", conf_fix_values)
        if not net.accept_jumbo(inst) and not boot_cmds:
            script = f"/etc/rc2.d/S99toolsfix-jumbo-{dev}"
            cmds += [
                f"printf '%s\\n' '#!/sbin/sh' '/usr/sbin/ndd -set /dev/{dev} accept-jumbo 1'"
                f" '/usr/sbin/ifconfig {dev} mtu {mtu}' > {script}",
                f"chmod 744 {script}",
            ]
        cmds += boot_cmds
        asked = ", ".join(sorted({f"{w.value} ({w.source})" for w in wanted}))
        msg = (
            f"{dev}: a jumbo MTU is wanted ({asked}) on {drv.describe()}, a "
            f"Solaris {family} build that refuses MTUs above {STANDARD_MTU} until "
            f"accept-jumbo is enabled: " + "; ".join(problems)
        )
        findings.append(
            finding(
                "TF311",
                msg,
                evidence=[*(w.evidence for w in wanted), *evidence, *drv.evidence],
                subject=dev,
                instance=inst,
                mtu=mtu,
                commands=cmds,
            )
        )
    return CheckResult.of(findings)


def _solaris11_conf_mtu(net: NetView, drv: DriverView) -> list[Finding]:
    """TF312: ``MTU=`` in the conf is the only thing asking for the jumbo MTU, and ignored."""
    findings: list[Finding] = []
    for inst in net.instances:
        cv = net.conf.value_for("MTU", inst)
        if not (isinstance(cv.configured, int) and cv.configured > STANDARD_MTU):
            continue
        link = net.link(inst)
        active = net.link_mtu(inst)
        persisted = [
            (s, v) for s, v in net.mtu_settings(inst) if s.tool == "dladm" and v == cv.configured
        ]
        if persisted or (active is not None and active.value == cv.configured):
            continue  # the MTU comes from elsewhere: the conf line is not relied on
        mtu = min(cv.configured, MAX_MTU)
        evidence = [net.conf_evidence("MTU", inst), *drv.evidence]
        state = (
            f"the link MTU is {active.value}"
            if active is not None
            else "no dladm setting delivers it"
        )
        if active is not None:
            evidence.insert(1, active.evidence)
        conf_prop = net.conf.get("MTU")
        dev = net.device(inst)
        msg = (
            f"{dev}: MTU={cv.configured} in {CONF_PATH} is relied on, but "
            f"{drv.describe()} is a Solaris 11 build, which ignores MTU=; {state}"
        )
        findings.append(
            finding(
                "TF312",
                msg,
                evidence=evidence,
                subject=dev,
                instance=inst,
                link=link,
                interface=link,
                mtu=mtu,
                commands=[
                    f"# dladm refuses to change the MTU of a busy link: from the console, "
                    f"`ipadm disable-if -t {link}` first and `ipadm enable-if -t {link}` after",
                    f"dladm set-linkprop -p mtu={mtu} {link}",
                    f"ipadm set-ifprop -p mtu={mtu} -m ipv4 {link}",
                    f"# MANUAL: remove the MTU= entry from {CONF_PATH}"
                    + (f" line {conf_prop.line}" if conf_prop else "")
                    + " (ignored by this build)",
                ],
            )
        )
    return findings


# --------------------------------------------------------------------------- TF313/TF314


def _configured_mtus(net: NetView, inst: int, conf_counts: bool) -> list[tuple[Mtu, str]]:
    """Every MTU the configuration asks for on ``inst``, with its level (``link`` or ``ip``)."""
    configured: list[tuple[Mtu, str]] = []
    if conf_counts:
        cv = net.conf.value_for("MTU", inst)
        if cv.from_conf and cv.value is not None:
            ev = net.conf_evidence("MTU", inst)
            configured.append((Mtu(value=cv.value, evidence=ev, source=MtuSource.CONF), "link"))
    for s, value in net.mtu_settings(inst):
        level = "link" if s.tool == "dladm" else "ip"
        configured.append(
            (Mtu(value=value, evidence=setting_evidence(s), source=MtuSource.SCRIPT), level)
        )
    ipadm_persist = net.ip_mtu_persistent(inst)
    if ipadm_persist is not None:
        configured.append((ipadm_persist, "ip"))
    return configured


def _configured_vs_active(
    net: NetView,
    inst: int,
    configured: Sequence[tuple[Mtu, str]],
    link_now: Optional[Mtu],
    ip_now: Optional[Mtu],
    conf_counts: bool,
) -> Optional[Finding]:
    """TF313 for one instance: a configured MTU that is not the one in effect."""
    mismatches: list[str] = []
    evidence: list[Evidence] = []
    for want, level in configured:
        # Solaris 10 has no separate link MTU view: ifconfig's MTU is the one in effect.
        active = (link_now or ip_now) if level == "link" else (ip_now or link_now)
        if active is None or active.value == want.value:
            continue
        mismatches.append(f"configured {want.value} ({want.source}) but {active.value} is active")
        evidence += [want.evidence, active.evidence]
    if not mismatches:
        return None
    dev = net.device(inst)
    configured_values = sorted({w.value for w, _l in configured})
    target = configured_values[-1]
    link = net.link(inst)
    how = (
        f"(`ndd -set /dev/{dev} accept-jumbo 1`, then `ifconfig {dev} mtu {target}`)"
        if conf_counts
        else f"(`dladm set-linkprop -p mtu={target} {link}`, then `ipadm "
        f"set-ifprop -p mtu={target} -m ipv4 {link}`)"
    )
    return finding(
        "TF313",
        f"{dev}: " + "; ".join(mismatches),
        evidence=list(dict.fromkeys(evidence)),
        subject=dev,
        configured=", ".join(str(v) for v in configured_values),
        commands=[
            f"# MANUAL: decide which MTU is right for {link}: either apply the "
            f"configured one ({target}) to the running link {how}, or correct the configuration",
        ],
    )


def _ip_vs_link(net: NetView, inst: int, link_now: Mtu, ip_now: Mtu) -> Optional[Finding]:
    """TF314 for one instance: IP MTU and link MTU differ."""
    if link_now.value == ip_now.value:
        return None
    dev = net.device(inst)
    link = net.link(inst)
    cmds = (
        [f"ipadm set-ifprop -p mtu={link_now.value} -m ipv4 {link}"]
        if ip_now.value < link_now.value
        else [
            f"# MANUAL: the IP MTU ({ip_now.value}) exceeds the link MTU "
            f"({link_now.value}) of {link}; set the link MTU first"
        ]
    )
    msg = f"{dev}: IP MTU {ip_now.value} and link MTU {link_now.value} of {link} differ" + (
        "; frames above the IP MTU are never sent, so the jumbo link MTU is not used"
        if ip_now.value < link_now.value
        else ""
    )
    return finding(
        "TF314",
        msg,
        evidence=[ip_now.evidence, link_now.evidence],
        subject=dev,
        mtu=link_now.value,
        interface=link,
        commands=cmds,
    )


def check_mtu_consistency(nf: NetFacts) -> CheckResult:
    """TF313 (configured vs active) and TF314 (IP MTU vs link MTU)."""
    net = nf.net
    facts = net.facts
    families = {d.family for d in nf.drivers if d.family}
    conf_counts = bool(families & set(ACCEPT_JUMBO_FAMILIES))
    runtime_reason = next(
        (
            f.reason
            for f in (facts.link_mtu, facts.dladm_links, facts.ipadm_if_mtu, facts.ifconfig)
            if not f.available and f.reason
        ),
        "no runtime MTU available",
    )
    findings: list[Finding] = []
    any_active = False
    any_pair = False
    for inst in net.instances:
        link_now, ip_now = net.link_mtu(inst), net.ip_mtu(inst)
        if link_now is not None or ip_now is not None:
            any_active = True
        configured = _configured_mtus(net, inst, conf_counts)
        mismatch = _configured_vs_active(net, inst, configured, link_now, ip_now, conf_counts)
        if mismatch is not None:
            findings.append(mismatch)
        # TF314: only where a separate link MTU is visible (dladm on Solaris 11 / illumos).
        if link_now is not None and ip_now is not None:
            any_pair = True
            differ = _ip_vs_link(net, inst, link_now, ip_now)
            if differ is not None:
                findings.append(differ)
    skipped: list[Skipped] = []
    if not any_active:
        skipped.append(Skipped("TF313", f"the active MTU is a runtime fact: {runtime_reason}"))
    if not any_pair and net.minor == 10:
        skipped.append(
            Skipped(
                "TF314",
                "Solaris 10 has no separate link MTU (no dladm link "
                "properties): ifconfig's MTU is the only one",
                Outcome.NOT_APPLICABLE,
            )
        )
    elif not any_pair:
        skipped.append(
            Skipped(
                "TF314",
                "IP MTU and link MTU are not both available (dladm show-linkprop or "
                f"show-link, and ipadm show-ifprop or ifconfig): {runtime_reason}",
            )
        )
    return CheckResult.of(findings, skipped)
