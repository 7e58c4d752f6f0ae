"""The check catalog: ids, categories, severities, titles and remedies, held as data.

Checks only decide *whether* something is wrong and *what the evidence is*; everything a
reviewer reads about the check itself lives in ``checks/catalog.json`` so it can be reviewed,
translated or extended without touching code.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from functools import lru_cache
from pathlib import Path
from typing import NamedTuple, Optional

from toolsfix.findings import Evidence, Finding, Severity

CATALOG_PATH = Path(__file__).with_name("checks") / "catalog.json"


class CheckSpec(NamedTuple):
    """One catalog entry. A named tuple, not a frozen dataclass: every scan and verify imports
    this module, and a tuple class is several times cheaper to create at import."""

    id: str
    category: str
    severity: Severity
    title: str
    remedy: str
    references: tuple[str, ...]


class _Lenient(dict[str, str]):
    """Leaves unknown placeholders visible instead of failing: a remedy is never lost."""

    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


@lru_cache(maxsize=1)
def load_catalog(path: Path = CATALOG_PATH) -> Mapping[str, CheckSpec]:
    raw = json.loads(path.read_text(encoding="utf-8"))
    if raw.get("schema") != "toolsfix-check-catalog/1":
        raise ValueError(f"{path}: unsupported catalog schema {raw.get('schema')!r}")
    specs: dict[str, CheckSpec] = {}
    for entry in raw["checks"]:
        missing = {"id", "category", "severity", "title", "remedy"} - set(entry)
        if missing:
            raise ValueError(f"{path}: check entry lacks {sorted(missing)}: {entry}")
        if entry["id"] in specs:
            raise ValueError(f"{path}: duplicate check id {entry['id']}")
        specs[entry["id"]] = CheckSpec(
            id=entry["id"],
            category=entry["category"],
            severity=Severity.parse(entry["severity"]),
            title=entry["title"],
            remedy=entry["remedy"],
            references=tuple(entry.get("references", ())),
        )
    return specs


def spec(check_id: str) -> CheckSpec:
    try:
        return load_catalog()[check_id]
    except KeyError:
        raise KeyError(f"check {check_id} is not in the catalog") from None


def finding(
    check_id: str,
    message: str,
    *,
    evidence: Iterable[Evidence] = (),
    subject: Optional[str] = None,
    confidence: Optional[str] = None,
    severity: Optional[Severity] = None,
    commands: Iterable[str] = (),
    **remedy_args: object,
) -> Finding:
    """Build a Finding whose category, title and remedy come from the catalog.

    ``commands`` are the concrete fix commands for this instance of the problem (the catalog
    remedy is prose for humans; the commands are what ``toolsfix remedy`` puts in a script).
    """
    s = spec(check_id)
    # str.format_map, not string.Formatter: the same substitution (a missing key is looked up
    # through _Lenient.__missing__ either way) without importing the string module.
    remedy = s.remedy.format_map(_Lenient({k: str(v) for k, v in remedy_args.items()}))
    return Finding(
        id=s.id,
        category=s.category,
        severity=severity if severity is not None else s.severity,
        title=s.title,
        message=message,
        remedy=remedy,
        evidence=tuple(evidence),
        subject=subject,
        confidence=confidence,
        commands=tuple(commands),
    )
