"""What ``toolsfix audit`` was given, as targets: inputs -> targets.

Inputs are what the user typed (paths, quoted globs expanded here, lines of ``--from`` files);
each target has a kind detected from the file system or forced with ``--kind``. Kept apart
from :mod:`toolsfix.audit` because looking at paths is a concern of its own, independent of
the workers that evaluate the targets; :mod:`toolsfix.audit` re-exports every public name.
"""

from __future__ import annotations

import glob
import os
import sys
import tarfile
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from toolsfix.errors import ExitCode, ToolsfixError

__all__ = [
    "BUNDLE_MANIFEST",
    "CONFIGURATOR",
    "DISTRIB_DIR",
    "GLOB_CHARS",
    "KINDS",
    "MAX_DEPTH",
    "PEEK_MEMBERS",
    "TAR_SUFFIXES",
    "DetectError",
    "Inputs",
    "Target",
    "detect_kind",
    "expand_inputs",
    "guess_kind",
    "read_input_list",
]

KINDS = ("bundle", "root", "distrib")
MAX_DEPTH = 4  # directories of directories of ... items
GLOB_CHARS = "*?["
DISTRIB_DIR = "vmware-tools-distrib"
CONFIGURATOR = "bin/vmware-config-tools.pl"
BUNDLE_MANIFEST = "manifest.txt"
TAR_SUFFIXES = (".tar.gz", ".tgz", ".tar", ".tar.bz2", ".tbz2", ".tar.xz", ".txz")
PEEK_MEMBERS = 64
_COMPRESSED = (b"\x1f\x8b", b"BZh", b"\xfd7zXZ\x00")


class DetectError(Exception):
    """The path cannot be looked at (missing, unreadable): the item is an error."""


def detect_kind(path: Path) -> Optional[str]:
    """``bundle``, ``root`` or ``distrib``; None for anything else (e.g. a directory of them).

    Roots are recognised before distribs: a Solaris 11 root has a top-level ``bin`` link to
    ``usr/bin``, which can hold the installed configurator, yet it is a guest, not a distrib.
    """
    try:
        if path.is_dir():
            if (path / BUNDLE_MANIFEST).is_file():
                return "bundle"
            if (path / "etc").is_dir() and ((path / "kernel").is_dir() or (path / "usr").is_dir()):
                return "root"
            if (
                path.name == DISTRIB_DIR
                or (path / DISTRIB_DIR).is_dir()
                or (path / CONFIGURATOR).is_file()
                or (path / "vmware-install.pl").is_file()
            ):
                return "distrib"
            return None
        if not path.exists():
            raise DetectError(f"{path}: no such file or directory")
        if not path.is_file():
            return None
        with path.open("rb") as fh:
            head = fh.read(32 * 1024 + 8)
    except OSError as exc:
        raise DetectError(f"{path}: cannot read: {exc.strerror or exc}") from None
    name = path.name.lower()
    if name.endswith(".iso") or head[32 * 1024 + 1 : 32 * 1024 + 6] == b"CD001":
        return "distrib"
    first_line = head.split(b"\n", 1)[0]
    if name.endswith(".pl") or (head.startswith(b"#!") and b"perl" in first_line):
        return "distrib"
    if head.startswith(_COMPRESSED) or head[257:262] == b"ustar" or name.endswith(TAR_SUFFIXES):
        return _peek_archive(path)
    return None


def _peek_archive(path: Path) -> Optional[str]:
    """Tell a bundle archive from a distrib tarball by its first member names.

    A damaged archive often still shows its first members, so the item gets the kind and the
    single command's own, precise error ("damaged: ...") instead of a vague one from here.
    """
    try:
        with tarfile.open(path, "r|*") as tar:
            for n, info in enumerate(tar):
                if n >= PEEK_MEMBERS:
                    break
                parts = [p for p in info.name.split("/") if p not in ("", ".")]
                if not parts:
                    continue
                if DISTRIB_DIR in parts or parts[-1] in ("vmware-config-tools.pl",):
                    return "distrib"
                if len(parts) <= 2 and parts[-1] in (BUNDLE_MANIFEST, "files.list"):
                    return "bundle"
                if parts[0] in ("commands", "listings") or parts[1:2] in (
                    ["commands"],
                    ["listings"],
                ):
                    return "bundle"
    except (tarfile.TarError, OSError, EOFError, zlib.error, ValueError):
        pass
    return None


def guess_kind(text: str) -> str:
    """The kind an unrecognised input's name suggests: ``distrib`` for ISO, Perl and
    VMware-Tools-named files, else ``bundle`` (what fleets mostly hold). The JSON contract
    gives every item a kind; such an item's status (error) says it was not evaluated."""
    name = text.rstrip("/").rsplit("/", 1)[-1].lower()
    hints = (".iso", ".pl", "vmware-tools", "vmwaretools", "vmware-solaris-tools", "distrib")
    return "distrib" if any(h in name for h in hints) else "bundle"


@dataclass(frozen=True)
class Target:
    """One thing to evaluate: the input as given, its kind, or why it cannot be evaluated."""

    input: str
    kind: Optional[str]
    error: Optional[str] = None

    @property
    def path(self) -> Path:
        return Path(self.input)


@dataclass(frozen=True)
class Inputs:
    targets: tuple[Target, ...]
    ignored: tuple[str, ...] = ()  # entries of expanded directories that are none of the kinds


def expand_inputs(inputs: Sequence[str], kind: Optional[str] = None) -> Inputs:
    """Targets for the inputs, in order, each path once.

    A quoted glob is expanded here (when no file has that literal name), so ``'fleet/*.tgz'``
    works from pipelines that do not run a shell. An input that matches nothing, does not
    exist or is none of the kinds becomes an error target: it is reported, not dropped. Inside
    an expanded directory, entries that are none of the kinds (a README, a notes file) are
    only listed as ignored. With ``kind`` forced, inputs are taken as that kind as they are.
    """
    targets: list[Target] = []
    ignored: list[str] = []
    seen: set[str] = set()

    def add(t: Target) -> None:
        key = os.path.normpath(t.input)
        if key not in seen:
            seen.add(key)
            targets.append(t)

    def visit(text: str, depth: int, explicit: bool) -> None:
        if kind is not None:
            add(Target(text, kind))
            return
        path = Path(text)
        try:
            found = detect_kind(path)
        except DetectError as exc:
            add(Target(text, guess_kind(text), str(exc)))
            return
        if found is not None:
            add(Target(text, found))
            return
        if path.is_dir() and depth < MAX_DEPTH:
            try:
                children = sorted(c for c in os.listdir(path) if not c.startswith("."))
            except OSError as exc:
                why = f"{text}: cannot list: {exc.strerror or exc}"
                add(Target(text, guess_kind(text), why))
                return
            before = len(targets)
            for child in children:
                visit(os.path.join(text, child), depth + 1, False)
            if len(targets) == before:
                if explicit:
                    why = f"{text}: no bundle, image root or distrib in it"
                    add(Target(text, guess_kind(text), why))
                else:
                    ignored.append(text)
            return
        if explicit:
            why = f"{text}: not a bundle, image root or distrib (--kind forces one)"
            add(Target(text, guess_kind(text), why))
        else:
            ignored.append(text)

    for raw in inputs:
        if any(c in raw for c in GLOB_CHARS) and not os.path.lexists(raw):
            matches = sorted(glob.glob(raw, recursive=True))
            if not matches:
                add(Target(raw, guess_kind(raw), f"{raw}: no path matches this pattern"))
            for m in matches:
                visit(m, 0, True)
        else:
            visit(raw, 0, True)
    return Inputs(tuple(targets), tuple(ignored))


def read_input_list(source: str) -> list[str]:
    """Paths from a ``--from`` file (``-`` = standard input): one per line, blank lines and
    lines starting with ``#`` skipped. Relative paths are relative to the current directory,
    as on the command line."""
    try:
        if source == "-":
            text = sys.stdin.read()
        else:
            text = Path(source).read_text(encoding="utf-8", errors="surrogateescape")
    except OSError as exc:
        raise ToolsfixError(
            f"{source}: cannot read the input list: {exc.strerror or exc}", ExitCode.INPUT
        ) from None
    out: list[str] = []
    for line in text.splitlines():
        entry = line.strip()
        if entry and not entry.startswith("#"):
            out.append(entry)
    return out
