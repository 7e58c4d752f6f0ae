"""Baselines and waivers: report what changed since a previous run, and accepted risks visibly.

A fleet always has findings that cannot be fixed this week. A pipeline that fails on them on
every run teaches people to ignore it, so two tools narrow what a run reports:

* a **baseline** (``--baseline previous.json``, a saved JSON report of the same command) turns
  "what is wrong" into "what got worse": only findings that were not in the previous report
  are reported (and drive the exit code); the ones that disappeared are listed as fixed;
* a **waiver** (``--waivers waivers.json``) records who accepted which finding on which item,
  why, and until when. A waived finding is moved to ``waived`` with its reason, never dropped
  silently, and a waiver stops working after its expiry date: the finding comes back together
  with a TF900 finding naming the expired waiver, so an accepted risk is re-examined instead of
  forgotten.

Both are shared by ``scan``, ``verify`` and ``audit``: :func:`apply_policy` rewrites one
:class:`~toolsfix.findings.Report`, so an audit item carries exactly the report the single
command would print with the same options.

Waiver file (JSON): a list, or ``{"waivers": [...]}``, of objects with ``id`` (a check id, or a
glob such as ``TF3*``), ``reason`` (required, non-empty), optional ``item`` (glob matched
against the input as given, or the report's target; default ``*``), optional ``subject`` (glob
matched against the finding's subject) and optional ``expires`` (``YYYY-MM-DD``, the last day
the waiver applies). Unknown keys are rejected so a typo such as ``expire`` cannot silently turn
a dated waiver into a permanent one. Any invalid baseline or waiver file is a usage error
(exit 2) reported in one line.
"""

from __future__ import annotations

import dataclasses
import datetime
import fnmatch
import json
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

from toolsfix.catalog import finding
from toolsfix.errors import ExitCode, ToolsfixError
from toolsfix.findings import Evidence, Finding, Report

__all__ = [
    "WAIVER_EXPIRED",
    "Baseline",
    "Policy",
    "Previous",
    "Waiver",
    "Waivers",
    "apply_policy",
    "finding_key",
    "load_baseline",
    "load_waivers",
]

WAIVER_EXPIRED = "TF900"
WAIVER_KEYS = frozenset({"id", "item", "subject", "reason", "expires"})
_ID_GLOB = re.compile(r"[A-Za-z0-9*?\[\]!-]+")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")

Key = tuple[str, str, tuple[str, ...]]


def _usage(path: Path, what: str, why: str) -> ToolsfixError:
    return ToolsfixError(f"{path}: invalid {what}: {why}", ExitCode.USAGE)


def _read_json(path: Path, what: str) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise _usage(path, what, f"cannot read ({exc.strerror or exc})") from None
    except UnicodeDecodeError:
        raise _usage(path, what, "not UTF-8 text") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise _usage(path, what, f"not JSON ({exc.msg} at line {exc.lineno})") from None


# --- waivers -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Waiver:
    """One accepted finding: which check, on which items, why, and until when."""

    id: str
    reason: str
    item: str = "*"
    subject: Optional[str] = None
    expires: Optional[datetime.date] = None
    source: str = ""  # "waivers.json entry 3", for the evidence of an expiry finding

    def expired(self, today: datetime.date) -> bool:
        """Expired the day *after* ``expires``: the date is the last day it applies."""
        return self.expires is not None and today > self.expires

    def matches(self, f: Finding, item: str) -> bool:
        if not fnmatch.fnmatchcase(f.id, self.id):
            return False
        if not fnmatch.fnmatchcase(item, self.item):
            return False
        return self.subject is None or fnmatch.fnmatchcase(f.subject or "", self.subject)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"id": self.id, "item": self.item, "reason": self.reason}
        if self.subject is not None:
            out["subject"] = self.subject
        out["expires"] = self.expires.isoformat() if self.expires else None
        return out


@dataclass(frozen=True)
class Waivers:
    path: str
    entries: tuple[Waiver, ...]


def _waiver(path: Path, n: int, raw: Any) -> Waiver:
    where = f"entry {n}"
    if not isinstance(raw, dict):
        raise _usage(path, "waiver file", f"{where}: expected an object, got {type(raw).__name__}")
    unknown = sorted(set(raw) - WAIVER_KEYS)
    if unknown:
        raise _usage(
            path,
            "waiver file",
            f"{where}: unknown key(s) {', '.join(unknown)} "
            f"(allowed: {', '.join(sorted(WAIVER_KEYS))})",
        )
    check = raw.get("id")
    if not isinstance(check, str) or not _ID_GLOB.fullmatch(check):
        raise _usage(path, "waiver file", f"{where}: 'id' must be a check id such as TF100")
    reason = raw.get("reason")
    if not isinstance(reason, str) or not reason.strip():
        raise _usage(path, "waiver file", f"{where}: 'reason' is required (say why it is accepted)")
    item = raw.get("item", "*")
    subject = raw.get("subject")
    if not isinstance(item, str) or not item:
        raise _usage(path, "waiver file", f"{where}: 'item' must be a non-empty glob")
    if subject is not None and not isinstance(subject, str):
        raise _usage(path, "waiver file", f"{where}: 'subject' must be a string glob")
    expires_raw = raw.get("expires")
    expires: Optional[datetime.date] = None
    if expires_raw is not None:
        if not isinstance(expires_raw, str) or not _DATE.fullmatch(expires_raw):
            raise _usage(path, "waiver file", f"{where}: 'expires' must be YYYY-MM-DD")
        try:
            expires = datetime.date.fromisoformat(expires_raw)
        except ValueError:
            raise _usage(
                path, "waiver file", f"{where}: 'expires' {expires_raw} is not a date"
            ) from None
    return Waiver(check, " ".join(reason.split()), item, subject, expires, f"{path.name} {where}")


def load_waivers(path: Path) -> Waivers:
    """Read and validate a waiver file; any problem is one line and exit 2."""
    raw = _read_json(path, "waiver file")
    if isinstance(raw, dict) and set(raw) <= {"waivers", "schema_version"}:
        raw = raw.get("waivers")
    if not isinstance(raw, list):
        raise _usage(path, "waiver file", 'expected a JSON list of waivers (or {"waivers": [...]})')
    return Waivers(str(path), tuple(_waiver(path, n, w) for n, w in enumerate(raw, 1)))


# --- baselines ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Previous:
    """The findings of one earlier report, with the target they were reported for."""

    name: str  # the baseline file, or the audit item's input
    target: str
    findings: tuple[dict[str, Any], ...]


def _previous(path: Path, report: Any, name: str, where: str) -> Previous:
    """Every finding a saved report stood for: its findings plus those it had baselined away
    (so a report written with --baseline is itself a complete baseline for the next run)."""
    if not isinstance(report, dict):
        raise _usage(path, "baseline", f"{where}: expected a report object")
    found = report.get("findings")
    if not isinstance(found, list):
        raise _usage(path, "baseline", f"{where}: no 'findings' list")
    earlier = report.get("baseline")
    if isinstance(earlier, dict) and isinstance(earlier.get("unchanged"), list):
        found = [*found, *earlier["unchanged"]]
    out: list[dict[str, Any]] = []
    for f in found:
        if not isinstance(f, dict) or not isinstance(f.get("id"), str):
            raise _usage(path, "baseline", f"{where}: a finding without an 'id'")
        out.append(f)
    target = report.get("target")
    return Previous(name, target if isinstance(target, str) else "", tuple(out))


@dataclass(frozen=True)
class Baseline:
    """A previous report: one finding list (scan, verify) or one per item (audit)."""

    path: str
    command: str
    single: Optional[Previous] = None
    items: Mapping[str, Optional[Previous]] = dataclasses.field(default_factory=dict)

    def for_item(self, name: str) -> Optional[Previous]:
        """The earlier report of an audit item, None when the item is not in the baseline
        (or had no report then: it could not be evaluated).

        Items match by input as given, else by last path component when that is unique on
        both sides, so bundles collected into a new dated directory each day still match.
        """
        if name in self.items:
            return self.items[name]
        base = _basename(name)
        same = [k for k in self.items if _basename(k) == base]
        return self.items[same[0]] if len(same) == 1 else None


def _basename(name: str) -> str:
    return name.rstrip("/").rsplit("/", 1)[-1]


def load_baseline(path: Path, command: str) -> Baseline:
    """Read a saved ``COMMAND --format json`` report; anything else is one line and exit 2."""
    raw = _read_json(path, "baseline")
    if not isinstance(raw, dict) or "schema_version" not in raw:
        raise _usage(
            path, "baseline", f"not a toolsfix JSON report (use `{command} --format json`)"
        )
    if command == "audit":
        items = raw.get("items")
        if not isinstance(items, list):
            raise _usage(path, "baseline", "not an `audit --format json` report (no 'items')")
        table: dict[str, Optional[Previous]] = {}
        for n, item in enumerate(items, 1):
            if not isinstance(item, dict) or not isinstance(item.get("input"), str):
                raise _usage(path, "baseline", f"item {n}: no 'input'")
            report = item.get("report")
            name = item["input"]
            table[name] = None if report is None else _previous(path, report, name, f"item {n}")
        return Baseline(str(path), command, items=table)
    found = raw.get("command")
    if found != command:
        shown = "an audit report" if "items" in raw else f"a {found!r} report"
        raise _usage(path, "baseline", f"{shown}, not a `{command} --format json` report")
    return Baseline(str(path), command, single=_previous(path, raw, str(path), "report"))


def finding_key(f: Mapping[str, Any], target: str) -> Key:
    """What makes two findings "the same" across runs: check id, subject and where the evidence
    is (paths or commands; not lines or messages, which shift with unrelated edits). The
    report's own target is replaced by a placeholder so a bundle collected into a new
    directory is still the same guest."""

    def norm(text: str) -> str:
        return text.replace(target, "{target}") if target else text

    evidence = f.get("evidence") or []
    where = sorted(
        {
            norm(str(e.get("path") or e.get("command") or ""))
            for e in evidence
            if isinstance(e, Mapping)
        }
    )
    return str(f.get("id")), norm(str(f.get("subject") or "")), tuple(where)


# --- applying both -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Policy:
    """What narrows a report: an optional baseline and optional waivers, as of ``today``."""

    baseline: Optional[Baseline] = None
    waivers: Optional[Waivers] = None
    today: datetime.date = dataclasses.field(default_factory=datetime.date.today)

    @property
    def active(self) -> bool:
        return self.baseline is not None or self.waivers is not None


def _expired_finding(w: Waiver, waivers: Waivers, hits: Sequence[Finding]) -> Finding:
    what = ", ".join(sorted({f.id for f in hits}))
    assert w.expires is not None
    return finding(
        WAIVER_EXPIRED,
        f"waiver for {w.id} on {w.item!r} expired on {w.expires.isoformat()} "
        f"(reason was: {w.reason}); {what} reported again",
        evidence=[Evidence(path=waivers.path, detail=w.source)],
        subject=f"{w.id} {w.item}",
        waivers=waivers.path,
    )


def _waive(
    findings: Iterable[Finding], item: str, waivers: Waivers, today: datetime.date
) -> tuple[list[Finding], list[dict[str, Any]]]:
    kept: list[Finding] = []
    waived: list[dict[str, Any]] = []
    expired_hits: dict[int, list[Finding]] = {}
    for f in findings:
        match = None
        for n, w in enumerate(waivers.entries):
            if not w.matches(f, item):
                continue
            if w.expired(today):
                expired_hits.setdefault(n, []).append(f)
                continue
            match = w
            break
        if match is None:
            kept.append(f)
        else:
            waived.append({"finding": f.to_dict(), "waiver": match.to_dict()})
    for n, hits in sorted(expired_hits.items()):
        if any(f in kept for f in hits):  # a later waiver may still cover it
            kept.append(_expired_finding(waivers.entries[n], waivers, hits))
    return kept, waived


def apply_policy(
    report: Report,
    policy: Policy,
    *,
    item: Optional[str] = None,
) -> Report:
    """The report narrowed by waivers, then by the baseline; unchanged when nothing applies.

    ``item`` is the name waivers match and, for an audit baseline, the item looked up in it
    (the input as given); scan and verify leave it None and use the report's target.
    """
    if not policy.active:
        return report
    name = item if item is not None else report.target
    facts: dict[str, Any] = dict(report.facts)
    findings = list(report.findings)
    if policy.waivers is not None:
        findings, waived = _waive(findings, name, policy.waivers, policy.today)
        facts["waived"] = waived  # the text renderer lists them (report/text.py)
    if policy.baseline is not None:
        b = policy.baseline
        previous = b.for_item(name) if b.command == "audit" else b.single
        findings, block = _compare(findings, report.target, previous)
        facts["baseline"] = {
            "source": b.path,
            "compared_with": previous.name if previous is not None else None,
            **block,
        }
    return dataclasses.replace(report, findings=tuple(findings), facts=facts)


def _compare(
    findings: Sequence[Finding], target: str, previous: Optional[Previous]
) -> tuple[list[Finding], dict[str, Any]]:
    """Split into new (reported) and unchanged; list earlier findings that disappeared.

    Keys are counted, not just compared, so a second identical problem is still new.
    """
    old = previous.findings if previous is not None else ()
    old_target = previous.target if previous is not None else ""
    remaining = Counter(finding_key(f, old_target) for f in old)
    new: list[Finding] = []
    unchanged: list[dict[str, Any]] = []
    for f in findings:
        d = f.to_dict()
        key = finding_key(d, target)
        if remaining[key] > 0:
            remaining[key] -= 1
            unchanged.append(d)
        else:
            new.append(f)
    fixed: list[dict[str, Any]] = []
    for gone in old:
        key = finding_key(gone, old_target)
        if remaining[key] > 0:
            remaining[key] -= 1
            fixed.append(dict(gone))
    return new, {"new": len(new), "unchanged": unchanged, "fixed": fixed}
