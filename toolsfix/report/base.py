"""The renderer interface."""

from __future__ import annotations

import abc
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from toolsfix.findings import Report


class Renderer(abc.ABC):
    """Turns a finished report into text; never decides anything about the findings."""

    @abc.abstractmethod
    def render(self, report: Report) -> str:
        """The complete document, newline-terminated."""
