"""``toolsfix fingerprints learn``: record what a distrib you own is, for later runs to know.

One pass over the distrib records two kinds of knowledge in a database directory:

* the fingerprint of every driver build (:func:`toolsfix.fpdb.learn_source`), so that
  ``verify`` and ``fingerprint`` name an installed driver's release by its hash;
* the sandboxed proof of its configurator (:mod:`toolsfix.proofdb`), started the moment the
  configurator member is read so perl runs while the drivers stream past, so that ``scan``
  and ``verify`` answer for those exact bytes without starting perl, and ``scan`` names a
  distrib's configurator that claims that release but whose bytes differ as modified (TF112).

Learning always proves anew (no record is used to make a record), and keeps only a complete
proof: a timed-out or killed sandbox, or a missing perl, leaves the proof unrecorded and says
why, while the fingerprints are still saved.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from toolsfix import configurator
from toolsfix.datadirs import user_db_dir
from toolsfix.distrib import CONFIGURATOR, open_source
from toolsfix.errors import ExitCode, ToolsfixError
from toolsfix.fpdb import Learned, learn_source, save_records
from toolsfix.proofdb import save_proof

__all__ = ["LearnResult", "learn"]


@dataclass(frozen=True)
class LearnResult:
    """What one ``learn`` recorded: the fingerprints (and the files written), and the file the
    configurator's proof went to (``proof_file``), or why it was not recorded
    (``proof_skipped``)."""

    learned: Learned
    written: tuple[Path, ...]
    proof_file: Optional[Path]
    proof_skipped: str


def learn(
    path: Path,
    db_dir: Optional[Path] = None,
    *,
    prove: bool = True,
    perl_timeout: float = 20.0,
) -> LearnResult:
    """Learn the distrib at ``path`` into ``db_dir`` (default: the user database).

    Raises :class:`ToolsfixError` (exit 3) when the distrib has no driver builds: a
    configurator alone is not a distrib worth recording.
    """
    target = db_dir or user_db_dir()
    options = configurator.ConfiguratorOptions(perl_timeout=perl_timeout, use_records=False)
    data: Optional[bytes] = None
    pending: Optional[configurator.PendingProof] = None

    def on_configurator(member: bytes) -> None:
        nonlocal data, pending
        if pending is not None:  # a second copy of the member: the last one counts
            pending.cancel()
        data = member
        pending = configurator.start_proof(member, options, path=CONFIGURATOR) if prove else None

    try:
        learned = learn_source(open_source(path), source=path.name, on_configurator=on_configurator)
        if not learned.records:
            raise ToolsfixError(
                f"{path}: no driver builds found under lib/modules/binary", ExitCode.INPUT
            )
        proof, skipped = None, "the proof was not asked for (--no-proof)"
        if data is None:
            skipped = f"no {CONFIGURATOR} in the distrib"
        elif pending is not None:
            facts = configurator.analyse(data, CONFIGURATOR, options, proof=pending)
            proof, skipped = configurator.proof_record(facts, path.name)
    finally:
        if pending is not None:
            pending.cancel()  # a no-op once the proof was used; stops it on any error
    written = tuple(save_records(target, learned.records))
    proof_file = save_proof(target, proof) if proof is not None else None
    return LearnResult(learned, written, proof_file, skipped)
