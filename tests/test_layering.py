"""The package keeps the layering docs/architecture.md describes.

The layer table is read from the document itself, so the picture a contributor reads and the
rule this test enforces cannot drift apart. The package tree is read when the test runs: a new
module that no row of the table covers fails until the document says where it belongs.

Rules (AST-based, nothing is imported):

* a module imports only modules of its own layer or lower ones (``if TYPE_CHECKING`` imports
  count: a type is a dependency too);
* a command service never imports another command service;
* an import inside a function carries a comment saying why it is not at the top.
"""

from __future__ import annotations

import ast
import fnmatch
import io
import re
import tokenize
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
PACKAGE = REPO / "toolsfix"
DOC = REPO / "docs" / "architecture.md"


# --- the layer table -------------------------------------------------------------------------


@dataclass(frozen=True)
class Layers:
    """Patterns per layer (module names relative to the package; ``toolsfix`` is the package
    itself) and the command services of the services layer."""

    patterns: tuple[tuple[int, str, tuple[str, ...]], ...]  # (layer, name, patterns)
    commands: frozenset[str]

    def matches(self, module: str) -> list[tuple[int, str]]:
        return [
            (n, name) for n, name, pats in self.patterns if any(_match(module, p) for p in pats)
        ]


def _match(module: str, pattern: str) -> bool:
    """``guest.*`` covers the package ``guest`` and everything below it; ``fingerprint*`` any
    top-level module whose name starts so; anything else names one module."""
    if pattern.endswith(".*"):
        base = pattern[:-2]
        return module == base or module.startswith(base + ".")
    return "." not in module and fnmatch.fnmatchcase(module, pattern)


_ROW = re.compile(r"^\|\s*(\d+)\s*\|\s*([^|]+?)\s*\|\s*(.+?)\s*\|\s*$")


def parse_layers(text: str) -> Layers:
    """The table under ``## Layers``: ``| layer | name | modules |`` rows, modules in
    backticks; in the services row, the names after ``commands:`` are command services."""
    section = text.split("\n## Layers", 1)[1].split("\n## ", 1)[0]
    rows: list[tuple[int, str, tuple[str, ...]]] = []
    commands: set[str] = set()
    for line in section.splitlines():
        m = _ROW.match(line)
        if not m:
            continue
        cell = m.group(3)
        rows.append((int(m.group(1)), m.group(2), tuple(re.findall(r"`([^`]+)`", cell))))
        if "commands:" in cell:
            commands.update(re.findall(r"`([^`]+)`", cell.split("commands:", 1)[1]))
    return Layers(tuple(rows), frozenset(commands))


# --- the package tree ------------------------------------------------------------------------


@dataclass(frozen=True)
class Import:
    importer: str
    imported: str
    line: int


def modules(root: Path) -> dict[str, Path]:
    """Module name (relative to the package, ``toolsfix`` for its ``__init__``) -> file."""
    out: dict[str, Path] = {}
    for path in sorted(root.rglob("*.py")):
        parts = list(path.relative_to(root).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        out[".".join(parts) or root.name] = path
    return out


def _resolve(name: str, known: dict[str, Path], package: str) -> str:
    """The longest known module ``name`` (dotted, relative to the package) refers to."""
    parts = name.split(".") if name else []
    while parts:
        candidate = ".".join(parts)
        if candidate in known:
            return candidate
        parts.pop()
    return package


def imports_of(module: str, path: Path, known: dict[str, Path], package: str) -> Iterator[Import]:
    """Every import of a toolsfix module in ``path``, wherever it stands."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    is_pkg = path.name == "__init__.py"
    here = [] if module == package else module.split(".")
    for node in ast.walk(tree):
        targets: list[str] = []
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name == package or alias.name.startswith(package + "."):
                    targets.append(alias.name[len(package) + 1 :])
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = here if is_pkg else here[:-1]
                base = base[: len(base) - (node.level - 1)] if node.level > 1 else base
                prefix = ".".join([*base, *([node.module] if node.module else [])])
            elif node.module == package or (node.module or "").startswith(package + "."):
                prefix = (node.module or "")[len(package) + 1 :]
            else:
                continue
            for alias in node.names:
                targets.append(f"{prefix}.{alias.name}" if prefix else alias.name)
        for target in targets:
            yield Import(module, _resolve(target, known, package), node.lineno)


def layer_violations(root: Path, layers: Layers) -> list[str]:
    """Unplaced modules, upward imports and command-to-command imports, one line each."""
    package = root.name
    known = modules(root)
    problems: list[str] = []
    placed: dict[str, int] = {}
    for name in known:
        hits = layers.matches(name)
        if len(hits) != 1:
            where = "no layer" if not hits else f"several layers {hits}"
            problems.append(f"{name}: {where} in the docs/architecture.md table")
        else:
            placed[name] = hits[0][0]
    for name, path in known.items():
        for imp in imports_of(name, path, known, package):
            mine, theirs = placed.get(name), placed.get(imp.imported)
            if mine is None or theirs is None or imp.imported == name:
                continue
            rel = path.relative_to(root.parent)
            if theirs > mine:
                problems.append(
                    f"{rel}:{imp.line}: {name} (layer {mine}) imports {imp.imported} "
                    f"(layer {theirs})"
                )
            elif name in layers.commands and imp.imported in layers.commands:
                problems.append(
                    f"{rel}:{imp.line}: command service {name} imports command service "
                    f"{imp.imported}; move what they share into a shared service"
                )
    return list(dict.fromkeys(problems))  # one line per import statement and target


# --- function-local imports ------------------------------------------------------------------


def _comment_lines(source: str) -> tuple[set[int], set[int]]:
    """(lines holding a comment, lines holding nothing but a comment)."""
    anywhere: set[int] = set()
    alone: set[int] = set()
    lines = source.splitlines()
    for tok in tokenize.generate_tokens(io.StringIO(source).readline):
        if tok.type == tokenize.COMMENT:
            row = tok.start[0]
            anywhere.add(row)
            if lines[row - 1].strip().startswith("#"):
                alone.add(row)
    return anywhere, alone


def _bodies(node: ast.AST) -> Iterator[Sequence[ast.stmt]]:
    for field in ("body", "orelse", "finalbody"):
        value = getattr(node, field, None)
        if isinstance(value, list) and value and isinstance(value[0], ast.stmt):
            yield value
    for handler in getattr(node, "handlers", []) or []:
        yield handler.body
    for case in getattr(node, "cases", []) or []:
        yield case.body


def uncommented_local_imports(path: Path) -> list[str]:
    """Imports inside a function with no comment on them or on the line just above their
    group (consecutive import statements share one comment)."""
    source = path.read_text(encoding="utf-8")
    tree = ast.parse(source)
    shown = path.relative_to(REPO) if path.is_relative_to(REPO) else path
    anywhere, alone = _comment_lines(source)
    problems: list[str] = []

    def visit(node: ast.AST, in_function: bool) -> None:
        inside = in_function or isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
        for body in _bodies(node):
            group: list[ast.stmt] = []
            for stmt in [*body, None]:
                if isinstance(stmt, (ast.Import, ast.ImportFrom)):
                    group.append(stmt)
                    continue
                if group and inside:
                    first, last = group[0].lineno, group[-1].end_lineno or group[-1].lineno
                    said = any(n in anywhere for n in range(first, last + 1))
                    if not said and (first - 1) not in alone:
                        names = ", ".join(ast.unparse(g) for g in group)
                        problems.append(f"{shown}:{first}: function-local import without a "
                                        f"comment saying why: {names}")  # fmt: skip
                group = []
                if stmt is not None:
                    visit(stmt, inside)

    visit(tree, False)
    return problems


# --- the tests on the real package ------------------------------------------------------------


def test_the_document_has_a_layer_table() -> None:
    layers = parse_layers(DOC.read_text(encoding="utf-8"))
    assert [n for n, _, _ in layers.patterns] == sorted({n for n, _, _ in layers.patterns})
    assert len(layers.patterns) >= 6
    assert {"scan", "verify", "patcher"} <= layers.commands


def test_every_module_is_placed_and_imports_only_downwards() -> None:
    layers = parse_layers(DOC.read_text(encoding="utf-8"))
    problems = layer_violations(PACKAGE, layers)
    assert not problems, "\n".join(problems)


def test_function_local_imports_say_why() -> None:
    problems = [
        p for path in sorted(PACKAGE.rglob("*.py")) for p in uncommented_local_imports(path)
    ]
    assert not problems, "\n".join(problems)


# --- the checker catches what it should (synthetic package trees) -----------------------------

TABLE = """\
# x

## Layers

| layer | name | modules |
|---|---|---|
| 0 | base | `pkg`, `errors` |
| 1 | domain | `reader*`, `guest.*` |
| 2 | services | shared: `common`; commands: `scan`, `verify` |
| 3 | cli | `cli` |

## Next
"""


def _tree(tmp_path: Path, files: dict[str, str]) -> Path:
    root = tmp_path / "pkg"
    for name, text in {"__init__.py": "", **files}.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def test_checker_reports_an_upward_import(tmp_path: Path) -> None:
    root = _tree(
        tmp_path,
        {
            "errors.py": "",
            "reader.py": "from pkg.scan import thing\n",
            "scan.py": "from pkg import errors\nthing = 1\n",
            "cli.py": "from pkg.scan import thing\n",
        },
    )
    problems = layer_violations(root, parse_layers(TABLE))
    assert len(problems) == 1
    assert "reader (layer 1) imports scan (layer 2)" in problems[0]


def test_checker_reports_a_command_importing_another(tmp_path: Path) -> None:
    root = _tree(
        tmp_path,
        {
            "errors.py": "",
            "common.py": "",
            "scan.py": "from . import common\n",
            "verify.py": "from pkg import scan\nfrom .common import x\n",
            "cli.py": "",
        },
    )
    problems = layer_violations(root, parse_layers(TABLE))
    assert (
        len(problems) == 1
        and "command service verify imports command service scan" in (problems[0])
    )


def test_checker_places_packages_and_reports_unplaced_modules(tmp_path: Path) -> None:
    root = _tree(
        tmp_path,
        {
            "errors.py": "",
            "guest/__init__.py": "",
            "guest/parsers/__init__.py": "from ..facts import F\n",
            "guest/facts.py": "from pkg.errors import E\n",
            "readers_extra.py": "",
            "stray.py": "",
        },
    )
    problems = layer_violations(root, parse_layers(TABLE))
    assert problems == ["stray: no layer in the docs/architecture.md table"]


def test_checker_reports_uncommented_local_imports(tmp_path: Path) -> None:
    path = tmp_path / "m.py"
    path.write_text(
        "import os\n"
        "def ok():\n"
        "    # lazy: start-up time\n"
        "    import json\n"
        "    import csv\n"
        "def also_ok():\n"
        "    import json  # only here\n"
        "def bad():\n"
        "    x = 1  # unrelated\n"
        "    import json\n"
        "    if x:\n"
        "        from os import path\n"
    )
    problems = uncommented_local_imports(path)
    assert [p.split(":")[1] for p in problems] == ["10", "12"]


@pytest.mark.parametrize("module", ["cli", "patcher", "report.text"])
def test_real_modules_are_placed_where_the_document_says(module: str) -> None:
    layers = parse_layers(DOC.read_text(encoding="utf-8"))
    expected = {"cli": "cli", "patcher": "services", "report.text": "report"}[module]
    assert [name for _, name in layers.matches(module)] == [expected]
