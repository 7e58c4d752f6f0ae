"""One call run in a daemon thread, its result (or exception) collected later.

The proof of a configurator overlaps other work -- a scan's stream, a verify's reading of the
guest -- in threads that mostly wait on perl processes or imports. Every such thread follows
the same rule: whatever it raises is handed to whoever collects it, never lost, and collecting
joins the thread, so nothing outlives the command. Kept apart as the one place that rule is
written.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Generic, Optional, TypeVar, cast

__all__ = ["Background"]

T = TypeVar("T")


class Background(Generic[T]):
    """``fn()`` in a daemon thread; :meth:`get` joins it and returns (or raises) its result."""

    def __init__(self, fn: Callable[[], T], name: str) -> None:
        self._fn = fn
        self._value: Optional[T] = None
        self._error: Optional[BaseException] = None
        self._done = False
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            self._value = self._fn()
            self._done = True
        except BaseException as exc:  # handed to the caller of get(), never lost
            self._error = exc

    def get(self) -> T:
        self._thread.join()
        if self._error is not None:
            raise self._error
        assert self._done
        return cast(T, self._value)  # set by _run (T may itself be Optional)

    def settled(self) -> Optional[T]:
        """Join, then the result, or None when ``fn`` raised (:meth:`get` still raises it):
        for clean-up paths that must not raise a second time."""
        self._thread.join()
        return self._value if self._done else None
