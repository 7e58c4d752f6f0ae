"""The benchmark's input generator and harness (bench/realshape.py, bench/bench_all.py).

Why test a benchmark: its figures are only worth quoting if the inputs have the shape it claims
(configurator at member #4, objects that are real relocatable ELF with relocations, distinct
bytes per object, sizes in the stated range) and if its arithmetic (min/median, ratios, paired
rounds) and its input cache do what the results file says. No timing is asserted here.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import io
import shutil
import struct
import subprocess
import sys
import tarfile
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

REPO = Path(__file__).resolve().parent.parent
BENCH = REPO / "bench"


def _load(name: str) -> ModuleType:
    module = sys.modules.get(name)
    if module is None:
        if str(BENCH) not in sys.path:
            sys.path.insert(0, str(BENCH))  # bench_all imports realshape by plain name
        spec = importlib.util.spec_from_file_location(name, BENCH / f"{name}.py")
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return module


realshape = _load("realshape")
bench_all = _load("bench_all")

needs_gcc = pytest.mark.skipif(
    shutil.which("gcc") is None or shutil.which("ld") is None or shutil.which("objcopy") is None,
    reason="the object generator needs gcc and binutils",
)


def _sections(data: bytes) -> dict[str, int]:
    """Section name -> type, read with struct (independent of the generator and of toolsfix)."""
    is64 = data[4] == 2
    shoff = struct.unpack_from("<Q" if is64 else "<I", data, 0x28 if is64 else 0x20)[0]
    shentsize, shnum, shstrndx = struct.unpack_from("<HHH", data, 0x3A if is64 else 0x2E)
    fmt = "<IIQQQQIIQQ" if is64 else "<IIIIIIIIII"
    headers = [struct.unpack_from(fmt, data, shoff + i * shentsize) for i in range(shnum)]
    names = data[headers[shstrndx][4] :]
    return {names[h[0] : names.index(b"\0", h[0])].decode(): h[1] for h in headers}


@pytest.fixture(scope="module")
def tiny_objects(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    """One small compiled object per arch (3 functions: fast to build)."""
    if shutil.which("gcc") is None or shutil.which("objcopy") is None:
        pytest.skip("the object generator needs gcc and binutils")
    return {arch: realshape.compile_object("vmsync", arch, "a", 3) for arch in ("amd64", "i386")}


# --------------------------------------------------------------------------------------------
# Objects


@needs_gcc
@pytest.mark.parametrize(("arch", "elf_class", "machine", "rel"),
                         [("amd64", 2, 62, ".rela.text"), ("i386", 1, 3, ".rel.text")])  # fmt: skip
def test_compiled_object_is_relocatable_elf_with_kernel_module_sections(
    tiny_objects: dict[str, bytes], arch: str, elf_class: int, machine: int, rel: str
) -> None:
    data = tiny_objects[arch]
    assert data[:4] == b"\x7fELF" and data[4] == elf_class
    e_type, e_machine = struct.unpack_from("<HH", data, 16)
    assert (e_type, e_machine) == (1, machine)  # ET_REL
    sections = _sections(data)
    for name in (".text", rel, ".data", ".bss", ".modinfo", ".comment", ".symtab", ".strtab"):
        assert name in sections, name
    assert b"toolsfix synthetic" in data  # labelled as synthetic


def test_with_vermagic_changes_only_the_placeholder(tiny_objects: dict[str, bytes]) -> None:
    data = tiny_objects["amd64"]
    one = realshape.with_vermagic(data, "bld-2.6.32-1-x86_64smp SMP mod_unload")
    two = realshape.with_vermagic(data, "bld-2.6.32-2-x86_64smp SMP mod_unload")
    assert len(one) == len(two) == len(data)
    assert b"vermagic=bld-2.6.32-1-x86_64smp SMP mod_unload\0" in one
    assert hashlib.sha256(one).digest() != hashlib.sha256(two).digest()
    differing = [i for i in range(len(data)) if one[i] != data[i]]
    assert differing and max(differing) - min(differing) < realshape.VERMAGIC_ROOM
    assert _sections(one) == _sections(data)


def test_with_vermagic_refuses_an_object_without_the_placeholder() -> None:
    with pytest.raises(realshape.BuildError, match="placeholder"):
        realshape.with_vermagic(b"\x7fELF" + b"\0" * 60, "x")


@needs_gcc
def test_object_for_aims_at_the_size_and_uses_its_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = realshape.object_for("vmblock", "amd64", "a", 24, tmp_path)
    assert 0.7 * 24 * 1024 < len(data) < 1.3 * 24 * 1024
    assert len(list(tmp_path.glob("*.o"))) == 1

    def fail(*_: Any) -> bytes:
        raise AssertionError("compiled again despite a cached copy")

    monkeypatch.setattr(realshape, "compile_object", fail)
    assert realshape.object_for("vmblock", "amd64", "a", 24, tmp_path) == data


def test_releases_share_most_code_but_not_all() -> None:
    a = realshape.kernel_c_source("vmci", "a", 12, 8).splitlines()
    b = realshape.kernel_c_source("vmci", "b", 12, 8).splitlines()
    shared = len(set(a) & set(b)) / len(set(a) | set(b))
    assert 0.3 < shared < 0.95


# --------------------------------------------------------------------------------------------
# Text members


def test_configurator_reaches_the_size_and_keeps_the_sample_function() -> None:
    linux = realshape.configurator("a", 200_000)
    solaris = realshape.configurator("b", 200_000, solaris=True)
    assert 200_000 <= len(linux) < 205_000
    assert b"return 'tools-for-linux';" in linux
    assert b"return 'tools-for-solaris';" in solaris
    assert b"'9.4.0 build-1280544'" in solaris
    assert linux.count(b"sub configure_module_solaris") == 1
    assert b'<<"EOF"' in linux and b"=~ s/" in linux and b"SYNTHETIC" in linux


@pytest.mark.skipif(shutil.which("perl") is None, reason="needs perl")
def test_configurator_compiles_under_perl_without_warnings(tmp_path: Path) -> None:
    script = tmp_path / "vmware-config-tools.pl"
    script.write_bytes(realshape.configurator("a", 120_000))
    proc = subprocess.run(["perl", "-c", str(script)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.strip().endswith("syntax OK"), proc.stderr  # -w: no warnings either


def test_payload_compresses_like_binaries() -> None:
    import random

    data = realshape.payload(random.Random(1), 400_000)
    assert len(data) == 400_000
    assert 2.0 < realshape.compress_ratio(data) < 4.5


# --------------------------------------------------------------------------------------------
# Layout and tarball


def test_kernel_dirs_hold_the_requested_objects_in_distinct_directories() -> None:
    params = realshape.TarballParams(release="a", target_mb=1, objects=400)
    dirs = realshape.kernel_dirs(params)
    assert sum(len(d.modules) for d in dirs) == 400
    assert len({d.name for d in dirs}) == len(dirs)
    assert {d.arch for d in dirs} == {"amd64", "i386"}
    assert all(m in realshape.MODULE_KB for d in dirs for m, _ in d.modules)
    targets = [realshape._target_kb(m, f) for d in dirs for m, f in d.modules]
    assert min(targets) >= realshape.MIN_KB and max(targets) <= realshape.MAX_KB
    assert 35 < sum(targets) / len(targets) < 55  # the ~44 KB mean of real tarballs


@pytest.fixture
def fake_objects(monkeypatch: pytest.MonkeyPatch, tiny_objects: dict[str, bytes]) -> None:
    """Every base object is the tiny one of its arch: layout tests need no big compiles."""
    monkeypatch.setattr(realshape, "object_for", lambda _m, arch, *_: tiny_objects[arch])


@pytest.mark.usefixtures("fake_objects")
def test_tarball_layout(tmp_path: Path) -> None:
    params = realshape.TarballParams(release="a", target_mb=1, objects=40, configurator_kb=64)
    path = tmp_path / "t.tar.gz"
    stats = realshape.ensure_tarball(path, params, tmp_path / "cache")
    with tarfile.open(path) as tar:
        members = tar.getmembers()
        names = [m.name for m in members]
        objects = {m.name: tar.extractfile(m).read() for m in members  # type: ignore[union-attr]
                   if m.name.endswith(".o")}  # fmt: skip
    assert names[3] == "vmware-tools-distrib/bin/vmware-config-tools.pl"  # member #4
    assert names[1] == "vmware-tools-distrib/vmware-install.pl"
    assert len(objects) == 40 == stats["objects"]["count"]
    # copies of one module never share a sha256 (different modules come from different builds)
    by_module: dict[str, set[bytes]] = {}
    for name, data in objects.items():
        by_module.setdefault(name.rsplit("/", 1)[1], set()).add(hashlib.sha256(data).digest())
    assert sum(len(v) for v in by_module.values()) == 40
    kdirs = {n.split("/objects/")[0] for n in objects}
    dirs = {m.name for m in members if m.isdir()}
    assert all(f"{k}/properties" in names and k in dirs and f"{k}/objects" in dirs for k in kdirs)
    assert stats["members"] == len(names)
    assert stats["directories"] == sum(m.isdir() for m in members)
    assert stats["uncompressed"] == sum(m.size for m in members)
    assert stats["compressed"] == path.stat().st_size >= 1_000_000
    assert not stats["reused"]


@pytest.mark.usefixtures("fake_objects")
def test_ensure_tarball_reuses_only_on_matching_parameters(tmp_path: Path) -> None:
    params = realshape.TarballParams(release="a", target_mb=0, objects=30, configurator_kb=40)
    path = tmp_path / "t.tar.gz"
    realshape.ensure_tarball(path, params, tmp_path / "cache")
    before = path.stat().st_mtime_ns
    assert realshape.ensure_tarball(path, params, tmp_path / "cache")["reused"]
    assert path.stat().st_mtime_ns == before
    other = realshape.TarballParams(release="a", target_mb=0, objects=31, configurator_kb=40)
    assert not realshape.ensure_tarball(path, other, tmp_path / "cache")["reused"]
    with tarfile.open(path) as tar:
        assert sum(n.endswith(".o") for n in tar.getnames()) == 31


@pytest.mark.usefixtures("fake_objects")
def test_solaris_product_adds_the_six_driver_directories(tmp_path: Path) -> None:
    params = realshape.TarballParams(release="a", target_mb=0, objects=30, configurator_kb=40,
                                     solaris=True)  # fmt: skip
    path = tmp_path / "s.tar.gz"
    realshape.ensure_tarball(path, params, tmp_path / "cache")
    with tarfile.open(path) as tar:
        names = tar.getnames()
        cfg = tar.extractfile("vmware-tools-distrib/bin/vmware-config-tools.pl")
        assert cfg is not None and b"return 'tools-for-solaris';" in cfg.read()
    binary = "vmware-tools-distrib/lib/modules/binary"
    for os_dir in ("10", "10_64", "11", "11_64", "2009.06", "2009.06_64"):
        assert f"{binary}/{os_dir}/vmxnet3s" in names


def test_size_summary() -> None:
    sizes = [10 * 1024 * k for k in range(1, 11)]
    s = realshape.size_summary(sizes)
    assert s["count"] == 10 and s["min_kb"] == 10.0 and s["max_kb"] == 100.0
    assert s["mean_kb"] == 55.0 and s["median_kb"] == 60.0
    assert realshape.size_summary([]) == {"count": 0}


# --------------------------------------------------------------------------------------------
# Harness


def test_summarize_and_ratio() -> None:
    runs = [{"wall": w, "cpu": w / 2, "rss_mib": r} for w, r in ((3.0, 10), (1.0, 30), (2.0, 20))]
    row = {"x": bench_all.summarize(runs)}
    assert row["x"]["min_s"] == 1.0 and row["x"]["median_s"] == 2.0
    assert row["x"]["cpu_median_s"] == 1.0 and row["x"]["peak_rss_mib"] == 30
    row["base"] = bench_all.summarize([{"wall": w, "cpu": 0, "rss_mib": 1} for w in (4.0, 8.0)])
    assert bench_all.ratio(row, "x", "base") == {"median": round(2.0 / 6.0, 3), "min": 0.25}


def test_paired_warms_up_then_runs_every_case_each_round(tmp_path: Path) -> None:
    log = tmp_path / "log"
    cases = {n: ["sh", "-c", f"echo {n} >> '{log}'"] for n in ("a", "b", "c")}
    row = bench_all.paired(cases, 3, {"PATH": "/usr/bin:/bin"})
    assert all(len(row[n]["runs_s"]) == 3 for n in cases)
    order = log.read_text().split()
    assert order[:3] == ["a", "b", "c"]  # the untimed warm-up
    assert order[3:] == ["a", "b", "c", "b", "c", "a", "c", "a", "b"]  # rotating rounds


def test_run_once_reports_a_failed_child() -> None:
    with pytest.raises(RuntimeError, match=r"exited 2: .*boom"):
        bench_all.run_once(["sh", "-c", "echo boom >&2; exit 2"], {"PATH": "/usr/bin:/bin"})
    result = bench_all.run_once(["sh", "-c", "exit 1"], {"PATH": "/usr/bin:/bin"})
    assert result["wall"] > 0 and result["rss_mib"] > 0


@pytest.mark.skipif(bench_all.GNU_TIME is None, reason="needs GNU time")
def test_peak_rss_is_the_childs_not_the_harness() -> None:
    ballast = bytearray(64 * 2**20)  # the harness grows; a tiny child must not inherit that
    small = bench_all.run_once(["true"], {"PATH": "/usr/bin:/bin"})["rss_mib"]
    big = bench_all.run_once(
        [sys.executable, "-c", "b = bytearray(48 * 2**20); b[::4096] = b'x' * len(b[::4096])"],
        {"PATH": "/usr/bin:/bin"},
    )["rss_mib"]
    assert len(ballast) and small < 16 < 48 < big


def test_child_env_precompiled_bytecode_and_no_user_db(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PYTHONDONTWRITEBYTECODE", "1")
    env = bench_all.child_env(tmp_path)
    assert "PYTHONDONTWRITEBYTECODE" not in env
    assert env["PYTHONPYCACHEPREFIX"] == str(tmp_path / "pycache")
    assert env["TOOLSFIX_USER_DB"] == str(tmp_path / "no-user-db")


def test_only_option() -> None:
    assert bench_all.parse_only("learn, scan,learn") == ("learn", "scan")
    for bad in ("scan,nope", "", ","):
        with pytest.raises(argparse.ArgumentTypeError, match="subset of"):
            bench_all.parse_only(bad)
    parser = bench_all.build_parser()
    assert parser.parse_args(["--only", "verify"]).only == ("verify",)
    assert parser.parse_args([]).only == bench_all.GROUPS
    with pytest.raises(SystemExit) as exc:
        parser.parse_args(["--only", "scan,everything"])
    assert exc.value.code == 2


def test_extract_objects_takes_only_objects_and_reuses_a_complete_copy(tmp_path: Path) -> None:
    tarball = tmp_path / "t.tar.gz"
    with tarfile.open(tarball, "w:gz") as tar:
        for name, data in (("d/k1/objects/a.o", b"A"), ("d/k1/properties", b"p"),
                           ("d/k2/objects/b.o", b"B")):  # fmt: skip
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    out = tmp_path / "objs"
    assert bench_all.extract_objects(tarball, out) == ["d/k1/objects/a.o", "d/k2/objects/b.o"]
    assert not (out / "d/k1/properties").exists()
    (out / "d/k1/objects/a.o").write_bytes(b"kept")  # a reused copy is not re-extracted
    bench_all.extract_objects(tarball, out)
    assert (out / "d/k1/objects/a.o").read_bytes() == b"kept"
