"""Findings, evidence and reports: the one result shape every command produces.

Findings are frozen so a check cannot mutate another check's result, and carry their own
evidence so a reviewer can verify each claim by hand without re-running toolsfix.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Optional

SCHEMA_VERSION = "1.0"


class Severity(enum.IntEnum):
    """Ordered so ``--fail-on`` is a simple comparison."""

    INFO = 0
    LOW = 1
    MEDIUM = 2
    HIGH = 3
    CRITICAL = 4

    @classmethod
    def parse(cls, text: str) -> Severity:
        try:
            return cls[text.strip().upper()]
        except KeyError:
            names = ", ".join(s.name.lower() for s in cls)
            raise ValueError(f"unknown severity {text!r} (expected one of {names})") from None

    def __str__(self) -> str:
        return self.name.lower()


@dataclass(frozen=True)
class Evidence:
    """Where a claim comes from: a file and line, or a command and an excerpt of its output."""

    path: Optional[str] = None
    line: Optional[int] = None
    command: Optional[str] = None
    excerpt: Optional[str] = None
    detail: Optional[str] = None

    def describe(self) -> str:
        """One human line: ``path:line: excerpt`` or ``$ command -> excerpt``."""
        parts: list[str] = []
        if self.path is not None:
            parts.append(f"{self.path}:{self.line}" if self.line else self.path)
        if self.command is not None:
            parts.append(f"$ {self.command}")
        if self.excerpt:
            parts.append(repr(self.excerpt) if self.path or self.command else self.excerpt)
        if self.detail:
            parts.append(self.detail)
        return " ".join(parts) if parts else "(no evidence recorded)"

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if v is not None}


@dataclass(frozen=True)
class Finding:
    """A single problem (or informational fact) with everything needed to act on it."""

    id: str
    category: str
    severity: Severity
    title: str
    message: str
    remedy: str
    evidence: tuple[Evidence, ...] = ()
    subject: Optional[str] = None
    confidence: Optional[str] = None
    # Concrete shell commands that fix this finding, in order (``toolsfix remedy`` renders
    # them into a reviewable script). Entries starting with ``#`` are comments: notes such as
    # "needs a reboot", or ``# MANUAL:`` steps that cannot be derived automatically.
    commands: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": self.id,
            "category": self.category,
            "severity": str(self.severity),
            "title": self.title,
            "message": self.message,
            "remedy": self.remedy,
            "evidence": [e.to_dict() for e in self.evidence],
        }
        if self.subject is not None:
            out["subject"] = self.subject
        if self.confidence is not None:
            out["confidence"] = self.confidence
        if self.commands:
            out["commands"] = list(self.commands)
        return out


class Outcome(str, enum.Enum):
    """Why a check gave no verdict: the facts it needs were not there, or it does not apply.

    A ``str`` enum so existing comparisons with the plain strings (and the JSON, which carries
    the value) stay as they were.
    """

    NOT_EVALUATED = "not-evaluated"
    NOT_APPLICABLE = "not-applicable"

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True)
class Skipped:
    """A check that could not be evaluated or does not apply: an outcome, not an error.

    ``outcome`` may be given as an :class:`Outcome` or its string value; it is stored as the
    :class:`Outcome`, so a misspelt outcome fails where it is made, not in a report reader.
    """

    check: str
    reason: str
    outcome: str = Outcome.NOT_EVALUATED

    def __post_init__(self) -> None:
        object.__setattr__(self, "outcome", Outcome(self.outcome))

    def to_dict(self) -> dict[str, str]:
        return {"check": self.check, "outcome": Outcome(self.outcome).value, "reason": self.reason}


@dataclass(frozen=True)
class Report:
    """What one command run found, plus the facts it established (command-specific)."""

    command: str
    target: str
    findings: tuple[Finding, ...] = ()
    skipped: tuple[Skipped, ...] = ()
    facts: Mapping[str, Any] = field(default_factory=dict)

    def worst(self) -> Optional[Severity]:
        return max((f.severity for f in self.findings), default=None)

    def fails(self, threshold: Severity) -> bool:
        """True when any finding is at or above ``threshold`` (drives exit code 1)."""
        return any(f.severity >= threshold for f in self.findings)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "schema_version": SCHEMA_VERSION,
            "command": self.command,
            "target": self.target,
        }
        out.update(self.facts)
        out["findings"] = [f.to_dict() for f in sorted_findings(self.findings)]
        out["skipped"] = [s.to_dict() for s in self.skipped]
        return out


def sorted_findings(findings: Iterable[Finding]) -> list[Finding]:
    """Most severe first, then by id, so output is stable across runs."""
    return sorted(findings, key=lambda f: (-int(f.severity), f.id, f.subject or ""))
