"""Output formats: one class per format behind one small interface.

A run can write several formats at once (``-o json:report.json -o junit:junit.xml``) because
pipelines want a human summary on stdout and machine files for the CI system side by side.

The other commands' results have their renderers beside these: :mod:`.patch` (patch
outcomes), :mod:`.identify` (fingerprint identifications and database records), :mod:`.probe`
(jumbo-frame probes), :mod:`.errors` (the error line and JSON error document) and
:mod:`.fleet` (``audit``); :mod:`.lines` keeps human text within its line and list limits.
"""

from __future__ import annotations

from toolsfix.report.base import Renderer
from toolsfix.report.jsonfmt import JsonRenderer
from toolsfix.report.junit import JunitRenderer
from toolsfix.report.sarif import SarifRenderer
from toolsfix.report.text import TextRenderer

RENDERERS: dict[str, type[Renderer]] = {
    "text": TextRenderer,
    "json": JsonRenderer,
    "junit": JunitRenderer,
    "sarif": SarifRenderer,
}


def renderer(name: str) -> Renderer:
    try:
        return RENDERERS[name]()
    except KeyError:
        raise ValueError(
            f"unknown format {name!r} (choose from {', '.join(sorted(RENDERERS))})"
        ) from None


__all__ = ["RENDERERS", "Renderer", "renderer"]
