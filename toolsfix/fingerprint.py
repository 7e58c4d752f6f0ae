"""Driver fingerprints: what a kernel-module file *is*, as data that can be compared.

A fingerprint holds every feature the identification rungs (see :mod:`toolsfix.identify`)
need: the file hash for ``exact``, a relocation-aware code hash for ``code-identical``, and the
structure (sections, symbols, identity string, dependencies) for ``nearest``. It is computed
from the bytes in one pass: the file is read once and every hash is taken from slices of that
buffer, so identifying thousands of files costs little more than hashing them.

Two ELF readers produce the same neutral view (header, section table, symbol table):

* ``lief`` (the default when importable): LIEF 1.0, imported lazily, logging disabled, with a
  minimal :class:`lief.ELF.ParserConfig` (no notes, no dynamic symbols, no relocations, no
  symbol versions, no overlay): it only needs the section table and ``.symtab``.
* ``builtin``: a bounds-checked ``struct`` reader. The project's pyproject does not install LIEF
  on Solaris (no wheel), yet the guest is exactly where an installed driver must be identified;
  this reader keeps fingerprinting available there. Tests assert both readers give identical
  fingerprints.

Everything LIEF does not decode for relocatable objects is decoded here from the bytes: the
``.dynamic`` *section* (LIEF builds ``dynamic_entries`` from PT_DYNAMIC, which ET_REL lacks),
relocation records, the ``_depends_on`` string, ``.comment``. LIEF happily returns a
``Binary`` for a 67-byte stub, so both readers' output is validated against the buffer size.

Bad input never raises: garbage, truncated or non-ELF bytes give a fingerprint with
``is_elf=False`` and an ``error`` line.
"""

from __future__ import annotations

import hashlib
import os
import re
import struct
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Optional

from toolsfix.elf import (
    DT_NEEDED,
    DT_NULL,
    SHF_ALLOC,
    SHF_EXECINSTR,
    SHN_UNDEF,
    SHT_DYNAMIC,
    SHT_NOBITS,
    SHT_PROGBITS,
    SHT_REL,
    SHT_RELA,
    SHT_STRTAB,
    SHT_SUNW_SIGNATURE,
    STT_FILE,
    STT_SECTION,
    BadElf,
    Image,
    Section,
    cstr,
)
from toolsfix.elf.builtin_reader import read_builtin
from toolsfix.elf.lief_reader import lief_available, lief_installed, read_lief
from toolsfix.knowledge import lso_era
from toolsfix.safeio import MAX_DRIVER_BYTES, open_regular, os_error_line, too_large

__all__ = [
    "ENGINES",
    "DriverFingerprint",
    "SectionInfo",
    "fingerprint_bytes",
    "fingerprint_file",
    "lief_available",
    "lief_installed",
    "parse_identity",
]

ENGINES = ("auto", "lief", "builtin")
CODE_HASH_SCHEME = "toolsfix-code/1"
MAX_FILE_SIZE = MAX_DRIVER_BYTES  # kernel modules are tens of KB; refuse to parse huge files

_SECTION_TYPES = {
    0: "NULL", 1: "PROGBITS", 2: "SYMTAB", 3: "STRTAB", 4: "RELA", 5: "HASH", 6: "DYNAMIC",
    7: "NOTE", 8: "NOBITS", 9: "REL", 10: "SHLIB", 11: "DYNSYM", 14: "INIT_ARRAY",
    15: "FINI_ARRAY", 16: "PREINIT_ARRAY", 17: "GROUP", 18: "SYMTAB_SHNDX",
    0x6FFFFFF5: "GNU_ATTRIBUTES", 0x6FFFFFFD: "VERDEF", 0x6FFFFFFE: "VERNEED",
    0x6FFFFFFF: "VERSYM",
}  # fmt: skip
_ELF_TYPES = {0: "NONE", 1: "REL", 2: "EXEC", 3: "DYN", 4: "CORE"}
_MACHINES = {
    2: "sparc", 3: "i386", 8: "mips", 18: "sparc32plus", 20: "ppc", 21: "ppc64", 40: "arm",
    43: "sparcv9", 62: "x86_64", 183: "aarch64", 243: "riscv",
}  # fmt: skip

_IDENTITY_RE = re.compile(rb"VMware (?:EtherAdapter|Ethernet) v3[\x20-\x7e]*")
_BUILD_RE = re.compile(r"\bb(\d+)\b")


# --------------------------------------------------------------------------------------------
# Result types


@dataclass(frozen=True)
class SectionInfo:
    """One section header as compared between builds (offsets deliberately left out)."""

    name: str
    type: int
    size: int
    flags: int

    @property
    def type_name(self) -> str:
        """Readable type; 0x6ffffff6 is named after the section (LIEF says GNU_HASH)."""
        if self.type == SHT_SUNW_SIGNATURE:
            return "SUNW_signature" if self.name == ".SUNW_signature" else "GNU_HASH"
        return _SECTION_TYPES.get(self.type, f"0x{self.type:x}")

    @property
    def allocated(self) -> bool:
        return bool(self.flags & SHF_ALLOC)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "type": self.type,
            "type_name": self.type_name,
            "size": self.size,
            "flags": self.flags,
        }


@dataclass(frozen=True)
class DriverFingerprint:
    """Features of one file. Fields are ``None``/empty when the file is not a parsable ELF.

    Hash definitions (stable: they are stored in fingerprint databases):

    * ``sha256``: the whole file.
    * ``text_sha256`` / ``rodata_sha256`` / ``data_sha256``: over the allocated ``.text*`` /
      ``.rodata*`` / ``.data*`` sections in name order, ``name NUL sha256(contents)`` each.
    * ``code_hash`` (scheme ``toolsfix-code/1``): ELF class and machine; for every allocated
      PROGBITS/NOBITS section in name order its name, type, size and (PROGBITS) the sha256 of
      its contents plus the raw relocation sections that apply to it; then the symbol table
      as relocations see it (names, defining sections' names, values, types). In an ET_REL
      two calls to different functions are byte-identical until relocated, so section bytes
      alone could call different code "identical"; metadata (``.comment``, signatures, CTF,
      OS/ABI) is deliberately left out.
    """

    name: str
    sha256: str
    size: int
    is_elf: bool
    error: Optional[str] = None
    engine: Optional[str] = None
    elf_class: Optional[int] = None  # 32 or 64
    machine: Optional[str] = None  # "i386", "x86_64", ... or "EM_<n>"
    elf_type: Optional[str] = None  # "REL", "EXEC", "DYN", ...
    osabi: Optional[int] = None  # EI_OSABI: 0 System V, 6 Solaris
    sections: tuple[SectionInfo, ...] = ()
    text_sha256: Optional[str] = None
    rodata_sha256: Optional[str] = None
    data_sha256: Optional[str] = None
    code_hash: Optional[str] = None
    symbols: tuple[str, ...] = ()  # defined, sorted, unique
    undefined_symbols: tuple[str, ...] = ()
    dependencies: tuple[str, ...] = ()
    dependency_source: Optional[str] = None  # "dynamic" or "_depends_on"
    identity: Optional[str] = None
    build_number: Optional[str] = None
    comments: tuple[str, ...] = ()
    arch: Optional[str] = None  # "i386" / "amd64" / None
    lso_era: str = "unknown"
    warnings: tuple[str, ...] = field(default=(), compare=False)

    @property
    def symbols_digest(self) -> str:
        """sha256 of the sorted defined-symbol names, one per line (a compact symbol-set id)."""
        return symbols_digest(self.symbols)

    @property
    def section_hashes(self) -> dict[str, Optional[str]]:
        return {"text": self.text_sha256, "rodata": self.rodata_sha256, "data": self.data_sha256}

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "sha256": self.sha256,
            "size": self.size,
            "is_elf": self.is_elf,
            "error": self.error,
            "engine": self.engine,
            "elf_class": self.elf_class,
            "machine": self.machine,
            "elf_type": self.elf_type,
            "osabi": self.osabi,
            "arch": self.arch,
            "sections": [s.to_dict() for s in self.sections],
            "section_hashes": self.section_hashes,
            "code_hash": self.code_hash,
            "symbols": list(self.symbols),
            "symbols_digest": self.symbols_digest,
            "undefined_symbols": list(self.undefined_symbols),
            "dependencies": list(self.dependencies),
            "dependency_source": self.dependency_source,
            "identity": self.identity,
            "build_number": self.build_number,
            "lso_era": self.lso_era,
            "comments": list(self.comments),
            "warnings": list(self.warnings),
        }


def symbols_digest(symbols: Sequence[str]) -> str:
    return hashlib.sha256("\n".join(symbols).encode("utf-8", "surrogateescape")).hexdigest()


# --------------------------------------------------------------------------------------------
# Identity string and LSO era


def parse_identity(identity: Optional[str]) -> Optional[str]:
    """The build number in an identity string (``...v3 b1234567`` -> ``"1234567"``)."""
    if not identity:
        return None
    match = _BUILD_RE.search(identity)
    return match.group(1) if match else None


# --------------------------------------------------------------------------------------------
# Feature extraction


def _machine_name(e_machine: int) -> str:
    return _MACHINES.get(e_machine, f"EM_{e_machine}")


def _arch(elf_class: int, e_machine: int) -> Optional[str]:
    if e_machine == 3 and elf_class == 32:
        return "i386"
    if e_machine == 62 and elf_class == 64:
        return "amd64"
    return None


def _section_key(name: str) -> Optional[str]:
    if name == ".text" or name.startswith(".text."):
        return "text"
    if name.startswith(".rodata"):
        return "rodata"
    if name == ".data" or name.startswith(".data.") or name == ".data1":
        return "data"
    return None


def _symbol_features(img: Image) -> tuple[bytes, list[str], list[str]]:
    """One pass over the symbol table: (digest material, defined names, undefined names).

    The digest material is the table as relocations see it, independent of section
    numbering and of the string table's layout: names, defining sections' *names*, values
    and types, in order. Column-wise joins are an order of magnitude cheaper than formatting
    each entry, which matters when thousands of files are fingerprinted.
    """
    names, values, types, shndxs = img.symbols
    if not names:
        return b"", [], []
    sec_names = [s.name for s in img.sections]
    count = len(sec_names)
    where = [sec_names[x] if x < count else f"#{x}" for x in shndxs]
    material = b"\1".join(
        (
            "\0".join(names).encode("latin-1"),
            "\0".join(where).encode("utf-8", "surrogatepass"),
            struct.pack(f"<{len(values)}Q", *values),
            types,
        )
    )
    defined = sorted(
        {n for n, t, x in zip(names, types, shndxs)
         if n and x != SHN_UNDEF and t != STT_SECTION and t != STT_FILE}
    )  # fmt: skip
    undefined = sorted({n for n, x in zip(names, shndxs) if n and x == SHN_UNDEF})
    # interned: the same few hundred names recur across every build, which halves the
    # memory of a large batch of fingerprints (measured ~9 KB -> ~4.5 KB each)
    return material, list(map(sys.intern, defined)), list(map(sys.intern, undefined))


def _dependencies(
    img: Image, data: bytes, warnings: list[str]
) -> tuple[tuple[str, ...], Optional[str]]:
    """DT_NEEDED names from the ``.dynamic`` section, else the ``_depends_on`` string."""
    for dyn in (s for s in img.sections if s.type == SHT_DYNAMIC):
        strtab_index = dyn.link
        if not (0 < strtab_index < len(img.sections)) or (
            img.sections[strtab_index].type != SHT_STRTAB
        ):
            strtab_index = next((i for i, s in enumerate(img.sections) if s.name == ".dynstr"), -1)
            if strtab_index < 0:
                warnings.append(".dynamic has no usable string table (sh_link)")
                continue
        st = img.sections[strtab_index]
        strtab = data[st.offset : st.offset + st.size]
        fmt = ("<" if img.little else ">") + ("qQ" if img.elf_class == 64 else "iI")
        ent = struct.calcsize(fmt)
        blob = data[dyn.offset : dyn.offset + dyn.size - dyn.size % ent]
        needed = []
        for tag, value in struct.iter_unpack(fmt, blob):
            if tag == DT_NULL:
                break
            if tag == DT_NEEDED:
                needed.append(cstr(strtab, value))
        return tuple(needed), "dynamic"
    syms = img.symbols
    for i, name in enumerate(syms.names):
        shndx, value = syms.shndx[i], syms.values[i]
        if name == "_depends_on" and 0 < shndx < len(img.sections):
            sec = img.sections[shndx]
            if sec.type == SHT_NOBITS or value >= sec.size:
                continue
            text = cstr(data[sec.offset + value : sec.offset + sec.size], 0)
            return tuple(text.split()), "_depends_on"
    return (), None


_SECTION_CACHE: dict[tuple[str, int, int, int], SectionInfo] = {}


def _section_info(s: Section) -> SectionInfo:
    """Shared immutable instances: the same sections recur in every build of a batch."""
    key = (s.name, s.type, s.size, s.flags)
    info = _SECTION_CACHE.get(key)
    if info is None:
        if len(_SECTION_CACHE) >= 4096:
            _SECTION_CACHE.clear()
        info = _SECTION_CACHE[key] = SectionInfo(*key)
    return info


def _features(img: Image, data: bytes, name: str, sha: str, engine: str) -> DriverFingerprint:
    warnings: list[str] = []
    view = memoryview(data)
    sections = tuple(_section_info(s) for s in img.sections[1:])

    parts: dict[str, Any] = {}
    code = hashlib.sha256(f"{CODE_HASH_SCHEME}\0{img.elf_class}\0{img.e_machine}\0".encode())
    relocs: dict[int, list[Section]] = {}
    for s in img.sections:
        if s.type in (SHT_REL, SHT_RELA):
            relocs.setdefault(s.info, []).append(s)
    code_sections = sorted(
        (i for i, s in enumerate(img.sections)
         if s.flags & SHF_ALLOC and s.type in (SHT_PROGBITS, SHT_NOBITS)),
        key=lambda i: (img.sections[i].name, i),
    )  # fmt: skip
    for i in code_sections:
        s = img.sections[i]
        code.update(f"{s.name}\0{s.type}\0{s.size}\0".encode())
        if s.type == SHT_NOBITS:
            continue
        # each byte is hashed once: the per-section digest feeds both the code hash and the
        # text/rodata/data hashes (hashing dominates the per-file cost after parsing)
        digest = hashlib.sha256(view[s.offset : s.offset + s.size]).digest()
        code.update(digest)
        for r in relocs.get(i, ()):
            code.update(f"R{r.type}\0{r.size}\0".encode())
            code.update(view[r.offset : r.offset + r.size])
        key = _section_key(s.name)
        if key is not None:
            h = parts.setdefault(key, hashlib.sha256())
            h.update(s.name.encode() + b"\0" + digest)
    material, defined, undefined = _symbol_features(img)
    code.update(material)
    deps, dep_source = _dependencies(img, data, warnings)

    identity: Optional[str] = None
    for s in img.sections:
        if s.type == SHT_PROGBITS and s.flags & SHF_ALLOC and not s.flags & SHF_EXECINSTR:
            match = _IDENTITY_RE.search(data, s.offset, s.offset + s.size)
            if match:
                found = match.group(0).decode("ascii").rstrip()
                if identity is None:
                    identity = found
                elif found != identity:
                    warnings.append(f"second identity string {found!r} ignored")
    comments: list[str] = []
    for s in img.sections:
        if s.name == ".comment" and s.type != SHT_NOBITS:
            for chunk in data[s.offset : s.offset + s.size].split(b"\0"):
                text = chunk.decode("utf-8", "replace").strip()
                if text:
                    comments.append(text)

    return DriverFingerprint(
        name=name,
        sha256=sha,
        size=len(data),
        is_elf=True,
        engine=engine,
        elf_class=img.elf_class,
        machine=_machine_name(img.e_machine),
        elf_type=_ELF_TYPES.get(img.e_type, f"0x{img.e_type:x}"),
        osabi=img.osabi,
        sections=sections,
        text_sha256=parts["text"].hexdigest() if "text" in parts else None,
        rodata_sha256=parts["rodata"].hexdigest() if "rodata" in parts else None,
        data_sha256=parts["data"].hexdigest() if "data" in parts else None,
        code_hash=code.hexdigest() if code_sections else None,
        symbols=tuple(defined),
        undefined_symbols=tuple(undefined),
        dependencies=deps,
        dependency_source=dep_source,
        identity=identity,
        build_number=parse_identity(identity),
        comments=tuple(comments),
        arch=_arch(img.elf_class, img.e_machine),
        lso_era=lso_era(identity),
        warnings=tuple(warnings),
    )


def _choose_engine(engine: str) -> str:
    if engine not in ENGINES:
        raise ValueError(f"engine must be one of {', '.join(ENGINES)}, got {engine!r}")
    if engine == "auto":
        return "lief" if lief_installed() else "builtin"
    return engine


def fingerprint_bytes(data: bytes, *, name: str = "", engine: str = "auto") -> DriverFingerprint:
    """Fingerprint a buffer. Never raises for bad content (only for a bad ``engine`` name).

    ``engine="auto"`` uses LIEF when it is installed and the builtin reader otherwise;
    ``"lief"`` falls back to the builtin reader (with a warning) when LIEF is missing.
    """
    chosen = _choose_engine(engine)
    data = bytes(data)
    sha = hashlib.sha256(data).hexdigest()
    note: tuple[str, ...] = ()
    if chosen == "lief" and not lief_installed():
        chosen, note = "builtin", ("LIEF is not installed: used the builtin ELF reader",)
    try:
        if chosen == "lief":
            try:
                img = read_lief(data)  # imports LIEF on the first file past the magic check
            except ImportError as exc:  # installed but broken (a missing shared library)
                chosen, note = "builtin", (f"LIEF cannot be imported ({exc}): used builtin",)
                img = read_builtin(data)
        else:
            img = read_builtin(data)
        fp = _features(img, data, name, sha, chosen)
    except BadElf as exc:
        return DriverFingerprint(
            name=name, sha256=sha, size=len(data), is_elf=False, error=str(exc), engine=chosen
        )
    except (struct.error, IndexError, ValueError, OverflowError, MemoryError) as exc:
        return DriverFingerprint(
            name=name,
            sha256=sha,
            size=len(data),
            is_elf=False,
            error=f"damaged ELF: {type(exc).__name__}: {exc}",
            engine=chosen,
        )
    if note:
        fp = _replace_warnings(fp, note + fp.warnings)
    return fp


def _replace_warnings(fp: DriverFingerprint, warnings: tuple[str, ...]) -> DriverFingerprint:
    return replace(fp, warnings=warnings)


def fingerprint_file(path: os.PathLike[str] | str, *, engine: str = "auto") -> DriverFingerprint:
    """Fingerprint a file, read once. Unreadable or unsuitable paths raise ``InputError``.

    One ``open`` + ``fstat`` + ``read`` per file (no separate ``stat`` calls): on thousands of
    small files the system calls are a visible share of the cost. The open never blocks (a
    FIFO is refused, not waited on) and only regular files are read. Files larger than
    :data:`MAX_FILE_SIZE` cannot be kernel modules (real ones are at most ~2 MB): they are
    refused unread, and the cap holds on the bytes read too (a file growing under us).
    """
    name = os.fspath(path)
    fd = open_regular(name)
    try:
        info = os.fstat(fd)
        if info.st_size > MAX_FILE_SIZE:
            raise too_large(name, "driver object", MAX_FILE_SIZE, info.st_size)
        with open(fd, "rb", buffering=0, closefd=False) as fh:
            data = fh.read(MAX_FILE_SIZE + 1)
        if len(data) > MAX_FILE_SIZE:
            raise too_large(name, "driver object", MAX_FILE_SIZE)
    except OSError as exc:
        raise os_error_line(name, exc) from None
    finally:
        os.close(fd)
    return fingerprint_bytes(data, name=name, engine=engine)
