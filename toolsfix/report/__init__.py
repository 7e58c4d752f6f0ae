"""Output formats: one class per format behind one small interface.

A run can write several formats at once (``-o json:report.json -o junit:junit.xml``) because
pipelines want a human summary on stdout and machine files for the CI system side by side.

Only the formats a run asks for are imported (:func:`renderer`): the command line needs the
names for ``--format`` and ``-o`` on every run, but JUnit pulls in ``xml.etree`` and the text
verdict the knowledge tables, which a ``--format json`` run never uses.

The other commands' results have their renderers beside these: :mod:`.patch` (patch
outcomes), :mod:`.identify` (fingerprint identifications and database records), :mod:`.probe`
(jumbo-frame probes), :mod:`.errors` (the error line and JSON error document) and
:mod:`.fleet` (``audit``); :mod:`.lines` keeps human text within its line and list limits.
"""

from __future__ import annotations

from toolsfix.report.base import Renderer

#: The formats of a single report, as ``--format`` and ``-o FORMAT:PATH`` list them.
FORMATS = ("text", "json", "junit", "sarif")


def renderer_class(name: str) -> type[Renderer]:
    """The renderer class of format ``name``, importing its module only now."""
    if name == "text":
        from toolsfix.report.text import TextRenderer  # lazy: knowledge tables, text only

        return TextRenderer
    if name == "json":
        from toolsfix.report.jsonfmt import JsonRenderer  # lazy: only the chosen format loads

        return JsonRenderer
    if name == "junit":
        from toolsfix.report.junit import JunitRenderer  # lazy: xml.etree, JUnit only

        return JunitRenderer
    if name == "sarif":
        from toolsfix.report.sarif import SarifRenderer  # lazy: only the chosen format loads

        return SarifRenderer
    raise ValueError(f"unknown format {name!r} (choose from {', '.join(sorted(FORMATS))})")


def renderer(name: str) -> Renderer:
    """A renderer for format ``name`` (one of :data:`FORMATS`)."""
    return renderer_class(name)()


__all__ = ["FORMATS", "Renderer", "renderer", "renderer_class"]
