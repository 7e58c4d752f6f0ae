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
from toolsfix.findings import Evidence, Finding, Skipped
from toolsfix.guest import parsers as p
from toolsfix.guest.facts import Fact, GuestFacts

__all__ = ["ALL_CHECKS", "MD5_OFFLOADS", "check_linux_network"]

ALL_CHECKS = ("TF400", "TF401", "TF402")
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


def _check_md5(facts: GuestFacts) -> tuple[list[Finding], list[Skipped]]:
    peers_fact = facts.bgp_md5_peers
    if not peers_fact.known:
        return [], [Skipped("TF400", f"BGP configuration not available: {peers_fact.reason}")]
    peers = peers_fact.value or ()
    if not peers:
        return [], []
    ifaces = _interfaces_k(facts)
    if not ifaces:
        reason = facts.interfaces.reason if not facts.interfaces.known else "no interfaces"
        return [], [Skipped("TF400", "BGP MD5 peers are configured but no `ethtool -k` output "
                            f"is available: {reason}")]
    peer_ev = [
        Evidence(path=peer.path, line=peer.line, excerpt=peer.redacted,
                 detail=f"router bgp {peer.asn}" if peer.asn else None)
        for peer in peers
    ]
    findings: list[Finding] = []
    skipped: list[Skipped] = []
    for name, fact in ifaces.items():
        if not fact.known or fact.value is None:
            skipped.append(Skipped("TF400", f"{name}: {fact.reason}"))
            continue
        on = [
            (fact.value.features[key], short) for key, short in MD5_OFFLOADS
            if fact.value.enabled(key) is True
        ]
        if not on:
            continue
        fixed = [feat.name for feat, _s in on if feat.fixed]
        names = ", ".join(feat.name for feat, _s in on)
        peer_list = ", ".join(sorted({peer.peer for peer in peers}))
        msg = (f"{name}: {names} on while BGP peers {peer_list} use TCP-MD5 signatures; "
               "re-segmented or merged segments fail the digest (`TCP: MD5 Hash failed`)")
        if fixed:
            msg += f"; {', '.join(fixed)} cannot be changed ([fixed])"
        off = " ".join(f"{short} off" for _f, short in on)
        findings.append(finding(
            "TF400", msg,
            evidence=[*peer_ev, *(_feature_evidence(fact, feat) for feat, _s in on)],
            subject=name, interface=name,
            commands=[f"ethtool -K {name} {off}", _PERSIST_NOTE.format(interface=name)],
        ))
    return findings, skipped


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


def _check_lro(facts: GuestFacts) -> tuple[list[Finding], list[Skipped]]:
    forwards, fwd_ev, how = _forwarding(facts)
    if forwards is None:
        return [], [Skipped("TF401", f"IPv4 forwarding state not available: {how}")]
    if not forwards:
        return [], []
    ifaces = _interfaces_k(facts)
    if not ifaces:
        return [], [Skipped("TF401", "IPv4 forwarding is on but no `ethtool -k` output is "
                            "available")]
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
            cmds.append("# optional for vmxnet3: disable LRO on the ESXi host too "
                        "(Net.Vmxnet3HwLRO / Net.Vmxnet3SwLRO, see TF410); older drivers "
                        "also take `modprobe vmxnet3 disable_lro=1`")
        msg = (f"{name}: large-receive-offload on while the guest forwards IPv4 ({how}); "
               "merged frames larger than the next hop's MTU are dropped or answered with "
               "'need to frag'")
        if feat.fixed:
            msg += " (LRO is [fixed] on this device)"
        evidence = [*fwd_ev, _feature_evidence(fact, feat)]
        if info is not None and info.value is not None and driver:
            evidence.append(info.evidence_at(info.value.lines.get("driver"), f"driver: {driver}"))
        findings.append(finding(
            "TF401", msg, evidence=evidence, subject=name, interface=name, commands=cmds,
        ))
    return findings, skipped


def _check_maxmtu(facts: GuestFacts) -> tuple[list[Finding], list[Skipped]]:
    links_fact = facts.ip_links
    if not links_fact.known:
        return [], [Skipped("TF402", f"`ip -d link` not available: {links_fact.reason}")]
    links = [ln for ln in links_fact.value or () if ln.name != "lo"]
    # maxmtu 0 means "no limit reported" (loopback, ifb); older iproute2 omits it.
    bounded = [ln for ln in links if ln.maxmtu and ln.mtu is not None]
    if not bounded:
        return [], [Skipped("TF402", "`ip -d link` reports no maxmtu (older iproute2 or no "
                            "bounded device)")]
    findings: list[Finding] = []
    for ln in bounded:
        assert ln.mtu is not None and ln.maxmtu is not None
        if ln.mtu <= ln.maxmtu:
            continue
        msg = f"{ln.name}: MTU {ln.mtu} is above the device maximum {ln.maxmtu}"
        findings.append(finding(
            "TF402", msg, evidence=[links_fact.evidence_at(ln.line, ln.raw)], subject=ln.name,
            interface=ln.name, maximum=ln.maxmtu,
            commands=[
                f"ip link set dev {ln.name} mtu {ln.maxmtu}",
                f"# MANUAL: lower the MTU of {ln.name} in its persistent interface "
                f"configuration to at most {ln.maxmtu}",
            ],
        ))
    return findings, []


def check_linux_network(facts: GuestFacts) -> tuple[list[Finding], list[Skipped]]:
    """TF400 (BGP MD5 with TSO/GSO/SG), TF401 (forwarding with LRO), TF402 (MTU > maxmtu)."""
    kind = facts.os_kind
    if kind.known and kind.value != "linux":
        reason = f"not a Linux guest ({kind.value})"
        return [], [Skipped(c, reason, "not-applicable") for c in ALL_CHECKS]
    findings: list[Finding] = []
    skipped: list[Skipped] = []
    for f, s in (_check_md5(facts), _check_lro(facts), _check_maxmtu(facts)):
        findings += f
        skipped += s
    return findings, skipped
