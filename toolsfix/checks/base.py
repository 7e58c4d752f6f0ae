"""The one shape every check has: facts in, a :class:`CheckResult` out, registered by id.

Checks never gather: they read typed facts a facts builder made (and that carry their own
evidence), and return findings plus the checks they skipped with the reason. A registry keyed by
catalog id lets ``verify`` run "every check that applies" without knowing each one, so a new
check is one module plus a catalog entry: decorate its function with :func:`register` and import
the module in :mod:`toolsfix.checks` (the package ``__init__`` imports them all).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Callable, Generic, NamedTuple, TypeVar

from toolsfix.findings import Finding, Skipped

F = TypeVar("F")


@dataclass(frozen=True)
class CheckResult:
    """What one check concluded: problems found, and checks it could not or need not run."""

    findings: tuple[Finding, ...] = ()
    skipped: tuple[Skipped, ...] = ()

    @classmethod
    def of(cls, findings: Iterable[Finding] = (), skipped: Iterable[Skipped] = ()) -> CheckResult:
        return cls(tuple(findings), tuple(skipped))

    def __add__(self, other: CheckResult) -> CheckResult:
        return CheckResult(self.findings + other.findings, self.skipped + other.skipped)

    @staticmethod
    def merge(results: Iterable[CheckResult]) -> CheckResult:
        out = CheckResult()
        for r in results:
            out = out + r
        return out


# A NamedTuple, not a frozen dataclass: the registry's own record, never replaced or
# serialised, and a dataclass costs about a millisecond at import (its methods are generated
# and compiled).
class Check(NamedTuple, Generic[F]):
    """A registered check: the catalog ids it may emit and the function that runs it."""

    ids: tuple[str, ...]
    run: Callable[[F], CheckResult]
    name: str


class Registry(Generic[F]):
    """Checks over one kind of facts (e.g. a guest's), in registration order."""

    def __init__(self) -> None:
        self._checks: list[Check[F]] = []

    def register(
        self, *ids: str
    ) -> Callable[[Callable[[F], CheckResult]], Callable[[F], CheckResult]]:
        """Decorator: ``@GUEST_CHECKS.register("TF300", "TF301")`` on ``def check(facts)``."""
        if not ids:
            raise ValueError("a check must name the catalog ids it emits")

        def wrap(func: Callable[[F], CheckResult]) -> Callable[[F], CheckResult]:
            taken = {i for c in self._checks for i in c.ids}
            dup = taken.intersection(ids)
            if dup:
                raise ValueError(f"check ids registered twice: {sorted(dup)}")
            self._checks.append(Check(tuple(ids), func, f"{func.__module__}.{func.__qualname__}"))
            return func

        return wrap

    def __iter__(self) -> Iterator[Check[F]]:
        return iter(tuple(self._checks))

    def ids(self) -> frozenset[str]:
        return frozenset(i for c in self._checks for i in c.ids)

    def run_all(self, facts: F) -> CheckResult:
        """Every registered check over ``facts``, results concatenated in registration order."""
        return CheckResult.merge(c.run(facts) for c in self._checks)
