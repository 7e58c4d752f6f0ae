"""Citations point at documents the repository ships.

Comments, docstrings and the check catalog cite documents for the facts behind them; a
citation of a document that is not in ``docs/`` sends the reader nowhere. Every ``docs/*.md``
named in the code, tests, samples and README must exist, every catalog reference must name a
heading of the document it cites, and the private notes the project was started from
(``installer.md``, ``driver-and-network.md``, ``output-formats.md``) are not cited as if a
reader had them.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
DOCS = REPO / "docs"
SCANNED = ("toolsfix", "tests", "vendor-samples", "bench", "integrations", "README.md")
SUFFIXES = {".py", ".md", ".json", ".pl", ".in", ".sh", ".yml", ".yaml", ".cfg", ".toml"}
# Names of notes that are not part of the repository.
PRIVATE_NOTES = re.compile(r"(?<![\w/-])(installer|driver-and-network|output-formats)\.md\b")
DOC_REF = re.compile(r"\bdocs/([\w.-]+\.md)")


def scanned_files() -> list[Path]:
    out: list[Path] = []
    for name in SCANNED:
        root = REPO / name
        if root.is_file():
            out.append(root)
            continue
        out.extend(
            p
            for p in sorted(root.rglob("*"))
            if p.is_file() and p.suffix in SUFFIXES and "data" not in p.relative_to(REPO).parts
        )
    return [p for p in out if p != Path(__file__)]


def headings(doc: Path) -> set[str]:
    return {
        line.lstrip("#").strip()
        for line in doc.read_text(encoding="utf-8").splitlines()
        if line.startswith("#")
    }


def test_every_cited_doc_exists() -> None:
    missing = [
        f"{path.relative_to(REPO)}: docs/{name}"
        for path in scanned_files()
        for name in DOC_REF.findall(path.read_text(encoding="utf-8", errors="replace"))
        if not (DOCS / name).is_file()
    ]
    assert not missing, "\n".join(missing)


def test_no_citation_of_notes_outside_the_repository() -> None:
    found = []
    for path in scanned_files():
        for n, line in enumerate(
            path.read_text(encoding="utf-8", errors="replace").splitlines(), 1
        ):
            if PRIVATE_NOTES.search(line):
                found.append(f"{path.relative_to(REPO)}:{n}: {line.strip()[:120]}")
    assert not found, "\n".join(found)


def test_catalog_references_name_a_heading_of_the_cited_doc() -> None:
    catalog = json.loads((REPO / "toolsfix" / "checks" / "catalog.json").read_text())
    entries = catalog["checks"] if isinstance(catalog, dict) and "checks" in catalog else catalog
    bad = []
    for entry in entries if isinstance(entries, list) else entries.values():
        for ref in entry.get("references", []):
            where, _, section = ref.partition(": ")
            doc = REPO / where
            if not doc.is_file() or not doc.is_relative_to(DOCS):
                bad.append(f"{entry.get('id')}: {ref} (not a document under docs/)")
            elif section and section not in headings(doc):
                bad.append(f"{entry.get('id')}: {ref} (no such heading)")
    assert not bad, "\n".join(bad)


@pytest.mark.parametrize("text", ["see installer.md", "(driver-and-network.md: LSO)"])
def test_private_note_pattern_matches(text: str) -> None:
    assert PRIVATE_NOTES.search(text)


def test_private_note_pattern_spares_real_docs() -> None:
    assert not PRIVATE_NOTES.search("docs/bundle-format.md and docs/background.md")
