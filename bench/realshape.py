"""SYNTHETIC inputs with the shape of real VMware Tools Linux tarballs, for bench/bench_all.py.

Nothing here is, or contains, VMware code or data: every object says ``toolsfix synthetic`` in
its ``.comment`` and ``.modinfo``, every text file says SYNTHETIC. The *shape* follows the figures
quoted in issue 10 for real tarballs (47-63 MB compressed, 1,500-3,100 members, 800-2,000 ET_REL
objects, ~2,000 objects totalling ~88 MiB, i.e. ~44 KB on average): timing toolsfix on inputs
whose members are far smaller, fewer or differently ordered than real ones measures the wrong
code paths (per-member overhead, hashing, ELF parsing all scale with the shape).

What a tarball holds, in this order:

1. ``vmware-install.pl``, ``etc/manifest.txt.shipped``, ``bin/vmware-uninstall-tools.pl``, then
   the configurator ``bin/vmware-config-tools.pl`` as member #4 (a real tarball lists the
   installer first; where the configurator sits decides how much of the stream a scan has left
   to read when it can start the Perl proof). The configurator is the 9.2.2 sample grown to
   ``configurator_kb`` with generated subs in the style of the real file (comments, quoted and
   interpolated strings, regexes, hash look-ups, a few here-documents), so a lexer meets the same
   mix of lines as on the real ~450 KB file.
2. ``lib/modules/binary/<kernel>/`` directories (with their directory members), each with a
   ``properties`` file and ``objects/<module>.o`` for most of seven modules. Objects are real
   relocatable x86 ELF built here with the host's gcc/as and ``ld -r`` (``.text`` with
   ``.rel(a).text``, ``.data`` holding function-pointer tables with their relocations,
   ``.rodata``/``.rodata.str1.1``, ``.bss``, ``.modinfo``, ``.comment``, ``.symtab``), i386 or
   amd64 by kernel, 10-200 KB with a per-module size profile averaging ~44 KB. A few dozen base
   builds per release are compiled (cached); every copy gets its kernel's ``vermagic=`` string
   patched into ``.modinfo``, so no two objects share a sha256.
3. Other payload (libraries, plugins) of object-like bytes until the compressed size is reached.

Everything is deterministic for given parameters and toolchain; :func:`ensure_tarball` writes
the parameters beside the tarball and reuses it only when they match.
"""

from __future__ import annotations

import concurrent.futures
import gzip
import hashlib
import importlib.util
import io
import json
import os
import random
import statistics
import subprocess
import sys
import tarfile
import tempfile
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Optional

REPO = Path(__file__).resolve().parent.parent
SAMPLE_CONFIGURATOR = REPO / "vendor-samples" / "scripts" / "vmware-config-tools-9.2.2.pl"
GENERATOR_VERSION = "1"  # bump when the output of this file changes for the same parameters

RELEASES = {"a": ("9.2.2", "893683"), "b": ("9.4.0", "1280544")}

# Mean size (KB) of each module's object across kernels: SYNTHETIC profile chosen so the mean
# over all objects lands near the ~44 KB of the real tarballs, with small (vmsync) and large
# (vmci, vmhgfs) modules as in a real kernel-build directory.
MODULE_KB = {
    "vmsync": 12,
    "vmmemctl": 22,
    "vmxnet": 26,
    "vmblock": 30,
    "vsock": 68,
    "vmci": 72,
    "vmhgfs": 80,
}
# Size classes: every module is built at these multiples of its mean; kernels pick one.
SIZE_FACTORS = (0.55, 0.8, 1.0, 1.3, 2.4)
SIZE_WEIGHTS = (0.2, 0.3, 0.3, 0.15, 0.05)
MIN_KB, MAX_KB = 11, 200
AMD64_SHARE = 0.6  # share of kernel directories built for x86_64 (the rest i686)

_EXTERNS = (
    "printk", "kmalloc", "kfree", "copy_from_user", "copy_to_user", "mutex_lock",
    "mutex_unlock", "spin_lock_irqsave", "spin_unlock_irqrestore", "schedule_timeout",
    "wake_up_process", "register_chrdev", "unregister_chrdev", "pci_register_driver",
    "pci_unregister_driver", "request_irq", "free_irq", "dma_alloc_coherent",
    "dma_free_coherent", "netif_rx", "alloc_skb", "kfree_skb", "skb_put", "vfs_read",
    "d_alloc", "iput", "get_zeroed_page", "free_pages", "sock_register", "sock_unregister",
    "misc_register", "misc_deregister", "add_timer", "del_timer_sync", "msleep",
)  # fmt: skip
_WORDS = (
    "ring", "buffer", "queue", "interrupt", "device", "link", "reset", "timeout", "failed",
    "allocate", "mapping", "register", "checksum", "packet", "shared", "memory", "state",
    "invalid", "request", "reply", "balloon", "page", "socket", "datagram", "handle", "inode",
)  # fmt: skip


class BuildError(RuntimeError):
    """The toolchain is missing or a step failed; the message names the command."""


# --------------------------------------------------------------------------------------------
# Kernel-module objects


def _rng(*seed: object) -> random.Random:
    """A PRNG seeded from a stable hash (``random.Random(str)`` would be too, but explicit)."""
    digest = hashlib.sha256("\x1f".join(str(s) for s in seed).encode()).digest()
    return random.Random(int.from_bytes(digest[:8], "little"))


def _statement(rng: random.Random, helpers: Sequence[str], module: str) -> str:
    a, b, c = rng.randrange(64), rng.randrange(64), rng.randrange(64)
    k1, k2 = rng.randrange(1, 0x7FFF), rng.randrange(1, 30)
    kind = rng.randrange(8)
    if kind == 0:
        return f"dp->f[{a}] = (dp->f[{b}] * {k1}u) ^ (dp->f[{c}] >> {k2});"
    if kind == 1:
        return f"if (dp->f[{a}] & {k1}u) rc |= (int){rng.choice(_EXTERNS[1:])}(dp, {k1});"
    if kind == 2:
        return (
            f"for (n = 0; n < (int)(dp->f[{a}] & 31u); n++) "
            f"dp->ring[(n + {k2}) & 255] += (unsigned char)(n * {k1});"
        )
    if kind == 3 and helpers:
        return f"rc += {rng.choice(helpers)}(dp, {k1});"
    if kind == 4:
        words = " ".join(rng.choice(_WORDS) for _ in range(2 + rng.randrange(4)))
        return f'if (dp->f[{a}] == {k1}u) printk("<4>{module}: {words} %d\\n", rc);'
    if kind == 5:
        cases = "".join(
            f" case {i}: dp->f[{rng.randrange(64)}] += {rng.randrange(1, 999)}u; break;"
            for i in range(4 + rng.randrange(5))
        )
        return f"switch (dp->f[{a}] & 15u) {{{cases} default: rc ^= {k2}; }}"
    if kind == 6:
        return f"stats[{a % 32}] += dp->f[{b}] + (unsigned long)arg;"
    return f"dp->f[{a}] += dp->f[{b}] + {k1}u;"


def kernel_c_source(module: str, release: str, functions: int, vermagic_room: int) -> str:
    """C source of one SYNTHETIC module: ``functions`` bodies seeded so that two releases share
    about two thirds of their code (another release is then a *near* match, as in real life)."""
    version, build = RELEASES[release]
    lines = [
        "/* SYNTHETIC toolsfix benchmark object: not VMware code. */",
        "struct dev { unsigned long f[64]; unsigned char ring[256]; int inst; void *priv; };",
        "extern int printk(const char *, ...);",
        *(f"extern long {e}(void *, long);" for e in _EXTERNS[1:]),
        "static unsigned long stats[32];",
    ]
    names: list[str] = []
    for i in range(functions):
        seed = (module, i) if i % 3 else (module, i, version)
        rng = _rng("fn", *seed)
        name = f"{module}_{rng.choice(_WORDS)}_{i}"
        static = "static " if i % 4 == 1 else ""
        body = "\n".join(
            "\t" + _statement(rng, names[-8:], module) for _ in range(6 + rng.randrange(12))
        )
        lines.append(
            f"{static}__attribute__((noinline)) int\n{name}(struct dev *dp, long arg)\n{{\n"
            f"\tint rc = (int)arg;\n\tint n;\n{body}\n\treturn rc;\n}}"
        )
        names.append(name)
    table = ", ".join(names[: min(len(names), 24)])
    room = "@" * vermagic_room
    modinfo = (
        ("license", "GPL v2"),
        ("description", f"VMware {module} driver (toolsfix synthetic)"),
        ("version", f"{version}.{build}"),
        ("vermagic", room),
    )
    lines += [
        "struct ops { int (*fn[24])(struct dev *, long); };",
        f"struct ops {module}_ops = {{ {{ {table} }} }};",
        f'const char {module}_build[] = "VMware {module} {version} build-{build}";',
        *(
            f'static const char __mod_{key}[] __attribute__((section(".modinfo"), used, '
            f'aligned(1))) = "{key}={value}";'
            for key, value in modinfo
        ),
        f'int init_module(void) {{ printk("<6>{module}: loaded\\n"); return {names[0]}(0, 0); }}',
        f"void cleanup_module(void) {{ {names[-1]}(0, 1); }}",
    ]
    return "\n".join(lines) + "\n"


def _tool(cmd: Sequence[str], cwd: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "TMPDIR")}
    env.update(LC_ALL="C", SOURCE_DATE_EPOCH="0", TZ="UTC")
    try:
        proc = subprocess.run(list(cmd), cwd=cwd, env=env, capture_output=True, text=True)
    except FileNotFoundError as exc:
        raise BuildError(f"{cmd[0]} not found: the benchmark needs gcc and binutils") from exc
    if proc.returncode != 0:
        raise BuildError(f"{' '.join(cmd)} failed ({proc.returncode}): {proc.stderr.strip()}")


@lru_cache(maxsize=1)
def toolchain_id() -> str:
    """First version line of gcc and ld: objects are cached per toolchain."""
    out = []
    for tool in ("gcc", "ld"):
        try:
            text = subprocess.run([tool, "--version"], capture_output=True, text=True).stdout
        except FileNotFoundError:
            text = "missing"
        out.append(text.splitlines()[0] if text else "unknown")
    return " | ".join(out)


VERMAGIC_ROOM = 72  # bytes reserved for the per-kernel ``vermagic=`` value


def _cc_flags(module: str, arch: str) -> list[str]:
    flags = ["-O2", "-ffreestanding", "-fno-pic", "-fno-ident", "-fno-stack-protector",
             "-fno-asynchronous-unwind-tables", "-fcf-protection=none", "-w",
             f"-frandom-seed={module}"]  # fmt: skip
    if arch == "amd64":
        flags = ["-m64", "-mcmodel=kernel", "-mno-red-zone", *flags]
    else:
        flags = ["-m32", *flags]
    return flags


def compile_object(module: str, arch: str, release: str, functions: int) -> bytes:
    """gcc -S, as, ld -r, objcopy: one relocatable object (ET_REL) for ``arch``."""
    source = kernel_c_source(module, release, functions, VERMAGIC_ROOM)
    flags = _cc_flags(module, arch)
    with tempfile.TemporaryDirectory(prefix="toolsfix-bench-cc-") as tmp:
        work = Path(tmp)
        (work / f"{module}.c").write_text(source, encoding="ascii")
        _tool(["gcc", "-S", *flags, f"{module}.c", "-o", "m.s"], work)
        _tool(["as", "--64" if arch == "amd64" else "--32", "m.s", "-o", "m.o"], work)
        emulation = "elf_x86_64" if arch == "amd64" else "elf_i386"
        _tool(["ld", "-r", "-m", emulation, "m.o", "-o", "linked.o"], work)
        (work / "comment.bin").write_bytes(b"\0GCC: (GNU) 4.4.7 (toolsfix synthetic)\0")
        _tool(["objcopy", "--remove-section=.note.GNU-stack",
               "--remove-section=.note.gnu.property", "--add-section",
               ".comment=comment.bin", "linked.o", "out.o"], work)  # fmt: skip
        return (work / "out.o").read_bytes()


# Object size = fixed + per-function bytes, measured on this generator (to aim at a size).
_SIZE_MODEL = {"amd64": (3800, 1040), "i386": (2700, 720)}


def object_for(module: str, arch: str, release: str, target_kb: float, cache: Path) -> bytes:
    """A compiled object near ``target_kb``, from ``cache`` when built before."""
    fixed, per_function = _SIZE_MODEL[arch]
    functions = max(3, round((target_kb * 1024 - fixed) / per_function))
    source = kernel_c_source(module, release, functions, VERMAGIC_ROOM)
    # keyed by what gcc sees (source, flags, toolchain), so editing this file's other parts
    # keeps the cache
    key = hashlib.sha256(
        json.dumps([source, _cc_flags(module, arch), toolchain_id()]).encode()
    ).hexdigest()[:32]
    hit = cache / f"{key}.o"
    if hit.is_file():
        return hit.read_bytes()
    data = compile_object(module, arch, release, functions)
    cache.mkdir(parents=True, exist_ok=True)
    tmp = cache / f".{key}.{os.getpid()}.tmp"
    tmp.write_bytes(data)
    os.replace(tmp, hit)
    return data


@lru_cache(maxsize=1)
def _self_digest() -> str:
    return hashlib.sha256(Path(__file__).read_bytes()).hexdigest()


def with_vermagic(data: bytes, vermagic: str) -> bytes:
    """``data`` with its ``.modinfo`` ``vermagic=`` placeholder set to ``vermagic`` (NUL-padded,
    same length: offsets and sizes stay valid, only the bytes of the string change)."""
    marker = b"vermagic=" + b"@" * VERMAGIC_ROOM
    at = data.find(marker)
    if at < 0:
        raise BuildError("object has no vermagic placeholder")
    value = vermagic.encode("ascii")[:VERMAGIC_ROOM]
    start = at + len(b"vermagic=")
    return data[:start] + value.ljust(VERMAGIC_ROOM, b"\0") + data[start + VERMAGIC_ROOM :]


# --------------------------------------------------------------------------------------------
# Configurator and other text members


def _perl_sub(i: int, rng: random.Random) -> str:
    """One generated sub in the style of the real configurator (valid Perl under strict)."""
    w = [rng.choice(_WORDS) for _ in range(6)]
    name = f"bench_{w[0]}_{w[1]}_{i}"
    body = [
        f"# {w[2].capitalize()} the {w[3]} {w[4]} of the {w[5]} before the next step. "
        "SYNTHETIC filler.",
        f"sub {name} {{",
        "  my ($answer, $default) = @_;",
        f"  my %seen = ('{w[0]}' => 1, '{w[1]}' => 2);",
    ]
    for j in range(4 + rng.randrange(10)):
        kind = rng.randrange(9)
        k = rng.randrange(1, 500)
        a, b, c = (rng.choice(_WORDS) for _ in range(3))
        if kind == 0:
            body.append(f"  if ($answer =~ /^{a}[_-]?(\\d+)$/i) {{")
            body.append(f"    $default = $1 + {k};")
            body.append("  }")
        elif kind == 1:
            body.append(
                f'  print wrap("The {a} {b} \\"$answer\\" could not be set up for {c}. '
                f'Please re-run this program.\\n\\n", 0);'
            )
        elif kind == 2:
            body.append(f"  $gHelper{{'{a}'}} = internal_which('{b}');  # {c}")
        elif kind == 3:
            body.append(f"  $answer =~ s/\\s+{a}$//;")
        elif kind == 4:
            body.append(f"  foreach my $dir (qw({a} {b} {c})) {{")
            body.append(f"    $seen{{$dir}} += {k};")
            body.append("  }")
        elif kind == 5:
            body.append(f"  my $path{j} = '/etc/vmware-tools/{a}/' . $answer . '.conf';")
        elif kind == 6:
            body.append("  # Keep the answer for the uninstaller: it reads the database back.")
            body.append(f"  db_add_answer('{a.upper()}_{k}', $answer);")
        elif kind == 7 and rng.random() < 0.25:
            body.append(f'  my $msg{j} = <<"EOF";\nThe {a} {b} is $answer ({k}).\nEOF')
            body.append(f"  print $msg{j};")
        else:
            body.append(f"  return $default if (!defined($answer) || $answer eq '{a}');")
    body += ["  return $default;", "}", ""]
    return "\n".join(body) + "\n"


def configurator(release: str, target_bytes: int, *, solaris: bool = False) -> bytes:
    """The 9.2.2 sample configurator as a Linux (or Solaris) tarball's, grown to
    ``target_bytes``."""
    version, build = RELEASES[release]
    text = SAMPLE_CONFIGURATOR.read_text()
    text = text.replace("'9.2.2 build-893683'", f"'{version} build-{build}'")
    if not solaris:
        text = text.replace("return 'tools-for-solaris';", "return 'tools-for-linux';")
    rng = _rng("configurator", release)
    parts = [text, "\n# SYNTHETIC filler: generated subs, never called.\n\n"]
    size = len(text)
    i = 0
    while size < target_bytes:
        sub = _perl_sub(i, rng)
        parts.append(sub)
        size += len(sub)
        i += 1
    return "".join(parts).encode()


def properties(kernel: str, arch: str) -> bytes:
    """A kernel-build directory's ``properties`` file (SYNTHETIC values)."""
    machine = "x86_64" if arch == "amd64" else "i686"
    return (
        "# SYNTHETIC kernel-build properties (toolsfix benchmark)\n"
        f"UtsRelease {kernel}\nUtsVersion #1 SMP\nUtsMachine {machine}\n"
        f"SMP yes\nPAE {'no' if arch == 'amd64' else 'yes'}\nModVersions yes\n"
        f"ConfigHz 250\nGccVersion 4.4.7\n"
    ).encode()


def payload(rng: random.Random, size: int) -> bytes:
    """Library-like bytes: repeated tokens with ~25% noise, ~3x compressible like real .so."""
    tokens = [rng.randbytes(rng.randrange(4, 24)) for _ in range(64)]
    tokens += [b"\0" * 16, b"GLIBC_2.2.5\0", b"\x48\x89\xe5", b"\xe8\0\0\0\0", b".text\0"]
    out = bytearray()
    while len(out) < size:
        if rng.random() < 0.25:
            out += rng.randbytes(rng.randrange(8, 40))
        else:
            out += b"".join(rng.choice(tokens) for _ in range(rng.randrange(1, 6)))
    return bytes(out[:size])


# --------------------------------------------------------------------------------------------
# Tarball


@dataclass(frozen=True)
class TarballParams:
    """Everything the bytes of a generated tarball depend on (with the toolchain)."""

    release: str
    target_mb: int
    objects: int
    configurator_kb: int = 460
    seed: int = 7
    solaris: bool = False  # a Solaris product: the configurator runs, so the proof runs

    def key(self) -> dict[str, Any]:
        return {**asdict(self), "generator": GENERATOR_VERSION, "source": _self_digest(),
                "toolchain": toolchain_id()}  # fmt: skip


def default_params(release: str, target_mb: int, *, solaris: bool = False) -> TarballParams:
    """~2,000 objects per 60 MB, as in the real tarballs (at least 30)."""
    return TarballParams(release=release, target_mb=target_mb,
                         objects=max(30, 2000 * target_mb // 60), solaris=solaris)  # fmt: skip


@dataclass(frozen=True)
class KernelDir:
    name: str
    arch: str
    modules: tuple[tuple[str, float], ...]  # (module, size factor)


def kernel_dirs(params: TarballParams) -> list[KernelDir]:
    """The kernel-build directories: names, arch, and which modules at which size class."""
    rng = _rng("kernels", params.seed)
    dirs: list[KernelDir] = []
    made = 0
    k = 0
    while made < params.objects:
        arch = "amd64" if rng.random() < AMD64_SHARE else "i386"
        major = rng.choice(("2.6.18", "2.6.32", "3.0.13", "3.10.0", "2.6.9"))
        distro = rng.choice(("RHEL5", "RHEL6", "SLES11", "UBUNTU10.04", "RHEL7", "SLES10"))
        machine = "x86_64" if arch == "amd64" else "i686"
        name = f"bld-{major}-{k}.{rng.randrange(1, 400)}-{machine}smp-{distro}"
        # most directories carry all seven modules; some lack one or two (old/new kernels)
        modules = [m for m in MODULE_KB if rng.random() > 0.08]
        picked = []
        for m in modules[: params.objects - made]:
            factor = rng.choices(SIZE_FACTORS, SIZE_WEIGHTS)[0]
            picked.append((m, factor))
        dirs.append(KernelDir(name, arch, tuple(picked)))
        made += len(picked)
        k += 1
    return dirs


def _target_kb(module: str, factor: float) -> float:
    return min(MAX_KB, max(MIN_KB, MODULE_KB[module] * factor))


def build_bases(params: TarballParams, cache: Path) -> dict[tuple[str, str, float], bytes]:
    """Compile (or load) one object per (module, arch, size class) the tarball uses."""
    wanted = sorted({(m, d.arch, f) for d in kernel_dirs(params) for m, f in d.modules})
    with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:  # gcc runs as a child
        built = pool.map(
            lambda w: object_for(w[0], w[1], params.release, _target_kb(w[0], w[2]), cache),
            wanted,
        )
        return dict(zip(wanted, built))


def _members(params: TarballParams, cache: Path) -> Iterator[tuple[str, Optional[bytes]]]:
    """(name, data) in tar order; ``data`` None is a directory member."""
    version, build = RELEASES[params.release]
    bases = build_bases(params, cache)
    yield "vmware-tools-distrib/", None
    yield (
        "vmware-tools-distrib/vmware-install.pl",
        (
            b"#!/usr/bin/perl -w\n# SYNTHETIC tar package manager stand-in (toolsfix benchmark)\n"
            b"exit(0);\n"
        ),
    )
    yield (
        "vmware-tools-distrib/etc/manifest.txt.shipped",
        (f'monolithic.version = "{version}"\nmonolithic.buildNr = "{build}"\n'.encode()),
    )
    yield (
        "vmware-tools-distrib/bin/vmware-config-tools.pl",
        configurator(params.release, params.configurator_kb * 1024, solaris=params.solaris),
    )
    yield (
        "vmware-tools-distrib/bin/vmware-uninstall-tools.pl",
        (b"#!/usr/bin/perl -w\n# SYNTHETIC uninstaller stand-in (toolsfix benchmark)\nexit(0);\n"),
    )
    if params.solaris:
        yield from _solaris_members(version, build)
    for kdir in kernel_dirs(params):
        base = f"vmware-tools-distrib/lib/modules/binary/{kdir.name}/"
        yield base, None
        yield base + "properties", properties(kdir.name, kdir.arch)
        yield base + "objects/", None
        for module, factor in kdir.modules:
            obj = bases[(module, kdir.arch, factor)]
            yield base + f"objects/{module}.o", with_vermagic(obj, f"{kdir.name} SMP mod_unload")


def _solaris_members(version: str, build: str) -> Iterator[tuple[str, Optional[bytes]]]:
    """Solaris driver builds (vendor-samples/elfgen.py, SYNTHETIC) in their six directories."""
    elfgen = _elfgen()
    binary = "vmware-tools-distrib/lib/modules/binary"
    for os_dir in elfgen.OS_DIRS:
        yield f"{binary}/{os_dir}/", None
        for module in ("vmxnet3s", "vmxnet", "vmmemctl", "vmhgfs", "vmblock"):
            yield f"{binary}/{os_dir}/{module}", elfgen.build_driver(module, os_dir, version, build)
        if not os_dir.endswith("_64"):
            yield f"{binary}/{os_dir}/vmxnet3s.conf", b"# SYNTHETIC\nEnableLSO=1;\n"


def _elfgen() -> Any:
    spec = importlib.util.spec_from_file_location("elfgen", REPO / "vendor-samples" / "elfgen.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def make_tarball(path: Path, params: TarballParams, cache: Path) -> dict[str, Any]:
    """Write the tarball (gzip -6, like the real ones) and return what it holds."""
    rng = random.Random(params.seed)
    sizes: list[int] = []
    stats: dict[str, Any] = {"members": 0, "directories": 0, "uncompressed": 0}
    tmp = path.with_name(path.name + ".part")
    with (
        tmp.open("wb") as fh,
        gzip.GzipFile(fileobj=fh, mode="wb", compresslevel=6, mtime=0) as gz,
        tarfile.open(fileobj=gz, mode="w|", format=tarfile.GNU_FORMAT) as tar,
    ):

        def add(name: str, data: Optional[bytes]) -> None:
            info = tarfile.TarInfo(name)
            info.mtime = 1420070400
            stats["members"] += 1
            if data is None:
                info.type = tarfile.DIRTYPE
                info.mode = 0o755
                stats["directories"] += 1
                tar.addfile(info)
                return
            info.size = len(data)
            info.mode = 0o644
            tar.addfile(info, io.BytesIO(data))
            stats["uncompressed"] += len(data)

        for name, data in _members(params, cache):
            add(name, data)
            if name.endswith(".o") and data is not None:
                sizes.append(len(data))
        i = 0
        target = params.target_mb * 1_000_000
        while fh.tell() < target:
            sub = ("lib32", "lib64", "plugins32", "plugins64")[i % 4]
            add(f"vmware-tools-distrib/lib/{sub}/libbench{i:04d}.so",
                payload(rng, rng.randrange(50_000, 1_500_000)))  # fmt: skip
            i += 1
    os.replace(tmp, path)
    stats["compressed"] = path.stat().st_size
    stats["objects"] = size_summary(sizes)
    stats["configurator_member"] = 4
    return stats


def size_summary(sizes: Sequence[int]) -> dict[str, Any]:
    """Count, total and distribution (KB) of object sizes, for the results file."""
    if not sizes:
        return {"count": 0}
    s = sorted(sizes)

    def pct(p: float) -> float:
        return round(s[min(len(s) - 1, int(p * len(s)))] / 1024, 1)

    return {
        "count": len(s),
        "total_mib": round(sum(s) / 2**20, 1),
        "mean_kb": round(statistics.fmean(s) / 1024, 1),
        "min_kb": pct(0),
        "p10_kb": pct(0.1),
        "median_kb": pct(0.5),
        "p90_kb": pct(0.9),
        "max_kb": round(s[-1] / 1024, 1),
    }


def ensure_tarball(path: Path, params: TarballParams, cache: Path) -> dict[str, Any]:
    """Reuse ``path`` when its sidecar records the same parameters, else (re)build it."""
    sidecar = path.with_name(path.name + ".json")
    key = params.key()
    if path.is_file() and sidecar.is_file():
        try:
            recorded = json.loads(sidecar.read_text())
        except ValueError:
            recorded = {}
        if recorded.get("params") == key and recorded.get("compressed") == path.stat().st_size:
            return {**recorded["stats"], "reused": True}
    stats = make_tarball(path, params, cache)
    sidecar.write_text(json.dumps({"params": key, "compressed": stats["compressed"],
                                   "stats": stats}, indent=1) + "\n")  # fmt: skip
    return {**stats, "reused": False}


def compress_ratio(data: bytes) -> float:
    """Uncompressed/compressed at zlib level 6 (for checking the payload's realism)."""
    return len(data) / len(zlib.compress(data, 6))
