"""The configurator service: one analysis of ``bin/vmware-config-tools.pl`` for every command.

``scan`` (a distrib's configurator) and ``verify`` (the one installed in a guest's BINDIR) ask
the same questions of the same file, so they get the same answers from here, serialised in one
place (:meth:`ConfiguratorFacts.to_dict`):

* **What does the file select?** The static model (:mod:`toolsfix.installer`) reads the code;
  the sandboxed execution (:mod:`toolsfix.perl`) runs the file's own subs. When both exist
  and disagree, *execution wins*: the verdict and ``driver_dirs`` come from what the code did
  (``driver_dirs_source: "execution"``), TF107 says they disagree, and no claim the execution
  contradicts is made (a ``$currentMinor = 11`` override after the cap is not reported as the
  bug just because the model reads the first assignment).
* **Will it run at all?** The whole file is compiled in the sandbox (none of its code runs):
  a configurator perl rejects makes the installer fail (TF111, medium).
* **Does the Solaris selection matter?** :func:`applies_to_solaris` is the one product rule
  that scan, verify, patch and remedy share: a Linux distrib ships the Solaris function but
  never runs it.

The file is lexed once and the lines shared between the model and the sandbox, and the proof
can start as soon as the configurator's bytes are known (:func:`start_proof`), in a worker
thread that lexes the file and then only waits on perl, so it overlaps the rest of a
tarball's stream.

The facts themselves live in :mod:`toolsfix.configurator_facts`, their findings in
:mod:`toolsfix.configurator_findings`; both are re-exported here.
"""

from __future__ import annotations

import contextlib
import hashlib
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional

from toolsfix import installer
from toolsfix.background import Background
from toolsfix.configurator_facts import NON_SOLARIS_PRODUCTS as NON_SOLARIS_PRODUCTS
from toolsfix.configurator_facts import ConfiguratorFacts as ConfiguratorFacts
from toolsfix.configurator_facts import Dirs as Dirs
from toolsfix.configurator_facts import GuestSelection as GuestSelection
from toolsfix.configurator_facts import SolarisApplicability as SolarisApplicability
from toolsfix.configurator_facts import applies_to_solaris as applies_to_solaris
from toolsfix.configurator_facts import modules_of as modules_of
from toolsfix.installer import Analysis
from toolsfix.knowledge import CONFIGURED_MODULES, GUESTS, Guest
from toolsfix.perl import CompileCheck, Execution, compile_check, execute
from toolsfix.perltext import Line, lex
from toolsfix.proofdb import (
    ProofRecord,
    ProofTable,
    identities,
    is_synthetic,
    load_all,
)

if TYPE_CHECKING:
    from toolsfix.configurator_findings import GuestAnswer as GuestAnswer
    from toolsfix.configurator_findings import GuestTarget as GuestTarget
    from toolsfix.configurator_findings import findings as findings
    from toolsfix.configurator_findings import guest_answer as guest_answer

_FINDINGS_NAMES = frozenset({"GuestAnswer", "GuestTarget", "findings", "guest_answer"})


def __getattr__(name: str) -> Any:
    """The findings side (:mod:`toolsfix.configurator_findings` and the check modules it
    pulls in), re-exported but loaded on first use: ``verify`` starts the sandboxed proof
    before it needs them, so they load while perl runs instead of delaying its start."""
    if name in _FINDINGS_NAMES:
        from toolsfix import configurator_findings  # lazy: see the docstring

        value = getattr(configurator_findings, name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


#: The name the ``scan --guest`` guest is simulated under (never a contract release name).
TARGET_GUEST = "target-guest"
#: Configurators smaller than this run the execution and the compile check as two perl
#: processes at once; bigger ones one after the other. Measured on two busy cores: a 10 KB
#: file's proof took 0.20 s in parallel vs 0.24 s in turn (perl start-up dominates), a real-size
#: 500 KB one 0.81 s vs 0.66 s (two compiles fight the stream and each other for the cores).
#: Behind a 63 MB tarball's stream both finish before the stream does.
PARALLEL_PROOF_BELOW = 64 * 1024


# --------------------------------------------------------------------------------------------
# The sandboxed proof, in the background


@dataclass(frozen=True)
class ConfiguratorOptions:
    """``execute``: run the sandboxed proof (execution and compile check; ``--no-exec`` turns
    both off, since both need perl). ``perl_timeout`` bounds each perl run."""

    execute: bool = True
    perl_timeout: float = 20.0
    compile_check: bool = True
    #: Take the proof from a record of these exact bytes when there is one
    #: (:mod:`toolsfix.proofdb`; ``--reprove`` turns it off; learning never uses one).
    use_records: bool = True
    #: Database directories whose proofs count besides the shipped and the user's (``--db``).
    extra_record_dirs: tuple[Path, ...] = ()
    #: Name a file that claims a release on record but is not its copy (TF112). Off for an
    #: installed configurator: the tar installer copies ``bin/`` through its ``internal_sed``
    #: with a substitution map, so an installed copy may differ from the distrib's untouched.
    name_modified: bool = True

    def proof_table(self) -> ProofTable:
        """The proofs on record this run may use and compare against."""
        if not self.use_records:
            return ProofTable()
        return load_all(self.extra_record_dirs)


@dataclass(frozen=True)
class Proof:
    """What the sandbox established; None for a part that was not asked for."""

    execution: Optional[Execution]
    compiled: Optional[CompileCheck]
    #: The record the answer was taken from, None when perl ran (or nothing did).
    record: Optional[ProofRecord] = None


class PendingProof:
    """The sandboxed proof of one configurator, running while the caller does other work.

    One worker thread lexes the text (the lines are shared with the model: :attr:`lines`),
    analyses it as ``path`` when given one (:meth:`analysis`), then runs the execution and the
    compile check, each a perl process it only waits on. Lexing and analysing there, not in
    the caller, uses the time the caller's thread spends waiting on the decompressor instead
    of adding to what follows the stream. :meth:`result` waits for the proof; :meth:`cancel`
    kills its perl processes and waits for the worker, so nothing outlives a scan that failed
    meanwhile.
    """

    def __init__(
        self,
        data: bytes,
        options: ConfiguratorOptions,
        guests: Sequence[Guest] = GUESTS,
        path: Optional[str] = None,
    ) -> None:
        self.data = data
        self.text = installer.decode(data)
        self.guests = tuple(guests)
        self._options = options
        self._path = path
        self._cancel = threading.Event()
        self._lexed = threading.Event()  # set once lines (and the analysis, with a path) exist
        self._lines: Optional[list[Line]] = None
        self._analysis: Optional[Analysis] = None
        #: The proofs on record (read by the worker; empty until it has).
        self.table = ProofTable()
        self._task = Background(self._run, "toolsfix-proof")

    @property
    def lines(self) -> list[Line]:
        """``lex(text)``, waiting for the worker to have made it."""
        self._lexed.wait()
        if self._lines is None:
            self._task.get()  # raises what stopped the worker
            raise RuntimeError("the proof worker ended without lexing")  # pragma: no cover
        return self._lines

    def analysis(self, path: str) -> Analysis:
        """The model's analysis of the text as ``path``: the worker's when it was started for
        that path (made while the caller was still reading), else made here."""
        if path == self._path:
            self._lexed.wait()
            if self._analysis is not None:
                return self._analysis
            self._task.get()  # raises what stopped the worker
        return installer.analyse_text(self.text, path=path, data=self.data, lines=self.lines)

    def _run(self) -> Proof:
        try:
            self._lines = lex(self.text)
            if self._path is not None:
                self._analysis = installer.analyse_text(
                    self.text, path=self._path, data=self.data, lines=self._lines
                )
        finally:
            self._lexed.set()
        lines = self._lines
        options = self._options
        self.table = options.proof_table()
        if not options.execute:
            return Proof(None, None)
        sha = hashlib.sha256(self.data).hexdigest()
        record = self.table.proof_for(sha, self.guests, identities)
        if record is not None:
            return Proof(record.execution, record.compiled if options.compile_check else None,
                         record)  # fmt: skip
        timeout = options.perl_timeout

        def run_compile() -> CompileCheck:
            return compile_check(self.text, timeout=timeout, lines=lines, cancel=self._cancel)

        beside = (
            Background(run_compile, "toolsfix-compile")
            if options.compile_check and len(self.data) < PARALLEL_PROOF_BELOW
            else None
        )
        rule = applies_to_solaris(installer.find_product(lines))
        if rule.applies:
            execution = execute(
                self.text,
                guests=self.guests,
                modules=CONFIGURED_MODULES,
                timeout=timeout,
                lines=lines,
                cancel=self._cancel,
            )
        else:  # the selection never runs for this product: only the compile check matters
            execution = Execution(False, f"not run: {rule.reason}")
        if beside is not None:
            compiled: Optional[CompileCheck] = beside.get()
        else:
            compiled = run_compile() if options.compile_check else None
        return Proof(execution, compiled)

    def result(self) -> Proof:
        """Wait for the proof (each perl run is bounded by the timeout)."""
        return self._task.get()

    def cancel(self) -> None:
        """Stop the perl runs at once and wait for the worker (idempotent)."""
        self._cancel.set()
        with contextlib.suppress(Exception):  # a cancelled proof has no result worth raising
            self._task.get()


def start_proof(
    data: bytes,
    options: ConfiguratorOptions,
    *,
    guests: Sequence[Guest] = GUESTS,
    path: Optional[str] = None,
) -> PendingProof:
    """Start lexing (and, given the ``path`` it will be reported as, analysing) and proving
    ``data`` in a worker thread; returns at once."""
    return PendingProof(data, options, guests, path)


def analyse(
    data: bytes,
    path: str,
    options: ConfiguratorOptions = ConfiguratorOptions(),
    *,
    proof: Optional[PendingProof] = None,
    guests: Sequence[Guest] = GUESTS,
) -> ConfiguratorFacts:
    """Analyse a configurator and prove the model; ``proof`` is one already started for these
    bytes (:func:`start_proof`), else one is started here. Never raises on odd input."""
    if proof is not None and proof.data is not data and proof.data != data:
        proof.cancel()
        proof = None
    if proof is None:
        proof = PendingProof(data, options, guests)
    try:
        analysis = proof.analysis(path)
        result = proof.result()
    except BaseException:
        proof.cancel()
        raise
    return ConfiguratorFacts(
        analysis=analysis,
        execution=result.execution,
        compiled=result.compiled,
        modules=modules_of(analysis),
        text=proof.text,
        guests=proof.guests,
        record=result.record,
        differs_from=(
            proof.table.same_release(analysis.version, analysis.build, analysis.sha256)
            if options.name_modified
            else ()
        ),
    )


def proof_record(facts: ConfiguratorFacts, source: str) -> tuple[Optional[ProofRecord], str]:
    """The record of a proof the sandbox just made (``fingerprints learn``), or None and why
    it is not worth keeping. Only a complete answer is kept: both perl runs finished
    (a timeout or a killed sandbox says nothing about the file) for the guests of the
    contract, and the selection ran -- or was never meant to, for a Linux product."""
    ex, compiled = facts.execution, facts.compiled
    harness, perl = identities()
    if facts.record is not None:
        return None, "the proof was itself taken from a record"
    if harness is None:
        return None, "the sandbox sources are not installed, so no proof can be matched later"
    if perl is None:
        return None, "no perl to prove it with (set TOOLSFIX_PERL)"
    if ex is None or compiled is None:
        return None, "the proof did not run"
    if compiled.compiles is None or compiled.reason:
        return None, f"the compile check did not finish ({compiled.reason or 'no perl'})"
    if not ex.ran and applies_to_solaris(facts.analysis.product).applies:
        return None, f"the selection did not run ({ex.reason})"
    if tuple(facts.guests) != GUESTS:
        return None, "only proofs for the contract's guests are recorded"
    a = facts.analysis
    record = ProofRecord(
        sha256=a.sha256,
        size=a.size,
        version=a.version,
        build=a.build,
        product=a.product,
        harness=harness,
        perl=perl,
        guests=GUESTS,
        execution=ex,
        compiled=compiled,
        source=source,
        synthetic=is_synthetic(facts.text),
    )
    return record, ""


__all__ = [
    "NON_SOLARIS_PRODUCTS",
    "TARGET_GUEST",
    "ConfiguratorFacts",
    "ConfiguratorOptions",
    "GuestAnswer",
    "GuestSelection",
    "GuestTarget",
    "PendingProof",
    "Proof",
    "SolarisApplicability",
    "analyse",
    "applies_to_solaris",
    "findings",
    "guest_answer",
    "modules_of",
    "proof_record",
    "start_proof",
]
