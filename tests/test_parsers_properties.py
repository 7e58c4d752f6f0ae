"""Property tests: no parser raises, whatever text it is given.

Two kinds of input: arbitrary text, and real samples mutated the way real-world input gets
damaged (tabs for spaces, CRLF line ends, truncated lines, extra columns, dropped lines).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_parsers import (
    BGPD,
    CONF,
    ESXCLI,
    ETHTOOL_K,
    IP_D_LINK,
    IPADM,
    MODINFO,
    S10U11,
    SCRIPT,
    SOLARIS_IFCONFIG,
)

from toolsfix.guest import parsers as p

DATA = Path(__file__).resolve().parent / "data" / "real-locations"
JOURNAL_HEAD = "\n".join((DATA / "artix.locations").read_text(encoding="utf-8").splitlines()[:120])

PARSERS: dict[str, Callable[[Any], Any]] = {
    "release": p.parse_release,
    "os_release": p.parse_os_release,
    "uname": p.parse_uname,
    "uname_r": lambda t: p.parse_uname(t, "r"),
    "isainfo": p.parse_isainfo_b,
    "modinfo": p.parse_modinfo,
    "ndd": p.parse_ndd_value,
    "show_phys": p.parse_dladm_show_phys,
    "show_link": p.parse_dladm_show_link,
    "show_linkprop": p.parse_dladm_show_linkprop,
    "show_dev": p.parse_dladm_show_dev,
    "ipadm": p.parse_ipadm_show_prop,
    "ifconfig": p.parse_ifconfig,
    "ethtool_k": p.parse_ethtool_k,
    "ethtool_i": p.parse_ethtool_i,
    "ip_link": p.parse_ip_link,
    "sysctl": lambda t: p.parse_sysctl(t, "net.ipv4.ip_forward"),
    "esxcli": p.parse_esxcli_advanced,
    "esxcfg": p.parse_esxcfg_advcfg,
    "driver_conf": lambda t: [
        p.parse_driver_conf(t).value_for(k, i) for k in p.VMXNET3S_PROPERTIES for i in (0, 1, 7)
    ],
    "etc_system": p.parse_etc_system,
    "bgp": lambda t: p.parse_bgp_config(t, "/etc/frr/frr.conf"),
    "locations": p.parse_locations,
    "scripts": lambda t: p.find_persistent_settings(t, "/etc/init.d/x"),
}

SAMPLES = [
    S10U11,
    "SunOS solaris 5.11 11.4.42.111.0 i86pc i386 i86pc\n",
    MODINFO,
    "LINK      MEDIA    STATE SPEED DUPLEX DEVICE\n"
    "vmxnet3s0 Ethernet up    10000 full   vmxnet3s0\n",
    "LINK      CLASS MTU  STATE BRIDGE OVER\nvmxnet3s0 phys  9000 up    --     --\n",
    "LINK      PROPERTY PERM VALUE DEFAULT POSSIBLE\n"
    "vmxnet3s0 mtu      rw   1500  1500    60-9000\n",
    "e1000g0         link: up        speed: 1000  Mbps       duplex: full\n",
    IPADM,
    SOLARIS_IFCONFIG,
    ETHTOOL_K,
    IP_D_LINK,
    ESXCLI,
    CONF,
    BGPD,
    SCRIPT,
    JOURNAL_HEAD,
    'ID=solaris\nVERSION="11.4"\nBUILD_ID="11.4.0.0.1.15.0"\n',
]


def _mutate(text: str, ops: list[tuple[int, int, int]]) -> str:
    lines = text.splitlines()
    for kind, a, b in ops:
        if not lines:
            break
        i = a % len(lines)
        line = lines[i]
        if kind == 0:  # spaces -> tabs
            lines[i] = line.replace("  ", "\t")
        elif kind == 1:  # truncate the line
            lines[i] = line[: b % (len(line) + 1)]
        elif kind == 2:  # extra column
            lines[i] = line + " extra" + str(b)
        elif kind == 3:  # drop the line
            del lines[i]
        elif kind == 4:  # duplicate the line
            lines.insert(i, line)
        elif kind == 5:  # insert a tab somewhere
            pos = b % (len(line) + 1)
            lines[i] = line[:pos] + "\t" + line[pos:]
        elif kind == 6:  # cut a line in two
            pos = b % (len(line) + 1)
            lines[i : i + 1] = [line[:pos], line[pos:]]
    sep = "\r\n" if any(k == 7 for k, _, _ in ops) else "\n"
    return sep.join(lines) + sep


mutations = st.lists(
    st.tuples(st.integers(0, 7), st.integers(0, 10_000), st.integers(0, 10_000)), max_size=8
)


@pytest.mark.parametrize("name", sorted(PARSERS))
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=st.text())
def test_no_parser_raises_on_arbitrary_text(name: str, text: str) -> None:
    PARSERS[name](text)


@pytest.mark.parametrize("name", sorted(PARSERS))
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(sample=st.sampled_from(SAMPLES), ops=mutations)
def test_bytes_parse_like_the_text_they_encode(
    name: str, sample: str, ops: list[tuple[int, int, int]]
) -> None:
    """A file read as bytes (image root, bundle) gives the result its decoded text gives."""
    text = _mutate(sample, ops)
    assert repr(PARSERS[name](text.encode("utf-8"))) == repr(PARSERS[name](text))


@pytest.mark.parametrize("name", sorted(PARSERS))
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(sample=st.sampled_from(SAMPLES), ops=mutations)
def test_no_parser_raises_on_mutated_samples(
    name: str, sample: str, ops: list[tuple[int, int, int]]
) -> None:
    PARSERS[name](_mutate(sample, ops))


@settings(max_examples=100, deadline=None)
@given(text=st.text(alphabet=st.sampled_from(list('abcXY019=,;#"\\ \t\n\r-x')), max_size=200))
def test_driver_conf_on_conf_like_noise(text: str) -> None:
    conf = p.parse_driver_conf(text)
    for prop in conf.properties:
        conf.value_for(prop, 0)
    for name in p.VMXNET3S_PROPERTIES:
        value = conf.value_for(name, 3)
        assert value.value is not None  # a known property always resolves to a number


@settings(max_examples=100, deadline=None)
@given(text=st.text(), which=st.sampled_from([None, "r", "v", "s"]))
def test_parsers_accept_bytes_and_none(text: str, which: str | None) -> None:
    """Callers may hand over bytes (a file) or None (nothing captured)."""
    for func in PARSERS.values():
        func(text.encode("utf-8", errors="replace"))
        func(None)
    p.parse_uname(text, which)


@pytest.mark.parametrize("sample", SAMPLES)
def test_crlf_and_tabs_do_not_change_meaning(sample: str) -> None:
    """CRLF line ends must parse exactly like LF for line-oriented formats."""
    crlf = sample.replace("\n", "\r\n")
    for name in ("modinfo", "show_link", "ipadm", "ethtool_k", "ip_link", "locations", "scripts"):
        assert repr(PARSERS[name](crlf)).replace("\\r", "") == repr(PARSERS[name](sample))
