"""Build ``toolsfix.pyz``: one file holding the pure-Python core, its data and dependencies.

Usage::

    python integrations/zipapp/build.py -o toolsfix.pyz
    python3 toolsfix.pyz scan vmware-solaris-tools.tar.gz

Why a zipapp: a Solaris 11.4 guest or a Packer build VM has a ``python3`` but often no pip,
no compiler and no network. One file copied there runs with the system interpreter.

What goes in, all taken from the current environment (no network, no pip):

- ``toolsfix`` from wherever it is imported (checkout or installed), with its package data
  (``sandbox.pl``, schemas, the check catalog, the collector template), and the shipped
  ``patches/`` and ``fingerprints/`` found the way the core finds them
  (``toolsfix.datadirs.shipped_dir``); all under ``_core/``, which the bootstrap materialises
  at run time (see ``pyz_main.py`` for why).
- The dependencies a Solaris install would get: toolsfix's requirements evaluated with
  ``platform_system == "SunOS"`` markers, so LIEF and isal (native wheels, optional
  accelerators) are left out and the core uses its built-in ELF reader and zlib. Each
  dependency is copied from its installed distribution, with its ``METADATA`` and licence
  files; a dependency with compiled extensions is refused, because it could not run on
  another platform.

The archive is reproducible: entries are sorted and stamped with ``SOURCE_DATE_EPOCH`` (or
1980-01-01), so the same inputs give the same bytes.

Exit codes: 0 built; 2 usage error; 3 a dependency is missing, has the wrong version or is not
pure Python (one line on stderr).
"""

from __future__ import annotations

import argparse
import importlib.metadata as metadata
import importlib.util
import json
import os
import sys
import tempfile
import time
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name

HERE = Path(__file__).resolve().parent
BOOTSTRAP = HERE / "pyz_main.py"
CORE = "_core"
MANIFEST = "toolsfix-pyz.json"
DEFAULT_SHEBANG = "/usr/bin/env python3"
# Native accelerators: never vendored even if a marker environment would select them.
NATIVE_ONLY = frozenset({"lief", "isal"})
NATIVE_SUFFIXES = (".so", ".pyd", ".dylib", ".dll")
# The interpreters a pyz could be asked to run on; the floor is the oldest of these that every
# vendored distribution's Requires-Python accepts.
CANDIDATE_PYTHONS = tuple((3, minor) for minor in range(6, 20))
EXIT_INPUT = 3


class BuildError(Exception):
    """A reason the archive cannot be built; printed as one line, exit 3."""


@dataclass(frozen=True)
class Member:
    """One file of the archive: its name inside the zip and where its bytes come from."""

    arcname: str
    source: Path


def solaris_environment() -> dict[str, str]:
    """Marker values of a Solaris x86 guest, so requirements resolve as they would there."""
    env = {key: str(value) for key, value in default_environment().items()}
    env.update(
        {
            "platform_system": "SunOS",
            "sys_platform": "sunos5",
            "os_name": "posix",
            "platform_machine": "i86pc",
            "extra": "",
        }
    )
    return env


def _skip(parts: Iterable[str]) -> bool:
    """Caches, hidden files and editor backups: nothing a wheel of the package would hold."""
    return any(
        p == "__pycache__"
        or p.startswith(".")
        or p.endswith((".pyc", ".pyo", "~", ".swp", ".index.sqlite"))  # .index.sqlite: a cache
        for p in parts
    )


def core_members() -> list[Member]:
    """The toolsfix package and its shipped data directories, under ``_core/``."""
    spec = importlib.util.find_spec("toolsfix")
    if spec is None or not spec.submodule_search_locations:
        raise BuildError("toolsfix is not importable here; install it first (pip install -e .)")
    package = Path(next(iter(spec.submodule_search_locations)))
    from toolsfix.datadirs import shipped_dir

    roots = [(package, "toolsfix")]
    for name in ("patches", "fingerprints"):
        directory = shipped_dir(name)
        if not directory.is_dir():
            raise BuildError(f"the shipped {name}/ directory is missing ({directory})")
        roots.append((directory, name))
    members = []
    for root, top in roots:
        for path in sorted(root.rglob("*")):
            rel = path.relative_to(root)
            if not path.is_file() or _skip(rel.parts):
                continue
            if path.name.endswith(NATIVE_SUFFIXES):
                raise BuildError(f"{path}: a compiled extension cannot go into a portable pyz")
            members.append(Member(f"{CORE}/{top}/{rel.as_posix()}", path))
    return members


def _wanted(req: Requirement, env: dict[str, str]) -> bool:
    if canonicalize_name(req.name) in NATIVE_ONLY:
        return False
    return req.marker is None or req.marker.evaluate(env)


def resolve(requirements: Iterable[str], env: dict[str, str]) -> list[metadata.Distribution]:
    """Installed distributions that ``requirements`` need under ``env``, transitively."""
    seen: dict[str, metadata.Distribution] = {}
    todo = [Requirement(r) for r in requirements]
    while todo:
        req = todo.pop(0)
        key = canonicalize_name(req.name)
        if key in seen or not _wanted(req, env):
            continue
        try:
            dist = metadata.distribution(req.name)
        except metadata.PackageNotFoundError:
            raise BuildError(f"dependency {req} is not installed; pip install it first") from None
        if not req.specifier.contains(dist.version, prereleases=True):
            raise BuildError(f"dependency {req} is required but {dist.version} is installed")
        seen[key] = dist
        todo.extend(Requirement(r) for r in dist.requires or [])
    return [seen[k] for k in sorted(seen)]


def dist_members(dist: metadata.Distribution) -> list[Member]:
    """A distribution's importable files plus its METADATA and licence files."""
    files = dist.files
    if files is None:
        raise BuildError(f"{dist.metadata['Name']}: no RECORD, cannot tell which files it owns")
    members = []
    for file in files:
        parts = PurePosixPath(str(file)).parts
        if not parts or parts[0] == ".." or _skip(parts):
            continue  # scripts installed outside site-packages, caches
        if parts[0].endswith(".dist-info"):
            keep = parts[-1] == "METADATA" or "licenses" in parts or "LICENSE" in parts[-1]
            if not keep:
                continue
        source = Path(str(dist.locate_file(file)))
        if str(file).endswith(NATIVE_SUFFIXES):
            raise BuildError(
                f"{dist.metadata['Name']} {dist.version} has compiled extensions ({file}); "
                "only pure-Python dependencies can go into the pyz"
            )
        if source.is_file():
            members.append(Member(str(PurePosixPath(*parts)), source))
    if not any(not m.arcname.split("/")[0].endswith(".dist-info") for m in members):
        raise BuildError(f"{dist.metadata['Name']}: no importable files found")
    return members


def min_python(dists: Iterable[metadata.Distribution]) -> tuple[int, int]:
    """The oldest candidate interpreter every distribution's Requires-Python accepts."""
    specs = [SpecifierSet(",".join(d.metadata.get_all("Requires-Python") or [])) for d in dists]
    for major, minor in CANDIDATE_PYTHONS:
        version = f"{major}.{minor}.0"
        if all(s.contains(version, prereleases=True) for s in specs):
            return major, minor
    raise BuildError("no Python version satisfies every Requires-Python of the dependencies")


def _timestamp() -> tuple[int, int, int, int, int, int]:
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if epoch is None:
        return (1980, 1, 1, 0, 0, 0)
    try:
        stamp = time.gmtime(max(int(epoch), 315532800))  # zip cannot go before 1980
    except ValueError:
        raise BuildError(f"SOURCE_DATE_EPOCH={epoch!r} is not an integer") from None
    return stamp[:6]


def _entries(members: list[Member], manifest: dict[str, Any]) -> Iterator[tuple[str, bytes]]:
    yield "__main__.py", BOOTSTRAP.read_bytes()
    yield MANIFEST, (json.dumps(manifest, indent=2, sort_keys=True) + "\n").encode()
    for member in sorted(members, key=lambda m: m.arcname):
        yield member.arcname, member.source.read_bytes()


def build(output: Path, shebang: str = DEFAULT_SHEBANG) -> dict[str, Any]:
    """Write the archive to ``output`` atomically; return its manifest."""
    import toolsfix

    env = solaris_environment()
    dists = resolve(metadata.requires("toolsfix") or [], env)
    members = core_members()
    for dist in dists:
        members.extend(dist_members(dist))
    names = [m.arcname for m in members]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise BuildError(f"two sources for the same archive member: {duplicates[0]}")
    floor = min_python([metadata.distribution("toolsfix"), *dists])
    manifest: dict[str, Any] = {
        "toolsfix_version": toolsfix.__version__,
        "min_python": list(floor),
        "vendored": {str(d.metadata["Name"]): d.version for d in dists},
        "excluded_native": sorted(NATIVE_ONLY),
    }
    stamp = _timestamp()
    output.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=".toolsfix-pyz-", dir=output.parent)
    try:
        with os.fdopen(fd, "wb") as raw:
            raw.write(b"#!" + shebang.encode() + b"\n")
            with zipfile.ZipFile(raw, "w", compression=zipfile.ZIP_DEFLATED) as archive:
                for arcname, data in _entries(members, manifest):
                    info = zipfile.ZipInfo(arcname, date_time=stamp)
                    info.compress_type = zipfile.ZIP_DEFLATED
                    info.external_attr = 0o644 << 16
                    archive.writestr(info, data)
        os.chmod(tmp_name, 0o755)
        os.replace(tmp_name, output)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
    manifest["files"] = len(members)
    return manifest


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Build a single-file toolsfix.pyz (pure-Python core, no LIEF/isal).",
        epilog="example: python integrations/zipapp/build.py -o dist/toolsfix.pyz",
    )
    parser.add_argument("-o", "--output", type=Path, default=Path("toolsfix.pyz"))
    parser.add_argument(
        "--python",
        default=DEFAULT_SHEBANG,
        help=f"interpreter for the #! line (default: {DEFAULT_SHEBANG})",
    )
    args = parser.parse_args(argv)
    if not args.python.strip() or "\n" in args.python:
        parser.error("--python must be one non-empty line")
    try:
        manifest = build(args.output, args.python.strip())
    except BuildError as exc:
        print(f"build.py: error: {exc}", file=sys.stderr)
        return EXIT_INPUT
    except OSError as exc:
        print(f"build.py: error: {args.output}: {exc.strerror}", file=sys.stderr)
        return EXIT_INPUT
    deps = ", ".join(f"{k} {v}" for k, v in manifest["vendored"].items())
    floor = ".".join(str(n) for n in manifest["min_python"])
    size = args.output.stat().st_size
    print(
        f"wrote {args.output} ({size // 1024} KiB, {manifest['files']} files): "
        f"toolsfix {manifest['toolsfix_version']} with {deps}; needs Python >= {floor}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
