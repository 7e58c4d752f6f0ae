"""The generated POSIX-sh collector, run for real against a fake Solaris guest.

The fake guest is a directory tree (read through the TOOLSFIX_COLLECT_PREFIX test hook) plus
shim commands first in PATH that print the documented real output formats. Each bundle is
read back with BundleCapture, as a directory and as a tar, so the round trip is tested end to
end.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tarfile
from pathlib import Path

import pytest

from toolsfix.guest.bundle import BUNDLE_FORMAT, BundleCapture
from toolsfix.guest.capture_api import COMMANDS
from toolsfix.guest.collector import listing_dirs, render_collector

SOLARIS_RELEASE = (
    "                            Oracle Solaris 11.4 X86\n"
    "  Copyright (c) 1983, 2018, Oracle and/or its affiliates.  All rights reserved.\n"
    "                            Assembled 16 August 2018\n"
)
UNAME = {
    "-a": "SunOS solaris 5.11 11.4.42.111.0 i86pc i386 i86pc",
    "-r": "5.11",
    "-v": "11.4.42.111.0",
    "-s": "SunOS",
    "-n": "solaris",
}
MODINFO = (
    " Id         Loadaddr   Size Info Rev Module Name\n"
    " 45 fffffffff7c3a000   a8c8 240   1  vmxnet3s (VMware EtherAdapter v3 1.1.0.0)\n"
)
SHOW_PHYS = (
    "LINK      MEDIA    STATE SPEED DUPLEX DEVICE\n"
    "vmxnet3s0 Ethernet up    10000 full   vmxnet3s0\n"
)
SHOW_LINK = (
    "LINK                CLASS     MTU    STATE    OVER\n"
    "net0                phys      1500   up       --\n"
)
LINKPROP = (
    "LINK      PROPERTY PERM VALUE DEFAULT POSSIBLE\n"
    "vmxnet3s0 mtu      rw   1500  1500    60-9000\n"
)
IPADM_TCP = (
    "PROTO PROPERTY              PERM CURRENT      PERSISTENT   DEFAULT      POSSIBLE\n"
    "tcp   send_buf              rw   128000       --           128000       4096-1048576\n"
)
IFCONFIG = (
    "lo0: flags=2001000849<UP,LOOPBACK,RUNNING,MULTICAST,IPv4,VIRTUAL> mtu 8232 index 1\n"
    "\tinet 127.0.0.1 netmask ff000000\n"
)
DRIVER_64 = b"\x7fELF\x02\x01\x01" + bytes(range(256)) + b"vmxnet3s 11_64\x00"
DRIVER_32 = b"\x7fELF\x01\x01\x01" + bytes(range(255, -1, -1)) + b"vmxnet3s 10\x00"
RELEASE_MTIME = 1357000000

# Every shell the collector promises to run under; the first two are required by the
# project's test plan, the others are exercised when installed.
SHELLS = {
    "dash": ["dash"],
    "busybox": ["busybox", "sh"],
    "posh": ["posh"],
    "ksh": ["ksh"],
    "mksh": ["mksh"],
    "yash": ["yash"],
}


def shell_argv(name: str) -> list[str]:
    argv = SHELLS[name]
    if shutil.which(argv[0]) is None:
        pytest.skip(f"{argv[0]} is not installed on this machine")
    return argv


def _shim(bindir: Path, name: str, body: str) -> None:
    path = bindir / name
    path.write_text("#!/bin/sh\n" + body)
    path.chmod(0o755)


def _cat_case(cases: dict[str, str], default_err: str) -> str:
    """A shim body that prints the text for "$*" (exact argument string)."""
    lines = ['case "$*" in']
    for args, text in cases.items():
        lines.append(f"  '{args}') cat <<'EOF'\n{text}EOF\n    ;;")
    lines.append(f"  *) echo '{default_err}' >&2; exit 1 ;;")
    lines.append("esac")
    return "\n".join(lines) + "\n"


def make_solaris_shims(bindir: Path, *, solaris10: bool = False) -> None:
    """Shims for the Solaris commands: Solaris 11.4, or Solaris 10 (no ipadm, old dladm)."""
    bindir.mkdir(parents=True, exist_ok=True)
    uname = dict(UNAME)
    if solaris10:
        uname.update(
            {
                "-a": "SunOS sunpc1 5.10 Generic_147441-21 i86pc i386 i86pc Solaris",
                "-r": "5.10",
                "-v": "Generic_147441-21",
                "-n": "sunpc1",
            }
        )
    _shim(bindir, "uname", _cat_case({k: v + "\n" for k, v in uname.items()}, "uname: bad"))
    _shim(bindir, "isainfo", _cat_case({"-b": "64\n"}, "isainfo: bad option"))
    _shim(bindir, "modinfo", f"cat <<'EOF'\n{MODINFO}EOF\n")
    _shim(bindir, "ndd", _cat_case({"-get /dev/ip ip_lso_outbound": "1\n"}, "ndd: bad"))
    _shim(bindir, "ifconfig", _cat_case({"-a": IFCONFIG}, "ifconfig: bad"))
    if solaris10:
        dev = "e1000g0         link: up        speed: 1000  Mbps       duplex: full\n"
        _shim(bindir, "dladm", _cat_case({"show-dev": dev}, "dladm: unrecognized subcommand"))
    else:
        _shim(
            bindir,
            "dladm",
            _cat_case(
                {"show-phys": SHOW_PHYS, "show-link": SHOW_LINK, "show-linkprop -p mtu": LINKPROP},
                "dladm: unrecognized subcommand 'show-dev'",
            ),
        )
        _shim(
            bindir,
            "ipadm",
            _cat_case(
                {"show-prop tcp": IPADM_TCP, "show-ifprop -p mtu": "IFNAME PROPERTY PROTO\n"},
                "ipadm: unknown property",
            ),
        )


def make_solaris_tree(root: Path) -> None:
    """A fake installed Solaris 11.4 guest with buggy Tools (10_64 build in amd64)."""
    files: dict[str, bytes] = {
        "etc/release": SOLARIS_RELEASE.encode(),
        "etc/vmware-tools/locations": (
            b"answer BINDIR /opt/old/bin\n"
            b"answer LIBDIR /usr/lib/vmware-tools\n"
            b"file /kernel/drv/amd64/vmxnet3s 1357000000\n"
            b"answer BINDIR /usr/bin\n"
        ),
        "usr/bin/vmware-config-tools.pl": b"#!/usr/bin/perl -w\n# configurator\n",
        "opt/old/bin/vmware-config-tools.pl": b"# superseded BINDIR: must not be collected\n",
        "kernel/drv/vmxnet3s": DRIVER_32,
        "kernel/drv/amd64/vmxnet3s": DRIVER_64,
        "kernel/drv/amd64/vmxnet3s.old.0": b"older build",
        "kernel/drv/vmxnet3s.conf": b'name="vmxnet3s" parent="pci";\n',
        "kernel/drv/e1000g": b"not captured",
        "usr/lib/vmware-tools/modules/binary/10/vmxnet3s": DRIVER_32,
        "usr/lib/vmware-tools/modules/binary/10/vmxnet3s.conf": b"conf 10\n",
        "usr/lib/vmware-tools/modules/binary/10_64/vmxnet3s": DRIVER_64,
        "usr/lib/vmware-tools/modules/binary/11_64/vmxnet3s": DRIVER_64 + b"11",
        "usr/lib/vmware-tools/modules/binary/11_64/vmhgfs": b"not captured",
        "etc/init.d/vmware-tools": b"#!/bin/sh\n",
        "etc/init.d/my script": b"name with a space\n",
        "lib/svc/method/net-physical": b"#!/sbin/sh\n",
    }
    for rel, data in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    (root / "etc/rc2.d").mkdir(parents=True)
    os.symlink("../init.d/vmware-tools", root / "etc/rc2.d/S99vmware-tools")
    os.utime(root / "etc/release", (RELEASE_MTIME, RELEASE_MTIME))


def run_collector(
    argv: list[str],
    script: Path,
    outdir: Path,
    *,
    shims: list[Path],
    prefix: Path,
    extra: tuple[str, ...] = (),
    env_extra: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    env["PATH"] = os.pathsep.join([str(s) for s in shims] + ["/usr/bin", "/bin"])
    env["TOOLSFIX_COLLECT_PREFIX"] = str(prefix)
    env.update(env_extra or {})
    return subprocess.run(
        [*argv, str(script), *extra, str(outdir)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture()
def script(tmp_path: Path) -> Path:
    path = tmp_path / "collect.sh"
    path.write_text(render_collector())
    return path


def _snapshot(root: Path) -> dict[str, tuple[int, int]]:
    return {
        str(p.relative_to(root)): (p.lstat().st_size, p.lstat().st_mtime_ns)
        for p in root.rglob("*")
    }


# -- static checks ---------------------------------------------------------------------------


@pytest.mark.parametrize("shell", ["dash", "busybox", "posh"])
def test_script_parses(shell: str, script: Path) -> None:
    argv = shell_argv(shell)
    proc = subprocess.run([*argv, "-n", str(script)], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr


def test_every_table_command_is_in_the_script() -> None:
    text = render_collector()
    for key, (line, os_name) in COMMANDS.items():
        if "{if}" in line:
            assert f'"{key}:$_if"' in text
        else:
            assert f"run_cmd '{os_name}' '{key}' '{line}'" in text
    assert "format=%s" in text and BUNDLE_FORMAT in text


def test_no_bashisms_in_template() -> None:
    code = [ln for ln in render_collector().splitlines() if not ln.lstrip().startswith("#")]
    text = "\n".join(code)
    for bashism in ("[[", "local ", "echo -e", "function ", "source ", "==", "$'", "<<<"):
        assert bashism not in text, bashism


def test_unsafe_table_entries_are_refused() -> None:
    with pytest.raises(ValueError):
        render_collector(commands={"bad key": ("uname -a", "any")})
    with pytest.raises(ValueError):
        render_collector(commands={"k": ("uname -a", "plan9")})
    with pytest.raises(ValueError):
        render_collector(files=("/etc/$(reboot)",))
    with pytest.raises(ValueError):
        render_collector(files=("relative/path",))
    with pytest.raises(ValueError):
        render_collector(binaries=("/kernel/../etc/shadow",))


def test_listing_dirs_cover_binaries_and_glob_dirs() -> None:
    dirs = listing_dirs(
        ["/etc/release", "/etc/rc2.d/*", "/etc/sysctl.d/*.conf"],
        ["/kernel/drv/vmxnet3s", "/kernel/drv/amd64/vmxnet3s"],
    )
    assert dirs == ["/etc/rc2.d", "/etc/sysctl.d", "/kernel/drv", "/kernel/drv/amd64"]


# -- real runs -------------------------------------------------------------------------------


@pytest.mark.parametrize("shell", list(SHELLS))
def test_round_trip_fake_solaris_11(shell: str, tmp_path: Path, script: Path) -> None:
    argv = shell_argv(shell)
    guest = tmp_path / "guest"
    make_solaris_tree(guest)
    shims = tmp_path / "shims"
    make_solaris_shims(shims)
    before = _snapshot(guest)
    outdir = tmp_path / "bundle"
    proc = run_collector(argv, script, outdir, shims=[shims], prefix=guest, extra=("-a",))
    assert proc.returncode == 0, proc.stderr
    assert _snapshot(guest) == before, "the collector changed the guest"
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "bundle",
        "bundle.tar",
        "collect.sh",
        "guest",
        "shims",
    ]

    for source in (outdir, tmp_path / "bundle.tar"):
        cap = BundleCapture(source)
        assert cap.manifest["format"] == BUNDLE_FORMAT
        assert cap.manifest["host"] == "solaris"
        assert cap.manifest["os"] == "solaris"
        assert cap.complete

        uname = cap.command("uname_a")
        assert uname is not None and uname.status == 0
        assert uname.stdout == UNAME["-a"] + "\n"
        assert uname.command == "uname -a"
        modinfo = cap.command("modinfo")
        assert modinfo is not None and modinfo.stdout == MODINFO
        ndd = cap.command("ndd_ip_lso_outbound")
        assert ndd is not None and (ndd.status, ndd.stdout) == (0, "1\n")
        phys = cap.command("dladm_show_phys")
        assert phys is not None and phys.stdout == SHOW_PHYS
        # dladm exists but rejects the Solaris 10 subcommand: a real non-zero status.
        dev = cap.command("dladm_show_dev")
        assert dev is not None and dev.status == 1 and "show-dev" in dev.stderr
        tcp = cap.command("ipadm_show_prop_tcp")
        assert tcp is not None and tcp.stdout == IPADM_TCP
        # Linux and ESXi rows are not run on a Solaris guest: not captured.
        for key, (line, os_name) in COMMANDS.items():
            if os_name in ("linux", "esxi") and "{if}" not in line:
                assert cap.command(key) is None, key
                assert cap.commands[key].status == "-"
            elif os_name in ("any", "solaris"):
                assert key in cap.commands, key
        assert not any(":" in key for key in cap.commands)

        assert cap.read_file("/etc/release") == SOLARIS_RELEASE.encode()
        assert cap.file_mtime("/etc/release") == RELEASE_MTIME
        assert cap.read_file("/kernel/drv/amd64/vmxnet3s") == DRIVER_64
        assert cap.read_file("/kernel/drv/vmxnet3s") == DRIVER_32
        assert cap.read_file("/kernel/drv/amd64/vmxnet3s.old.0") == b"older build"
        assert cap.read_file("/kernel/drv/e1000g") is None
        assert cap.read_file("/etc/init.d/my script") == b"name with a space\n"
        assert cap.read_file("/etc/rc2.d/S99vmware-tools") == b"#!/bin/sh\n"
        # The configurator comes from the LAST "answer BINDIR" of the install database.
        assert cap.read_file("/usr/bin/vmware-config-tools.pl") is not None
        assert cap.read_file("/opt/old/bin/vmware-config-tools.pl") is None
        assert cap.manifest["bindir"] == "/usr/bin"
        lib = "/usr/lib/vmware-tools/modules/binary"
        assert cap.read_file(f"{lib}/10_64/vmxnet3s") == DRIVER_64
        assert cap.read_file(f"{lib}/10/vmxnet3s.conf") == b"conf 10\n"
        assert cap.read_file(f"{lib}/11_64/vmhgfs") is None
        assert cap.list_dir(lib) == ["10", "10_64", "11_64"]
        assert cap.list_dir(f"{lib}/11_64") == ["vmhgfs", "vmxnet3s"]

        assert cap.list_dir("/kernel/drv/amd64") == ["vmxnet3s", "vmxnet3s.old.0"]
        assert cap.list_dir("/kernel/drv") == ["amd64", "e1000g", "vmxnet3s", "vmxnet3s.conf"]
        assert cap.list_dir("/etc/init.d") == ["my script", "vmware-tools"]
        assert cap.list_dir("/etc") is None  # only partly captured: never a partial listing
        listing = cap.listing_text("/kernel/drv/amd64")
        assert listing is not None and "vmxnet3s.old.0" in listing
        assert cap.file_mtime("/kernel/drv/amd64/vmxnet3s") is not None


def test_fake_solaris_10_missing_command_is_not_available(tmp_path: Path, script: Path) -> None:
    argv = shell_argv("dash")
    if shutil.which("ipadm") is not None:
        pytest.skip("this machine has a real ipadm")
    guest = tmp_path / "guest"
    make_solaris_tree(guest)
    shims = tmp_path / "shims"
    make_solaris_shims(shims, solaris10=True)
    outdir = tmp_path / "bundle"
    proc = run_collector(argv, script, outdir, shims=[shims], prefix=guest)
    assert proc.returncode == 0, proc.stderr
    cap = BundleCapture(outdir)
    assert cap.commands["ipadm_show_prop_tcp"].status == "127"
    ipadm = cap.command("ipadm_show_prop_tcp")
    assert ipadm is not None and ipadm.status is None and "not found" in ipadm.stderr
    dev = cap.command("dladm_show_dev")
    assert dev is not None and dev.status == 0 and "e1000g0" in dev.stdout
    phys = cap.command("dladm_show_phys")
    assert phys is not None and phys.status == 1
    uname_v = cap.command("uname_v")
    assert uname_v is not None and uname_v.stdout == "Generic_147441-21\n"


def test_command_added_to_table_is_collected(tmp_path: Path) -> None:
    argv = shell_argv("dash")
    table = {**COMMANDS, "uname_n_extra": ("uname -n", "any")}
    script = tmp_path / "collect.sh"
    script.write_text(render_collector(commands=table))
    guest = tmp_path / "guest"
    guest.mkdir()
    shims = tmp_path / "shims"
    make_solaris_shims(shims)
    proc = run_collector(argv, script, tmp_path / "b", shims=[shims], prefix=guest)
    assert proc.returncode == 0, proc.stderr
    extra = BundleCapture(tmp_path / "b").command("uname_n_extra")
    assert extra is not None and extra.stdout == "solaris\n"


@pytest.mark.parametrize("shell", ["dash", "busybox"])
def test_per_interface_linux_commands(shell: str, tmp_path: Path, script: Path) -> None:
    argv = shell_argv(shell)
    guest = tmp_path / "guest"
    for name in ("eth0", "lo"):
        (guest / "sys/class/net" / name).mkdir(parents=True)
    shims = tmp_path / "shims"
    shims.mkdir()
    _shim(shims, "uname", 'case "$1" in -s) echo Linux ;; *) echo linuxbox ;; esac\n')
    _shim(
        shims,
        "ethtool",
        'case "$1" in -k) echo "Features for $2:";'
        ' echo "tcp-segmentation-offload: on" ;;'
        ' -i) echo "driver: vmxnet3" ;; esac\n',
    )
    proc = run_collector(argv, script, tmp_path / "b", shims=[shims], prefix=guest)
    assert proc.returncode == 0, proc.stderr
    cap = BundleCapture(tmp_path / "b")
    assert cap.manifest["os"] == "linux"
    for name in ("eth0", "lo"):
        res = cap.command(f"ethtool_k:{name}")
        assert res is not None and res.status == 0
        assert res.stdout.startswith(f"Features for {name}:")
        assert res.command == f"ethtool -k {name}"
        drv = cap.command(f"ethtool_i:{name}")
        assert drv is not None and drv.stdout == "driver: vmxnet3\n"
    assert cap.command("ethtool_k:eth1") is None
    assert cap.list_dir("/sys/class/net") == ["eth0", "lo"]
    # Solaris rows are not run on Linux.
    assert cap.command("isainfo_b") is None


def test_timeout_kills_a_hanging_command(tmp_path: Path, script: Path) -> None:
    argv = shell_argv("dash")
    guest = tmp_path / "guest"
    guest.mkdir()
    shims = tmp_path / "shims"
    make_solaris_shims(shims)
    _shim(shims, "modinfo", "exec sleep 60\n")
    proc = run_collector(
        argv, script, tmp_path / "b", shims=[shims], prefix=guest, extra=("-t", "1")
    )
    assert proc.returncode == 0, proc.stderr
    cap = BundleCapture(tmp_path / "b")
    assert cap.commands["modinfo"].status == "timeout"
    res = cap.command("modinfo")
    assert res is not None and res.status is None and "timed out" in res.stderr
    after = cap.command("ifconfig_a")  # later commands still ran
    assert after is not None and after.stdout == IFCONFIG


def test_mtime_falls_back_to_ls_full_time(tmp_path: Path, script: Path) -> None:
    """With neither `stat -c` nor perl, the mtime comes from `ls --full-time`/`ls -E`."""
    argv = shell_argv("dash")
    probe = subprocess.run(["ls", "-d", "--full-time", "/"], capture_output=True, check=False)
    if probe.returncode != 0:
        pytest.skip("ls has neither -E nor --full-time here")
    guest = tmp_path / "guest"
    make_solaris_tree(guest)
    shims = tmp_path / "shims"
    make_solaris_shims(shims)
    broken = tmp_path / "broken"
    broken.mkdir()
    _shim(broken, "stat", "exit 1\n")
    _shim(broken, "perl", "exit 1\n")
    # A half-hour zone east of UTC exercises the offset sign and minutes.
    proc = run_collector(
        argv,
        script,
        tmp_path / "b",
        shims=[broken, shims],
        prefix=guest,
        env_extra={"TZ": "IST-5:30"},
    )
    assert proc.returncode == 0, proc.stderr
    cap = BundleCapture(tmp_path / "b")
    assert cap.file_mtime("/etc/release") == RELEASE_MTIME
    assert cap.file_mtime("/kernel/drv/vmxnet3s") == int(
        (guest / "kernel/drv/vmxnet3s").stat().st_mtime
    )


def test_refuses_non_empty_outdir(tmp_path: Path, script: Path) -> None:
    argv = shell_argv("dash")
    outdir = tmp_path / "b"
    outdir.mkdir()
    (outdir / "keep.txt").write_text("user data")
    proc = run_collector(argv, script, outdir, shims=[], prefix=tmp_path)
    assert proc.returncode == 2
    assert "not empty" in proc.stderr
    assert sorted(p.name for p in outdir.iterdir()) == ["keep.txt"]


def test_usage_error(tmp_path: Path, script: Path) -> None:
    argv = shell_argv("dash")
    proc = subprocess.run([*argv, str(script)], capture_output=True, text=True, check=False)
    assert proc.returncode == 2 and "usage" in proc.stderr


def test_bundle_is_private(tmp_path: Path, script: Path) -> None:
    """Bundles can hold BGP passwords: created with umask 077."""
    argv = shell_argv("dash")
    guest = tmp_path / "guest"
    (guest / "etc/quagga").mkdir(parents=True)
    (guest / "etc/quagga/bgpd.conf").write_text(" neighbor 192.0.2.1 password s3cr3t\n")
    proc = run_collector(argv, script, tmp_path / "b", shims=[], prefix=guest)
    assert proc.returncode == 0, proc.stderr
    copied = tmp_path / "b/files/etc/quagga/bgpd.conf"
    assert copied.read_text() == " neighbor 192.0.2.1 password s3cr3t\n"
    assert copied.stat().st_mode & 0o077 == 0
    assert (tmp_path / "b").stat().st_mode & 0o077 == 0


def test_tar_gz_with_leading_directory(tmp_path: Path, script: Path) -> None:
    argv = shell_argv("dash")
    guest = tmp_path / "guest"
    make_solaris_tree(guest)
    shims = tmp_path / "shims"
    make_solaris_shims(shims)
    outdir = tmp_path / "host1"
    assert run_collector(argv, script, outdir, shims=[shims], prefix=guest).returncode == 0
    archive = tmp_path / "host1.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(outdir, arcname="host1")
    cap = BundleCapture(archive)
    assert cap.read_file("/kernel/drv/amd64/vmxnet3s") == DRIVER_64
    res = cap.command("isainfo_b")
    assert res is not None and res.stdout == "64\n"
