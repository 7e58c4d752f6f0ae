"""A Linux guest's /etc/os-release names its release in reports (``os.release`` was null).

The release derived from os-release must not make a Linux guest look like SunOS: the guest
kind and the uname values derived for offline image roots stay Solaris-only.
"""

from __future__ import annotations

from samplelib import SAMPLES
from test_parsers import UBUNTU_1204_OS_RELEASE

from toolsfix.guest.facts import facts_from_capture
from toolsfix.guest.testing import StaticCapture
from toolsfix.verify import VerifyOptions, verify


def test_linux_image_root_gets_its_release_and_stays_linux() -> None:
    files = {"/etc/os-release": UBUNTU_1204_OS_RELEASE}
    capture = StaticCapture.from_outputs({}, files, origin="root:/mnt/image")
    facts = facts_from_capture(capture)
    assert facts.os_kind.value == "linux"
    assert facts.release.value is not None
    assert facts.release.value.name == "Ubuntu precise (12.04.5 LTS)"
    assert facts.release.value.version == "12.04"
    # Nothing about the kernel follows from a distribution release.
    assert not facts.uname_s.available and not facts.uname_r.available
    assert facts.solaris_minor is None


def test_solaris_image_root_with_only_os_release_is_still_solaris() -> None:
    text = 'NAME="Oracle Solaris"\nID=solaris\nVERSION="11.4"\nVERSION_ID=11.4\n'
    facts = facts_from_capture(
        StaticCapture.from_outputs({}, {"/etc/os-release": text}, origin="root:/mnt/image")
    )
    assert facts.os_kind.value == "solaris"
    assert (facts.uname_s.value, facts.uname_r.value) == ("SunOS", "5.11")


def test_verify_reports_the_linux_release() -> None:
    bundle = SAMPLES / "bundles" / "linux-quagga-md5-tso"
    doc = verify(bundle=bundle, options=VerifyOptions(execute=False)).to_dict()
    assert doc["os"]["kind"] == "linux"
    assert doc["os"]["release"] == "Ubuntu 18.04.6 LTS"  # PRETTY_NAME of the bundle's file
