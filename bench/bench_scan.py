"""Benchmark: scanning a Tools tarball vs the cost of merely decompressing it.

Baselines are measured in the same run on the same file: ``gzip -dc FILE > /dev/null`` and raw
isal decompression (isal.igzip, no tar parsing). Two generated tarballs: a realistic one (~60 MB,
the size of a Tools 9.x/10.x tarball with thousands of Linux kernel-build objects) and a large
one (~500 MB). Peak RSS of each toolsfix scan is read from wait4() so memory growth with size is
visible. Results go to stdout and bench/results/scan.json.

Usage: python bench/bench_scan.py [--sizes 60,500] [--repeat 3] [--keep DIR]
"""

from __future__ import annotations

import argparse
import gzip
import io
import json
import os
import random
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SAMPLE_CFG = REPO / "vendor-samples" / "scripts"
RATIO = 4.5  # uncompressed/compressed of the generated payload, measured


def _payload(rng: random.Random, size: int) -> bytes:
    """Object-file-like bytes: compressible runs mixed with noise (ratio ~2-3x like real .o)."""
    out = bytearray()
    words = [
        b"vmxnet3s_",
        b"mac_register",
        b"ddi_dma_",
        b"\x00" * 16,
        b"kmem_alloc",
        b".text",
        b"\x48\x89\xe5",
        b"\xe8\x00\x00\x00\x00",
        b"\x8b\x45\xfc",
        b"GCC: (GNU) 4.1.2",
    ]
    while len(out) < size:
        if rng.random() < 0.12:
            out += rng.randbytes(rng.randint(8, 48))
        else:
            out += b"".join(rng.choice(words) for _ in range(rng.randint(1, 6)))
    return bytes(out[:size])


def make_tarball(path: Path, target_mb: int, seed: int = 7) -> dict[str, int]:
    """A Linux-layout distrib: lib/modules/binary/<kernel-build>/objects/*.o plus scripts."""
    rng = random.Random(seed)
    cfg_candidates = sorted(SAMPLE_CFG.glob("*.pl"))
    cfg = cfg_candidates[0].read_bytes() if cfg_candidates else b"#!/usr/bin/perl\n"
    members = 0
    raw_bytes = 0
    with (  # noqa: SIM117 - the tar must close before the gzip stream
        path.open("wb") as fh,
        gzip.GzipFile(fileobj=fh, mode="wb", compresslevel=6, mtime=0) as gz,
    ):
        with tarfile.open(fileobj=gz, mode="w|", format=tarfile.GNU_FORMAT) as tar:

            def add(name: str, data: bytes) -> None:
                nonlocal members, raw_bytes
                info = tarfile.TarInfo(f"vmware-tools-distrib/{name}")
                info.size = len(data)
                info.mtime = 1420070400
                tar.addfile(info, io.BytesIO(data))
                members += 1
                raw_bytes += len(data)

            add("bin/vmware-config-tools.pl", cfg)
            add("vmware-install.pl", cfg[:4096])
            add("etc/manifest.txt.shipped", b'monolithic.version = "9.2.2"\n')
            k = 0
            while raw_bytes < target_mb * 1024 * 1024 * RATIO:
                build = f"{2 + k % 2}.{k % 40}.{k % 7}-{k}-generic-x86_64"
                for mod in ("vmxnet", "vmhgfs", "vmmemctl", "vmblock", "vmci", "vsock", "vmsync"):
                    add(
                        f"lib/modules/binary/{build}/objects/{mod}.o",
                        _payload(rng, rng.randint(20_000, 400_000)),
                    )
                k += 1
            for i in range(2000):
                add(f"lib/plugins/misc/file{i:04d}.txt", _payload(rng, rng.randint(200, 4000)))
    return {"members": members, "uncompressed": raw_bytes, "compressed": path.stat().st_size}


def time_cmd(argv: list[str]) -> tuple[float, int]:
    """Wall seconds and peak RSS (KiB) of one child process."""
    start = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) not in (0, 1):
        raise RuntimeError(f"{argv} failed: {proc.stderr.read().decode() if proc.stderr else ''}")
    return elapsed, int(usage.ru_maxrss)


ISAL_RAW = (
    "import sys\nfrom isal import igzip_threaded\n"
    "with igzip_threaded.open(sys.argv[1], 'rb', threads=1, block_size=1<<20) as f:\n"
    "    while f.read(1<<20): pass\n"
)


def best(argv: list[str], repeat: int) -> tuple[float, int]:
    runs = [time_cmd(argv) for _ in range(repeat)]
    return min(r[0] for r in runs), max(r[1] for r in runs)


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--sizes", default="60,500", help="target compressed sizes in MB")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--keep", type=Path, help="keep generated tarballs in this directory")
    args = ap.parse_args()
    results = []
    with tempfile.TemporaryDirectory(prefix="toolsfix-bench-") as tmp:
        work = args.keep or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        for mb in (int(s) for s in args.sizes.split(",")):
            tarball = work / f"bench-{mb}mb.tar.gz"
            if not tarball.exists():
                meta = make_tarball(tarball, mb)
            else:
                meta = {"compressed": tarball.stat().st_size}
            gz_t, _gz_rss = best(["sh", "-c", f"gzip -dc '{tarball}' > /dev/null"], args.repeat)
            isal_t, _isal_rss = best([sys.executable, "-c", ISAL_RAW, str(tarball)], args.repeat)
            scan_t, scan_rss = best(
                [
                    sys.executable,
                    "-m",
                    "toolsfix",
                    "scan",
                    str(tarball),
                    "--no-exec",
                    "--format",
                    "json",
                ],
                args.repeat,
            )
            row = {
                "target_mb": mb,
                **meta,
                "gzip_dc_s": round(gz_t, 3),
                "isal_raw_s": round(isal_t, 3),
                "toolsfix_scan_s": round(scan_t, 3),
                "scan_vs_gzip": round(scan_t / gz_t, 3),
                "scan_vs_isal": round(scan_t / isal_t, 3),
                "scan_peak_rss_kib": scan_rss,
                "isal_peak_rss_kib": _isal_rss,
            }
            results.append(row)
            print(json.dumps(row))
    out = REPO / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "scan.json").write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
