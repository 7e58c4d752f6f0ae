"""Linux guest offload pitfalls: TCP-MD5 BGP with segmentation offloads, LRO on a router, MTUs
above the device maximum.

These are the Linux side of the same story as the Solaris vmxnet3s checks: an offload that
re-segments or merges TCP frames breaks something the guest relies on (MD5 signatures over
exact segments, or forwarding frames no bigger than the next hop's MTU). Pure functions over
:class:`~toolsfix.guest.facts.GuestFacts`; a BGP secret never reaches a finding (the facts
keep only a redacted line).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Optional

from toolsfix.catalog import finding
from toolsfix.checks.base import CheckResult, Registry
from toolsfix.findings import Evidence, Finding, Outcome, Skipped
from toolsfix.guest import parsers as p
from toolsfix.guest.facts import Fact, GuestFacts

__all__ = [
    "ALL_CHECKS",
    "LINUX_NETWORK_CHECKS",
    "MD5_OFFLOADS",
    "check_linux_network",
    "evaluate_linux_network",
    "guest_forwards",
]

#: The Linux network checks, run in registration order (the order of this module).
LINUX_NETWORK_CHECKS: Registry[GuestFacts] = Registry()
# Offloads that let a TCP segment be cut or re-assembled after the MD5 digest was computed,
# with the ``ethtool -K`` short name that turns each off.
MD5_OFFLOADS: tuple[tuple[str, str], ...] = (
    ("tcp-segmentation-offload", "tso"),
    ("generic-segmentation-offload", "gso"),
    ("scatter-gather", "sg"),
)
LRO = "large-receive-offload"

_PERSIST_NOTE = (
    "# MANUAL: persist the ethtool setting for {interface} in its interface configuration "
    "(ETHTOOL_OPTS in ifcfg-{interface}, a post-up line in /etc/network/interfaces, or "
    "NetworkManager's ethtool settings): it is lost at reboot"
)


def _feature_evidence(fact: Fact[p.EthtoolFeatures], feat: p.EthtoolFeature) -> Evidence:
    return fact.evidence_at(feat.line, feat.raw)


def _interfaces_k(facts: GuestFacts) -> Mapping[str, Fact[p.EthtoolFeatures]]:
    return {name: f for name, f in sorted(facts.ethtool_k.items()) if name != "lo"}


@LINUX_NETWORK_CHECKS.register("TF400")
def check_md5(facts: GuestFacts) -> CheckResult:
    """TF400: BGP peers sign with TCP-MD5 while TSO, GSO or SG may re-cut the segments."""
    peers_fact = facts.bgp_md5_peers
    if not peers_fact.known:
        reason = f"BGP configuration not available: {peers_fact.reason}"
        return CheckResult.of(skipped=[Skipped("TF400", reason)])
    peers = peers_fact.value or ()
    if not peers:
        return CheckResult()
    ifaces = _interfaces_k(facts)
    if not ifaces:
        why = facts.interfaces.reason if not facts.interfaces.known else "no interfaces"
        reason = f"BGP MD5 peers are configured but no `ethtool -k` output is available: {why}"
        return CheckResult.of(skipped=[Skipped("TF400", reason)])
    peer_ev = [
        Evidence(
            path=peer.path,
            line=peer.line,
            excerpt=peer.redacted,
            detail=f"router bgp {peer.asn}" if peer.asn else None,
        )
        for peer in peers
    ]
    findings: list[Finding] = []
    skipped: list[Skipped] = []
    for name, fact in ifaces.items():
        if not fact.known or fact.value is None:
            skipped.append(Skipped("TF400", f"{name}: {fact.reason}"))
            continue
        on = [
            (fact.value.features[key], short)
            for key, short in MD5_OFFLOADS
            if fact.value.enabled(key) is True
        ]
        if not on:
            continue
        fixed = [feat.name for feat, _s in on if feat.fixed]
        names = ", ".join(feat.name for feat, _s in on)
        peer_list = ", ".join(sorted({peer.peer for peer in peers}))
        msg = (
            f"{name}: {names} on while BGP peers {peer_list} use TCP-MD5 signatures; "
            "re-segmented or merged segments fail the digest (`TCP: MD5 Hash failed`)"
        )
        if fixed:
            msg += f"; {', '.join(fixed)} cannot be changed ([fixed])"
        off = " ".join(f"{short} off" for _f, short in on)
        findings.append(
            finding(
                "TF400",
                msg,
                evidence=[*peer_ev, *(_feature_evidence(fact, feat) for feat, _s in on)],
                subject=name,
                interface=name,
                commands=[f"ethtool -K {name} {off}", _PERSIST_NOTE.format(interface=name)],
            )
        )
    return CheckResult.of(findings, skipped)


def _forwarding(facts: GuestFacts) -> tuple[Optional[bool], list[Evidence], str]:
    """(forwards?, evidence, how): runtime sysctl first, then the boot sysctl files."""
    runtime, boot = facts.ip_forward, facts.ip_forward_boot
    evidence: list[Evidence] = []
    how = []
    forwards: Optional[bool] = None
    if runtime.known:
        evidence += runtime.evidence()
        forwards = runtime.value == 1
        how.append(f"net.ipv4.ip_forward is {runtime.value} now")
    if boot.known:
        if boot.value == 1:
            evidence += boot.evidence()
            how.append("set to 1 at boot")
            forwards = True
        elif forwards is None:
            forwards = False
    if forwards is None:
        return None, [], f"{runtime.reason}; {boot.reason}"
    return forwards, evidence, ", ".join(how)


def guest_forwards(facts: GuestFacts) -> Optional[bool]:
    """Does the guest route IPv4 (runtime or at boot)? None when unknown (for ``check_esxi``)."""
    return _forwarding(facts)[0]


@LINUX_NETWORK_CHECKS.register("TF401")
def check_lro(facts: GuestFacts) -> CheckResult:
    """TF401: the guest forwards IPv4 while LRO merges frames beyond the next hop's MTU."""
    forwards, fwd_ev, how = _forwarding(facts)
    if forwards is None:
        reason = f"IPv4 forwarding state not available: {how}"
        return CheckResult.of(skipped=[Skipped("TF401", reason)])
    if not forwards:
        return CheckResult()
    ifaces = _interfaces_k(facts)
    if not ifaces:
        reason = "IPv4 forwarding is on but no `ethtool -k` output is available"
        return CheckResult.of(skipped=[Skipped("TF401", reason)])
    findings: list[Finding] = []
    skipped: list[Skipped] = []
    for name, fact in ifaces.items():
        if not fact.known or fact.value is None:
            skipped.append(Skipped("TF401", f"{name}: {fact.reason}"))
            continue
        feat = fact.value.features.get(LRO)
        if feat is None or feat.enabled is not True:
            continue
        info = facts.ethtool_i.get(name)
        driver = info.value.driver if info is not None and info.value is not None else None
        cmds = [f"ethtool -K {name} lro off", _PERSIST_NOTE.format(interface=name)]
        if driver == "vmxnet3":
            cmds.append(
                "# optional for vmxnet3: disable LRO on the ESXi host too "
                "(Net.Vmxnet3HwLRO / Net.Vmxnet3SwLRO, see TF410); older drivers "
                "also take `modprobe vmxnet3 disable_lro=1`"
            )
        msg = (
            f"{name}: large-receive-offload on while the guest forwards IPv4 ({how}); "
            "merged frames larger than the next hop's MTU are dropped or answered with "
            "'need to frag'"
        )
        if feat.fixed:
            msg += " (LRO is [fixed] on this device)"
        evidence = [*fwd_ev, _feature_evidence(fact, feat)]
        if info is not None and info.value is not None and driver:
            evidence.append(info.evidence_at(info.value.lines.get("driver"), f"driver: {driver}"))
        findings.append(
            finding(
                "TF401",
                msg,
                evidence=evidence,
                subject=name,
                interface=name,
                commands=cmds,
            )
        )
    return CheckResult.of(findings, skipped)


@LINUX_NETWORK_CHECKS.register("TF402")
def check_maxmtu(facts: GuestFacts) -> CheckResult:
    """TF402: an interface MTU above what its device accepts (``ip -d link`` maxmtu)."""
    links_fact = facts.ip_links
    if not links_fact.known:
        reason = f"`ip -d link` not available: {links_fact.reason}"
        return CheckResult.of(skipped=[Skipped("TF402", reason)])
    links = [ln for ln in links_fact.value or () if ln.name != "lo"]
    # maxmtu 0 means "no limit reported" (loopback, ifb); older iproute2 omits it.
    bounded = [ln for ln in links if ln.maxmtu and ln.mtu is not None]
    if not bounded:
        reason = "`ip -d link` reports no maxmtu (older iproute2 or no bounded device)"
        return CheckResult.of(skipped=[Skipped("TF402", reason)])
    findings: list[Finding] = []
    for ln in bounded:
        assert ln.mtu is not None and ln.maxmtu is not None
        if ln.mtu <= ln.maxmtu:
            continue
        msg = f"{ln.name}: MTU {ln.mtu} is above the device maximum {ln.maxmtu}"
        findings.append(
            finding(
                "TF402",
                msg,
                evidence=[links_fact.evidence_at(ln.line, ln.raw)],
                subject=ln.name,
                interface=ln.name,
                maximum=ln.maxmtu,
                commands=[
                    f"ip link set dev {ln.name} mtu {ln.maxmtu}",
                    f"# MANUAL: lower the MTU of {ln.name} in its persistent interface "
                    f"configuration to at most {ln.maxmtu}",
                ],
            )
        )
    return CheckResult.of(findings)


#: Every check id this module may report, in the order the checks run.
ALL_CHECKS: tuple[str, ...] = tuple(i for check in LINUX_NETWORK_CHECKS for i in check.ids)


def evaluate_linux_network(facts: GuestFacts) -> CheckResult:
    """Every registered Linux network check; all not-applicable on a guest known not Linux."""
    kind = facts.os_kind
    if kind.known and kind.value != "linux":
        reason = f"not a Linux guest ({kind.value})"
        return CheckResult.of(
            skipped=[Skipped(c, reason, Outcome.NOT_APPLICABLE) for c in ALL_CHECKS]
        )
    return LINUX_NETWORK_CHECKS.run_all(facts)


def check_linux_network(facts: GuestFacts) -> tuple[list[Finding], list[Skipped]]:
    """TF400 (BGP MD5 with TSO/GSO/SG), TF401 (forwarding with LRO), TF402 (MTU > maxmtu).

    The (findings, skipped) shape callers have always used; see :func:`evaluate_linux_network`.
    """
    result = evaluate_linux_network(facts)
    return list(result.findings), list(result.skipped)
