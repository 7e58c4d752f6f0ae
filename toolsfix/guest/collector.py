"""The guest collector: a POSIX-shell script generated from the command table.

Old Solaris guests have no usable Python (Solaris 10 ships 2.6 or none), so fleets collect
with a tiny shell script and analyse the bundle elsewhere. Generating the script from
:data:`~toolsfix.guest.capture_api.COMMANDS` and the capture lists means a command or file
added there is collected by the script, run by :class:`~toolsfix.guest.live.LiveCapture` and
read by :class:`~toolsfix.guest.bundle.BundleCapture` without three edits that could drift.
"""

from __future__ import annotations

import posixpath
import re
import shlex
from collections.abc import Iterable, Mapping, Sequence
from importlib import resources

from toolsfix import __version__
from toolsfix.guest.bundle import BUNDLE_FORMAT
from toolsfix.guest.capture_api import CAPTURE_BINARIES, CAPTURE_FILES, COMMANDS

TEMPLATE_NAME = "collector.sh.in"
OS_NAMES = frozenset({"any", "solaris", "linux", "esxi"})
IF_PLACEHOLDER = "{if}"

# Keys become file names and shell words; paths are pasted unquoted after "$P" so their globs
# expand. Both are restricted so that no table entry can inject shell syntax.
_KEY_RE = re.compile(r"^[A-Za-z0-9_]+$")
_PATH_RE = re.compile(r"^(/[A-Za-z0-9_.+@*?-]+)+$")
_GLOB_CHARS = frozenset("*?")


def _quote(word: str) -> str:
    """Single-quote ``word`` for POSIX sh (the only quoting every shell agrees on)."""
    return "'" + word.replace("'", "'\\''") + "'"


def _quote_with_if(word: str) -> str:
    """Quote ``word``, turning each ``{if}`` into the loop variable ``"$_if"``."""
    quoted = '"$_if"'.join(_quote(part) if part else "" for part in word.split(IF_PLACEHOLDER))
    return quoted or "''"


def _has_glob(path: str) -> bool:
    return any(ch in _GLOB_CHARS for ch in path)


def _check_path(path: str) -> str:
    if not _PATH_RE.match(path) or "/../" in path + "/" or "/./" in path + "/":
        raise ValueError(f"capture path {path!r} is not a plain absolute path")
    return path


def _command_lines(commands: Mapping[str, tuple[str, str]]) -> tuple[list[str], list[str]]:
    """Shell lines for plain commands and for per-interface commands (inside the if-loop)."""
    plain: list[str] = []
    per_if: list[str] = []
    for key, (line, os_name) in commands.items():
        if not _KEY_RE.match(key):
            raise ValueError(f"command key {key!r} must be letters, digits and underscores")
        if os_name not in OS_NAMES:
            raise ValueError(f"command {key!r}: unknown os {os_name!r}")
        argv = shlex.split(line)
        if not argv or IF_PLACEHOLDER in argv[0]:
            raise ValueError(f"command {key!r}: bad command line {line!r}")
        if IF_PLACEHOLDER in line:
            words = [_quote(os_name), f'"{key}:$_if"', _quote_with_if(line)]
            words += [_quote_with_if(arg) for arg in argv]
            per_if.append("    run_cmd " + " ".join(words))
        else:
            words = [_quote(os_name), _quote(key), _quote(line)]
            words += [_quote(arg) for arg in argv]
            plain.append("run_cmd " + " ".join(words))
    return plain, per_if


def _file_lines(files: Iterable[str], binaries: Iterable[str]) -> list[str]:
    """Copy lines; binaries also bring their installer leftovers (``<file>.old.N``)."""
    patterns = [_check_path(p) for p in files]
    for binary in binaries:
        patterns.append(_check_path(binary))
        if not _has_glob(binary):
            patterns.append(binary + ".old.*")
    out: list[str] = []
    for pattern in patterns:
        if _has_glob(pattern):
            out.append(f'copy_glob "$P"{pattern}')
        else:
            out.append(f"copy_file {_quote(pattern)}")
    return out


def listing_dirs(files: Iterable[str], binaries: Iterable[str]) -> list[str]:
    """Directories the collector lists in full.

    The directories of the driver binaries (to see ``.old.N`` leftovers and dates) and every
    directory whose entries a glob collects, so a reader can tell "absent" from "not captured".
    """
    dirs: set[str] = set()
    for path in binaries:
        parent = posixpath.dirname(path)
        if not _has_glob(parent):
            dirs.add(parent)
    for path in files:
        parent, base = posixpath.split(path)
        if _has_glob(base) and not _has_glob(parent):
            dirs.add(parent)
    return sorted(dirs)


def _template() -> str:
    return resources.files("toolsfix.guest").joinpath(TEMPLATE_NAME).read_text(encoding="utf-8")


def render_collector(
    commands: Mapping[str, tuple[str, str]] = COMMANDS,
    files: Sequence[str] = CAPTURE_FILES,
    binaries: Sequence[str] = CAPTURE_BINARIES,
) -> str:
    """The collector script for ``commands`` and the capture lists (the real table by default).

    Raises ``ValueError`` when a table entry could not be pasted into shell safely; that is a
    programming error in the table, caught by the tests, never a user input.
    """
    plain, per_if = _command_lines(commands)
    listings = [f"list_dir {_quote(d)}" for d in listing_dirs(files, binaries)]
    replacements = {
        "@COLLECTOR_VERSION@": __version__,
        "@BUNDLE_FORMAT@": BUNDLE_FORMAT,
        "@COMMANDS@": "\n".join(plain) or ":",
        "@IFCOMMANDS@": "\n".join(per_if) or "    :",
        "@FILES@": "\n".join(_file_lines(files, binaries)) or ":",
        "@LISTINGS@": "\n".join(listings) or ":",
    }
    script = _template()
    for marker, text in replacements.items():
        if marker not in script:
            raise ValueError(f"collector template lacks {marker}")
        script = script.replace(marker, text)
    return script
