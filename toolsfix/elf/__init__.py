"""A neutral view of an ELF relocatable object, shared by the two readers.

Both readers (:mod:`toolsfix.elf.builtin_reader`, :mod:`toolsfix.elf.lief_reader`) reduce a
file to the same :class:`Image` -- header fields, the section table, the symbol table by
column -- so :mod:`toolsfix.fingerprint` computes its features once, whatever parsed the file,
and tests can assert both readers give identical fingerprints. Everything here is
bounds-checked: a damaged file raises :class:`BadElf`, never reads past the buffer.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from typing import NamedTuple

__all__ = [
    "NO_SYMBOLS",
    "BadElf",
    "Image",
    "Section",
    "Symbols",
    "check_magic",
    "cstr",
    "decode_symbols",
    "validate_sections",
]

# ELF constants (generic ABI plus the Solaris/GNU values that matter here)
SHT_PROGBITS, SHT_SYMTAB, SHT_STRTAB, SHT_RELA = 1, 2, 3, 4
SHT_DYNAMIC, SHT_NOBITS, SHT_REL = 6, 8, 9
SHT_SUNW_SIGNATURE = 0x6FFFFFF6  # same number as SHT_GNU_HASH
SHF_ALLOC, SHF_EXECINSTR = 0x2, 0x4
STT_SECTION, STT_FILE = 3, 4
SHN_UNDEF, SHN_LORESERVE, SHN_XINDEX = 0, 0xFF00, 0xFFFF
DT_NULL, DT_NEEDED = 0, 1


class BadElf(Exception):
    """Raised inside the readers; :func:`toolsfix.fingerprint.fingerprint_bytes` turns it into
    ``is_elf=False`` + ``error`` at the boundary."""


class Section(NamedTuple):
    # NamedTuple, not a dataclass: hundreds are built per file and construction cost counts
    name: str
    type: int
    flags: int
    offset: int
    size: int
    link: int
    info: int


class Symbols(NamedTuple):
    """The symbol table by column (decoded in bulk; one object per column, not per symbol)."""

    names: tuple[str, ...]
    values: tuple[int, ...]
    types: bytes  # STT_* per symbol
    shndx: tuple[int, ...]


NO_SYMBOLS = Symbols((), (), b"", ())
_LOW_NIBBLE = bytes(i & 0xF for i in range(256))


class Image(NamedTuple):
    elf_class: int
    little: bool
    osabi: int
    e_type: int
    e_machine: int
    shnum: int  # declared in the header
    sections: tuple[Section, ...]
    symbols: Symbols


def cstr(blob: bytes, offset: int) -> str:
    if offset >= len(blob):
        return ""
    end = blob.find(b"\0", offset)
    raw = blob[offset:] if end < 0 else blob[offset:end]
    return raw.decode("utf-8", "replace")


def check_magic(data: bytes) -> None:
    if len(data) < 16 or data[:4] != b"\x7fELF":
        raise BadElf("not an ELF file (no \\x7fELF magic)")
    if data[4] not in (1, 2):
        raise BadElf(f"not a valid ELF file (EI_CLASS {data[4]})")
    if data[5] not in (1, 2):
        raise BadElf(f"not a valid ELF file (EI_DATA {data[5]})")
    if len(data) < (52 if data[4] == 1 else 64):
        raise BadElf(f"truncated ELF: {len(data)} bytes, shorter than the ELF header")


def decode_symbols(data: bytes, sections: Sequence[Section], is64: bool,
                    endian: str) -> Symbols:  # fmt: skip
    """The first SHT_SYMTAB, decoded from the buffer by column (both readers use this).

    Reading rows here instead of through LIEF's ``symtab_symbols`` is measured: LIEF's
    per-attribute binding calls cost ~1 us per symbol, this bulk decode a tenth of that.
    Names are decoded as Latin-1: lossless (one character per byte) and a single decode per
    string table instead of one per symbol.
    """
    symtab = next((s for s in sections if s.type == SHT_SYMTAB), None)
    if symtab is None:
        return NO_SYMBOLS
    sym_fmt = endian + ("IBBHQQ" if is64 else "IIIBBH")
    ent = struct.calcsize(sym_fmt)
    count = symtab.size // ent
    if count == 0:
        return NO_SYMBOLS
    if symtab.offset + count * ent > len(data):
        raise BadElf("truncated ELF: symbol table runs past the end of the file")
    text = "\0"
    if 0 < symtab.link < len(sections):
        st = sections[symtab.link]
        text = data[st.offset : st.offset + st.size].decode("latin-1") + "\0"  # terminated
    blob = data[symtab.offset : symtab.offset + count * ent]
    columns = list(zip(*struct.iter_unpack(sym_fmt, blob)))
    if is64:
        offsets, info, shndx, values = columns[0], columns[1], columns[3], columns[4]
    else:
        offsets, values, info, shndx = columns[0], columns[1], columns[3], columns[5]
    find = text.find
    # an offset past the table finds -1: text[n:-1] is then "" (n >= len(text) - 1)
    names = tuple([text[n : find("\0", n)] for n in offsets])
    return Symbols(names, values, bytes(info).translate(_LOW_NIBBLE), shndx)


def validate_sections(sections: Sequence[Section], size: int, declared: int) -> None:
    """Reject what neither reader may silently accept: truncation and out-of-file sections.

    Runs before any content is read, so later slicing never silently yields short data.
    """
    if declared and len(sections) != declared:
        raise BadElf(
            f"truncated or damaged ELF: header declares {declared} sections, "
            f"{len(sections)} could be read"
        )
    for s in sections:
        if s.type not in (SHT_NOBITS, 0) and s.offset + s.size > size:
            raise BadElf(
                f"truncated ELF: section {s.name or '#?'} ends at {s.offset + s.size}, "
                f"the file has {size} bytes"
            )
