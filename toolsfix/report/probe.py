"""``toolsfix probe jumbo`` output: the verdict with the command that proves it, text or JSON."""

from __future__ import annotations

import json

from toolsfix.probe import JumboRun
from toolsfix.report.lines import cut, fit_all

#: Path-MTU probes listed in text (JSON has them all).
MAX_PROBES = 8


def probe_text(run: JumboRun) -> str:
    p = run.probe
    lines = [
        f"{p.host}: {p.verdict} (mtu {p.mtu}, payload {p.payload})"
        + (f" $ {p.command_line}" if p.command_line else "")
    ]
    lines.extend(f"  note: {note}" for note in p.notes)
    if run.path_mtu is not None:
        s = run.path_mtu
        found = "none passed" if s.path_mtu is None else str(s.path_mtu)
        exact = "" if s.path_mtu is None or s.exact else " (at least; not pinned down)"
        lines.append(f"  path mtu: {found}{exact}, searched {s.low}-{s.high}")
        probes = [f"    tried {r.mtu}: {r.verdict}" for r in s.probes]
        lines.extend(cut(probes, MAX_PROBES, "probes"))
        lines.extend(f"  note: {note}" for note in s.notes)
    return "\n".join(fit_all(lines)) + "\n"


def probe_json(run: JumboRun) -> str:
    return json.dumps(run.to_dict(), indent=2) + "\n"


def render_probe(run: JumboRun, fmt: str) -> str:
    """``fmt`` is ``text`` or ``json``."""
    return probe_json(run) if fmt == "json" else probe_text(run)
