"""The synthetic vendor samples reproduce the documented installer behaviour.

The analyser is tested against vendor-samples/, so the samples themselves must be right: this
runs each generated configurator's own ``configure_module_solaris`` (plus its pure helper subs)
under perl with the I/O stubbed out, for every guest of the "Ground truth" table in
docs/background.md, and asserts the exact driver directories.  Expectations are written here
from those tables, independently of vendor-samples/generate.py.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import re
import shutil
import subprocess
import sys
import tarfile
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Optional

import pytest

REPO = Path(__file__).resolve().parent.parent
SAMPLES = REPO / "vendor-samples"
DAMAGE = "***REMOVED***"
LIBDIR = "/usr/lib/vmware-tools/modules/binary/"
EPOCH_2015 = 1420070400

needs_perl = pytest.mark.skipif(shutil.which("perl") is None, reason="perl is not installed")


@dataclass(frozen=True)
class Expect:
    """What docs/background.md says one variant's configurator does."""

    rule: str  # "buggy" min(minor, 10), "fixed" min(minor, 11), "blog" max(minor, 10)
    vmmemctl_override: bool  # vmmemctl forced to 11 on 5.11 unless uname -v starts with snv
    vmxnet: bool
    vmci: bool
    add_drv_n_always: bool  # False: -n only before Solaris 11
    skips_10u1: bool  # vmmemctl not configured on Solaris 10 1/06
    version: str
    build: str


BUGGY_922 = Expect(
    "buggy",
    vmmemctl_override=True,
    vmxnet=True,
    vmci=True,
    add_drv_n_always=True,
    skips_10u1=False,
    version="9.2.2",
    build="893683",
)
VARIANTS: dict[str, Expect] = {
    "8.6.0": replace(BUGGY_922, vmmemctl_override=False, version="8.6.0", build="425873"),
    "9.2.2": BUGGY_922,
    "9.2.2-no11": BUGGY_922,
    "crlf": BUGGY_922,
    "damaged": BUGGY_922,
    "blog-hand-patched": replace(BUGGY_922, rule="blog"),
    "9.9.2": Expect(
        "fixed",
        vmmemctl_override=True,
        vmxnet=True,
        vmci=False,
        add_drv_n_always=False,
        skips_10u1=True,
        version="9.9.2",
        build="2496486",
    ),
    "10.3.10": Expect(
        "fixed",
        vmmemctl_override=True,
        vmxnet=False,
        vmci=False,
        add_drv_n_always=False,
        skips_10u1=True,
        version="10.3.10",
        build="12406962",
    ),
}


@dataclass(frozen=True)
class Guest:
    label: str
    uname_r: str
    uname_v: str
    release: str  # M/YY token of /etc/release ('' when there is none)
    buggy: Optional[str]  # vmxnet3s 32-bit dir per the ground-truth table (None: nothing)
    fixed: Optional[str]
    blog: Optional[str]  # max(minor, 10), per the hand-patch description


GUESTS = (
    Guest("Solaris 10", "5.10", "Generic_147441-21", "1/13", "10", "10", "10"),
    Guest("Solaris 10 1/06", "5.10", "Generic_118855-14", "1/06", "10", "10", "10"),
    Guest("Solaris 11.0", "5.11", "11.0", "11/11", "10", "11", "11"),
    Guest("Solaris 11.1", "5.11", "11.1", "", "10", "11", "11"),
    Guest("Solaris 11.3", "5.11", "11.3", "", "10", "11", "11"),
    Guest("Solaris 11.4", "5.11", "11.4.0.15.0", "", "10", "11", "11"),
    Guest("OpenSolaris 2009.06", "5.11", "snv_111b", "", "2009.06", "2009.06", "2009.06"),
    Guest("other snv", "5.11", "snv_134", "", "10", "11", "11"),
    Guest("illumos", "5.11", "omnios-r151046-d4b2c8f6", "", "10", "11", "11"),
    Guest("Solaris 9", "5.9", "Generic_122300-61", "", None, None, None),
)
MODULES = ("vmxnet3s", "vmxnet", "vmmemctl", "vmhgfs", "vmblock", "vmci")


def distrib(variant: str) -> Path:
    return SAMPLES / "distribs" / variant / "vmware-tools-distrib"


def configurator_text(variant: str) -> str:
    return (distrib(variant) / "bin" / "vmware-config-tools.pl").read_bytes().decode("ascii")


# ---------------------------------------------------------------------------------------------
# Expected behaviour, from the tables of docs/background.md
# ---------------------------------------------------------------------------------------------
def os_dir(rule: str, minor: int) -> str:
    if rule == "blog":
        return str(max(minor, 10))
    cap = 10 if rule == "buggy" else 11
    return str(min(minor, cap))


def installs(src_dir: str, module: str, *, conf: bool = False) -> list[str]:
    events = []
    if conf:
        events.append(f"INSTALL {LIBDIR}{src_dir}/{module}.conf /kernel/drv/{module}.conf")
    events.append(f"INSTALL {LIBDIR}{src_dir}/{module} /kernel/drv/{module}")
    events.append(f"INSTALL {LIBDIR}{src_dir}_64/{module} /kernel/drv/amd64/{module}")
    return events


def expected(exp: Expect, guest: Guest, module: str) -> tuple[str, list[str]]:
    """(return value, events) the ground truth predicts for one configure_module_solaris call."""
    minor = int(guest.uname_r.split(".")[1])
    if minor < 10:
        return "no", []
    net_dir = {"buggy": guest.buggy, "fixed": guest.fixed, "blog": guest.blog}[exp.rule]
    assert net_dir is not None
    osdir = os_dir(exp.rule, minor)
    if module == "vmxnet3s":
        with_n = exp.add_drv_n_always or minor < 11
        add_drv = "SYSTEM add_drv" + (" -n" if with_n else "") + " -i '\"pciex15ad,7b0\"' vmxnet3s"
        return "yes", [*installs(net_dir, module, conf=True), add_drv, "ANSWER VMXNET3S_CONFED yes"]
    if module == "vmxnet":
        if not exp.vmxnet:
            return "no", []
        return "yes", [
            "SYSTEM update_drv -f vmxnet",
            *installs(net_dir, module),
            "SYSTEM add_drv -i '\"pci15ad,720\"' vmxnet",
            "ANSWER VMXNET_CONFED yes",
        ]
    if module == "vmmemctl":
        if exp.skips_10u1 and guest.release == "1/06":
            return "yes", ["ANSWER VMMEMCTL_CONFED no"]
        d = osdir
        if exp.vmmemctl_override and minor == 11 and not guest.uname_v.startswith("snv"):
            d = "11"
        return "yes", [*installs(d, module), "ANSWER VMMEMCTL_CONFED yes"]
    if module in ("vmhgfs", "vmblock"):
        return "yes", installs("11" if minor == 11 else osdir, module)
    assert module == "vmci"
    if not exp.vmci:
        return "no", []
    return "yes", installs(osdir, module, conf=True)


# ---------------------------------------------------------------------------------------------
# Running the configurator's own code under perl
# ---------------------------------------------------------------------------------------------
EXTRACTED = (
    "solaris_os_version",
    "solaris_os_name",
    "solaris_10_or_greater",
    "solaris_11_or_greater",
    "solaris_is_opensolaris",
    "configure_module_solaris",
)

HARNESS_HEAD = r"""use strict;
use warnings;

our @gEvents;
BEGIN {
  *CORE::GLOBAL::system = sub {
    my $command = join(' ', @_);
    $command =~ s/ >\/dev\/null 2>&1$//;
    push @gEvents, 'SYSTEM ' . $command;
    return 0;
  };
}

my %gHelper = ('uname' => 'uname', 'add_drv' => 'add_drv', 'update_drv' => 'update_drv');
my $cFlagTimestamp = 0x1;

sub shell_string { return $_[0]; }
sub direct_command {
  my $command = shift;
  return $ENV{'TF_UNAME_R'} . "\n" if $command eq 'uname -r';
  return $ENV{'TF_UNAME_V'} . "\n" if $command eq 'uname -v';
  die 'unexpected command: ' . $command;
}
sub db_get_answer {
  my $id = shift;
  die 'unexpected answer lookup: ' . $id unless $id eq 'LIBDIR';
  return '/usr/lib/vmware-tools';
}
sub db_add_answer { push @gEvents, 'ANSWER ' . $_[0] . ' ' . $_[1]; }
sub install_file {
  my ($src, $dst, $patchRef, $flags) = @_;
  die 'bad install_file call' unless ref($patchRef) eq 'HASH' && $flags == $cFlagTimestamp;
  push @gEvents, 'INSTALL ' . $src . ' ' . $dst;
}
sub solaris_release { return $ENV{'TF_RELEASE'}; }
sub solaris_10u1 { return $ENV{'TF_RELEASE'} eq '1/06' ? 'yes' : 'no'; }
sub solaris_driver_configured { return 'no'; }
sub vmware_product_name { return 'VMware Tools'; }

"""

HARNESS_TAIL = r"""
foreach my $module (split(/,/, $ENV{'TF_MODULES'})) {
  @gEvents = ();
  my $result = configure_module_solaris($module);
  print '@@ ' . $module . ' RESULT ' . $result . "\n";
  print '@@ ' . $module . ' ' . $_ . "\n" foreach @gEvents;
}
"""


def extract_sub(text: str, name: str) -> str:
    """One top-level sub, verbatim (line endings included)."""
    found = re.search(r"^sub " + name + r" \{\r?\n.*?^\}\r?$", text, re.M | re.S)
    assert found, f"sub {name} not found"
    return found.group(0)


def harness(variant: str) -> str:
    text = configurator_text(variant)
    if variant == "damaged":
        text = text.replace(DAMAGE, "#")  # the damage is reversible: run the 9.2.2 logic
    return HARNESS_HEAD + "\n".join(extract_sub(text, n) for n in EXTRACTED) + HARNESS_TAIL


def run_guest(script: Path, guest: Guest) -> dict[str, tuple[str, list[str]]]:
    env = {
        "TF_UNAME_R": guest.uname_r,
        "TF_UNAME_V": guest.uname_v,
        "TF_RELEASE": guest.release,
        "TF_MODULES": ",".join(MODULES),
        "PATH": "/usr/bin:/bin",
    }
    proc = subprocess.run(
        ["perl", str(script)], env=env, capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == "", proc.stderr  # use warnings: no warning from the sample's code
    got: dict[str, tuple[str, list[str]]] = {}
    for line in proc.stdout.splitlines():
        if not line.startswith("@@ "):
            continue
        module, rest = line[3:].split(" ", 1)
        if rest.startswith("RESULT "):
            got[module] = (rest[len("RESULT ") :], [])
        else:
            got[module][1].append(rest)
    return got


@pytest.mark.perl
@needs_perl
@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_configurator_picks_documented_directories(variant: str, tmp_path: Path) -> None:
    script = tmp_path / "harness.pl"
    script.write_bytes(harness(variant).encode("ascii"))
    exp = VARIANTS[variant]
    for guest in GUESTS:
        got = run_guest(script, guest)
        for module in MODULES:
            assert got[module] == expected(exp, guest, module), (variant, guest.label, module)


@pytest.mark.perl
@needs_perl
@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_perl_compiles_every_sample_but_damaged(variant: str) -> None:
    programs = [
        distrib(variant) / "bin" / "vmware-config-tools.pl",
        distrib(variant) / "bin" / "vmware-uninstall-tools.pl",
    ]
    for program in programs:
        proc = subprocess.run(
            ["perl", "-c", str(program)], capture_output=True, text=True, check=False
        )
        if variant == "damaged" and program.name == "vmware-config-tools.pl":
            assert proc.returncode != 0
        else:
            assert proc.returncode == 0, proc.stderr


@pytest.mark.perl
@needs_perl
def test_running_a_configurator_off_solaris_does_nothing(tmp_path: Path) -> None:
    program = distrib("9.2.2") / "bin" / "vmware-config-tools.pl"
    for args in (["--help"], []):
        proc = subprocess.run(
            ["perl", str(program), *args], cwd=tmp_path, capture_output=True, text=True, check=False
        )
        assert proc.returncode == (0 if args else 1)
    assert list(tmp_path.iterdir()) == []


# ---------------------------------------------------------------------------------------------
# Shape of the files
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_configurator_shape(variant: str) -> None:
    exp = VARIANTS[variant]
    raw = (distrib(variant) / "bin" / "vmware-config-tools.pl").read_bytes()
    assert (b"\r\n" in raw) == (variant == "crlf")
    if variant == "crlf":
        assert b"\n" not in raw.replace(b"\r\n", b"")
    lines = raw.decode("ascii").replace("\r\n", "\n").split("\n")
    comment = DAMAGE if variant == "damaged" else "#"
    assert lines[0] == comment + "!/usr/bin/perl -w"
    assert re.fullmatch(
        re.escape(comment) + r" Copyright \(c\) 1998-20\d\d VMware, Inc\.  "
        r"All rights reserved\.",
        lines[3],
    )
    assert lines[5] == comment + " Host configurator for VMware"
    assert f"  $buildNr = '{exp.version} build-{exp.build}';" in lines
    assert "sub vmware_product { return 'tools-for-solaris'; }" in lines
    cap = {"buggy": "10", "blog": "10", "fixed": "11"}[exp.rule]
    assert (
        f"  my $currentMinor = {cap};   {comment} The most recent version we build the drivers for"
    ) in lines
    compare = ">" if exp.rule == "blog" else "<"
    assert lines.count(f"  if ($minor {compare} $currentMinor) {{") == 1
    assert ((comment + " set osDir to number no larger than currentMinor:") in " ".join(lines)) == (
        exp.rule == "fixed"
    )


def test_no11_variant_ships_no_solaris_11_builds() -> None:
    binary = distrib("9.2.2-no11") / "lib" / "modules" / "binary"
    assert sorted(p.name for p in binary.iterdir()) == ["10", "10_64", "2009.06", "2009.06_64"]
    full = distrib("9.2.2") / "lib" / "modules" / "binary"
    assert sorted(p.name for p in full.iterdir()) == [
        "10",
        "10_64",
        "11",
        "11_64",
        "2009.06",
        "2009.06_64",
    ]


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_distrib_layout_and_installer_files(variant: str) -> None:
    root = distrib(variant)
    exp = VARIANTS[variant]
    uninstall = (root / "bin" / "vmware-uninstall-tools.pl").read_bytes()
    if exp.version.startswith("10."):
        assert (root / "vmware-install.real.pl").read_bytes() == uninstall
        assert (root / "vmware-install.pl").read_bytes().startswith(b"#!/bin/sh\n")
    else:
        assert (root / "vmware-install.pl").read_bytes() == uninstall
    assert b"configure_module_solaris" in uninstall
    assert b"sub configure_module_solaris" not in uninstall
    assert f"  $buildNr = '{exp.version} build-{exp.build}';".encode() in uninstall
    manifest = (root / "etc" / "manifest.txt.shipped").read_text(encoding="ascii")
    assert f'monolithic.version = "{exp.version}"' in manifest.splitlines()
    for os_dir_name in ("10", "2009.06", "11"):
        conf = root / "lib" / "modules" / "binary" / os_dir_name / "vmxnet3s.conf"
        if variant == "9.2.2-no11" and os_dir_name == "11":
            continue
        text = conf.read_text(encoding="ascii")
        assert re.search(r"^EnableLSO=1(,1)*;$", text, re.M)
        assert re.search(r"^#\s*MTU=", text, re.M) and not re.search(r"^MTU=", text, re.M)
    drivers = {p.name for p in (root / "lib" / "modules" / "binary" / "10_64").iterdir()}
    expected_drivers = {"vmxnet3s", "vmmemctl", "vmhgfs", "vmblock"}
    expected_drivers |= {"vmxnet"} if exp.vmxnet else set()
    expected_drivers |= {"vmci"} if exp.vmci else set()
    assert drivers == expected_drivers
    for driver in drivers:
        assert (root / "lib" / "modules" / "binary" / "10_64" / driver).read_bytes()[
            :4
        ] == b"\x7fELF"


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_files_listing_matches_the_distrib(variant: str) -> None:
    root = distrib(variant)
    listing = (root / "FILES").read_text(encoding="ascii")
    current = ""
    seen: set[str] = set()
    for line in listing.splitlines():
        if line.endswith(":"):
            current = line[:-1].removeprefix(".").lstrip("/")
            continue
        fields = line.split()
        if len(fields) == 9 and fields[0].startswith("-"):
            rel = f"{current}/{fields[8]}" if current else fields[8]
            assert (root / rel).stat().st_size == int(fields[4]), rel
            seen.add(rel)
    on_disk = {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}
    assert seen == on_disk - {"FILES"}


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_tarball_is_normalised_and_matches_the_directory(variant: str) -> None:
    data = (SAMPLES / "archives" / f"vmware-solaris-tools-{variant}.tar.gz").read_bytes()
    assert data[4:8] == b"\0\0\0\0"  # gzip MTIME
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        members = tar.getmembers()
        names = [m.name for m in members]
        assert names == sorted(names)
        assert names[0] == "vmware-tools-distrib"
        for m in members:
            assert (m.uid, m.gid, m.uname, m.gname, m.mtime) == (0, 0, "root", "root", EPOCH_2015)
            if m.isfile():
                member = tar.extractfile(m)
                assert member is not None
                on_disk = SAMPLES / "distribs" / variant / m.name
                assert member.read() == on_disk.read_bytes(), m.name
    assert gzip.decompress(data)  # the stream is complete


@pytest.mark.parametrize("variant", ["9.2.2", "10.3.10"])
def test_iso_holds_the_tarball_under_rock_ridge_and_joliet_names(variant: str) -> None:
    pycdlib = pytest.importorskip("pycdlib")
    tarball = (SAMPLES / "archives" / f"vmware-solaris-tools-{variant}.tar.gz").read_bytes()
    iso = pycdlib.PyCdlib()
    iso.open(str(SAMPLES / "archives" / f"solaris-{variant}.iso"))
    try:
        for kwargs in (
            {"rr_path": "/vmware-solaris-tools.tar.gz"},
            {"joliet_path": "/vmware-solaris-tools.tar.gz"},
        ):
            out = io.BytesIO()
            iso.get_file_from_iso_fp(out, **kwargs)
            assert out.getvalue() == tarball
    finally:
        iso.close()


def test_metadata_hashes_match_the_committed_files() -> None:
    meta = json.loads((SAMPLES / "generated.json").read_text(encoding="ascii"))
    assert meta["synthetic"] is True
    on_disk = {
        p.relative_to(SAMPLES).as_posix()
        for d in ("distribs", "archives", "scripts")
        for p in (SAMPLES / d).rglob("*")
        if p.is_file()
    }
    assert set(meta["sha256"]) == on_disk
    for rel, digest in meta["sha256"].items():
        assert hashlib.sha256((SAMPLES / rel).read_bytes()).hexdigest() == digest, rel


def test_scripts_are_copies_of_the_configurators() -> None:
    for variant in VARIANTS:
        script = SAMPLES / "scripts" / f"vmware-config-tools-{variant}.pl"
        assert (
            script.read_bytes()
            == (distrib(variant) / "bin" / "vmware-config-tools.pl").read_bytes()
        )


def test_generate_check_reports_no_drift() -> None:
    """Regenerating gives the committed bytes (ISO dates pinned, gzip/tar normalised)."""
    if shutil.which("gcc") is None:
        pytest.skip("elfgen needs gcc to rebuild the driver objects")
    proc = subprocess.run(
        [sys.executable, str(SAMPLES / "generate.py"), "--check"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_generate_check_detects_drift(tmp_path: Path) -> None:
    """--check must fail when a committed sample was edited by hand."""
    if shutil.which("gcc") is None:
        pytest.skip("elfgen needs gcc to rebuild the driver objects")
    out = tmp_path / "samples"
    gen = [sys.executable, str(SAMPLES / "generate.py"), "--out", str(out)]
    subprocess.run(gen, capture_output=True, check=True)
    target = out / "distribs" / "9.9.2" / "vmware-tools-distrib" / "bin" / "vmware-config-tools.pl"
    target.write_bytes(target.read_bytes().replace(b"$currentMinor = 11;", b"$currentMinor = 10;"))
    proc = subprocess.run([*gen, "--check"], capture_output=True, text=True, check=False)
    assert proc.returncode == 1
    assert "differs: distribs/9.9.2/vmware-tools-distrib/bin/vmware-config-tools.pl" in proc.stdout
