#!/usr/bin/env python3
"""Benchmark: fingerprint N driver objects with toolsfix vs ``sha256sum`` over the same files.

Why this comparison: hashing is the floor for any identification (the ``exact`` rung is a
sha256), so the cost of everything else toolsfix extracts (sections, symbols, relocation-aware
code hash, identity, dependencies) is best expressed as a multiple of ``sha256sum``. Target:
toolsfix <= 1.5 x sha256sum.

What runs, all in one process run, on the same files, page cache warmed first:

1. build ~48 SYNTHETIC objects with vendor-samples/elfgen.py (4 releases x 6 directories x
   vmxnet3s/vmhgfs), then write N files: copies whose ``.SUNW_ctf`` carries the copy number
   (distinct sha256, same code: realistic "mostly copies with small variations");
2. ``sha256sum`` via ``xargs -0`` batching (subprocess), best of ``--repeat``;
3. toolsfix in-process loop per engine (``fingerprint_file``: read once, hash from the
   buffer), best of ``--repeat``; ``import lief`` is timed separately;
4. toolsfix with a process pool of ``--workers`` (pool start-up included in the time);
5. a cold end-to-end run in a fresh interpreter (start-up + imports + all files);
6. identification of every fingerprint against a database of the base builds.

Peak RSS: this process (in-process loops) and the largest child (pool workers, sha256sum).
Results go to bench/results/ (gitignored) as JSON. Timing assertions do not belong in tests:
this script reports, it does not fail on a slow machine.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import datetime
import importlib.util
import json
import multiprocessing
import os
import platform
import resource
import shutil
import statistics
import struct
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO))

from toolsfix.fingerprint import fingerprint_file, lief_available  # noqa: E402
from toolsfix.fpdb import FingerprintDB, learn  # noqa: E402
from toolsfix.identify import identify  # noqa: E402

RELEASES = (("9.2.2", "893683"), ("9.9.2", "2496486"), ("10.1.10", "6082533"),
            ("10.3.10", "12406962"))  # fmt: skip
OS_DIRS = ("10", "10_64", "11", "11_64", "2009.06", "2009.06_64")
MODULES = ("vmxnet3s", "vmhgfs")


def _elfgen() -> ModuleType:
    spec = importlib.util.spec_from_file_location("elfgen", REPO / "vendor-samples" / "elfgen.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def _ctf_offset(data: bytes) -> int:
    """File offset of .SUNW_ctf's payload (every base build of Tools >= 9 has one)."""
    is64 = data[4] == 2
    shoff = struct.unpack_from("<Q" if is64 else "<I", data, 0x28 if is64 else 0x20)[0]
    shentsize, shnum, shstrndx = struct.unpack_from("<HHH", data, 0x3A if is64 else 0x2E)
    fmt = "<IIQQQQIIQQ" if is64 else "<IIIIIIIIII"
    headers = [struct.unpack_from(fmt, data, shoff + i * shentsize) for i in range(shnum)]
    names = data[headers[shstrndx][4] :]
    for h in headers:
        if names[h[0] :].startswith(b".SUNW_ctf\0"):
            return int(h[4])
    raise RuntimeError("base object has no .SUNW_ctf")


def make_corpus(workdir: Path, count: int) -> tuple[list[Path], list[tuple[str, bytes]]]:
    elfgen = _elfgen()
    bases: list[tuple[str, bytes]] = []
    for version, build in RELEASES:
        for os_dir in OS_DIRS:
            for module in MODULES:
                data = elfgen.build_driver(module, os_dir, version, build)
                bases.append((f"{version}/{build}/lib/modules/binary/{os_dir}/{module}", data))
    paths = []
    for i in range(count):
        _, data = bases[i % len(bases)]
        copy = bytearray(data)
        at = _ctf_offset(data) + 8
        copy[at : at + 8] = i.to_bytes(8, "little")
        path = workdir / f"d{i // 1000:02d}" / f"obj{i:05d}"
        path.parent.mkdir(exist_ok=True)
        path.write_bytes(bytes(copy))
        paths.append(path)
    return paths, bases


def _warm(paths: Sequence[Path]) -> int:
    return sum(len(p.read_bytes()) for p in paths)


def time_sha256sum(workdir: Path, paths: Sequence[Path], repeat: int) -> dict[str, Any]:
    names = b"\0".join(str(p.relative_to(workdir)).encode() for p in paths) + b"\0"
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        proc = subprocess.run(["xargs", "-0", "sha256sum"], input=names, cwd=workdir,
                              stdout=subprocess.PIPE, check=True)  # fmt: skip
        times.append(time.perf_counter() - start)
        lines = proc.stdout.count(b"\n")
        if lines != len(paths):
            raise RuntimeError(f"sha256sum printed {lines} lines for {len(paths)} files")
    return {"best_s": min(times), "median_s": statistics.median(times), "runs": times}


def _fp_summary(path: Path, engine: str) -> tuple[str, str | None, bool]:
    fp = fingerprint_file(path, engine=engine)
    return fp.sha256, fp.code_hash, fp.is_elf


def _pool_chunk(args: tuple[list[str], str]) -> list[tuple[str, str | None, bool]]:
    paths, engine = args
    return [_fp_summary(Path(p), engine) for p in paths]


def time_in_process(paths: Sequence[Path], engine: str, repeat: int) -> dict[str, Any]:
    times = []
    fps: list[Any] = []
    for _ in range(repeat):
        fps = []  # do not hold two result sets at once (peak RSS)
        start = time.perf_counter()
        fps = [fingerprint_file(p, engine=engine) for p in paths]
        times.append(time.perf_counter() - start)
    bad = [fp.name for fp in fps if not fp.is_elf or fp.engine != engine]
    if bad:
        raise RuntimeError(f"{len(bad)} files not fingerprinted with {engine}: {bad[:3]}")
    return {"best_s": min(times), "median_s": statistics.median(times), "runs": times,
            "fingerprints": fps}  # fmt: skip


def time_pool(paths: Sequence[Path], engine: str, workers: int, repeat: int) -> dict[str, Any]:
    methods = multiprocessing.get_all_start_methods()
    context = multiprocessing.get_context("fork" if "fork" in methods else "spawn")
    size = max(1, len(paths) // (workers * 8))
    chunks = [([str(p) for p in paths[i : i + size]], engine) for i in range(0, len(paths), size)]
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        with concurrent.futures.ProcessPoolExecutor(workers, mp_context=context) as pool:
            results = [r for chunk in pool.map(_pool_chunk, chunks) for r in chunk]
        times.append(time.perf_counter() - start)
        if len(results) != len(paths) or not all(ok for _, _, ok in results):
            raise RuntimeError("pool run lost or failed files")
    return {"best_s": min(times), "median_s": statistics.median(times), "runs": times,
            "start_method": context.get_start_method(), "chunk": size}  # fmt: skip


_COLD_SCRIPT = """
import sys
from pathlib import Path
sys.path.insert(0, sys.argv[1])
from toolsfix.fingerprint import fingerprint_file
n = 0
for line in sys.stdin.read().split("\\0"):
    if line:
        n += fingerprint_file(Path(line), engine=sys.argv[2]).is_elf
print(n)
"""


def time_cold(paths: Sequence[Path], engine: str) -> dict[str, Any]:
    names = "\0".join(str(p) for p in paths)
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", _COLD_SCRIPT, str(REPO), engine], input=names,
                          capture_output=True, text=True, check=True)  # fmt: skip
    elapsed = time.perf_counter() - start
    if int(proc.stdout.strip()) != len(paths):
        raise RuntimeError(f"cold run fingerprinted {proc.stdout.strip()} of {len(paths)}")
    return {"wall_s": elapsed}


def time_lief_import() -> float | None:
    if not lief_available():
        return None
    proc = subprocess.run(
        [sys.executable, "-c",
         "import time; t = time.perf_counter(); import lief; print(time.perf_counter() - t)"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    return float(proc.stdout.strip())


def _kib_to_mib(kib: int) -> float:
    # ru_maxrss is KiB on Linux and bytes on macOS
    return round(kib / (1024 * 1024) if sys.platform == "darwin" else kib / 1024, 1)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--count", type=int, default=5000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--workdir", type=Path, help="keep the generated files here")
    parser.add_argument("--out", type=Path, default=HERE / "results")
    args = parser.parse_args(argv)
    if shutil.which("sha256sum") is None or shutil.which("xargs") is None:
        print("needs sha256sum and xargs", file=sys.stderr)
        return 2
    engines = ["builtin", *(["lief"] if lief_available() else [])]

    tmp = None
    if args.workdir:
        workdir = args.workdir
        workdir.mkdir(parents=True, exist_ok=True)
    else:
        tmp = tempfile.TemporaryDirectory(prefix="toolsfix-bench-")
        workdir = Path(tmp.name)
    try:
        t0 = time.perf_counter()
        paths, bases = make_corpus(workdir, args.count)
        build_s = time.perf_counter() - t0
        total_bytes = _warm(paths)
        _warm(paths)
        result: dict[str, Any] = {
            "benchmark": "fingerprint-vs-sha256sum",
            "when": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "files": len(paths),
            "bytes": total_bytes,
            "mean_file_bytes": round(total_bytes / len(paths)),
            "base_builds": len(bases),
            "corpus_build_s": round(build_s, 2),
            "machine": {
                "python": platform.python_version(),
                "platform": platform.platform(),
                "cpus": os.cpu_count(),
                "load_avg": os.getloadavg() if hasattr(os, "getloadavg") else None,
                "lief": _lief_version(),
            },
            "target_ratio": 1.5,
        }
        result["sha256sum"] = time_sha256sum(workdir, paths, args.repeat)
        result["sha256sum"]["peak_rss_child_mib"] = _kib_to_mib(
            resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        )
        base = result["sha256sum"]["best_s"]
        result["lief_import_s"] = time_lief_import()
        for engine in engines:
            fingerprint_file(paths[0], engine=engine)  # warm-up: imports, LIEF config
        result["rss_after_imports_mib"] = _kib_to_mib(
            resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        )
        # pools first: forked workers then start from a small parent
        result["pool"] = {}
        for engine in engines:
            run = time_pool(paths, engine, args.workers, args.repeat)
            run["ratio"] = round(run["best_s"] / base, 3)
            run["workers"] = args.workers
            result["pool"][engine] = run
        result["peak_rss_child_mib"] = _kib_to_mib(
            resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        )
        result["in_process"] = {}
        fps: list[Any] = []
        for engine in engines:
            fps = []
            run = time_in_process(paths, engine, args.repeat)
            fps = run.pop("fingerprints")
            run["ratio"] = round(run["best_s"] / base, 3)
            run["us_per_file"] = round(run["best_s"] / len(paths) * 1e6, 1)
            result["in_process"][engine] = run
        result["peak_rss_self_mib"] = _kib_to_mib(
            resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        )
        result["cold"] = {}
        for engine in engines:
            run = time_cold(paths, engine)
            run["ratio"] = round(run["wall_s"] / base, 3)
            result["cold"][engine] = run
        db = FingerprintDB(learn(bases, tools_version=None, build=None, source="bench"))
        start = time.perf_counter()
        rungs: dict[str, int] = {}
        for fp in fps:
            rung = identify(fp, db).rung
            rungs[rung] = rungs.get(rung, 0) + 1
        result["identify"] = {"s": round(time.perf_counter() - start, 3), "rungs": rungs,
                              "db_records": len(db)}  # fmt: skip
    finally:
        if tmp is not None:
            tmp.cleanup()

    _print(result)
    args.out.mkdir(parents=True, exist_ok=True)
    stamp = result["when"].replace(":", "").replace("+0000", "Z")
    out = args.out / f"fingerprint-{stamp}.json"
    out.write_text(json.dumps(result, indent=1, sort_keys=True) + "\n")
    print(f"results: {out}")
    return 0


def _lief_version() -> str | None:
    if not lief_available():
        return None
    import lief

    return str(getattr(lief, "__version__", "unknown"))


def _print(r: dict[str, Any]) -> None:
    mib = r["bytes"] / (1024 * 1024)
    print(f"{r['files']} files, {mib:.1f} MiB (mean {r['mean_file_bytes']} bytes), "
          f"{r['base_builds']} base builds; cpus={r['machine']['cpus']} "
          f"load={r['machine']['load_avg']}")  # fmt: skip
    base = r["sha256sum"]["best_s"]
    print(f"  sha256sum (xargs)          {base:7.3f} s   1.00x")
    for engine, run in r["in_process"].items():
        print(f"  toolsfix {engine:8} 1 proc   {run['best_s']:7.3f} s   {run['ratio']:.2f}x"
              f"   ({run['us_per_file']} us/file)")  # fmt: skip
    for engine, run in r["pool"].items():
        print(f"  toolsfix {engine:8} pool {run['workers']}  {run['best_s']:7.3f} s   "
              f"{run['ratio']:.2f}x")  # fmt: skip
    for engine, run in r["cold"].items():
        print(
            f"  toolsfix {engine:8} cold     {run['wall_s']:7.3f} s   {run['ratio']:.2f}x"
            "   (fresh interpreter, imports included)"
        )
    if r["lief_import_s"] is not None:
        print(f"  import lief: {r['lief_import_s']:.3f} s")
    print(f"  peak RSS: after imports {r['rss_after_imports_mib']} MiB, in-process run holding "
          f"all {r['files']} fingerprints {r['peak_rss_self_mib']} MiB, largest child "
          f"(pool worker / sha256sum) {r['peak_rss_child_mib']} MiB")  # fmt: skip
    ident = r["identify"]
    print(f"  identify all against {ident['db_records']} records: {ident['s']} s {ident['rungs']}")


if __name__ == "__main__":
    sys.exit(main())
