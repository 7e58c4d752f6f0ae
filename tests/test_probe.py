"""Jumbo-frame probe: output parsing, command building and process handling without a network.

The captured outputs are real runs of iputils ping 20221126 between network namespaces
(addresses from the 198.18.0.0/15 benchmark range), plus the Solaris ``ping -s`` statistics
format (docs/probe.md). Process handling is exercised with small fake ``ping`` scripts, so no
packet leaves the machine in this file.
"""

from __future__ import annotations

import json
import platform
import shutil
import stat
from pathlib import Path

import pytest

from toolsfix.probe import (
    PathMtuResult,
    ProbeResult,
    Verdict,
    build_command,
    find_path_mtu,
    normalize_os,
    parse_ping_output,
    probe_jumbo,
    result_from_output,
)

IPUTILS_PASS = """\
PING 198.18.2.2 (198.18.2.2) 8972(9000) bytes of data.
8980 bytes from 198.18.2.2: icmp_seq=1 ttl=63 time=0.328 ms
8980 bytes from 198.18.2.2: icmp_seq=2 ttl=63 time=0.079 ms
8980 bytes from 198.18.2.2: icmp_seq=3 ttl=63 time=0.076 ms

--- 198.18.2.2 ping statistics ---
3 packets transmitted, 3 received, 0% packet loss, time 408ms
rtt min/avg/max/mdev = 0.076/0.161/0.328/0.118 ms
"""

IPUTILS_LOCAL_ERROR = """\
PING 198.18.1.2 (198.18.1.2) 8972(9000) bytes of data.
ping: local error: message too long, mtu=1500
ping: local error: message too long, mtu=1500
ping: local error: message too long, mtu=1500

--- 198.18.1.2 ping statistics ---
3 packets transmitted, 0 received, +3 errors, 100% packet loss, time 408ms
"""

IPUTILS_FRAG_NEEDED = """\
PING 198.18.1.2 (198.18.1.2) 8972(9000) bytes of data.
From 198.18.0.2 icmp_seq=1 Frag needed and DF set (mtu = 1500)

--- 198.18.1.2 ping statistics ---
3 packets transmitted, 0 received, +3 errors, 100% packet loss, time 406ms
"""

IPUTILS_LOSS = """\
PING 198.18.3.2 (198.18.3.2) 8972(9000) bytes of data.
--- 198.18.3.2 ping statistics ---
3 packets transmitted, 0 received, 100% packet loss, time 404ms
"""

IPUTILS_NET_UNREACHABLE = """\
PING 198.18.9.9 (198.18.9.9) 8972(9000) bytes of data.
From 198.18.0.2 icmp_seq=1 Destination Net Unreachable
From 198.18.0.2 icmp_seq=2 Destination Net Unreachable

--- 198.18.9.9 ping statistics ---
2 packets transmitted, 0 received, +2 errors, 100% packet loss, time 1019ms
"""

IPUTILS_UNKNOWN_HOST = "ping: nosuchhost.invalid: Temporary failure in name resolution\n"

BUSYBOX_NO_DF = """\
ping: invalid option -- 'M'
BusyBox v1.35.0 (Debian 1:1.35.0-4+deb12u1+b1) multi-call binary.

Usage: ping [OPTIONS] HOST
"""

# The Solaris statistics-mode format (a 9000-byte payload, so MTU 9028).
SOLARIS_STATS = """\
PING 10.0.0.16: 9000 data bytes
9008 bytes from 10.0.0.16: icmp_seq=0. time=0.223 ms
----10.0.0.16 PING Statistics----
4 packets transmitted, 4 packets received, 0% packet loss
"""

SOLARIS_LOSS = """\
PING 10.0.0.16: 9000 data bytes
----10.0.0.16 PING Statistics----
4 packets transmitted, 0 packets received, 100% packet loss
"""


# ---------------------------------------------------------------- parsing captured outputs


def test_iputils_success_is_pass() -> None:
    r = result_from_output(IPUTILS_PASS, host="198.18.2.2", mtu=9000, os_name="linux")
    assert r.verdict is Verdict.PASS
    assert r.passed
    assert (r.payload, r.transmitted, r.received) == (8972, 3, 3)
    assert r.path_mtu is None
    assert r.notes == ()


def test_local_error_is_too_big_with_local_mtu() -> None:
    r = result_from_output(IPUTILS_LOCAL_ERROR, host="198.18.1.2", mtu=9000)
    assert r.verdict is Verdict.TOO_BIG
    assert r.path_mtu == 1500
    assert r.path_mtu_source == "local"
    assert any("1500" in n for n in r.notes)


def test_frag_needed_names_the_router_and_its_mtu() -> None:
    r = result_from_output(IPUTILS_FRAG_NEEDED, host="198.18.1.2", mtu=9000)
    assert r.verdict is Verdict.TOO_BIG
    assert r.path_mtu == 1500
    assert r.path_mtu_source == "198.18.0.2"


def test_smallest_reported_mtu_wins() -> None:
    text = (
        "From 198.18.0.2 icmp_seq=1 Frag needed and DF set (mtu = 4000)\n"
        "ping: local error: message too long, mtu=1500\n"
        "2 packets transmitted, 0 received, +2 errors, 100% packet loss, time 1ms\n"
    )
    p = parse_ping_output(text)
    assert (p.learned_mtu, p.learned_from) == (1500, "local")


def test_bsd_frag_needed_line_is_not_a_reply() -> None:
    text = (
        "PING 198.18.1.2 (198.18.1.2): 8972 data bytes\n"
        "556 bytes from 198.18.0.2: frag needed and DF set (MTU 1500)\n"
        "--- 198.18.1.2 ping statistics ---\n"
        "1 packets transmitted, 0 packets received, 100.0% packet loss\n"
    )
    p = parse_ping_output(text)
    assert p.reply_sizes == ()
    assert p.loss_percent == 100.0
    r = result_from_output(text, host="198.18.1.2", mtu=9000, os_name="freebsd")
    assert (r.verdict, r.path_mtu, r.path_mtu_source) == (Verdict.TOO_BIG, 1500, "198.18.0.2")


def test_message_too_long_without_mtu_is_too_big_unknown_mtu() -> None:
    text = "PING 198.18.1.2: 8972 data bytes\nping: sendto: Message too long\n"
    r = result_from_output(text, host="198.18.1.2", mtu=9000, os_name="illumos")
    assert r.verdict is Verdict.TOO_BIG
    assert r.path_mtu is None


def test_total_loss_is_no_reply() -> None:
    r = result_from_output(IPUTILS_LOSS, host="198.18.3.2", mtu=9000)
    assert r.verdict is Verdict.NO_REPLY
    assert (r.transmitted, r.received) == (3, 0)


def test_unreachable_is_not_evaluable() -> None:
    r = result_from_output(IPUTILS_NET_UNREACHABLE, host="198.18.9.9", mtu=9000)
    assert r.verdict is Verdict.NOT_EVALUABLE
    assert "unreachable" in r.notes[0]


def test_unknown_host_is_not_evaluable() -> None:
    r = result_from_output(IPUTILS_UNKNOWN_HOST, host="nosuchhost.invalid", mtu=9000)
    assert r.verdict is Verdict.NOT_EVALUABLE
    assert r.notes[0].startswith("unknown host")


def test_busybox_output_means_cannot_set_df() -> None:
    r = result_from_output(BUSYBOX_NO_DF, host="198.18.2.2", mtu=9000)
    assert r.verdict is Verdict.NOT_EVALUABLE
    assert "cannot set DF" in r.notes[0]


def test_solaris_statistics_mode_pass_and_loss() -> None:
    ok = result_from_output(SOLARIS_STATS, host="10.0.0.16", mtu=9028, os_name="solaris")
    assert ok.verdict is Verdict.PASS
    assert (ok.payload, ok.transmitted, ok.received) == (9000, 4, 4)
    lost = result_from_output(SOLARIS_LOSS, host="10.0.0.16", mtu=9028, os_name="solaris")
    assert lost.verdict is Verdict.NO_REPLY


def test_partial_loss_still_passes_with_a_note() -> None:
    text = IPUTILS_PASS.replace("3 received, 0%", "1 received, 66%")
    text = "\n".join(ln for ln in text.splitlines() if "icmp_seq=2" not in ln)
    r = result_from_output(text, host="198.18.2.2", mtu=9000)
    assert r.verdict is Verdict.PASS
    assert "2 of 3 lost" in r.notes


def test_short_replies_do_not_pass() -> None:
    text = IPUTILS_PASS.replace("8980 bytes", "1480 bytes")
    r = result_from_output(text, host="198.18.2.2", mtu=9000)
    assert r.verdict is Verdict.NOT_EVALUABLE


def test_garbage_is_not_evaluable_not_an_exception() -> None:
    for text in ("", "\x00\xff weird", "PING x\n1 packets transmitted"):
        r = result_from_output(text, host="198.18.2.2", mtu=9000)
        assert r.verdict is Verdict.NOT_EVALUABLE


def test_missing_capability_is_not_evaluable() -> None:
    text = "ping: socktype: SOCK_RAW\nping: socket: Operation not permitted\n"
    r = result_from_output(text, host="198.18.2.2", mtu=9000)
    assert r.verdict is Verdict.NOT_EVALUABLE
    assert r.notes[0].startswith("no permission")


def test_to_dict_is_json_and_evidence_carries_command() -> None:
    r = result_from_output(
        IPUTILS_FRAG_NEEDED,
        host="198.18.1.2",
        mtu=9000,
        command=("ping", "-M", "do", "198.18.1.2"),
    )
    d = json.loads(json.dumps(r.to_dict()))
    assert d["verdict"] == "too-big"
    assert d["path_mtu"] == 1500
    assert d["command"] == "ping -M do 198.18.1.2"
    ev = r.to_evidence()
    assert ev.command == "ping -M do 198.18.1.2"
    assert ev.excerpt is not None and "Frag needed" in ev.excerpt


def test_long_output_excerpt_is_bounded() -> None:
    body = "ping: local error: message too long, mtu=1500\n" * 500
    r = result_from_output(body, host="198.18.1.2", mtu=9000)
    assert len(r.output) <= 2000
    assert "lines ..." in r.output
    assert r.verdict is Verdict.TOO_BIG


# ---------------------------------------------------------------- commands per OS


def test_linux_command_sets_df_count_and_wait() -> None:
    argv = build_command("198.18.2.2", mtu=9000, count=3, timeout=2.0, os_name="linux")
    assert argv[0] == "ping"
    assert argv[argv.index("-M") + 1] == "do"
    assert argv[argv.index("-s") + 1] == "8972"
    assert argv[argv.index("-c") + 1] == "3"
    assert argv[argv.index("-W") + 1] == "2"
    assert argv[-1] == "198.18.2.2"


def test_solaris_and_illumos_use_statistics_mode_with_d() -> None:
    for os_name in ("solaris", "illumos", "SunOS"):
        argv = build_command("198.18.2.2", mtu=9000, count=3, os_name=os_name)
        assert argv == ("ping", "-s", "-n", "-D", "198.18.2.2", "8972", "3")


def test_bsd_family_uses_d_and_s() -> None:
    mac = build_command("198.18.2.2", mtu=1500, os_name="darwin")
    assert mac[:5] == ("ping", "-n", "-D", "-s", "1472")
    assert "-t" in mac and mac[-1] == "198.18.2.2"
    obsd = build_command("198.18.2.2", mtu=1500, os_name="openbsd")
    assert "-w" in obsd and "-D" in obsd


def test_ipv6_literal_uses_48_bytes_of_headers() -> None:
    argv = build_command("2001:db8::1", mtu=9000, os_name="linux")
    assert argv[argv.index("-s") + 1] == "8952"


def test_ping_prefix_is_injected() -> None:
    argv = build_command("198.18.2.2", os_name="linux", ping=["ip", "netns", "exec", "x", "ping"])
    assert argv[:5] == ("ip", "netns", "exec", "x", "ping")


def test_normalize_os() -> None:
    assert normalize_os("Linux") == "linux"
    assert normalize_os("macOS") == "darwin"
    assert normalize_os("OmniOS") == "illumos"
    assert normalize_os("windows") is None
    if platform.system() == "Linux":
        assert normalize_os(None) == "linux"  # the machine the tests run on


# ---------------------------------------------------------------- process handling


def _fake_ping(tmp_path: Path, body: str, name: str = "fakeping") -> Path:
    """A stand-in ping: a POSIX shell script; it records its argv to args.txt."""
    script = tmp_path / name
    script.write_text(
        f'#!/bin/sh\nprintf "%s\\n" "$@" > "{tmp_path}/args.txt"\n' + body,
        encoding="utf-8",
    )
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return script


def test_probe_runs_the_command_and_parses_frag_needed(tmp_path: Path) -> None:
    fake = _fake_ping(tmp_path, f"cat <<'EOF'\n{IPUTILS_FRAG_NEEDED}EOF\nexit 1\n")
    r = probe_jumbo("198.18.1.2", mtu=9000, count=3, timeout=1, os_name="linux", ping=[str(fake)])
    assert r.verdict is Verdict.TOO_BIG
    assert r.path_mtu == 1500
    assert r.returncode == 1
    args = (tmp_path / "args.txt").read_text(encoding="utf-8").split()
    assert args == list(r.command[1:])
    assert "do" in args and "8972" in args and args[-1] == "198.18.1.2"


def test_no_reply_runs_a_small_control_ping(tmp_path: Path) -> None:
    # Silent for DF jumbo packets, answers a small ping: the black-hole signature.
    body = (
        'case "$*" in\n'
        f"  *-M*) cat <<'EOF'\n{IPUTILS_LOSS}EOF\n  exit 1;;\n"
        "  *) echo '64 bytes from 198.18.3.2: icmp_seq=1 ttl=63 time=0.1 ms'\n"
        "     echo '1 packets transmitted, 1 received, 0% packet loss, time 0ms';;\n"
        "esac\n"
    )
    fake = _fake_ping(tmp_path, body)
    r = probe_jumbo("198.18.3.2", timeout=1, os_name="linux", ping=[str(fake)])
    assert r.verdict is Verdict.NO_REPLY
    assert r.small_reply is True
    assert "dropped silently" in r.notes[-1]
    off = probe_jumbo("198.18.3.2", timeout=1, os_name="linux", ping=[str(fake)], control=False)
    assert off.small_reply is None


def test_hanging_ping_is_interrupted_and_its_statistics_kept(tmp_path: Path) -> None:
    body = (
        "echo 'PING 198.18.3.2 (198.18.3.2) 8972(9000) bytes of data.'\n"
        "sleep 30 &\n"
        "trap 'kill $!; echo \"1 packets transmitted, 0 received, 100% packet loss\"; exit 1' INT\n"
        "wait $!\n"
    )
    fake = _fake_ping(tmp_path, body)
    r = probe_jumbo(
        "198.18.3.2", count=1, timeout=0.5, os_name="linux", ping=[str(fake)], control=False
    )
    assert r.verdict is Verdict.NO_REPLY
    assert r.transmitted == 1
    assert any("interrupted" in n for n in r.notes)


def test_missing_ping_is_not_evaluable(tmp_path: Path) -> None:
    r = probe_jumbo("198.18.2.2", os_name="linux", ping=[str(tmp_path / "no-such-ping")])
    assert r.verdict is Verdict.NOT_EVALUABLE
    assert "not found" in r.notes[0]


@pytest.mark.skipif(shutil.which("busybox") is None, reason="busybox not installed")
def test_busybox_ping_is_detected_before_sending() -> None:
    r = probe_jumbo("198.18.2.2", os_name="linux", ping=["busybox", "ping"])
    assert r.verdict is Verdict.NOT_EVALUABLE
    assert r.notes == ("cannot set DF: BusyBox ping has no -M option",)
    assert r.returncode is None  # never ran


def test_busybox_symlink_named_ping_is_detected(tmp_path: Path) -> None:
    busybox = shutil.which("busybox")
    if busybox is None:
        pytest.skip("busybox not installed")
    link = tmp_path / "ping"
    link.symlink_to(busybox)
    r = probe_jumbo("198.18.2.2", os_name="linux", ping=[str(link)])
    assert r.verdict is Verdict.NOT_EVALUABLE
    assert "BusyBox" in r.notes[0]


def test_solaris_notes_that_d_is_unconfirmed(tmp_path: Path) -> None:
    fake = _fake_ping(tmp_path, f"cat <<'EOF'\n{SOLARIS_STATS}EOF\n")
    r = probe_jumbo("10.0.0.16", mtu=9028, count=4, os_name="solaris", ping=[str(fake)])
    assert r.verdict is Verdict.PASS
    assert any("not confirmed" in n for n in r.notes)
    ill = probe_jumbo("10.0.0.16", mtu=9028, count=4, os_name="illumos", ping=[str(fake)])
    assert not any("not confirmed" in n for n in ill.notes)


@pytest.mark.parametrize(
    ("host", "kwargs"),
    [
        ("-f", {}),
        ("198.18.2.2 -f", {}),
        ("", {}),
        ("198.18.2.2", {"mtu": 20}),
        ("198.18.2.2", {"count": 0}),
        ("198.18.2.2", {"timeout": 0}),
        ("198.18.2.2", {"os_name": "windows"}),
    ],
)
def test_bad_arguments_are_not_evaluable_and_nothing_runs(
    tmp_path: Path, host: str, kwargs: dict[str, object]
) -> None:
    fake = _fake_ping(tmp_path, "exit 0\n")
    r = probe_jumbo(host, ping=[str(fake)], **kwargs)  # type: ignore[arg-type]
    assert isinstance(r, ProbeResult)
    assert r.verdict is Verdict.NOT_EVALUABLE
    assert not (tmp_path / "args.txt").exists()


# ---------------------------------------------------------------- path-MTU search logic


def _mtu_gate_ping(tmp_path: Path, limit: int, *, report: bool) -> Path:
    """A fake DF ping that passes up to ``limit`` bytes; above it reports mtu= or stays silent."""
    fail = (
        f"echo 'ping: local error: message too long, mtu={limit}'\n"
        "echo '1 packets transmitted, 0 received, +1 errors, 100% packet loss, time 0ms'\n"
        if report
        else "echo '1 packets transmitted, 0 received, 100% packet loss, time 0ms'\n"
    )
    body = (
        'while [ "$#" -gt 0 ]; do [ "$1" = "-s" ] && size="$2"; shift; done\n'
        f'echo "$size" >> "{tmp_path}/sizes.txt"\n'
        f"if [ $((size + 28)) -le {limit} ]; then\n"
        '  echo "$((size + 8)) bytes from 198.18.1.2: icmp_seq=1 ttl=63 time=0.1 ms"\n'
        "  echo '1 packets transmitted, 1 received, 0% packet loss, time 0ms'\n"
        f"else\n{fail}exit 1\nfi\n"
    )
    return _fake_ping(tmp_path, body)


def test_search_uses_reported_mtu_as_a_shortcut(tmp_path: Path) -> None:
    fake = _mtu_gate_ping(tmp_path, 1500, report=True)
    res = find_path_mtu("198.18.1.2", os_name="linux", ping=[str(fake)], timeout=1)
    assert (res.path_mtu, res.exact, res.verdict) == (1500, True, Verdict.PASS)
    assert [p.mtu for p in res.probes] == [9000, 1500]


def test_search_without_icmp_is_a_bounded_binary_search(tmp_path: Path) -> None:
    fake = _mtu_gate_ping(tmp_path, 1504, report=False)
    res = find_path_mtu("198.18.1.2", os_name="linux", ping=[str(fake)], timeout=1)
    assert res.path_mtu == 1504 and res.exact
    assert len(res.probes) <= 16
    assert all(p.transmitted == 1 for p in res.probes)  # one packet per probe


def test_search_gives_up_when_even_the_floor_fails(tmp_path: Path) -> None:
    fake = _mtu_gate_ping(tmp_path, 100, report=False)
    res = find_path_mtu("198.18.1.2", os_name="linux", ping=[str(fake)], timeout=1)
    assert res.path_mtu is None
    assert res.verdict is Verdict.NO_REPLY
    assert [p.mtu for p in res.probes] == [9000, 576]


def test_search_respects_max_probes(tmp_path: Path) -> None:
    fake = _mtu_gate_ping(tmp_path, 1504, report=False)
    res = find_path_mtu("198.18.1.2", os_name="linux", ping=[str(fake)], timeout=1, max_probes=5)
    assert len(res.probes) == 5
    assert res.path_mtu is not None and res.path_mtu <= 1504
    assert not res.exact
    d: dict[str, object] = json.loads(json.dumps(res.to_dict()))
    assert isinstance(res, PathMtuResult) and d["exact"] is False
