"""The jumbo probe against real Linux network namespaces (root, iproute2, iputils ping).

Topology, all addresses from the 198.18.0.0/15 benchmark range and assigned only inside
namespaces this module creates (names carry the pid, so parallel runs do not collide):

    client c --(9000/9000)-- router r --(1500/1500)-- s   ICMP "frag needed" comes back
                                      --(9000/9000)-- j   jumbo end to end
                                      --(9000/1500)-- b   MTU mismatch: silent drop
                                      --(9000/9000)-- q   answers no echo at all

Each ping has -c and -W, so every test is bounded; the namespaces are removed in a finalizer
registered before the first one is created, so a failure half-way still cleans up.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from toolsfix.probe import Verdict, find_path_mtu, probe_jumbo

pytestmark = pytest.mark.netns

PID = os.getpid()


def _skip_reason() -> str | None:
    if os.name != "posix" or os.geteuid() != 0:
        return "needs root to create network namespaces"
    if shutil.which("ip") is None:
        return "needs iproute2 (`ip`)"
    ping = shutil.which("ping")
    if ping is None:
        return "needs iputils ping (apt-get install iputils-ping)"
    try:
        version = subprocess.run(
            [ping, "-V"], capture_output=True, text=True, timeout=10, check=False
        )
    except (OSError, subprocess.SubprocessError) as exc:
        return f"cannot run ping -V: {exc}"
    if "iputils" not in (version.stdout + version.stderr):
        return "needs iputils ping for -M do (found another ping)"
    probe_ns = f"tfp-{PID}-probe"
    made = subprocess.run(
        ["ip", "netns", "add", probe_ns], capture_output=True, text=True, timeout=10, check=False
    )
    if made.returncode != 0:
        return f"`ip netns` is unavailable: {made.stderr.strip()}"
    subprocess.run(["ip", "netns", "del", probe_ns], capture_output=True, timeout=10, check=False)
    return None


def _ip(*args: str) -> None:
    done = subprocess.run(["ip", *args], capture_output=True, text=True, timeout=10, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"ip {' '.join(args)}: {done.stderr.strip()}")


@dataclass(frozen=True)
class Net:
    client: str
    router_addr: str
    frag_host: str
    jumbo_host: str
    blackhole_host: str
    quiet_host: str

    @property
    def ping(self) -> list[str]:
        return ["ip", "netns", "exec", self.client, "ping"]


@pytest.fixture(scope="module")
def net(request: pytest.FixtureRequest) -> Iterator[Net]:
    reason = _skip_reason()
    if reason:
        pytest.skip(reason)
    ns = {k: f"tfp-{PID}-{k}" for k in ("c", "r", "s", "j", "b", "q")}

    def cleanup() -> None:
        for name in ns.values():
            subprocess.run(
                ["ip", "netns", "del", name], capture_output=True, timeout=10, check=False
            )

    request.addfinalizer(cleanup)
    for name in ns.values():
        _ip("netns", "add", name)
        _ip("-n", name, "link", "set", "lo", "up")
    # (far namespace, router-side MTU, far-side MTU, subnet index)
    legs = {
        "c": (9000, 9000, 0),
        "s": (1500, 1500, 1),
        "j": (9000, 9000, 2),
        "b": (9000, 1500, 3),
        "q": (9000, 9000, 4),
    }
    for key, (r_mtu, far_mtu, idx) in legs.items():
        r_if, far_if = f"tfpr{idx}", f"tfp{key}0"
        _ip(
            "link",
            "add",
            r_if,
            "netns",
            ns["r"],
            "type",
            "veth",
            "peer",
            "name",
            far_if,
            "netns",
            ns[key],
        )
        _ip("-n", ns["r"], "link", "set", r_if, "mtu", str(r_mtu))
        _ip("-n", ns[key], "link", "set", far_if, "mtu", str(far_mtu))
        _ip("-n", ns["r"], "addr", "add", f"198.18.{idx}.1/24", "dev", r_if)
        _ip("-n", ns[key], "addr", "add", f"198.18.{idx}.2/24", "dev", far_if)
        _ip("-n", ns["r"], "link", "set", r_if, "up")
        _ip("-n", ns[key], "link", "set", far_if, "up")
        _ip("-n", ns[key], "route", "add", "default", "via", f"198.18.{idx}.1")
    for name, setting in (
        (ns["r"], "net.ipv4.ip_forward=1"),
        (ns["q"], "net.ipv4.icmp_echo_ignore_all=1"),
    ):
        subprocess.run(
            ["ip", "netns", "exec", name, "sysctl", "-qw", setting], check=True, timeout=10
        )
    yield Net(
        client=ns["c"],
        router_addr="198.18.0.1",
        frag_host="198.18.1.2",
        jumbo_host="198.18.2.2",
        blackhole_host="198.18.3.2",
        quiet_host="198.18.4.2",
    )


def test_direct_9000_link_passes(net: Net) -> None:
    r = probe_jumbo(net.router_addr, mtu=9000, count=2, timeout=1, ping=net.ping)
    assert r.verdict is Verdict.PASS, r.to_dict()
    assert r.received == 2


def test_routed_9000_path_passes(net: Net) -> None:
    r = probe_jumbo(net.jumbo_host, mtu=9000, count=3, timeout=1, ping=net.ping)
    assert r.verdict is Verdict.PASS, r.to_dict()
    assert r.payload == 8972
    assert "-M do" in r.command_line and "-c 3" in r.command_line


def test_1500_hop_is_too_big_and_reports_1500(net: Net) -> None:
    r = probe_jumbo(net.frag_host, mtu=9000, count=3, timeout=1, ping=net.ping)
    assert r.verdict is not Verdict.PASS
    assert r.verdict in (Verdict.TOO_BIG, Verdict.NO_REPLY), r.to_dict()
    if r.verdict is Verdict.TOO_BIG:
        assert r.path_mtu == 1500
        # The router's ICMP or the client's now-cached path MTU.
        assert r.path_mtu_source in ("198.18.0.1", "local")


def test_1500_hop_still_passes_at_1500(net: Net) -> None:
    r = probe_jumbo(net.frag_host, mtu=1500, count=1, timeout=1, ping=net.ping)
    assert r.verdict is Verdict.PASS, r.to_dict()


def test_path_mtu_search_finds_1500(net: Net) -> None:
    res = find_path_mtu(net.frag_host, high=9000, timeout=1, ping=net.ping)
    assert res.path_mtu == 1500, res.to_dict()
    assert res.exact
    assert len(res.probes) <= 4  # the reported MTU short-cuts the search


def test_path_mtu_search_on_jumbo_path_is_9000(net: Net) -> None:
    res = find_path_mtu(net.jumbo_host, high=9000, timeout=1, ping=net.ping)
    assert (res.path_mtu, res.exact, len(res.probes)) == (9000, True, 1)


def test_mtu_mismatch_is_a_silent_drop_seen_by_the_control_ping(net: Net) -> None:
    r = probe_jumbo(net.blackhole_host, mtu=9000, count=2, timeout=1, ping=net.ping)
    assert r.verdict is Verdict.NO_REPLY, r.to_dict()
    assert r.small_reply is True


def test_path_mtu_search_through_a_silent_drop(net: Net) -> None:
    # No ICMP comes back, so this is the plain binary search. A veth accepts frames up to
    # its MTU plus a VLAN tag (4 bytes), so the true limit here is 1500..1504.
    res = find_path_mtu(net.blackhole_host, low=1280, high=9000, timeout=1, ping=net.ping)
    assert res.path_mtu is not None and 1500 <= res.path_mtu <= 1504, res.to_dict()
    assert res.exact
    assert len(res.probes) <= 16


def test_host_that_answers_nothing_is_no_reply_without_small_reply(net: Net) -> None:
    r = probe_jumbo(net.quiet_host, mtu=9000, count=2, timeout=1, ping=net.ping)
    assert r.verdict is Verdict.NO_REPLY, r.to_dict()
    assert r.small_reply is False


def test_unrouted_address_is_not_evaluable(net: Net) -> None:
    r = probe_jumbo("198.18.9.9", mtu=9000, count=1, timeout=1, ping=net.ping)
    assert r.verdict is Verdict.NOT_EVALUABLE, r.to_dict()
    assert "unreachable" in r.notes[0]
