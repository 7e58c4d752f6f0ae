#!/usr/bin/env python3
"""Benchmark: whole ``toolsfix`` processes on real-shaped inputs, against baselines measured
in the same run.

Inputs (all SYNTHETIC, generated here, shaped like real Linux Tools tarballs 8.6-10.3):
``vmware-tools-distrib/`` with a ~450 KB configurator, ``lib/modules/binary/<kernel>/``
directories each holding a ``properties`` file and ``objects/*.o`` -- real-size ET_REL
objects built by vendor-samples/elfgen.py, each copy made distinct in its ``.SUNW_ctf`` bytes
-- plus other payload (libraries, plugins) up to ~60 MB compressed, and a ~500 MB one.

Timed, each as a fresh process, median of ``--repeat`` paired runs (baseline and toolsfix
alternate, so load on a shared machine hits both alike):

* ``scan`` vs ``gzip -dc`` and raw isal decompression of the same file;
* ``fingerprint`` of every object of the tarball (extracted) vs ``sha256sum`` of the same
  files, with a database learned from the same tarball, and from another release;
* ``fingerprints learn`` of the tarball vs ``gzip -dc`` (and its peak RSS);
* ``verify --bundle`` of a synthetic Solaris guest bundle (absolute time).

Results: stdout and bench/results/all.json. Usage:
``python bench/bench_all.py [--repeat 3] [--large] [--keep DIR]``
"""

from __future__ import annotations

import argparse
import gzip
import io
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))

from bench_fingerprint import _ctf_offset, _elfgen  # noqa: E402
from bench_scan import ISAL_RAW, _payload  # noqa: E402

MODULES = ("vmxnet", "vmhgfs", "vmmemctl", "vmblock", "vmci", "vsock", "vmsync")
BASE_DIRS = ("10_64", "11_64")
RELEASES = {"a": ("9.2.2", "893683"), "b": ("9.4.0", "1280544")}
TOOLSFIX = [sys.executable, "-m", "toolsfix"]


def _configurator(version: str, build: str) -> bytes:
    """A sample configurator grown to real size (~450 KB) with inert Perl subs."""
    text = (REPO / "vendor-samples" / "scripts" / "vmware-config-tools-9.2.2.pl").read_text()
    text = text.replace("'9.2.2 build-893683'", f"'{version} build-{build}'")
    text = text.replace("return 'tools-for-solaris';", "return 'tools-for-linux';")
    filler = "".join(
        f"sub toolsfix_bench_filler_{i} {{\n  my ($x) = @_;\n  return $x + {i}; # pad\n}}\n\n"
        for i in range(6000)
    )
    return (text + "\n" + filler).encode()


def _objects(release: str) -> list[bytes]:
    version, build = RELEASES[release]
    elfgen = _elfgen()
    return [
        elfgen.build_driver("vmxnet3s" if m == "vmxnet" else "vmhgfs", d, version, build)
        for m in MODULES
        for d in BASE_DIRS
    ]


def make_tarball(path: Path, release: str, target_mb: int, seed: int = 7) -> dict[str, int]:
    """A Linux-layout distrib of ~``target_mb`` MB compressed; ~2,000 objects per 60 MB."""
    rng = random.Random(seed)
    bases = _objects(release)
    version, build = RELEASES[release]
    objects = 2000 * target_mb // 60
    kernels = objects // len(MODULES)
    counts = {"members": 0, "objects": 0, "uncompressed": 0}
    with (  # noqa: SIM117 - the tar must close before the gzip stream
        path.open("wb") as fh,
        gzip.GzipFile(fileobj=fh, mode="wb", compresslevel=6, mtime=0) as gz,
    ):
        with tarfile.open(fileobj=gz, mode="w|", format=tarfile.GNU_FORMAT) as tar:

            def add(name: str, data: bytes) -> None:
                info = tarfile.TarInfo(f"vmware-tools-distrib/{name}")
                info.size = len(data)
                info.mtime = 1420070400
                tar.addfile(info, io.BytesIO(data))
                counts["members"] += 1
                counts["uncompressed"] += len(data)

            add("bin/vmware-config-tools.pl", _configurator(version, build))
            add("vmware-install.pl", b"#!/usr/bin/perl\n# Tar package manager for VMware\n")
            add("etc/manifest.txt.shipped", f'monolithic.version = "{version}"\n'.encode())
            for k in range(kernels):
                kdir = f"lib/modules/binary/bld-{2 + k % 2}.{k % 40}.{k % 7}-{k}-x86_64"
                add(f"{kdir}/properties", f"kernel {k}\nsmp yes\n".encode())
                for j, mod in enumerate(MODULES):
                    base = bases[(j * len(BASE_DIRS) + k) % len(bases)]
                    copy = bytearray(base)
                    at = _ctf_offset(base) + 8
                    serial = k * len(MODULES) + j  # unique per object: no two share a sha256
                    copy[at : at + 8] = serial.to_bytes(8, "little")
                    add(f"{kdir}/objects/{mod}.o", bytes(copy))
                    counts["objects"] += 1
            i = 0
            while fh.tell() < target_mb * 1_000_000:
                add(f"lib/lib/libbench{i:04d}.so", _payload(rng, rng.randint(50_000, 900_000)))
                i += 1
    counts["compressed"] = path.stat().st_size
    return counts


def _run(argv: list[str], **kw: Any) -> tuple[float, int]:
    """Wall seconds and peak RSS (KiB) of one child process (exit 0 or 1 expected)."""
    start = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, **kw)
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    code = os.waitstatus_to_exitcode(status)
    err = proc.stderr.read().decode() if proc.stderr else ""
    if proc.stderr:
        proc.stderr.close()
    if code not in (0, 1):
        raise RuntimeError(f"{argv[:6]} exited {code}: {err[-500:]}")
    return elapsed, int(usage.ru_maxrss)


def paired(cases: dict[str, list[str]], repeat: int, **kw: Any) -> dict[str, dict[str, float]]:
    """Median wall time and max RSS of each case, runs interleaved case by case."""
    times: dict[str, list[float]] = {k: [] for k in cases}
    rss: dict[str, int] = dict.fromkeys(cases, 0)
    for _ in range(repeat):
        for name, argv in cases.items():
            t, r = _run(argv, **kw)
            times[name].append(t)
            rss[name] = max(rss[name], r)
    return {
        k: {"median_s": round(statistics.median(v), 3), "peak_rss_mib": round(rss[k] / 1024, 1)}
        for k, v in times.items()
    }


def _extract_objects(tarball: Path, out: Path) -> list[str]:
    names = []
    with tarfile.open(tarball) as tar:
        for info in tar:
            if info.name.endswith(".o"):
                tar.extract(info, out, filter="data")
                names.append(info.name)
    return names


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--large", action="store_true", help="also scan a ~500 MB tarball")
    ap.add_argument("--keep", type=Path, help="keep generated inputs in this directory")
    args = ap.parse_args()
    results: dict[str, Any] = {"cpus": os.cpu_count(), "load_avg": os.getloadavg()}
    tmp = tempfile.TemporaryDirectory(prefix="toolsfix-bench-")
    work = args.keep or Path(tmp.name)
    work.mkdir(parents=True, exist_ok=True)
    try:
        tarballs = {}
        for release, mb in (("a", 60), ("b", 60), *((("a", 500),) if args.large else ())):
            path = work / f"VMwareTools-{RELEASES[release][0]}-{mb}mb.tar.gz"
            if not path.exists():
                results[f"input_{release}_{mb}"] = make_tarball(path, release, mb)
            tarballs[(release, mb)] = path
        for (release, mb), path in tarballs.items():
            if release != "a":
                continue
            row = paired(
                {
                    "gzip_dc": ["sh", "-c", f"gzip -dc '{path}' > /dev/null"],
                    "isal_raw": [sys.executable, "-c", ISAL_RAW, str(path)],
                    "scan": [*TOOLSFIX, "scan", str(path), "--no-exec", "--format", "json"],
                },
                args.repeat,
            )
            row["scan_vs_gzip"] = round(row["scan"]["median_s"] / row["gzip_dc"]["median_s"], 3)
            row["scan_vs_isal"] = round(row["scan"]["median_s"] / row["isal_raw"]["median_s"], 3)
            results[f"scan_{mb}mb"] = row
            print(f"scan {mb} MB: {json.dumps(row)}", flush=True)

        a, b = tarballs[("a", 60)], tarballs[("b", 60)]
        env = {**os.environ, "TOOLSFIX_USER_DB": str(work / "nouser")}
        dbs = {}
        for release, path in (("a", a), ("b", b)):
            db = work / f"db-{release}"
            shutil.rmtree(db, ignore_errors=True)
            argv = [*TOOLSFIX, "fingerprints", "learn", str(path), "--db", str(db)]
            if release == "a":
                row = paired(
                    {"gzip_dc": ["sh", "-c", f"gzip -dc '{path}' > /dev/null"], "learn": argv},
                    args.repeat,
                    env=env,
                )
                row["learn_vs_gzip"] = round(
                    row["learn"]["median_s"] / row["gzip_dc"]["median_s"], 3
                )
                results["learn_60mb"] = row
                print(f"learn: {json.dumps(row)}", flush=True)
            else:
                _run(argv, env=env)
            dbs[release] = db
        objdir = work / "objects-a"
        if not objdir.exists():
            _extract_objects(a, objdir)
        files = sorted(str(p.relative_to(objdir)) for p in objdir.rglob("*.o"))
        listing = work / "files.txt"
        listing.write_text("\0".join(files) + "\0")
        for release in ("a", "b"):
            # first run builds the index beside a fresh JSON; the timed runs use it
            _run([*TOOLSFIX, "fingerprint", "--db", str(dbs[release]), "--fail-on", "never",
                  files[0]], cwd=objdir, env=env)  # fmt: skip
        sha = ["sh", "-c", f"xargs -0 sha256sum < '{listing}' > /dev/null"]
        for release in ("a", "b"):
            cases: dict[str, list[str]] = {"sha256sum": sha}
            for jobs in (1, 2):
                cases[f"fingerprint_j{jobs}"] = [
                    "sh", "-c",
                    f"xargs -0 {' '.join(TOOLSFIX)} fingerprint --fail-on never -j {jobs} "
                    f"--db '{dbs[release]}' < '{listing}' > /dev/null",
                ]  # fmt: skip
            row = paired(cases, args.repeat, cwd=objdir, env=env)
            base = row["sha256sum"]["median_s"]
            for jobs in (1, 2):
                t = row[f"fingerprint_j{jobs}"]["median_s"]
                row[f"j{jobs}_vs_sha256sum"] = round(t / base, 3)
                row[f"j{jobs}_ms_per_object"] = round(t / len(files) * 1000, 3)
            row["objects"] = len(files)
            key = "fingerprint_same_release" if release == "a" else "fingerprint_other_release"
            results[key] = row
            print(f"{key}: {json.dumps(row)}", flush=True)
        bundle = REPO / "vendor-samples" / "bundles" / "sol11.1-s10build-lso-on"
        results["verify_bundle"] = paired(
            {"verify": [*TOOLSFIX, "verify", "--bundle", str(bundle), "--format", "json"]},
            args.repeat,
            env=env,
        )
        print(f"verify --bundle: {json.dumps(results['verify_bundle'])}", flush=True)
    finally:
        tmp.cleanup()
    out = HERE / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "all.json").write_text(json.dumps(results, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
