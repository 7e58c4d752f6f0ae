"""The :class:`Fact` type: a value with the evidence it came from, or why it is not known.

Every fact builder (guest OS facts, driver facts, package records) returns these, so a check
can always say where a value came from, and "could not evaluate" is a value with a reason, not
an exception or a silent ``None``.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, fields, is_dataclass
from typing import Any, Generic, Optional, TypeVar

from toolsfix.findings import Evidence

__all__ = ["Fact", "fact_missing", "fact_of", "jsonable"]

T = TypeVar("T")

_MAX_EXCERPT = 300


@dataclass(frozen=True)
class Fact(Generic[T]):
    """A value with its provenance, or the reason it is not known."""

    value: Optional[T] = None
    source: Optional[Evidence] = None
    available: bool = False
    reason: Optional[str] = None

    @property
    def known(self) -> bool:
        return self.available and self.value is not None

    def evidence(self) -> list[Evidence]:
        """The fact's evidence as a list, ready for ``finding(..., evidence=...)``."""
        if self.source is not None:
            return [self.source]
        return [Evidence(detail=self.reason)] if self.reason else []

    def evidence_at(self, line: Optional[int], excerpt: Optional[str]) -> Evidence:
        """Evidence for one item of this fact: same file or command, the item's line/text."""
        src = self.source or Evidence()
        text = excerpt.strip()[:_MAX_EXCERPT] if excerpt else None
        if src.path is not None:
            return Evidence(path=src.path, line=line, excerpt=text, detail=src.detail)
        return Evidence(command=src.command, excerpt=text, detail=src.detail)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"available": self.available}
        if self.available:
            out["value"] = jsonable(self.value)
        if self.reason:
            out["reason"] = self.reason
        if self.source is not None:
            out["source"] = self.source.to_dict()
        return out


def fact_of(value: T, source: Evidence) -> Fact[T]:
    return Fact(value, source, True, None)


def fact_missing(reason: str, source: Optional[Evidence] = None) -> Fact[Any]:
    return Fact(None, source, False, reason)


def jsonable(value: Any) -> Any:
    """``value`` as plain JSON types (dataclasses and facts as objects, sets sorted)."""
    if isinstance(value, enum.Enum):
        return jsonable(value.value)
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, Evidence):
        return value.to_dict()
    if isinstance(value, Fact):
        return value.to_dict()
    if is_dataclass(value) and not isinstance(value, type):
        return {f.name: jsonable(getattr(value, f.name)) for f in fields(value)}
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (frozenset, set)):
        return sorted(jsonable(v) for v in value)
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    return str(value)
