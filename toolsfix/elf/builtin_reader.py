"""The built-in ELF reader: ``struct`` over the buffer, no dependency.

The project does not install LIEF on Solaris (no wheel), yet the guest is exactly where an
installed driver must be identified; this reader keeps fingerprinting available there (and in
the zipapp, which ships no native code). Header, section table and ``.symtab`` only.
"""

from __future__ import annotations

import struct

from toolsfix.elf import (
    SHN_XINDEX,
    BadElf,
    Image,
    Section,
    check_magic,
    cstr,
    decode_symbols,
    validate_sections,
)

__all__ = ["read_builtin"]


def read_builtin(data: bytes) -> Image:
    """Bounds-checked struct reader: header, section table, ``.symtab``."""
    check_magic(data)
    is64 = data[4] == 2
    e = "<" if data[5] == 1 else ">"
    if is64:
        hdr = struct.unpack_from(e + "HHIQQQIHHHHHH", data, 16)
        sh_fmt = e + "IIQQQQIIQQ"
    else:
        hdr = struct.unpack_from(e + "HHIIIIIHHHHHH", data, 16)
        sh_fmt = e + "IIIIIIIIII"
    e_type, e_machine, shoff, shentsize, shnum, shstrndx = (
        hdr[0], hdr[1], hdr[5], hdr[10], hdr[11], hdr[12]
    )  # fmt: skip
    sections: list[Section] = []
    if shoff:
        want = struct.calcsize(sh_fmt)
        if shentsize != want:
            raise BadElf(f"damaged ELF: section header size {shentsize}, expected {want}")
        if shoff + want > len(data):
            raise BadElf(
                f"truncated ELF: section header table at {shoff} is beyond the end "
                f"of the file ({len(data)} bytes)"
            )
        first = struct.unpack_from(sh_fmt, data, shoff)
        if shnum == 0:
            shnum = first[5]  # extended numbering: real count in section 0's sh_size
        if shstrndx == SHN_XINDEX:
            shstrndx = first[6]
        end = shoff + shnum * want
        if end > len(data):
            raise BadElf(
                f"truncated ELF: {shnum} section headers end at {end}, "
                f"the file has {len(data)} bytes"
            )
        raw = list(struct.iter_unpack(sh_fmt, data[shoff:end]))
        names = b""
        if 0 < shstrndx < shnum:
            s = raw[shstrndx]
            names = data[s[4] : s[4] + s[5]]
        for h in raw:
            sections.append(Section(cstr(names, h[0]), h[1], h[2], h[4], h[5], h[6], h[7]))
    validate_sections(sections, len(data), shnum if shoff else 0)
    symbols = decode_symbols(data, sections, is64, e)
    return Image(
        elf_class=64 if is64 else 32,
        little=e == "<",
        osabi=data[7],
        e_type=e_type,
        e_machine=e_machine,
        shnum=shnum if shoff else 0,
        sections=tuple(sections),
        symbols=symbols,
    )
