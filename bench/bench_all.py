#!/usr/bin/env python3
"""Benchmark: whole ``toolsfix`` processes on real-shaped inputs, against baselines measured
in the same run.

Inputs are SYNTHETIC and shaped like real VMware Tools Linux tarballs (bench/realshape.py says
how): ~60 MB compressed, ~2,000 gcc/``ld -r`` ET_REL objects of 10-200 KB (~44 KB mean) in
kernel-build directories with ``properties`` files, a ~460 KB configurator at member #4, other
payload; a second release of the same shape; the same Linux content as a Solaris product (six
Solaris driver directories added) so the sandboxed Perl proof runs while the stream goes on;
and with ``--large`` a >= 500 MB tarball.

Timed, each as a fresh process (process wall time from spawn to wait4, CPU time from wait4, peak
RSS from GNU time when installed: see :func:`_gnu_time`), in ``--repeat`` rounds (default 5):
every round runs every case of a group once, the order rotating between rounds, so a
neighbour's load hits toolsfix and its baselines alike. Each case gives min and median; each
ratio is given as median/median and min/min.

* ``scan`` (default, with the Perl proof when it applies), ``scan --no-exec``, and the default
  scan with a user database learned from the same tarball (``scan_on_record``: the proof is
  taken from the record, as in a pipeline scanning a release it has seen) vs ``gzip -dc`` and
  the isal floor (threaded isal read of the same file, no tar parsing);
* ``fingerprint`` of every object of the tarball (extracted) vs ``sha256sum`` of the same files,
  all files in one process each, with a database learned from the same tarball and from the
  other release; ``-j 1``, ``-j 2`` and the default worker count;
* ``fingerprints learn`` of the tarball (fresh database each run) vs ``gzip -dc``;
* ``verify --bundle`` of a SYNTHETIC Solaris 11.1 guest with the shipped database only, and
  with a user database learned from the sample distrib it installed (``verify_on_record``).

Before timing, toolsfix is byte-compiled once (``compileall``, as ``pip install`` does) into a
private ``PYTHONPYCACHEPREFIX`` that every Python child uses, so the checkout is not touched and
``PYTHONDONTWRITEBYTECODE`` in the caller's environment cannot make every run compile from
source; one untimed warm-up run of each case fills that cache for the rest (stdlib included)
and the page cache. Each scan's JSON is checked once (what the proof did is recorded).

Results: stdout and bench/results/all.json (``--quick``: all-quick.json; ``--only``: a file
named after the subset). Usage::

    python bench/bench_all.py [--repeat 5] [--quick | --size MB] [--large]
                              [--only scan,fingerprint,learn,verify] [--keep DIR]
"""

from __future__ import annotations

import argparse
import datetime
import importlib.metadata
import importlib.util
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Optional

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))

import realshape  # noqa: E402

TOOLSFIX = [sys.executable, "-m", "toolsfix"]
GROUPS = ("scan", "fingerprint", "learn", "verify")
BUNDLE = REPO / "vendor-samples" / "bundles" / "sol11.1-s10build-lso-on"
#: The sample distrib whose configurator that guest has installed (same bytes).
BUNDLE_DISTRIB = REPO / "vendor-samples" / "archives" / "vmware-solaris-tools-9.2.2.tar.gz"
ISAL_FLOOR = (
    "import sys\nfrom isal import igzip_threaded\n"
    "with igzip_threaded.open(sys.argv[1], 'rb', threads=1, block_size=1<<20) as f:\n"
    "    while f.read(1<<20): pass\n"
)


# --------------------------------------------------------------------------------------------
# Timing


def _gnu_time() -> Optional[str]:
    """GNU time, when present: it forks the measured command from a ~1 MB process. The peak RSS
    that wait4 reports for a child of this harness cannot fall below the harness's own RSS
    (fork/vfork children start with the parent's pages until exec), which hid everything
    smaller than ~30 MB (gzip, sha256sum, a small toolsfix run) behind the same figure."""
    path = "/usr/bin/time"
    if not os.access(path, os.X_OK):
        return None
    probe = subprocess.run([path, "-f", "%M", "true"], capture_output=True, text=True)
    return path if probe.returncode == 0 and probe.stderr.strip().isdigit() else None


GNU_TIME = _gnu_time()


def run_once(argv: Sequence[str], env: Mapping[str, str], cwd: Optional[Path] = None,
             ) -> dict[str, float]:  # fmt: skip
    """Wall seconds, CPU seconds and peak RSS (MiB) of one child process (exit 0 or 1)."""
    with tempfile.NamedTemporaryFile(prefix="toolsfix-bench-rss-", mode="r") as rss:
        wrapped = [GNU_TIME, "-f", "%M", "-o", rss.name, *argv] if GNU_TIME else list(argv)
        start = time.perf_counter()
        proc = subprocess.Popen(wrapped, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                env=dict(env), cwd=cwd)  # fmt: skip
        assert proc.stderr is not None
        err = proc.stderr.read()  # drained before wait4: a chatty child must not block
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        proc.stderr.close()
        proc.returncode = code = os.waitstatus_to_exitcode(status)
        if code not in (0, 1):
            tail = err.decode(errors="replace")[-600:]
            raise RuntimeError(f"{' '.join(argv[:6])} ... exited {code}: {tail}")
        # GNU time writes "Command exited with non-zero status 1" before the figure
        peak_kib = int(rss.read().split()[-1]) if GNU_TIME else usage.ru_maxrss
    return {"wall": wall, "cpu": usage.ru_utime + usage.ru_stime, "rss_mib": peak_kib / 1024}


def summarize(runs: Sequence[Mapping[str, float]]) -> dict[str, Any]:
    """Min and median wall, median CPU, max peak RSS, and every wall time (s)."""
    walls = [r["wall"] for r in runs]
    return {
        "min_s": round(min(walls), 3),
        "median_s": round(statistics.median(walls), 3),
        "cpu_median_s": round(statistics.median(r["cpu"] for r in runs), 3),
        "peak_rss_mib": round(max(r["rss_mib"] for r in runs), 1),
        "runs_s": [round(w, 3) for w in walls],
    }


def ratio(row: Mapping[str, Any], case: str, base: str) -> dict[str, float]:
    """``case`` over ``base``: median/median and min/min."""
    a, b = row[case], row[base]
    return {"median": round(a["median_s"] / b["median_s"], 3),
            "min": round(a["min_s"] / b["min_s"], 3)}  # fmt: skip


def paired(cases: Mapping[str, Sequence[str]], repeat: int, env: Mapping[str, str],
           cwd: Optional[Path] = None) -> dict[str, Any]:  # fmt: skip
    """One untimed warm-up of each case, then ``repeat`` rounds of every case, rotating."""
    names = list(cases)
    for name in names:
        run_once(cases[name], env, cwd)
    runs: dict[str, list[dict[str, float]]] = {n: [] for n in names}
    for r in range(repeat):
        for name in names[r % len(names) :] + names[: r % len(names)]:
            runs[name].append(run_once(cases[name], env, cwd))
    return {n: summarize(v) for n, v in runs.items()}


def _sh(command: str) -> list[str]:
    return ["sh", "-c", command]


# --------------------------------------------------------------------------------------------
# Environment


def child_env(work: Path) -> dict[str, str]:
    """The environment of every timed child: bytecode from a private prefix, no user DB."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPYCACHEPREFIX"] = str(work / "pycache")
    env["TOOLSFIX_USER_DB"] = str(work / "no-user-db")
    return env


def precompile(env: Mapping[str, str]) -> dict[str, Any]:
    """Byte-compile the installed toolsfix package once, as ``pip install`` would."""
    spec = importlib.util.find_spec("toolsfix")  # the package the children import
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("toolsfix is not installed in this interpreter")
    package = Path(next(iter(spec.submodule_search_locations)))
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(package)], env=dict(env),
                   check=True)  # fmt: skip
    return {"precompiled": True, "method": "compileall into PYTHONPYCACHEPREFIX, one untimed "
            "warm-up run per case", "seconds": round(time.perf_counter() - start, 2)}  # fmt: skip


def _version(dist: str) -> Optional[str]:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return None


def _git(*args: str) -> str:
    out = subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True)
    return out.stdout.strip()


def machine() -> dict[str, Any]:
    return {
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "lief": _version("lief"),
        "isal": _version("isal"),
        "toolchain": realshape.toolchain_id(),
        "commit": _git("rev-parse", "--short", "HEAD"),
        "tree_dirty": bool(_git("status", "--porcelain", "--untracked-files=no")),
        "peak_rss_from": "GNU time %M" if GNU_TIME else "wait4 (floor: this harness's RSS)",
    }


# --------------------------------------------------------------------------------------------
# Groups


def check_scan(path: Path, env: Mapping[str, str]) -> dict[str, Any]:
    """Run the default scan once and keep what it concluded (so a timing of an error path or
    of a scan that skipped the proof is visible as such)."""
    proc = subprocess.run([*TOOLSFIX, "scan", str(path), "--format", "json"], env=dict(env),
                          capture_output=True, text=True)  # fmt: skip
    if proc.returncode not in (0, 1):
        raise RuntimeError(f"scan {path.name} exited {proc.returncode}: {proc.stderr[-600:]}")
    doc = json.loads(proc.stdout)
    cfg = doc.get("configurator") or {}
    execution = cfg.get("execution") or {}
    return {
        "exit_code": proc.returncode,
        "layout": (doc.get("distrib") or {}).get("layout"),
        "selection_bug": cfg.get("selection_bug"),
        "proof_source": execution.get("source"),
        "proof_ran": execution.get("ran"),
        "proof_agrees_with_model": execution.get("agrees_with_model"),
        "compile_checked": (cfg.get("compile") or {}).get("checked"),
        "findings": len(doc.get("findings") or []),
    }


def with_user_db(db: Path, argv: Sequence[str]) -> list[str]:
    """``argv`` run with ``db`` as the user database (``env`` execs it: one exec more)."""
    return ["env", f"TOOLSFIX_USER_DB={db}", *argv]


def bench_scan(label: str, path: Path, repeat: int, env: Mapping[str, str],
               no_exec: bool = True, learned: Optional[Path] = None,
               ) -> dict[str, Any]:  # fmt: skip
    """The scan cases of one tarball; ``learned``: a user database ``fingerprints learn``
    filled from this tarball, for the case of a pipeline scanning a release it has seen
    (``scan_on_record``: the configurator's proof comes from the record, no perl runs)."""
    cases: dict[str, list[str]] = {
        "gzip_dc": _sh(f"gzip -dc '{path}' > /dev/null"),
        "isal_floor": [sys.executable, "-c", ISAL_FLOOR, str(path)],
        "scan": [*TOOLSFIX, "scan", str(path), "--format", "json"],
    }
    if no_exec:
        cases["scan_no_exec"] = [*TOOLSFIX, "scan", str(path), "--no-exec", "--format", "json"]
    if learned is not None:
        cases["scan_on_record"] = with_user_db(learned, cases["scan"])
    row: dict[str, Any] = {"input": path.name, "check": check_scan(path, env)}
    if learned is not None:
        row["check_on_record"] = check_scan(path, {**env, "TOOLSFIX_USER_DB": str(learned)})
    row.update(paired(cases, repeat, env))
    for case in [c for c in cases if c.startswith("scan")]:
        row[f"{case}_vs_gzip_dc"] = ratio(row, case, "gzip_dc")
        row[f"{case}_vs_isal_floor"] = ratio(row, case, "isal_floor")
    _print(label, row)
    return row


def bench_learn(path: Path, db: Path, repeat: int, env: Mapping[str, str]) -> dict[str, Any]:
    # a fresh database every run: sh removes it, then becomes the toolsfix process
    script = 'rm -rf "$1" && exec "$0" -m toolsfix fingerprints learn "$2" --db "$1"'
    learn = ["sh", "-c", script, sys.executable, str(db), str(path)]
    row = paired({"gzip_dc": _sh(f"gzip -dc '{path}' > /dev/null"), "learn": learn}, repeat, env)
    row["learn_vs_gzip_dc"] = ratio(row, "learn", "gzip_dc")
    _print("learn", row)
    return row


def learn_db(path: Path, db: Path, env: Mapping[str, str]) -> None:
    shutil.rmtree(db, ignore_errors=True)
    run_once([*TOOLSFIX, "fingerprints", "learn", str(path), "--db", str(db)], env)


def extract_objects(tarball: Path, out: Path) -> list[str]:
    """Every ``.o`` of ``tarball`` under ``out`` (reused when a marker says it is complete)."""
    marker = out / ".complete"
    stamp = f"{tarball.name} {tarball.stat().st_size} {tarball.stat().st_mtime_ns}"
    if not (marker.is_file() and marker.read_text() == stamp):
        shutil.rmtree(out, ignore_errors=True)
        out.mkdir(parents=True)
        with tarfile.open(tarball) as tar:
            for info in tar:
                if info.isfile() and info.name.endswith(".o"):
                    tar.extract(info, out, filter="data")
        marker.write_text(stamp)
    return sorted(str(p.relative_to(out)) for p in out.rglob("*.o"))


def bench_fingerprint(objdir: Path, files: list[str], dbs: Mapping[str, Path], repeat: int,
                      env: Mapping[str, str]) -> dict[str, Any]:  # fmt: skip
    """All files in one process each (argv, not xargs: xargs would split the list and count
    start-up twice)."""
    total = sum((objdir / f).stat().st_size for f in files)
    out: dict[str, Any] = {}
    for which, db in dbs.items():
        # the first run after a learn may build an index beside the JSON: not what is timed
        run_once([*TOOLSFIX, "fingerprint", "--db", str(db), "--fail-on", "never", files[0]],
                 env, objdir)  # fmt: skip
        base = [*TOOLSFIX, "fingerprint", "--fail-on", "never", "--db", str(db)]
        cases: dict[str, list[str]] = {
            "sha256sum": ["sha256sum", *files],
            "fingerprint_default_jobs": [*base, *files],
            "fingerprint_j1": [*base, "-j", "1", *files],
            "fingerprint_j2": [*base, "-j", "2", *files],
        }
        row: dict[str, Any] = {"objects": len(files), "object_mib": round(total / 2**20, 1)}
        row.update(paired(cases, repeat, env, objdir))
        for case in [c for c in cases if c.startswith("fingerprint")]:
            row[f"{case}_vs_sha256sum"] = ratio(row, case, "sha256sum")
            row[f"{case}_ms_per_object"] = round(row[case]["median_s"] / len(files) * 1000, 3)
        out[which] = row
        _print(f"fingerprint ({which})", row)
    return out


def bench_verify(repeat: int, env: Mapping[str, str], learned: Path) -> dict[str, Any]:
    """``verify --bundle``: the configurator proved by perl, and (``verify_on_record``) with a
    user database learned from the sample distrib that guest installed, so its proof is on
    record and no perl runs."""
    verify = [*TOOLSFIX, "verify", "--bundle", str(BUNDLE), "--format", "json"]
    row = paired({"verify": verify, "verify_on_record": with_user_db(learned, verify)},
                 repeat, env)  # fmt: skip
    row["bundle"] = BUNDLE.name
    row["bundle_distrib"] = BUNDLE_DISTRIB.name
    _print("verify --bundle", row)
    return row


def _print(label: str, row: Mapping[str, Any]) -> None:
    brief = {k: (v if not isinstance(v, dict) or "runs_s" not in v else
                 {"min_s": v["min_s"], "median_s": v["median_s"], "rss": v["peak_rss_mib"]})
             for k, v in row.items()}  # fmt: skip
    print(f"{label}: {json.dumps(brief)}", flush=True)


# --------------------------------------------------------------------------------------------
# Main


def parse_only(text: str) -> tuple[str, ...]:
    """``scan,learn`` -> ('scan', 'learn'); unknown names are a usage error."""
    picked = tuple(dict.fromkeys(p.strip() for p in text.split(",") if p.strip()))
    unknown = [p for p in picked if p not in GROUPS]
    if unknown or not picked:
        raise argparse.ArgumentTypeError(
            f"--only takes a comma-separated subset of {','.join(GROUPS)}, got {text!r}"
        )
    return picked


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--repeat", type=int, help="timed rounds per case (default 5; --quick 2)")
    ap.add_argument("--size", type=int, default=60, help="compressed MB of the main tarballs")
    ap.add_argument("--quick", action="store_true",
                    help="small inputs (6 MB, --large 30 MB) for checking the script")  # fmt: skip
    ap.add_argument("--large", action="store_true", help="also scan a >= 500 MB tarball")
    ap.add_argument("--large-size", type=int, default=520, help="compressed MB of --large")
    ap.add_argument("--only", type=parse_only, default=GROUPS,
                    help=f"comma-separated subset of {','.join(GROUPS)}")  # fmt: skip
    ap.add_argument(
        "--keep", type=Path, help="generate inputs here and reuse them when their parameters match"
    )
    ap.add_argument("--out", type=Path, help="results file (default under bench/results/)")
    return ap


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = build_parser().parse_args(argv)
    size = 6 if args.quick else args.size
    large = 30 if args.quick else args.large_size
    repeat = args.repeat or (2 if args.quick else 5)
    only: tuple[str, ...] = args.only
    tmp = tempfile.TemporaryDirectory(prefix="toolsfix-bench-")
    work: Path = args.keep or Path(tmp.name)
    work.mkdir(parents=True, exist_ok=True)
    objcache = work / "objcache"
    env = child_env(work)
    results: dict[str, Any] = {"machine": machine(), "repeat": repeat, "groups": list(only)}
    try:
        inputs: dict[str, Path] = {}
        wanted = [("a", size, False)]
        if "fingerprint" in only:
            wanted.append(("b", size, False))
        if "scan" in only:
            wanted.append(("a", size, True))
            if args.large:
                wanted.append(("a", large, False))
        for release, mb, solaris in wanted:
            params = realshape.default_params(release, mb, solaris=solaris)
            version = realshape.RELEASES[release][0]
            name = f"VMwareTools-{version}-{mb}mb{'-solaris' if solaris else ''}.tar.gz"
            started = time.perf_counter()
            stats = realshape.ensure_tarball(work / name, params, objcache)
            stats["build_s"] = round(time.perf_counter() - started, 1)
            results.setdefault("inputs", {})[name] = stats
            inputs[f"{release}-{mb}{'-solaris' if solaris else ''}"] = work / name
            print(f"input {name}: {json.dumps(stats)}", flush=True)

        results["bytecode"] = precompile(env)
        results["load_avg_before"] = [round(x, 2) for x in os.getloadavg()]
        main_a = inputs[f"a-{size}"]
        if "scan" in only:
            learned = {}
            for key in (f"a-{size}", f"a-{size}-solaris"):
                learned[key] = work / f"db-on-record-{key}"
                learn_db(inputs[key], learned[key], env)
            results[f"scan_{size}mb"] = bench_scan(
                f"scan {size} MB", main_a, repeat, env, learned=learned[f"a-{size}"]
            )
            results[f"scan_{size}mb_solaris"] = bench_scan(
                f"scan {size} MB (Solaris product)",
                inputs[f"a-{size}-solaris"],
                repeat,
                env,
                learned=learned[f"a-{size}-solaris"],
            )
            if args.large:
                results[f"scan_{large}mb"] = bench_scan(
                    f"scan {large} MB", inputs[f"a-{large}"], repeat, env, no_exec=False
                )
        if "learn" in only:
            results[f"learn_{size}mb"] = bench_learn(main_a, work / "db-learn", repeat, env)
        if "fingerprint" in only:
            dbs = {}
            for release, key in (("a", "same_release"), ("b", "other_release")):
                dbs[key] = work / f"db-{release}"
                learn_db(inputs[f"{release}-{size}"], dbs[key], env)
            objdir = work / f"objects-a-{size}"
            files = extract_objects(main_a, objdir)
            results["fingerprint"] = bench_fingerprint(objdir, files, dbs, repeat, env)
        if "verify" in only:
            learn_db(BUNDLE_DISTRIB, work / "db-bundle-distrib", env)
            results["verify_bundle"] = bench_verify(repeat, env, work / "db-bundle-distrib")
        results["load_avg_after"] = [round(x, 2) for x in os.getloadavg()]
    finally:
        tmp.cleanup()
    subset = "" if set(only) == set(GROUPS) else "-" + "-".join(only)
    out = args.out or HERE / "results" / f"all{subset}{'-quick' if args.quick else ''}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=1) + "\n")
    print(f"results: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
