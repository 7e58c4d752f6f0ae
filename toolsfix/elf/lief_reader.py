"""The LIEF reader: LIEF 1.0 with a minimal parser configuration, imported only when needed.

``import lief`` costs 0.3-0.8 s (a large native module), more than fingerprinting hundreds of
objects, so it is imported on the first file that passed the ELF magic check -- never for a
refused or non-ELF input, never on ``--help`` -- and :func:`lief_installed` answers "could it
be used?" without importing it.
"""

from __future__ import annotations

import importlib.util
import struct
import warnings
from typing import Any, Optional

from toolsfix.elf import BadElf, Image, Section, check_magic, decode_symbols, validate_sections

__all__ = ["lief_available", "lief_installed", "read_lief"]

_INSTALLED: Optional[bool] = None


def lief_installed() -> bool:
    """True when LIEF is installed (found on the path; not imported: that is the costly part)."""
    global _INSTALLED
    if _INSTALLED is None:
        try:
            _INSTALLED = importlib.util.find_spec("lief") is not None
        except (ImportError, ValueError):
            _INSTALLED = False
    return _INSTALLED


_LIEF_CONFIG: Any = None


def lief_available() -> bool:
    """True when LIEF can be imported, importing it (never on a stock Solaris guest).

    Callers that fork workers call it first so the workers inherit the import; to merely ask
    whether LIEF could be used, :func:`lief_installed` is free.
    """
    try:
        import lief  # noqa: F401
    except ImportError:
        return False
    return True


def _lief_config() -> Any:
    """A shared minimal ParserConfig: only the header and the section table are parsed."""
    global _LIEF_CONFIG
    if _LIEF_CONFIG is None:
        import lief  # lazy: 0.3-0.8 s, paid only for an ELF to parse

        lief.logging.disable()  # real VMware objects make LIEF print hundreds of note errors
        config = lief.ELF.ParserConfig()
        config.parse_notes = False
        config.parse_dyn_symbols = False
        config.parse_relocations = False
        config.parse_symbol_versions = False
        config.parse_overlay = False
        config.parse_symtab_symbols = False  # rows are decoded from the buffer: see below
        _LIEF_CONFIG = config
    return _LIEF_CONFIG


def _lief_text(name: str | bytes) -> str:
    """LIEF hands back undecodable names as bytes; decode them like the builtin reader."""
    return name.decode("utf-8", "replace") if isinstance(name, bytes) else name


def read_lief(data: bytes) -> Image:
    """LIEF's view, reduced to the neutral image; validated by the caller like any other."""
    check_magic(data)
    import lief  # lazy: 0.3-0.8 s, paid only for an ELF to parse

    binary = lief.ELF.parse(data, _lief_config())
    if binary is None:
        raise BadElf("not a parsable ELF file (LIEF rejected it)")
    # LIEF maps numeric fields onto Python enums and warns for values outside them (damaged
    # or exotic files); the numbers are all we use, so those warnings are noise here.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        sections = tuple(
            Section(
                _lief_text(s.name),
                int(s.type),
                int(s.flags),
                s.offset,
                s.size,
                s.link,
                s.information,
            )
            for s in binary.sections
        )
    header = binary.header
    shoff = header.section_header_offset
    endian = "<" if data[5] == 1 else ">"
    e_type, e_machine = struct.unpack_from(endian + "HH", data, 16)
    validate_sections(sections, len(data), header.numberof_sections if shoff else 0)
    symbols = decode_symbols(data, sections, data[4] == 2, endian)
    return Image(
        elf_class=64 if data[4] == 2 else 32,
        little=data[5] == 1,
        osabi=data[7],
        e_type=e_type,
        e_machine=e_machine,
        shnum=header.numberof_sections if shoff else 0,
        sections=sections,
        symbols=symbols,
    )
