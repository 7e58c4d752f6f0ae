"""JSON: one object per run with ``schema_version``; the contract pipelines rely on."""

from __future__ import annotations

import json

from toolsfix.findings import Report
from toolsfix.report.base import Renderer


class JsonRenderer(Renderer):
    def render(self, report: Report) -> str:
        return json.dumps(report.to_dict(), indent=2, sort_keys=False) + "\n"
