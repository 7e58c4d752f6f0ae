"""Benchmark: ``toolsfix audit`` over a generated fleet of SYNTHETIC collector bundles.

The fleet is copied and varied from the committed sample bundles (vendor-samples/bundles, all
synthetic): Solaris 11.x guests with the Solaris 10 build (as directories and as .tar.gz, with
release 11.1/11.3/11.4), fixed Solaris 11 guests, Solaris 10 guests, illumos-like guests
(OpenIndiana release text), Linux guests, and broken ones (truncated archives, a manifest of
an unknown format, collections that never finished). Host names differ per bundle.

Each audit runs as a whole process (``python -m toolsfix audit DIR --format json``), with
``--jobs 1`` and ``--jobs 2``; the report is checked against expectations computed by running
the single command (``verify --bundle --format json``) once per variant, multiplied by how many
bundles of that variant were generated. Measured: wall time, throughput ratio jobs 2 / jobs 1
(target >= 1.8x), seconds per Solaris bundle amortised over a Solaris-only run (target <= 0.25
s), and peak memory of the whole process tree (parent plus workers, sampled from /proc every 20
ms: the sum of PSS, and the sum of RSS which counts pages the forked workers share once per
worker; target <= 200 MB with 2 workers) next to the largest single process (wait4's
ru_maxrss).
CPU time of the whole tree (wait4) is reported too: on a shared machine wall time measures the
neighbours as much as toolsfix, so compare the load averages printed before and after.
Results go to stdout and bench/results/audit.json. Linux only (/proc).

Usage: python bench/bench_audit.py [--count 1000] [--keep DIR [--reuse]] [--skip-jobs1]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Optional

REPO = Path(__file__).resolve().parent.parent
BUNDLES = REPO / "vendor-samples" / "bundles"
SOL = "sol11.1-s10build-lso-on"
FIXED = "sol11.1-fixed-lso-off-mtu9000"
SOL10 = "sol10-no-accept-jumbo"


# --- fleet ---------------------------------------------------------------------------------------


def _edit(bundle: Path, rel: str, change: Callable[[str], str]) -> None:
    """Edit one captured file and keep files.list's recorded size in step."""
    path = bundle / rel
    path.write_text(change(path.read_text(encoding="utf-8")), encoding="utf-8")
    if rel.startswith("files/"):
        guest = "/" + rel[len("files/") :]
        listing = bundle / "files.list"
        lines = []
        for line in listing.read_text(encoding="utf-8").splitlines():
            parts = line.split(" ", 2)
            if len(parts) == 3 and parts[2] == guest:
                line = f"{path.stat().st_size} {parts[1]} {parts[2]}"
            lines.append(line)
        listing.write_text("\n".join(lines) + "\n", encoding="utf-8")


def _rename_host(bundle: Path, host: str) -> None:
    def manifest(text: str) -> str:
        return (
            "\n".join(
                f"host={host}" if line.startswith("host=") else line for line in text.splitlines()
            )
            + "\n"
        )

    _edit(bundle, "manifest.txt", manifest)
    uname = bundle / "commands" / "uname_a.out"
    if uname.is_file():
        words = uname.read_text(encoding="utf-8").split(" ")
        if len(words) > 1:
            words[1] = host
            uname.write_text(" ".join(words), encoding="utf-8")


def _solaris_release(bundle: Path, release: str) -> None:
    """11.1 -> 11.3 or 11.4 (uname -v, uname -a and /etc/release)."""
    version = {"11.3": "11.3", "11.4": "11.4.0.15.0"}[release]
    for rel in ("commands/uname_v.out", "commands/uname_a.out"):
        _edit(
            bundle,
            rel,
            lambda t: t.replace(" 11.1 ", f" {version} ").replace("11.1\n", f"{version}\n"),
        )
    _edit(bundle, "files/etc/release", lambda t: t.replace("Solaris 11.1", f"Solaris {release}", 1))


def _illumos(bundle: Path) -> None:
    _edit(bundle, "commands/uname_v.out", lambda t: "illumos-2c6b0f3e9a\n")
    _edit(bundle, "commands/uname_a.out", lambda t: t.replace(" 11.1 ", " illumos-2c6b0f3e9a "))
    _edit(
        bundle,
        "files/etc/release",
        lambda t: (
            "             OpenIndiana Hipster 2023.10 (powered by illumos)\n"
            "        OpenIndiana Project, part of The Illumos Foundation (C) 2010-2023\n"
        ),
    )


def _bad_format(bundle: Path) -> None:
    _edit(bundle, "manifest.txt", lambda t: t.replace("toolsfix-bundle/1", "toolsfix-bundle/9", 1))


def _unfinished(bundle: Path) -> None:
    _edit(
        bundle,
        "manifest.txt",
        lambda t: "".join(x for x in t.splitlines(True) if not x.startswith("finished=")),
    )


def _pack(bundle: Path, truncate: bool = False) -> Path:
    archive = bundle.with_name(bundle.name + ".tar.gz")
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(bundle, arcname=bundle.name)
    shutil.rmtree(bundle)
    if truncate:
        data = archive.read_bytes()
        archive.write_bytes(data[: len(data) // 2])
    return archive


@dataclass(frozen=True)
class Variant:
    name: str
    template: str
    share: int  # per 1,000
    solaris: bool
    edit: Optional[Callable[[Path], None]] = None
    archive: bool = False
    truncate: bool = False


VARIANTS = (
    Variant("sol11.1-s10build", SOL, 220, True),
    Variant("sol11.3-s10build", SOL, 60, True, lambda b: _solaris_release(b, "11.3")),
    Variant("sol11.4-s10build", SOL, 60, True, lambda b: _solaris_release(b, "11.4")),
    Variant("sol11.1-s10build-tgz", SOL, 100, True, archive=True),
    Variant("sol11.1-fixed", FIXED, 100, True),
    Variant("sol11.3-fixed-tgz", FIXED, 50, True, lambda b: _solaris_release(b, "11.3"), True),
    Variant("sol10", SOL10, 150, True),
    Variant("illumos", FIXED, 80, True, _illumos),
    Variant("linux-quagga", "linux-quagga-md5-tso", 75, False),
    Variant("linux-router", "linux-router-lro", 75, False),
    Variant("sol11-unfinished", SOL, 10, True, _unfinished),
    Variant("truncated-tgz", SOL, 40, True, archive=True, truncate=True),
    Variant("bad-format", SOL10, 20, True, _bad_format),
)


def make_fleet(dest: Path, count: int) -> dict[str, list[Path]]:
    """``count`` bundles in ``dest``, in the proportions of VARIANTS; paths per variant."""
    total = sum(v.share for v in VARIANTS)
    made: dict[str, list[Path]] = {}
    n = 0
    for k, v in enumerate(VARIANTS):
        many = round(count * v.share / total) if k < len(VARIANTS) - 1 else count - n
        made[v.name] = []
        for i in range(many):
            bundle = dest / f"{v.name}-{i:04d}"
            shutil.copytree(BUNDLES / v.template, bundle)
            _rename_host(bundle, f"tf-synthetic-{v.name}-{i}")
            if v.edit is not None:
                v.edit(bundle)
            path = _pack(bundle, v.truncate) if v.archive else bundle
            made[v.name].append(path)
        n += many
    return made


# --- expectations (the single command, once per variant) ----------------------------------------


def expectations(made: dict[str, list[Path]]) -> dict[str, Any]:
    by_status: Counter[str] = Counter()
    by_category: Counter[str] = Counter()
    for paths in made.values():
        if not paths:
            continue
        proc = subprocess.run(
            [
                sys.executable,
                "-m",
                "toolsfix",
                "verify",
                "--bundle",
                str(paths[0]),
                "--format",
                "json",
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        if proc.returncode in (0, 1):
            doc = json.loads(proc.stdout)
            by_status["findings" if proc.returncode == 1 else "ok"] += len(paths)
            for f in doc["findings"]:
                by_category[f["category"]] += len(paths)
        else:
            by_status["not-evaluable"] += len(paths)
    return {"by_status": dict(by_status), "by_category": dict(by_category)}


# --- measuring ------------------------------------------------------------------------------------


def _tree_memory(root: int) -> tuple[int, int]:
    """(sum of RSS, sum of PSS) in kB over ``root`` and all its descendants, from /proc.

    RSS counts pages shared between the forked workers (the interpreter, LIEF) once per
    process; PSS splits each shared page between its sharers, so its sum is what the tree
    really occupies. Both are reported.
    """
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry))
    rss = pss = 0
    stack = [root]
    while stack:
        pid = stack.pop()
        stack.extend(children.get(pid, []))
        try:
            rollup = Path(f"/proc/{pid}/smaps_rollup").read_text()
        except OSError:
            continue
        for line in rollup.splitlines():
            if line.startswith("Rss:"):
                rss += int(line.split()[1])
            elif line.startswith("Pss:"):
                pss += int(line.split()[1])
    return rss, pss


def run_audit(args: list[str]) -> dict[str, Any]:
    """Run ``toolsfix audit ARGS`` as a process; wall time, peak tree RSS, the JSON report."""
    with tempfile.TemporaryFile() as out:
        start = time.perf_counter()
        proc = subprocess.Popen(
            [sys.executable, "-m", "toolsfix", "audit", *args, "--format", "json", "-q"],
            stdout=out,
            stderr=subprocess.PIPE,
        )
        peak_rss = peak_pss = 0
        done = threading.Event()

        def sample() -> None:
            nonlocal peak_rss, peak_pss
            while not done.is_set():
                rss, pss = _tree_memory(proc.pid)
                peak_rss, peak_pss = max(peak_rss, rss), max(peak_pss, pss)
                done.wait(0.02)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        _, status, usage = os.wait4(proc.pid, 0)
        elapsed = time.perf_counter() - start
        done.set()
        sampler.join()
        assert proc.stderr is not None
        err = proc.stderr.read().decode()
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        doc = json.loads(out.read())
    return {
        "seconds": elapsed,
        "exit_code": proc.returncode,
        "peak_tree_rss_mb": peak_rss / 1024,
        "peak_tree_pss_mb": peak_pss / 1024,
        "max_single_rss_mb": usage.ru_maxrss / 1024,
        # CPU of the whole tree (the parent, its workers and their Perl children, all waited
        # for): what the run costs independently of what else the machine is doing.
        "cpu_seconds": usage.ru_utime + usage.ru_stime,
        "stderr": err.strip(),
        "doc": doc,
    }


def check(doc: dict[str, Any], expected: dict[str, Any], count: int) -> list[str]:
    s = doc["summary"]
    problems = []
    if s["items"] != count:
        problems.append(f"items {s['items']} != {count}")
    got_status = {k: v for k, v in s["by_status"].items() if v}
    if got_status != expected["by_status"]:
        problems.append(f"by_status {got_status} != {expected['by_status']}")
    if s["by_category"] != expected["by_category"]:
        problems.append(f"by_category {s['by_category']} != {expected['by_category']}")
    return problems


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--keep", type=Path, help="generate the fleet here and keep it")
    parser.add_argument("--skip-jobs1", action="store_true", help="only the 2-worker runs")
    parser.add_argument(
        "--reuse", action="store_true", help="with --keep: audit the fleet generated there before"
    )
    opts = parser.parse_args()
    if not Path("/proc/self/status").exists():
        print("bench_audit needs Linux /proc", file=sys.stderr)
        return 2
    work = opts.keep or Path(tempfile.mkdtemp(prefix="toolsfix-bench-audit-"))
    fleet = work / "fleet"
    try:
        index = work / "fleet.json"
        if opts.reuse and index.is_file():
            made = {k: [Path(p) for p in v] for k, v in json.loads(index.read_text()).items()}
            opts.count = sum(len(v) for v in made.values())
            print(f"reusing the {opts.count} bundles of {fleet}")
        else:
            if fleet.exists():
                shutil.rmtree(fleet)
            fleet.mkdir(parents=True)
            t = time.perf_counter()
            made = make_fleet(fleet, opts.count)
            index.write_text(json.dumps({k: [str(p) for p in v] for k, v in made.items()}))
            print(f"generated {opts.count} synthetic bundles in {time.perf_counter() - t:.1f} s")
        expected = expectations(made)
        solaris = [str(p) for v in VARIANTS if v.solaris and not v.truncate
                   and v.edit is not _bad_format for p in made[v.name]]  # fmt: skip
        listing = work / "solaris.txt"
        listing.write_text("\n".join(solaris) + "\n")
        rows: dict[str, Any] = {"count": opts.count, "cpus": os.cpu_count(),
                                "load_before": os.getloadavg()}  # fmt: skip
        for jobs in (2,) if opts.skip_jobs1 else (1, 2):
            r = run_audit([str(fleet), "--jobs", str(jobs)])
            problems = check(r.pop("doc"), expected, opts.count)
            r["summary_correct"] = not problems
            r["problems"] = problems
            rows[f"jobs{jobs}"] = r
            print(
                f"--jobs {jobs}: {r['seconds']:.2f} s ({opts.count / r['seconds']:.1f} items/s, "
                f"CPU {r['cpu_seconds']:.1f} s = {r['cpu_seconds'] / opts.count:.3f} s/item), "
                f"peak memory of the tree: PSS {r['peak_tree_pss_mb']:.0f} MB, RSS "
                f"{r['peak_tree_rss_mb']:.0f} MB (largest process "
                f"{r['max_single_rss_mb']:.0f} MB), exit {r['exit_code']}, summary "
                + ("correct" if not problems else "WRONG: " + "; ".join(problems))
            )
        if "jobs1" in rows:
            ratio = rows["jobs1"]["seconds"] / rows["jobs2"]["seconds"]
            rows["throughput_ratio"] = ratio
            print(f"throughput ratio jobs 2 / jobs 1: {ratio:.2f}x (target >= 1.8x)")
        r = run_audit(["--from", str(listing), "--jobs", "2"])
        r.pop("doc")
        per = r["seconds"] / len(solaris)
        rows["solaris_only_jobs2"] = {**r, "bundles": len(solaris), "seconds_per_bundle": per}
        print(
            f"Solaris-only, --jobs 2: {len(solaris)} bundles in {r['seconds']:.2f} s = "
            f"{per:.3f} s per bundle amortised (target <= 0.25 s); CPU "
            f"{r['cpu_seconds'] / len(solaris):.3f} s per bundle"
        )
        rows["load_after"] = os.getloadavg()
        print(f"load average before/after: {rows['load_before']} / {rows['load_after']}")
        out = REPO / "bench" / "results"
        out.mkdir(parents=True, exist_ok=True)
        (out / "audit.json").write_text(json.dumps(rows, indent=2) + "\n")
        ok = all(rows[k]["summary_correct"] for k in ("jobs1", "jobs2") if k in rows)
        return 0 if ok else 1
    finally:
        if opts.keep is None:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
