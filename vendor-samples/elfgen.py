"""SYNTHETIC look-alikes of VMware Tools Solaris kernel modules, for tests and benchmarks.

Nothing this module produces is, or contains, a VMware binary. No real driver is public in a
form we may ship, so toolsfix's fingerprinting code is exercised against objects that have the
*shape* documented for the real ones (relocatable x86 ELF objects linked with ``ld -r``; see
docs/background.md, "Kernel-module ELF shape"): ``.text``, ``.rodata``/``.rodata.str*``, ``.data``,
``.bss``, ``.rel(a).*``, ``.symtab``, ``.comment`` carrying ``@(#)SunOS 5.1x`` provenance,
optional ``.SUNW_ctf`` and ``.SUNW_signature``, EI_OSABI 0 or 6, module dependencies declared
either by a ``.dynamic`` section with DT_NEEDED entries or by a ``_depends_on`` string symbol,
and the build identity string ``VMware EtherAdapter v3 ...``. Every ``.comment`` string says
``toolsfix synthetic`` so a stray copy cannot be mistaken for a vendor file.

How an object is built (all with the host's gcc and GNU binutils, nothing downloaded):

1. A C source is *generated* from a deterministic hash-driven PRNG (never ``random``): entry
   points ``_init``/``_info``/``_fini``, driver functions with arithmetic bodies, calls to
   undefined kernel functions (relocations), ``cmn_err`` message strings (``.rodata.str1.1``).
2. ``gcc -S`` (``-m64 -mcmodel=kernel -mno-red-zone`` or ``-m32``, ``-ffreestanding -fno-pic
   -fno-ident -frandom-seed=<module>``), then ``as --32``/``as --64``. Compiling to assembly
   first means a missing 32-bit multilib (glibc headers, libgcc) cannot matter: no header is
   included and nothing is linked against a library.
3. A generated assembler file declares ``.dynstr`` and ``.dynamic`` (Elf32_Dyn/Elf64_Dyn
   records, DT_NEEDED ``misc/mac``) when the build uses that dependency style.
4. ``ld -r`` joins them; ``objcopy`` removes ``.note.GNU-stack``/``.note.gnu.property``/
   ``.eh_frame`` and adds ``.comment`` and, for some builds, ``.SUNW_ctf``/``.SUNW_signature``.
5. Header bytes are patched in Python: EI_OSABI (``e_ident[7]``) = 6 for Solaris 11 and
   OpenSolaris builds; ``.SUNW_signature`` gets section type 0x6ffffff6 and SHF_EXCLUDE;
   ``.dynamic`` gets ``sh_link`` -> ``.dynstr``.

What varies per input (all SYNTHETIC choices, chosen to mirror documented facts):

* ``os_dir`` ``10``/``11``/``2009.06`` -> i386 ELFCLASS32; the ``_64`` twins -> amd64 ELFCLASS64.
  The same C source is compiled for both, like a real release.
* vmxnet3s identity: Tools < 9.10 -> ``VMware EtherAdapter v3 b<build>``, else
  ``VMware EtherAdapter v3 1.1.0.0``. Other modules carry ``VMware <name> b<build>`` strings
  that the fingerprinting code does not treat as identities.
* LSO transmit path (vmxnet3s): old path (a private field read, no call) for Tools < 9.10 and
  for Solaris 10 builds of 10.1.x; new path (calls ``mac_lso_get``) otherwise.
* Jumbo frames (vmxnet3s): Solaris 10 and OpenSolaris builds of Tools >= 8.6 have an
  ``accept-jumbo`` ndd handler and read an ``MTU`` property; Solaris 11 builds instead have the
  MTU link-property callbacks (``*_m_setprop``/``*_m_getprop``/``*_m_propinfo``).
* Dependencies: Tools 8.x -> ``_depends_on`` symbol; 9.x and later -> ``.dynamic`` DT_NEEDED.
* ``.SUNW_ctf`` on Tools >= 9; ``.SUNW_signature`` on Solaris 11 builds of Tools >= 9.
* Function bodies are seeded by (module, Tools major.minor) so builds of one series share most
  code; a few functions embed the build number, so every build has its own code hash.
  Sizes land near the documented ones (vmxnet3s ~24 KB i386, ~34 KB amd64).

``variant`` (documented, stable):

* ``""``: the build as described.
* ``"tampered"``: one ``.text`` byte (the middle one) XORed with 0x5a -> new sha256 and new code
  hash; identity, sections and symbols unchanged.
* ``"resigned"``: only metadata changes: an extra ``.comment`` string and a different
  ``.SUNW_signature`` payload (added if the build had none) -> new sha256, same code hash.
* ``"stripped"``: ``strip --strip-unneeded`` (keeps relocations, drops local symbols).

Determinism: same inputs and same toolchain -> same bytes (fixed file names, ``-frandom-seed``,
no timestamps, ``SOURCE_DATE_EPOCH=0``, ``LC_ALL=C``, builds in a private temp dir). Different
gcc/binutils versions give different bytes, so the toolchain's version lines are part of the
cache key. Results are cached under ``$TOOLSFIX_ELFGEN_CACHE`` or a per-user directory in the
system temp dir; set ``TOOLSFIX_ELFGEN_CACHE=off`` to disable the cache.

Public API (imported by other tools; keep the signatures): :func:`build_driver`,
:func:`build_linux_ko`, :func:`build_userland_object`.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import re
import struct
import subprocess
import tempfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Optional

__all__ = [
    "MODULES",
    "OS_DIRS",
    "VARIANTS",
    "ElfgenError",
    "build_driver",
    "build_linux_ko",
    "build_userland_object",
    "driver_traits",
]

GENERATOR_VERSION = "1"
OS_DIRS = ("10", "10_64", "11", "11_64", "2009.06", "2009.06_64")
MODULES = ("vmxnet3s", "vmxnet", "vmmemctl", "vmhgfs", "vmblock", "vmci")
VARIANTS = ("", "tampered", "resigned", "stripped")

SHT_SUNW_SIGNATURE = 0x6FFFFFF6
SHF_EXCLUDE = 0x80000000
ELFOSABI_SOLARIS = 6


class ElfgenError(RuntimeError):
    """The toolchain is missing or failed; the message names the command and its stderr."""


# --------------------------------------------------------------------------------------------
# Build description


@dataclass(frozen=True)
class DriverTraits:
    """Every SYNTHETIC choice for one (module, os_dir, tools_version, build), in one place."""

    module: str
    os_dir: str
    flavour: str  # "10", "11" or "2009.06"
    arch: str  # "i386" or "amd64"
    tools_version: str
    build: str
    version: tuple[int, ...]
    identity: str
    lso_path: Optional[str]  # "old-path"/"new-path" for vmxnet3s, None otherwise
    accept_jumbo: bool
    mtu_linkprop: bool
    dependencies: tuple[str, ...]
    dependency_style: Optional[str]  # "dynamic", "_depends_on" or None
    osabi: int
    ctf: bool
    signature: bool
    comments: tuple[str, ...]


_OTHER_IDENT = {
    "vmxnet": "VMware Ethernet Adapter",
    "vmmemctl": "VMware Memory Control",
    "vmhgfs": "VMware HGFS",
    "vmblock": "VMware vmblock",
    "vmci": "VMware VMCI",
}
_DEPENDS = {"vmxnet3s": ("misc/mac",), "vmxnet": ("misc/gld",)}


def _parse_version(text: str) -> tuple[int, ...]:
    if not re.fullmatch(r"\d+(\.\d+){1,3}", text):
        raise ValueError(f"tools_version must look like 9.4.0, got {text!r}")
    return tuple(int(p) for p in text.split("."))


def driver_traits(module: str, os_dir: str, tools_version: str, build: str) -> DriverTraits:
    """Describe the synthetic build without compiling it (tests use this as the oracle)."""
    if module not in MODULES:
        raise ValueError(f"module must be one of {', '.join(MODULES)}, got {module!r}")
    if os_dir not in OS_DIRS:
        raise ValueError(f"os_dir must be one of {', '.join(OS_DIRS)}, got {os_dir!r}")
    if not re.fullmatch(r"\d{1,10}", build):
        raise ValueError(f"build must be decimal digits, got {build!r}")
    version = _parse_version(tools_version)
    flavour = os_dir[:-3] if os_dir.endswith("_64") else os_dir
    arch = "amd64" if os_dir.endswith("_64") else "i386"
    if module == "vmxnet3s":
        new_ident = version >= (9, 10)
        identity = "VMware EtherAdapter v3 " + ("1.1.0.0" if new_ident else f"b{build}")
        old_lso = version < (9, 10) or (version[:2] == (10, 1) and flavour == "10")
        lso_path: Optional[str] = "old-path" if old_lso else "new-path"
        accept_jumbo = flavour in ("10", "2009.06") and version >= (8, 6)
        mtu_linkprop = flavour == "11"
    else:
        identity = f"{_OTHER_IDENT[module]} b{build}"
        lso_path = None
        accept_jumbo = mtu_linkprop = False
    deps = _DEPENDS.get(module, ())
    style: Optional[str] = None
    if deps:
        style = "_depends_on" if version < (9,) else "dynamic"
    sunos = "5.10" if flavour == "10" else "5.11"
    release = {"10": "Generic", "11": "11.0", "2009.06": "snv_111b"}[flavour]
    compiler = (
        "GCC: (GNU) 3.4.3 (toolsfix synthetic)"
        if version < (9,)
        else "acomp: Sun C 5.10 SunOS_i386 (toolsfix synthetic)"
    )
    comments = (f"@(#)SunOS {sunos} {release} {module} (toolsfix synthetic)", compiler)
    return DriverTraits(
        module=module,
        os_dir=os_dir,
        flavour=flavour,
        arch=arch,
        tools_version=tools_version,
        build=build,
        version=version,
        identity=identity,
        lso_path=lso_path,
        accept_jumbo=accept_jumbo,
        mtu_linkprop=mtu_linkprop,
        dependencies=deps,
        dependency_style=style,
        osabi=ELFOSABI_SOLARIS if flavour in ("11", "2009.06") else 0,
        ctf=version >= (9,),
        signature=flavour == "11" and version >= (9,),
        comments=comments,
    )


# --------------------------------------------------------------------------------------------
# Deterministic pseudo-random source (hash based: identical on every Python version)


class _Rng:
    def __init__(self, *seed: str) -> None:
        self._seed = hashlib.sha256("\x1f".join(seed).encode()).digest()
        self._counter = 0
        self._pool = b""

    def _refill(self) -> None:
        self._counter += 1
        self._pool += hashlib.sha256(self._seed + self._counter.to_bytes(8, "little")).digest()

    def below(self, n: int) -> int:
        if len(self._pool) < 4:
            self._refill()
        value = int.from_bytes(self._pool[:4], "little")
        self._pool = self._pool[4:]
        return value % n

    def choice(self, items: Sequence[str]) -> str:
        return items[self.below(len(items))]

    def stream(self, length: int) -> bytes:
        while len(self._pool) < length:
            self._refill()
        out, self._pool = self._pool[:length], self._pool[length:]
        return out


# --------------------------------------------------------------------------------------------
# C source generation

_EXTERNS_COMMON = (
    "ddi_get_soft_state", "ddi_soft_state_zalloc", "ddi_soft_state_free", "ddi_regs_map_setup",
    "ddi_regs_map_free", "ddi_intr_alloc", "ddi_intr_add_handler", "ddi_intr_enable",
    "ddi_dma_alloc_handle", "ddi_dma_mem_alloc", "ddi_dma_addr_bind_handle", "ddi_dma_sync",
    "kmem_zalloc", "kmem_free", "mutex_enter", "mutex_exit", "mutex_init", "drv_usecwait",
    "pci_config_setup", "pci_config_get16", "ddi_get32", "ddi_put32",
)  # fmt: skip
_EXTERNS_NET = (
    "mac_alloc", "mac_free", "mac_register", "mac_unregister", "mac_rx", "mac_tx_update",
    "mac_link_update", "allocb", "freemsg", "msgdsize", "hcksum_retrieve",
    "ddi_prop_lookup_int_array",
)  # fmt: skip
_EXTERNS_OTHER = {
    "vmxnet": ("gld_register", "gld_unregister", "gld_recv", "gld_mac_alloc", "gld_intr"),
    "vmmemctl": ("page_create_va", "page_unlock", "page_destroy", "timeout", "untimeout"),
    "vmhgfs": ("vfs_setfsops", "vn_make_ops", "vn_rele", "vfs_make_fsid", "pn_get", "cv_wait"),
    "vmblock": ("vfs_setfsops", "vn_make_ops", "lookupname", "vn_rele", "pn_get"),
    "vmci": ("ddi_intr_remove_handler", "cv_signal", "cv_wait", "kmem_cache_create"),
}
_WORDS = (
    "ring", "buffer", "descriptor", "interrupt", "queue", "offload", "device", "link", "reset",
    "timeout", "failed", "allocate", "mapping", "register", "checksum", "segment", "packet",
    "shared", "memory", "state", "invalid", "value", "command", "completion", "balloon", "page",
)  # fmt: skip
_ROLES = {
    "vmxnet3s": (
        "attach", "detach", "quiesce", "m_start", "m_stop", "m_tx", "m_unicst", "m_multicst",
        "m_promisc", "m_stat", "m_getcapab", "intr", "rx_intr", "tx_complete", "tx_one",
        "alloc_rxbuf", "free_rxbuf", "rx_populate", "get_mac", "update_link", "alloc_dma_mem",
        "free_dma_mem", "cmd_ring_init", "comp_ring_init", "prepare_drvshared",
        "destroy_drvshared", "read_conf", "reset", "enable_intrs", "disable_intrs", "send_cmd",
        "tx_cleanup", "rx_cleanup", "msg_copy", "setup_rss", "dma_mem_sync",
    ),
    "vmxnet": (
        "attach", "detach", "gld_reset", "gld_start", "gld_stop", "gld_set_mac", "gld_send",
        "gld_intr", "gld_stats", "gld_set_promisc", "gld_set_multicast", "alloc_rings",
        "free_rings", "tx_reclaim", "rx_fill", "read_conf",
    ),
    "vmmemctl": (
        "attach", "detach", "balloon_inflate", "balloon_deflate", "poll", "backdoor_cmd",
        "page_alloc", "page_free", "start_timer", "stop_timer", "stats",
    ),
    "vmhgfs": (
        "mount", "unmount", "root", "statvfs", "open", "close", "read", "write", "getattr",
        "setattr", "lookup", "create", "remove", "rename", "mkdir", "rmdir", "readdir",
        "send_request", "recv_reply", "dev_open", "dev_close", "dev_read", "dev_write",
    ),
    "vmblock": (
        "mount", "unmount", "root", "lookup", "readdir", "getattr", "block_add",
        "block_remove", "block_wait", "ioctl",
    ),
    "vmci": (
        "attach", "detach", "intr", "datagram_send", "datagram_recv", "queuepair_alloc",
        "queuepair_free", "doorbell_notify", "event_dispatch", "resource_add",
    ),
}  # fmt: skip


def _statement(rng: _Rng, externs: Sequence[str], helpers: Sequence[str], module: str) -> str:
    kind = rng.below(6)
    a, b, c = rng.below(48), rng.below(48), rng.below(48)
    k1, k2 = rng.below(0x7FFF) + 1, rng.below(29) + 1
    if kind == 0:
        return f"dp->f[{a}] = (dp->f[{b}] * {k1}u) ^ (dp->f[{c}] >> {k2});"
    if kind == 1:
        return f"if (dp->f[{a}] & {k1}u) rc |= (int){rng.choice(externs)}(dp, {k1 + k2});"
    if kind == 2:
        return (
            f"for (n = 0; n < (int)(dp->f[{a}] & 15u); n++) "
            f"dp->ring[(n + {k2}) & 63] += (unsigned char)(n * {k1});"
        )
    if kind == 3 and helpers:
        return f"rc += {rng.choice(helpers)}(dp, {k1});"
    if kind == 4:
        words = " ".join(rng.choice(_WORDS) for _ in range(2 + rng.below(3)))
        return f'if (dp->f[{a}] == {k1}u) cmn_err(CE_WARN, "{module}%d: {words} %d", dp->inst, rc);'
    return f"dp->f[{a}] += dp->f[{b}] + {k1}u;"


def _function(name: str, rng: _Rng, externs: Sequence[str], helpers: Sequence[str],
              module: str, statements: int, extra: str = "") -> str:  # fmt: skip
    body = "\n".join("\t" + _statement(rng, externs, helpers, module) for _ in range(statements))
    return (
        f"__attribute__((noinline)) int\n{name}(struct sc *dp, long arg)\n{{\n"
        f"\tint rc = (int)arg;\n\tint n;\n{extra}{body}\n\treturn rc;\n}}\n"
    )


_FLAVOUR_CODE = {"10": 510, "11": 511, "2009.06": 200906}


def _c_source(t: DriverTraits) -> str:
    series = ".".join(str(p) for p in t.version[:2])
    prefix = t.module
    externs = list(_EXTERNS_COMMON)
    externs += list(_EXTERNS_NET) if t.module == "vmxnet3s" else list(_EXTERNS_OTHER[t.module])
    extra_externs: list[str] = []
    if t.lso_path == "new-path":
        extra_externs.append("mac_lso_get")
    if t.accept_jumbo:
        extra_externs += ["nd_load", "nd_getset", "nd_free", "miocnak", "mi_strtol"]
    if t.mtu_linkprop:
        extra_externs += ["mac_maxsdu_update", "mac_prop_info_set_range_uint32"]
    lines = [
        "/* SYNTHETIC toolsfix test object: not VMware code. */",
        "#define CE_WARN 2",
        "struct sc { unsigned int f[64]; unsigned char ring[64]; int inst; void *mh; };",
        "extern void cmn_err(int, const char *, ...);",
        "extern int mod_install(void *); extern int mod_remove(void *);",
        "extern int mod_info(void *, void *);",
    ]
    lines += [f"extern long {e}(void *, long);" for e in externs]
    lines += [f"extern long {e}(void *, long);" for e in extra_externs]
    roles = list(_ROLES[t.module])
    if t.accept_jumbo:
        roles += ["ndd_accept_jumbo", "m_ioctl", "ndd_init"]
    if t.mtu_linkprop:
        roles += ["m_setprop", "m_getprop", "m_propinfo"]
    if t.module == "vmxnet3s":
        roles.append("tx_prepare_offload")
    helpers: list[str] = []
    funcs: list[str] = []
    size_scale = {"vmxnet3s": 7, "vmxnet": 7, "vmmemctl": 6, "vmhgfs": 6}.get(t.module, 5)
    for role in roles:
        name = f"{prefix}_{role}"
        rng = _Rng("fn", t.module, series, role)
        extra = ""
        if role in ("m_stat", "attach"):
            extra = f"\tdp->f[63] = {int(t.build)}u;\n"
        if role == "attach":  # each OS flavour is its own compile: distinct code
            extra += f"\tdp->f[62] = {_FLAVOUR_CODE[t.flavour]}u;\n"
        if role == "tx_prepare_offload":
            if t.lso_path == "new-path":
                extra += "\tmac_lso_get(dp->mh, (long)&dp->f[40]);\n"
            else:  # old path: the MSS is read straight from a private field
                extra += "\tdp->f[40] = dp->f[41] >> 16;\n"
        if role == "read_conf":
            props = ["TxRingSize", "RxRingSize", "RxBufPoolLimit", "EnableLSO"]
            if t.accept_jumbo:
                props.append("MTU")
            extra += "".join(
                f'\tdp->f[{i + 20}] = (unsigned int)ddi_prop_lookup_int_array(dp, (long)"{p}");\n'
                for i, p in enumerate(props)
            )
        if role == "ndd_accept_jumbo":
            extra += '\tnd_load(dp, (long)"accept-jumbo");\n\tdp->f[7] = 9000u;\n'
        if role == "m_setprop":
            extra += "\tmac_maxsdu_update(dp->mh, (long)dp->f[7]);\n"
        if role == "m_propinfo":
            extra += "\tmac_prop_info_set_range_uint32(dp->mh, 9000);\n"
        count = size_scale + rng.below(size_scale)
        funcs.append(_function(name, rng, externs, helpers, t.module, count, extra))
        helpers.append(name)
    lines += funcs
    if t.dependency_style == "_depends_on":
        lines.append(f'char _depends_on[] = "{" ".join(t.dependencies)}";')
    if t.version >= (9, 10):
        ident_expr = f'"{t.identity}"'
    else:
        lines.append(f'static const char {prefix}_ident[] = "{t.identity}";')
        ident_expr = f"{prefix}_ident"
    lines += [
        "struct modldrv { void *ops; const char *info; void *devops; };",
        f"static struct sc {prefix}_state;",
        f"struct modldrv {prefix}_modldrv = {{ 0, {ident_expr}, &{prefix}_state }};",
        f"void *{prefix}_modlinkage[] = {{ (void *)1, &{prefix}_modldrv, 0 }};",
        f"int _init(void) {{ return mod_install({prefix}_modlinkage); }}",
        f"int _fini(void) {{ return mod_remove({prefix}_modlinkage); }}",
        f"int _info(void *mi) {{ return mod_info({prefix}_modlinkage, mi); }}",
    ]
    return "\n".join(lines) + "\n"


def _dynamic_asm(deps: Sequence[str], arch: str) -> str:
    """``.dynstr`` + ``.dynamic`` with DT_NEEDED entries; offsets computed here, no relocs."""
    word = ".quad" if arch == "amd64" else ".long"
    lines = ['\t.section .dynstr,"a",@3', "\t.byte 0"]
    offsets, pos = [], 1
    for dep in deps:
        lines.append(f'\t.asciz "{dep}"')
        offsets.append(pos)
        pos += len(dep.encode()) + 1
    lines.append('\t.section .dynamic,"a",@6')
    lines.append(f"\t.balign {8 if arch == 'amd64' else 4}")
    for off in offsets:
        lines.append(f"\t{word} 1, {off}")  # DT_NEEDED
    lines.append(f"\t{word} 0, 0")  # DT_NULL
    lines.append('\t.section .note.GNU-stack,"",@progbits')
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------------------------
# Toolchain


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "TMPDIR")}
    env.update(LC_ALL="C", SOURCE_DATE_EPOCH="0", TZ="UTC")
    return env


def _run(cmd: Sequence[str], cwd: Path) -> None:
    try:
        proc = subprocess.run(
            list(cmd), cwd=cwd, env=_env(), capture_output=True, text=True, check=False
        )
    except FileNotFoundError as exc:
        raise ElfgenError(f"{cmd[0]} not found: elfgen needs gcc and GNU binutils") from exc
    if proc.returncode != 0:
        raise ElfgenError(f"{' '.join(cmd)} failed ({proc.returncode}): {proc.stderr.strip()}")


@lru_cache(maxsize=1)
def toolchain_id() -> str:
    """Version lines of gcc, as, ld, objcopy, strip: part of every cache key."""
    parts = []
    for tool in ("gcc", "as", "ld", "objcopy", "strip"):
        try:
            out = subprocess.run(
                [tool, "--version"], capture_output=True, text=True, env=_env(), check=False
            ).stdout
        except FileNotFoundError:
            out = "missing"
        parts.append(out.splitlines()[0] if out else "unknown")
    return " | ".join(parts)


@lru_cache(maxsize=1)
def _source_digest() -> str:
    """This file's own hash: editing the generator must never serve stale cached objects."""
    return hashlib.sha256(Path(__file__).read_bytes()).hexdigest()


def _cache_dir() -> Optional[Path]:
    setting = os.environ.get("TOOLSFIX_ELFGEN_CACHE")
    if setting == "off":
        return None
    if setting:
        path = Path(setting)
    else:
        uid = os.getuid() if hasattr(os, "getuid") else 0
        path = Path(tempfile.gettempdir()) / f"toolsfix-elfgen-{uid}"
    try:
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
        if hasattr(os, "getuid") and path.stat().st_uid != os.getuid():
            return None  # someone else's directory: do not trust its contents
    except OSError:
        return None
    return path


def _cached(key_parts: Sequence[str], produce: Callable[[], bytes]) -> bytes:
    key = hashlib.sha256(
        json.dumps([GENERATOR_VERSION, _source_digest(), toolchain_id(), *key_parts]).encode()
    ).hexdigest()
    cache = _cache_dir()
    if cache is not None:
        hit = cache / f"{key}.o"
        if hit.is_file():
            return hit.read_bytes()
    data = produce()
    if cache is not None:
        tmp = cache / f".{key}.{os.getpid()}.tmp"
        try:
            tmp.write_bytes(data)
            os.replace(tmp, cache / f"{key}.o")
        except OSError:
            tmp.unlink(missing_ok=True)
    return data


def _compile(workdir: Path, c_name: str, source: str, arch: str, kernel: bool) -> Path:
    c_file = workdir / c_name
    c_file.write_text(source, encoding="ascii")
    asm = workdir / (c_file.stem + ".s")
    obj = workdir / (c_file.stem + ".o")
    flags = ["-O2", "-ffreestanding", "-fno-pic", "-fno-ident", "-fno-stack-protector",
             "-fno-asynchronous-unwind-tables", "-fno-unwind-tables", "-fcf-protection=none",
             f"-frandom-seed={c_file.stem}", "-w"]  # fmt: skip
    if arch == "amd64":
        flags = ["-m64", *flags]
        if kernel:
            flags += ["-mcmodel=kernel", "-mno-red-zone"]
    else:
        flags = ["-m32", *flags]
    _run(["gcc", "-S", *flags, c_name, "-o", asm.name], workdir)
    _run(["as", "--64" if arch == "amd64" else "--32", asm.name, "-o", obj.name], workdir)
    return obj


def _link(workdir: Path, objs: Sequence[Path], arch: str, out: str) -> Path:
    emulation = "elf_x86_64" if arch == "amd64" else "elf_i386"
    _run(["ld", "-r", "-m", emulation, *[o.name for o in objs], "-o", out], workdir)
    return workdir / out


# --------------------------------------------------------------------------------------------
# Byte-level ELF patching (read with struct; the objects are little-endian x86)


@dataclass(frozen=True)
class _Shdr:
    index: int
    header_offset: int
    name: str
    type: int
    flags: int
    offset: int
    size: int


def _sections(data: bytes) -> Iterator[_Shdr]:
    is64 = data[4] == 2
    if is64:
        (shoff,) = struct.unpack_from("<Q", data, 0x28)
        shentsize, shnum, shstrndx = struct.unpack_from("<HHH", data, 0x3A)
        fmt = "<IIQQQQIIQQ"
    else:
        (shoff,) = struct.unpack_from("<I", data, 0x20)
        shentsize, shnum, shstrndx = struct.unpack_from("<HHH", data, 0x2E)
        fmt = "<IIIIIIIIII"
    headers = [struct.unpack_from(fmt, data, shoff + i * shentsize) for i in range(shnum)]
    str_off, str_size = headers[shstrndx][4], headers[shstrndx][5]
    names = data[str_off : str_off + str_size]
    for i, h in enumerate(headers):
        end = names.find(b"\0", h[0])
        yield _Shdr(i, shoff + i * shentsize, names[h[0] : end].decode("ascii", "replace"),
                    h[1], h[2], h[4], h[5])  # fmt: skip


def _find(data: bytes, name: str) -> Optional[_Shdr]:
    return next((s for s in _sections(data) if s.name == name), None)


def _patch_section(data: bytearray, name: str, *, sh_type: Optional[int] = None,
                   flags: Optional[int] = None, link_to: Optional[str] = None) -> None:  # fmt: skip
    is64 = data[4] == 2
    shdr = _find(bytes(data), name)
    if shdr is None:
        raise ElfgenError(f"section {name} missing after objcopy")
    if sh_type is not None:
        struct.pack_into("<I", data, shdr.header_offset + 4, sh_type)
    if flags is not None:
        if is64:
            struct.pack_into("<Q", data, shdr.header_offset + 8, flags)
        else:
            struct.pack_into("<I", data, shdr.header_offset + 8, flags)
    if link_to is not None:
        target = _find(bytes(data), link_to)
        if target is None:
            raise ElfgenError(f"section {link_to} missing after objcopy")
        struct.pack_into("<I", data, shdr.header_offset + (40 if is64 else 24), target.index)


def _strings_blob(strings: Sequence[str]) -> bytes:
    return b"\0" + b"".join(s.encode("ascii") + b"\0" for s in strings)


# --------------------------------------------------------------------------------------------
# Builders


def _build_driver_uncached(t: DriverTraits, variant: str) -> bytes:
    with tempfile.TemporaryDirectory(prefix="toolsfix-elfgen-") as tmp:
        work = Path(tmp)
        objs = [_compile(work, f"{t.module}.c", _c_source(t), t.arch, kernel=True)]
        if t.dependency_style == "dynamic":
            (work / "deps.s").write_text(_dynamic_asm(t.dependencies, t.arch), encoding="ascii")
            _run(["as", "--64" if t.arch == "amd64" else "--32", "deps.s", "-o", "deps.o"], work)
            objs.append(work / "deps.o")
        linked = _link(work, objs, t.arch, "linked.o")
        comments = list(t.comments)
        if variant == "resigned":
            comments.append("@(#)re-signed copy (toolsfix synthetic)")
        (work / "comment.bin").write_bytes(_strings_blob(comments))
        cmd = [
            "objcopy",
            "--remove-section=.note.GNU-stack",
            "--remove-section=.eh_frame",
            "--remove-section=.note.gnu.property",
            "--add-section",
            ".comment=comment.bin",
        ]
        if t.ctf:
            ctf_rng = _Rng("ctf", t.module, t.os_dir, t.tools_version, t.build)
            ctf_size = 1536 + ctf_rng.below(1536)
            (work / "ctf.bin").write_bytes(b"\xf1\xcf\x04\x00" + ctf_rng.stream(ctf_size))
            cmd += ["--add-section", ".SUNW_ctf=ctf.bin"]
        signed = t.signature or variant == "resigned"
        if signed:
            seed = "resigned" if variant == "resigned" else "signed"
            sig = _Rng("sig", seed, t.module, t.os_dir, t.tools_version, t.build).stream(256)
            (work / "sig.bin").write_bytes(sig)
            cmd += ["--add-section", ".SUNW_signature=sig.bin"]
        _run([*cmd, linked.name, "module.o"], work)
        if variant == "stripped":
            _run(["strip", "--strip-unneeded", "module.o"], work)
        data = bytearray((work / "module.o").read_bytes())
    data[7] = t.osabi
    if signed:
        _patch_section(data, ".SUNW_signature", sh_type=SHT_SUNW_SIGNATURE, flags=SHF_EXCLUDE)
    if t.dependency_style == "dynamic":
        _patch_section(data, ".dynamic", link_to=".dynstr")
    if variant == "tampered":
        text = _find(bytes(data), ".text")
        if text is None or text.size == 0:
            raise ElfgenError("no .text to tamper with")
        data[text.offset + text.size // 2] ^= 0x5A
    return bytes(data)


def build_driver(module: str, os_dir: str, tools_version: str, build: str, *,
                 variant: str = "") -> bytes:  # fmt: skip
    """Bytes of a SYNTHETIC Solaris kernel-module look-alike (see the module docstring).

    ``os_dir`` is a ``lib/modules/binary`` directory name (``10``, ``10_64``, ``11``, ``11_64``,
    ``2009.06``, ``2009.06_64``); ``_64`` means amd64/ELFCLASS64. Same inputs and toolchain give
    the same bytes. Raises :class:`ValueError` for bad arguments and :class:`ElfgenError` when
    the toolchain fails.
    """
    if variant not in VARIANTS:
        raise ValueError(f"variant must be one of {VARIANTS}, got {variant!r}")
    traits = driver_traits(module, os_dir, tools_version, build)
    return _cached(
        ["driver", module, os_dir, tools_version, build, variant],
        functools.partial(_build_driver_uncached, traits, variant),
    )


def _linux_ko_uncached(name: str, identity: str) -> bytes:
    decoy = f'const char {name}_banner[] = "{identity}";\n' if identity else ""
    source = (
        "/* SYNTHETIC Linux .ko look-alike for false-positive tests. */\n"
        "extern int printk(const char *, ...);\n"
        "extern int pci_register_driver(void *); extern void pci_unregister_driver(void *);\n"
        f"static char {name}_drv[64];\n{decoy}"
        '__attribute__((section(".modinfo"), used)) static const char mi[] =\n'
        f'  "license=GPL\\0description={name} synthetic\\0depends=\\0"\n'
        f'  "vermagic=5.10.0-synthetic SMP mod_unload\\0name={name}";\n'
        '__attribute__((section(".gnu.linkonce.this_module"), used))\n'
        "static char this_module[64] = { 1 };\n"
        f'int init_module(void) {{ printk("{name}: loaded\\n"); '
        f"return pci_register_driver({name}_drv); }}\n"
        f"void cleanup_module(void) {{ pci_unregister_driver({name}_drv); }}\n"
    )
    with tempfile.TemporaryDirectory(prefix="toolsfix-elfgen-") as tmp:
        work = Path(tmp)
        obj = _compile(work, f"{name}.c", source, "amd64", kernel=True)
        _link(work, [obj], "amd64", f"{name}.ko")
        return (work / f"{name}.ko").read_bytes()


def build_linux_ko(name: str, *, identity: str = "") -> bytes:
    """A SYNTHETIC x86-64 ET_REL shaped like a Linux ``.ko`` (``.modinfo``, ``init_module``).

    ``identity`` plants a decoy string (e.g. ``VMware EtherAdapter v3 b1234``) in ``.rodata`` so
    tests can prove that a matching string alone never yields an exact/code-identical claim.
    """
    if not re.fullmatch(r"[a-z][a-z0-9_]{0,30}", name):
        raise ValueError(f"name must be a C identifier in lower case, got {name!r}")
    if '"' in identity or "\\" in identity:
        raise ValueError("identity must not contain quotes or backslashes")
    produce = functools.partial(_linux_ko_uncached, name, identity)
    return _cached(["linux-ko", name, identity], produce)


def _userland_uncached(name: str) -> bytes:
    source = (
        "/* SYNTHETIC userland object for false-positive tests. */\n"
        "extern int printf(const char *, ...);\n"
        "static int table[32];\n"
        "int main(int argc, char **argv) {\n"
        "  for (int i = 0; i < 32; i++) table[i] = i * argc;\n"
        f'  printf("{name}: %s %d\\n", argv[0], table[argc & 31]);\n'
        "  return 0;\n}\n"
    )
    with tempfile.TemporaryDirectory(prefix="toolsfix-elfgen-") as tmp:
        work = Path(tmp)
        (work / f"{name}.c").write_text(source, encoding="ascii")
        _run(["gcc", "-c", "-O2", f"-frandom-seed={name}", f"{name}.c", "-o", f"{name}.o"], work)
        return (work / f"{name}.o").read_bytes()


def build_userland_object(name: str = "hello") -> bytes:
    """A SYNTHETIC ordinary userland ``.o`` (host gcc defaults: ``.comment``, ``.eh_frame``)."""
    if not re.fullmatch(r"[a-z][a-z0-9_]{0,30}", name):
        raise ValueError(f"name must be a C identifier in lower case, got {name!r}")
    return _cached(["userland", name], functools.partial(_userland_uncached, name))


def _main() -> None:  # pragma: no cover - manual use: python elfgen.py OUTDIR
    import sys

    out = Path(sys.argv[1] if len(sys.argv) > 1 else ".")
    out.mkdir(parents=True, exist_ok=True)
    for os_dir in OS_DIRS:
        data = build_driver("vmxnet3s", os_dir, "9.4.0", "1234567")
        (out / f"vmxnet3s-{os_dir}").write_bytes(data)
        print(f"{os_dir:12} {len(data):6d} bytes")


if __name__ == "__main__":  # pragma: no cover
    _main()
