"""Output of ``toolsfix fingerprint`` and ``toolsfix fingerprints``: rungs, candidates, records.

Every identification says its rung first (exact, code-identical, nearest, unknown) and, for
``nearest``, its score, so nobody mistakes "resembles" for "is"; the strongest candidates
follow, the rest are counted (JSON keeps them all).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from toolsfix.report.lines import cut, fit_all

if TYPE_CHECKING:
    from toolsfix.fpdb import Record
    from toolsfix.identify_files import Identifications
    from toolsfix.learning import LearnResult
    from toolsfix.proofdb import ProofRecord

#: Candidates listed per file in text.
MAX_CANDIDATES = 5


def identifications_text(run: Identifications) -> str:
    lines: list[str] = []
    for r in run.results:
        ident = r.identification
        score = ident.score
        shown = f" score {score:.2f}" if score is not None else ""
        lines.append(f"{r.path}: {ident.rung}{shown} ({ident.reason})")
        candidates = [
            f"    Tools {c.tools_version or '?'} build {c.build or '?'}: "
            f"{c.os_dir}/{c.module} ({c.score:.2f})"
            for c in ident.candidates
        ]
        lines.extend(cut(candidates, MAX_CANDIDATES, "candidates"))
    return "\n".join(fit_all(lines)) + ("\n" if lines else "")


def identifications_json(run: Identifications) -> str:
    return json.dumps(run.to_dict(), indent=2) + "\n"


def render_identifications(run: Identifications, fmt: str) -> str:
    """``fmt`` is ``text`` or ``json``."""
    return identifications_json(run) if fmt == "json" else identifications_text(run)


def record_line(r: Record) -> str:
    tag = " [synthetic]" if r.synthetic else ""
    return (
        f"{r.sha256[:16]}  Tools {r.tools_version or '?'} build {r.build or '?'}  "
        f"{r.os_dir}/{r.module}  {r.arch or '?'}{tag}"
    )


def records_text(records: Iterable[Record], proofs: Sequence[ProofRecord] = ()) -> str:
    """``fingerprints list``: one line per record (release, directory, module), then a count;
    then one line per configurator proof on record."""
    ordered = sorted(records, key=lambda r: (r.tools_version or "", r.os_dir, r.module))
    lines = [record_line(r) for r in ordered]
    lines.append(f"{len(ordered)} record(s)")
    for p in sorted(proofs, key=lambda p: (p.version or "", p.build or "", p.sha256)):
        verdict = "selection ran" if p.execution.ran else p.execution.reason
        compiles = "compiles" if p.compiled.compiles else "does not compile"
        lines.append(
            f"{p.sha256[:16]}  Tools {p.version or '?'} build {p.build or '?'}  configurator "
            f"proof: {verdict}, {compiles} (from {p.source})"
            + (" [synthetic]" if p.synthetic else "")
        )
    if proofs:
        lines.append(f"{len(proofs)} configurator proof(s) on record")
    return "\n".join(fit_all(lines)) + "\n"


def records_json(records: Sequence[Record]) -> str:
    """``fingerprints show``: the full records."""
    return json.dumps([r.to_dict() for r in records], indent=2) + "\n"


def learned_text(result: LearnResult) -> str:
    """``fingerprints learn``: what was recorded where (problems go to stderr, one per line)."""
    learned = result.learned
    lines = [
        f"learned {len(learned.records)} build(s) of Tools {learned.version or '?'} build "
        f"{learned.build or '?'} into {', '.join(str(w) for w in result.written)}"
    ]
    if result.proof_file is not None:
        lines.append(f"recorded the configurator's sandboxed proof into {result.proof_file}")
    elif result.proof_skipped:
        lines.append(f"configurator proof not recorded: {result.proof_skipped}")
    return "\n".join(fit_all(lines)) + "\n"
