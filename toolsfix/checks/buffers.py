"""TF320: TCP buffers below the values that let a 10 Gb/s vmxnet3s link between VMs fill up.

Informational: small buffers cost throughput, not correctness. Read from ``ipadm show-prop
tcp`` (Solaris 11); Solaris 10 has no ipadm, so the check is not evaluated there.
"""

from __future__ import annotations

from toolsfix.catalog import finding
from toolsfix.checks.base import CheckResult
from toolsfix.checks.netview import NetFacts
from toolsfix.findings import Evidence, Skipped

__all__ = ["BUFFER_CHECK", "TCP_BUFFER_TARGETS", "check_tcp_buffers"]

BUFFER_CHECK = "TF320"
# Field-tested values for 10 Gb/s between VMs (docs/background.md, "LSO"). Order matters when
# applying them: recv_buf/send_buf cannot exceed max_buf.
TCP_BUFFER_TARGETS: tuple[tuple[str, int], ...] = (
    ("max_buf", 4194304),
    ("recv_buf", 1048576),
    ("send_buf", 1048576),
)


def check_tcp_buffers(nf: NetFacts) -> CheckResult:
    """TF320: each of max_buf, recv_buf, send_buf below its target, with the ipadm fix."""
    fact = nf.facts.ipadm_tcp
    if not fact.known:
        reason = f"ipadm tcp properties not available: {fact.reason}"
        return CheckResult.of(skipped=[Skipped(BUFFER_CHECK, reason)])
    rows = {r.name: r for r in fact.value or () if r.proto in (None, "tcp")}
    if not any(name in rows for name, _t in TCP_BUFFER_TARGETS):
        reason = "`ipadm show-prop tcp` lists none of " + ", ".join(
            n for n, _t in TCP_BUFFER_TARGETS
        )
        return CheckResult.of(skipped=[Skipped(BUFFER_CHECK, reason)])
    low: list[str] = []
    evidence: list[Evidence] = []
    cmds: list[str] = []
    for name, target in TCP_BUFFER_TARGETS:
        row = rows.get(name)
        if row is None or row.int_current is None or row.int_current >= target:
            continue
        low.append(f"{name} {row.int_current} < {target}")
        evidence.append(fact.evidence_at(row.line, row.raw))
        cmds.append(f"ipadm set-prop -p {name}={target} tcp")
    if not low:
        return CheckResult()
    msg = "TCP buffers below the field-tested values for 10 Gb/s between VMs: " + ", ".join(low)
    return CheckResult.of(
        [finding(BUFFER_CHECK, msg, evidence=evidence, subject="tcp", commands=cmds)]
    )
