"""Load and validate the declarative patch definitions in ``patches/``.

Validation is hand-written against ``schemas/patch.schema.json`` instead of using jsonschema:
the core must load on a stock Solaris Python with no compiled dependencies.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

from toolsfix.datadirs import shipped_dir

SCHEMA = "toolsfix-patch/1"
STATES = ("present", "hand-patched", "unknown")


class PatchDefinitionError(ValueError):
    """A file in patches/ does not follow the schema."""


@dataclass(frozen=True)
class Edit:
    name: str
    find: re.Pattern[str]
    replace: str
    count: int


@dataclass(frozen=True)
class PatchDef:
    id: str
    title: str
    description: str
    applies_to: tuple[str, ...]
    function: str
    edits: tuple[Edit, ...]
    marker: str
    expect: Mapping[str, Any]
    path: str


def _require(cond: bool, path: Path, message: str) -> None:
    if not cond:
        raise PatchDefinitionError(f"{path}: {message}")


def parse_patch(raw: Any, path: Path) -> PatchDef:
    _require(isinstance(raw, dict), path, "top level must be an object")
    allowed = {"schema", "id", "title", "description", "applies_to", "function", "edits",
               "marker", "expect"}  # fmt: skip
    unknown = set(raw) - allowed
    _require(not unknown, path, f"unknown keys {sorted(unknown)}")
    _require(raw.get("schema") == SCHEMA, path, f"schema must be {SCHEMA!r}")
    for key in ("id", "title", "function", "marker"):
        _require(isinstance(raw.get(key), str) and raw[key] != "", path, f"{key} must be a string")
    _require(bool(re.match(r"^[a-z0-9][a-z0-9.-]*$", raw["id"])), path, "bad id")
    states = raw.get("applies_to")
    _require(
        isinstance(states, list) and bool(states) and all(s in STATES for s in states),
        path,
        f"applies_to must list states from {STATES}",
    )
    _require("toolsfix: patched by {id}" in raw["marker"], path, "marker must name the patch")
    edits_raw = raw.get("edits")
    _require(isinstance(edits_raw, list) and bool(edits_raw), path, "edits must be a list")
    edits: list[Edit] = []
    for e in edits_raw:
        _require(isinstance(e, dict), path, "each edit must be an object")
        _require(set(e) == {"name", "find", "replace", "count"}, path, f"edit keys: {sorted(e)}")
        _require(isinstance(e["count"], int) and e["count"] >= 1, path, "count must be >= 1")
        try:
            pattern = re.compile(e["find"])
        except re.error as exc:
            raise PatchDefinitionError(f"{path}: edit {e['name']!r}: bad regex: {exc}") from None
        edits.append(Edit(e["name"], pattern, e["replace"], e["count"]))
    expect = raw.get("expect")
    _require(isinstance(expect, dict), path, "expect must be an object")
    _require(expect.get("selection_bug") == "patched", path, "expect.selection_bug must be patched")
    _require(isinstance(expect.get("current_minor"), int), path, "expect.current_minor must be int")
    return PatchDef(
        id=raw["id"],
        title=raw["title"],
        description=raw.get("description", ""),
        applies_to=tuple(states),
        function=raw["function"],
        edits=tuple(edits),
        marker=raw["marker"],
        expect=expect,
        path=str(path),
    )


def load_patches(directory: Optional[Path] = None) -> list[PatchDef]:
    directory = directory or shipped_dir("patches")
    out: list[PatchDef] = []
    for path in sorted(directory.glob("*.json")):
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise PatchDefinitionError(f"{path}: {exc}") from None
        out.append(parse_patch(raw, path))
    ids = [p.id for p in out]
    if len(ids) != len(set(ids)):
        raise PatchDefinitionError(f"{directory}: duplicate patch ids")
    return out
