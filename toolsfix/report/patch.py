"""``toolsfix patch`` output: what was decided and done to one configurator, text or JSON.

The text puts the decision first (``patched: PATH: reason``), then what was kept and proven;
a dry run appends the unified diff. The diff is data for ``patch``/review tools, so its lines
are printed as they are, never wrapped or cut.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

from toolsfix.findings import SCHEMA_VERSION
from toolsfix.patching.plan import Outcome
from toolsfix.report.lines import fit_all


def patch_document(outcome: Outcome, *, diff: bool = True) -> dict[str, Any]:
    """The JSON document: ``schema_version``, ``command`` and every field of the outcome."""
    fields = dataclasses.asdict(outcome)
    if not diff:
        fields["diff"] = ""
    fields["verified"] = list(outcome.verified)
    fields["notes"] = list(outcome.notes)
    return {"schema_version": SCHEMA_VERSION, "command": "patch", **fields}


def patch_json(outcome: Outcome, *, diff: bool = True) -> str:
    return json.dumps(patch_document(outcome, diff=diff), indent=2) + "\n"


def patch_text(outcome: Outcome, *, diff: bool = True) -> str:
    """The decision line, then patch id, backup, written copy, proofs and notes; the diff of a
    dry run last (only when ``diff``: ``--check`` wants the verdict alone)."""
    o = outcome
    lines = [f"{o.action}: {o.target}: {o.reason}"]
    if o.patch_id:
        lines.append(f"  patch:   {o.patch_id}")
    if o.backup:
        lines.append(f"  backup:  {o.backup}")
    if o.written and o.written != o.target:
        lines.append(f"  written: {o.written}")
    lines.extend(f"  proven:  {v}" for v in o.verified)
    lines.extend(f"  note:    {n}" for n in o.notes)
    text = "\n".join(fit_all(lines)) + "\n"
    if diff and o.diff and o.action == "would-patch":
        text += o.diff
    return text


def render_patch(outcome: Outcome, fmt: str, *, diff: bool = True) -> str:
    """``fmt`` is ``text`` or ``json``."""
    return patch_json(outcome, diff=diff) if fmt == "json" else patch_text(outcome, diff=diff)
