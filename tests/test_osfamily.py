"""The guest's OS family, from the evidence each source has: the kernel's own words (uname)
first, then the image's release files. Each answer names where it came from."""

from __future__ import annotations

from typing import Optional

import pytest

from toolsfix.guest.facts import facts_from_capture
from toolsfix.guest.testing import StaticCapture
from toolsfix.knowledge import OsFamily

OI_RELEASE = "             OpenIndiana Hipster 2023.10 (powered by illumos)\n"
OMNIOS_OSR = 'NAME="OmniOS"\nID=omnios\nVERSION=r151046\n'
S10 = "                    Oracle Solaris 10 1/13 s10x_u11wos_24a X86\n"
S114_OSR = 'NAME="Oracle Solaris"\nID=solaris\nVERSION="11.4"\nVERSION_ID=11.4\n'


def family(
    outputs: Optional[dict[str, str]] = None,
    files: Optional[dict[str, str]] = None,
    origin: str = "live:t",
) -> tuple[Optional[OsFamily], Optional[str], Optional[str]]:
    fact = facts_from_capture(StaticCapture.from_outputs(outputs or {}, files, origin)).os_family
    src = fact.source
    return fact.value, (src.path if src else None), (src.command if src else None)


@pytest.mark.parametrize(
    ("uname_v", "want"),
    [
        ("illumos-8f1b2c3d4e", OsFamily.ILLUMOS),
        ("joyent_20230112T000355Z", OsFamily.ILLUMOS),
        ("omnios-r151046-5e3ed0b5d6", OsFamily.ILLUMOS),
        ("snv_111b", OsFamily.OPENSOLARIS),
        ("Generic_147441-21", OsFamily.SOLARIS_10),
    ],
)
def test_live_uname(uname_v: str, want: OsFamily) -> None:
    release = "5.10" if uname_v.startswith("Generic") else "5.11"
    value, _path, command = family({"uname_s": "SunOS\n", "uname_r": release, "uname_v": uname_v})
    assert value is want
    assert command is not None and command.startswith("uname")


def test_bare_sunos_5_11_decides_nothing_without_a_release() -> None:
    """5.11 is Solaris 11 or illumos: without more the family is unknown (not guessed)."""
    fact = facts_from_capture(
        StaticCapture.from_outputs({"uname_s": "SunOS\n", "uname_r": "5.11\n", "uname_v": "x\n"})
    ).os_family
    assert not fact.available and "not known" in (fact.reason or "")


@pytest.mark.parametrize(
    ("files", "want", "path"),
    [
        ({"/etc/release": OI_RELEASE}, OsFamily.ILLUMOS, "/etc/release"),
        ({"/etc/os-release": OMNIOS_OSR}, OsFamily.ILLUMOS, "/etc/os-release"),
        # an illumos /etc/release outranks an os-release ID the family list does not know
        (
            {"/etc/release": OI_RELEASE, "/etc/os-release": "ID=someday\n"},
            OsFamily.ILLUMOS,
            "/etc/release",
        ),
        ({"/etc/release": S10}, OsFamily.SOLARIS_10, "/etc/release"),
        ({"/etc/os-release": S114_OSR}, OsFamily.SOLARIS_11, "/etc/os-release"),
        ({"/etc/os-release": "ID=debian\nVERSION_ID=11\n"}, OsFamily.LINUX, "/etc/os-release"),
    ],
)
def test_image_root_release_files(files: dict[str, str], want: OsFamily, path: str) -> None:
    value, source_path, _command = family(files=files, origin="root:/mnt/image")
    assert (value, source_path) == (want, path)


def test_a_linux_5_10_kernel_is_not_sunos_5_10() -> None:
    """The defect expected_family once had: a Linux 5.10 kernel taken for SunOS 5.10."""
    outputs = {"uname_s": "Linux\n", "uname_r": "5.10.0-26-amd64\n", "uname_v": "#1 SMP Debian\n"}
    facts = facts_from_capture(StaticCapture.from_outputs(outputs))
    assert facts.os_family.value is OsFamily.LINUX
    assert facts.os_kind.value == "linux"


def test_an_illumos_os_release_makes_a_sunos_guest_kind() -> None:
    """Without /etc/release, ID=omnios must not read as a Linux distribution."""
    facts = facts_from_capture(
        StaticCapture.from_outputs({}, {"/etc/os-release": OMNIOS_OSR}, origin="root:/m")
    )
    assert facts.os_kind.value == "solaris"


def test_nothing_known_is_unavailable_with_a_reason() -> None:
    fact = facts_from_capture(StaticCapture.from_outputs({}, {}, origin="root:/m")).os_family
    assert not fact.available and fact.reason
