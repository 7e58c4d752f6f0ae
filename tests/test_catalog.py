"""The check catalog and the code agree: no dead entries, no ids without an entry."""

from __future__ import annotations

import re
from pathlib import Path

from toolsfix.catalog import load_catalog

PACKAGE = Path(__file__).resolve().parent.parent / "toolsfix"


def test_catalog_and_code_use_the_same_ids() -> None:
    code = "".join(p.read_text() for p in PACKAGE.rglob("*.py"))
    used = set(re.findall(r'"(TF\d{3})"', code))
    assert used == set(load_catalog())


def test_every_entry_has_a_remedy_and_known_category() -> None:
    for spec in load_catalog().values():
        assert spec.remedy.strip() and spec.title.strip()
        assert re.fullmatch(r"[a-z0-9-]+", spec.category)
