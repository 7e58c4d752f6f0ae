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
"""

from __future__ import annotations

import contextlib
import dataclasses
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, Optional, TypeVar, cast

from toolsfix import installer
from toolsfix.checks import configurator as checks
from toolsfix.checks import selection
from toolsfix.checks.selection import SOLARIS_SELECTION_CHECKS, GuestView
from toolsfix.distrib import Inventory
from toolsfix.findings import Evidence, Finding, Outcome, Skipped
from toolsfix.installer import Analysis, DirPair
from toolsfix.knowledge import CONFIGURED_MODULES, GUESTS, Guest, expected_family
from toolsfix.perl import CompileCheck, Execution, compile_check, execute
from toolsfix.perltext import Line, lex

T = TypeVar("T")
Dirs = dict[str, Optional[dict[str, Optional[DirPair]]]]

#: Products whose distrib never runs ``configure_module_solaris``.
NON_SOLARIS_PRODUCTS: Mapping[str, str] = {
    "tools-for-linux": "Linux",
    "tools-for-freebsd": "FreeBSD",
}
#: The name the ``scan --guest`` guest is simulated under (never a contract release name).
TARGET_GUEST = "target-guest"
#: Configurators smaller than this run the execution and the compile check as two perl
#: processes at once; bigger ones one after the other. Measured on two busy cores: a 10 KB
#: file's proof took 0.20 s in parallel vs 0.24 s in turn (perl start-up dominates), a real-size
#: 500 KB one 0.81 s vs 0.66 s (two compiles fight the stream and each other for the cores).
#: Behind a 63 MB tarball's stream both finish before the stream does.
PARALLEL_PROOF_BELOW = 64 * 1024


# --------------------------------------------------------------------------------------------
# The product rule


@dataclass(frozen=True)
class SolarisApplicability:
    """Whether the Solaris driver selection matters for a distrib, and why (one line)."""

    applies: bool
    reason: str


def applies_to_solaris(
    product: Optional[str], layout: Optional[str] = None
) -> SolarisApplicability:
    """The one product rule: does ``configure_module_solaris`` ever run for this distrib?

    ``product`` is what ``vmware_product()`` returns (:attr:`Analysis.product`), ``layout``
    the distrib's driver layout (:meth:`Inventory.layout`: ``solaris``, ``linux``, ``none``;
    None for a lone configurator). Either one saying Linux (or FreeBSD) is enough: every
    configurator carries the Solaris function, but only the Solaris installer calls it, and
    a distrib whose builds are all Linux kernel objects has nothing for it to copy.
    """
    name = NON_SOLARIS_PRODUCTS.get(product or "")
    if name is not None:
        return SolarisApplicability(
            False,
            f"{name} distrib: vmware_product() returns {product}; "
            "configure_module_solaris never runs there",
        )
    if layout == "linux":
        return SolarisApplicability(
            False,
            "Linux distrib: lib/modules/binary holds only Linux kernel-build objects; "
            "configure_module_solaris never runs there",
        )
    what = product or "no vmware_product() result"
    return SolarisApplicability(True, f"Solaris distrib ({what}, layout {layout or 'n/a'})")


# --------------------------------------------------------------------------------------------
# The sandboxed proof, in the background


@dataclass(frozen=True)
class ConfiguratorOptions:
    """``execute``: run the sandboxed proof (execution and compile check; ``--no-exec`` turns
    both off, since both need perl). ``perl_timeout`` bounds each perl run."""

    execute: bool = True
    perl_timeout: float = 20.0
    compile_check: bool = True


@dataclass(frozen=True)
class Proof:
    """What the sandbox established; None for a part that was not asked for."""

    execution: Optional[Execution]
    compiled: Optional[CompileCheck]


class _Task(Generic[T]):
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


class PendingProof:
    """The sandboxed proof of one configurator, running while the caller does other work.

    One worker thread lexes the text (the lines are shared with the model: :attr:`lines`),
    then runs the execution and the compile check, each a perl process it only waits on.
    Lexing there, not in the caller, lets it use the time the caller's thread spends waiting
    on the decompressor. :meth:`result` waits for the proof; :meth:`cancel` kills its perl
    processes and waits for the worker, so nothing outlives a scan that failed meanwhile.
    """

    def __init__(
        self,
        data: bytes,
        options: ConfiguratorOptions,
        guests: Sequence[Guest] = GUESTS,
    ) -> None:
        self.data = data
        self.text = installer.decode(data)
        self.guests = tuple(guests)
        self._options = options
        self._cancel = threading.Event()
        self._lexed = threading.Event()
        self._lines: Optional[list[Line]] = None
        self._task = _Task(self._run, "toolsfix-proof")

    @property
    def lines(self) -> list[Line]:
        """``lex(text)``, waiting for the worker to have made it."""
        self._lexed.wait()
        if self._lines is None:
            self._task.get()  # raises what stopped the worker
            raise RuntimeError("the proof worker ended without lexing")  # pragma: no cover
        return self._lines

    def _run(self) -> Proof:
        try:
            self._lines = lex(self.text)
        finally:
            self._lexed.set()
        lines = self._lines
        options = self._options
        if not options.execute:
            return Proof(None, None)
        timeout = options.perl_timeout

        def run_compile() -> CompileCheck:
            return compile_check(self.text, timeout=timeout, lines=lines, cancel=self._cancel)

        beside = (
            _Task(run_compile, "toolsfix-compile")
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
    data: bytes, options: ConfiguratorOptions, *, guests: Sequence[Guest] = GUESTS
) -> PendingProof:
    """Start lexing and proving ``data`` in a worker thread; returns at once."""
    return PendingProof(data, options, guests)


# --------------------------------------------------------------------------------------------
# The facts


def modules_of(a: Analysis) -> tuple[str, ...]:
    """Modules the configurator configures on Solaris (vmci is dead code there)."""
    found = tuple(r.module for r in a.rules if r.module in CONFIGURED_MODULES)
    return found or CONFIGURED_MODULES


def _json_dirs(dirs: Mapping[str, Optional[Mapping[str, Optional[DirPair]]]]) -> dict[str, Any]:
    return {
        g: None if m is None else {k: list(v) if v else None for k, v in m.items()}
        for g, m in dirs.items()
    }


@dataclass(frozen=True)
class GuestSelection:
    """What one guest gets: ``known`` is False when neither model nor execution can say;
    ``dirs`` is None when nothing is copied; ``source`` is ``model`` or ``execution``."""

    known: bool
    dirs: Optional[dict[str, Optional[DirPair]]]
    source: Optional[str]


@dataclass(frozen=True)
class ConfiguratorFacts:
    """Everything established about one configurator: the model as read, the proof, and the
    verdict that results (execution wins where the two disagree)."""

    analysis: Analysis
    execution: Optional[Execution]
    compiled: Optional[CompileCheck]
    modules: tuple[str, ...]
    text: str = field(repr=False, compare=False)
    guests: tuple[Guest, ...] = GUESTS

    # ---- model vs execution

    @property
    def executed(self) -> bool:
        return self.execution is not None and self.execution.ran

    def model_dirs(self) -> Dirs:
        """The model's prediction for the contract releases, limited to :attr:`modules`."""
        if not self.analysis.driver_dirs:
            return {}
        return {
            g: None if m is None else {k: v for k, v in m.items() if k in self.modules}
            for g, m in self.analysis.driver_dirs.items()
        }

    def executed_dirs(self) -> Dirs:
        """What the file's own code copied for the contract releases ({} if it did not run)."""
        if self.execution is None or not self.execution.ran:
            return {}
        return self.execution.driver_dirs(self.modules, GUESTS)

    @property
    def agrees_with_model(self) -> Optional[bool]:
        """None when there is nothing to compare (no model, or no execution)."""
        if not self.executed or not self.analysis.driver_dirs:
            return None
        return self.model_dirs() == self.executed_dirs()

    @property
    def dirs_source(self) -> Optional[str]:
        """``model``, ``execution`` (no model, or the model is contradicted) or None."""
        if self.analysis.driver_dirs and self.agrees_with_model is not False:
            return "model"
        return "execution" if self.executed else None

    @property
    def dirs(self) -> Dirs:
        """The selection the report states, per contract release."""
        source = self.dirs_source
        if source == "model":
            return {g: None if m is None else dict(m) for g, m in self.analysis.driver_dirs.items()}
        return self.executed_dirs() if source == "execution" else {}

    def _nic_contradicted(self) -> bool:
        """Does the execution contradict the model about the NIC driver (what the state is
        about)? Disagreement on other modules leaves the state standing, with TF107."""
        model, executed = self.model_dirs(), self.executed_dirs()
        for guest in GUESTS:
            m, x = model.get(guest.name), executed.get(guest.name)
            if (m or {}).get("vmxnet3s") != (x or {}).get("vmxnet3s"):
                return True
        return False

    @property
    def selection_bug(self) -> str:
        """The state the report states: the model's, unless the execution contradicts it."""
        if self.agrees_with_model is False and self._nic_contradicted():
            return installer.UNKNOWN
        return self.analysis.selection_bug

    @property
    def reason(self) -> str:
        a = self.analysis
        if self.selection_bug == a.selection_bug:
            return a.reason
        got = self.executed_dirs().get("solaris-11.1") or {}
        pair = got.get("vmxnet3s")
        picks = f"{pair[0]}/{pair[1]}" if pair else "nothing"
        model = (self.model_dirs().get("solaris-11.1") or {}).get("vmxnet3s")
        predicted = f"{model[0]}/{model[1]}" if model else "nothing"
        return (
            f"the file's own code, run sandboxed, picks {picks} for vmxnet3s on Solaris 11.1 "
            f"where the model ({a.selection_bug}: {a.reason}) predicts {predicted}; "
            "the model does not describe this file"
        )

    @property
    def effective(self) -> Analysis:
        """The analysis with the stated verdict: what the selection checks judge."""
        if self.selection_bug == self.analysis.selection_bug and self.dirs_source != "execution":
            return self.analysis
        return dataclasses.replace(
            self.analysis,
            selection_bug=self.selection_bug,
            reason=self.reason,
            driver_dirs=self.dirs,
        )

    def selection_for(self, guest: Guest) -> GuestSelection:
        """What the file's code copies on any guest (not only the contract's releases).

        Execution wins: a guest simulated in the sandbox (``guests`` of the proof) gets what
        the code did there. Otherwise the model predicts it -- unless the execution
        contradicted the model elsewhere, in which case the model is not trusted here either.
        """
        ex = self.execution
        if ex is not None and ex.ran and any(g.name == guest.name for g in self.guests):
            per = {m: ex.module_dirs(guest.name, m) for m in self.modules}
            nothing = all(v is None for v in per.values())
            return GuestSelection(True, None if nothing else per, "execution")
        if self.agrees_with_model is False or not self.analysis.has_model:
            return GuestSelection(False, None, None)
        got = self.analysis.predict_for(guest)
        if got is None:
            return GuestSelection(True, None, "model")
        return GuestSelection(True, {m: p for m, p in got.items() if m in self.modules}, "model")

    # ---- serialisation: the one place the configurator's JSON is made

    def to_dict(self, applicability: Optional[SolarisApplicability] = None) -> dict[str, Any]:
        out: dict[str, Any] = self.analysis.to_dict()
        out["selection_bug"] = self.selection_bug
        out["reason"] = self.reason
        out["selection_source"] = (
            "execution" if self.selection_bug != self.analysis.selection_bug else "model"
        )
        out["model"] = {
            "selection_bug": self.analysis.selection_bug,
            "reason": self.analysis.reason,
        }
        out["driver_dirs"] = _json_dirs(self.dirs)
        out["driver_dirs_source"] = self.dirs_source
        rule = (
            applicability
            if applicability is not None
            else applies_to_solaris(self.analysis.product)
        )
        out["applies_to_solaris"] = rule.applies
        out["applicability_reason"] = rule.reason
        ex = self.execution
        if ex is None:
            out["execution"] = {"ran": False, "reason": "disabled"}
        else:
            out["execution"] = {
                "ran": ex.ran,
                "reason": ex.reason or None,
                "agrees_with_model": self.agrees_with_model,
                "stubbed_helpers": [n for n, _ in ex.stubbed],
                "repaired_comments": ex.repaired_comments,
            }
        c = self.compiled
        out["compile"] = (
            {"checked": False, "compiles": None, "reason": "disabled"}
            if c is None
            else {
                "checked": c.compiles is not None and not c.reason,
                "compiles": c.compiles if not c.reason else None,
                "error": c.error or None,
                "line": c.line,
                "reason": c.reason or None,
            }
        )
        return out


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
        analysis = installer.analyse_text(proof.text, path=path, data=data, lines=proof.lines)
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
    )


# --------------------------------------------------------------------------------------------
# Findings


@dataclass(frozen=True)
class GuestTarget:
    """The one guest ``scan --guest`` asks about, as the configurator would see it.

    ``guest`` is None when the guest is not SunOS 5.x (``os_kind`` says what it is), or when
    its release is too old or unknown to be simulated meaningfully; ``why`` then says so.
    """

    origin: str
    label: str
    guest: Optional[Guest]
    os_kind: Optional[str]
    evidence: tuple[Evidence, ...] = ()
    kernel_bits: Optional[int] = None
    why: str = ""

    @property
    def needs(self) -> Optional[str]:
        """The build family this guest needs (None: the configurator copies nothing)."""
        if self.guest is None:
            return None
        return expected_family(self.guest.uname_r, self.guest.uname_v)


@dataclass(frozen=True)
class GuestAnswer:
    """What this distrib will install on the target guest, and whether to patch."""

    target: GuestTarget
    known: bool
    dirs: Optional[dict[str, Optional[DirPair]]]
    source: Optional[str]
    wrong: Mapping[str, DirPair]
    patch: str  # needed | not-needed | not-applicable | cannot-help | review | unknown
    advice: str

    def summary(self) -> str:
        """One line for the text report's notes."""
        t = self.target
        if not self.known or self.dirs is None:
            got = "nothing" if self.known else "unknown"
        else:
            pair = self.dirs.get("vmxnet3s")
            got = f"vmxnet3s from {pair[0]}/{pair[1]}" if pair else "no vmxnet3s"
        needs = f" (needs {t.needs})" if t.needs else ""
        return f"on {t.label} ({t.origin}): {got}{needs}; patch {self.patch}: {self.advice}"

    def to_dict(self) -> dict[str, Any]:
        t = self.target
        return {
            "origin": t.origin,
            "label": t.label,
            "os_kind": t.os_kind,
            "uname_r": t.guest.uname_r if t.guest else None,
            "uname_v": t.guest.uname_v if t.guest else None,
            "release": t.guest.release if t.guest else None,
            "kernel_bits": t.kernel_bits,
            "expected_build_dir": t.needs,
            "evidence": [e.to_dict() for e in t.evidence],
            "driver_dirs": (
                None
                if self.dirs is None
                else {m: list(p) if p else None for m, p in self.dirs.items()}
            ),
            "known": self.known,
            "driver_dirs_source": self.source,
            "wrong_builds": {m: list(p) for m, p in sorted(self.wrong.items())},
            "patch": self.patch,
            "advice": self.advice,
        }


def guest_answer(
    facts: ConfiguratorFacts,
    target: GuestTarget,
    inv: Optional[Inventory] = None,
    applicability: Optional[SolarisApplicability] = None,
) -> GuestAnswer:
    """What ``facts``' configurator installs on ``target`` and whether a patch would help."""
    rule = (
        applicability if applicability is not None else applies_to_solaris(facts.analysis.product)
    )
    if not rule.applies:
        return GuestAnswer(target, False, None, None, {}, "not-applicable", rule.reason)
    if target.guest is None or target.needs is None:
        why = target.why or f"the configurator copies nothing on {target.label}"
        return GuestAnswer(target, True, None, None, {}, "not-applicable", why)
    sel = facts.selection_for(target.guest)
    known, dirs, source = sel.known, sel.dirs, sel.source
    view = GuestView(target.label, target.needs, known, dirs)
    wrong = selection.wrong_builds(view)
    state = facts.selection_bug
    if not known:
        return GuestAnswer(
            target,
            False,
            None,
            None,
            {},
            "unknown",
            "the selection logic was not understood and not proven by execution; "
            "review configure_module_solaris by hand",
        )
    if not wrong:
        return GuestAnswer(
            target, True, dirs, source, {}, "not-needed", "the guest gets the right builds"
        )
    builds = inv.solaris_builds() if inv is not None and inv.layout() == "solaris" else None
    if builds is not None and not any(d in (target.needs, f"{target.needs}_64") for d, _ in builds):
        return GuestAnswer(
            target,
            True,
            dirs,
            source,
            wrong,
            "cannot-help",
            f"the distrib ships no {target.needs} builds; use a release that does",
        )
    if state in (installer.PRESENT, installer.HAND_PATCHED):
        return GuestAnswer(
            target,
            True,
            dirs,
            source,
            wrong,
            "needed",
            "`toolsfix patch` sets $currentMinor to 11 (VMware's fix), then install",
        )
    return GuestAnswer(
        target,
        True,
        dirs,
        source,
        wrong,
        "review",
        f"the selection is {state}: no known patch applies; review configure_module_solaris",
    )


def findings(
    facts: ConfiguratorFacts,
    target: str,
    inv: Optional[Inventory] = None,
    commands: Sequence[str] = (),
    *,
    applicability: Optional[SolarisApplicability] = None,
    guest: Optional[GuestTarget] = None,
) -> tuple[list[Finding], list[Skipped]]:
    """The configurator's findings and skipped checks, for ``target`` (what remedies name).

    ``inv`` adds the distrib cross-checks (builds shipped vs copied, versions); ``commands``
    are the remedy commands for a fixable state (verify knows them for an installed guest);
    ``applicability`` (default: from the product alone) turns the Solaris selection checks
    into ``not-applicable``; ``guest`` scopes the release-specific checks to that one guest.
    """
    eff = facts.effective
    found = checks.selection_findings(eff, facts.text, target, commands)
    ex_found, skipped = checks.execution_findings(facts.analysis, facts.execution, facts.modules)
    found.extend(ex_found)
    compile_found, compile_skipped = selection.compile_findings(
        facts.analysis, facts.compiled, facts.text, target
    )
    found.extend(compile_found)
    skipped.extend(compile_skipped)
    if inv is not None:
        found.extend(checks.crosscheck_findings(eff, inv, facts.dirs, target))
        found.extend(checks.consistency_findings(facts.analysis, inv))
    rule = (
        applicability if applicability is not None else applies_to_solaris(facts.analysis.product)
    )
    if not rule.applies:
        return _give_way(found, skipped, [
            Skipped(c, rule.reason, Outcome.NOT_APPLICABLE) for c in SOLARIS_SELECTION_CHECKS
        ])  # fmt: skip
    if guest is not None:
        sel = (
            facts.selection_for(guest.guest)
            if guest.guest is not None
            else GuestSelection(True, None, None)
        )
        view = GuestView(guest.label, guest.needs, sel.known, sel.dirs, guest.evidence, guest.why)
        g_found, g_skipped = selection.guest_findings(eff, view, inv, target)
        found = [f for f in found if f.id not in selection.RELEASE_SCOPED_CHECKS]
        found, skipped = _give_way(found, skipped, g_skipped)
        found.extend(g_found)
    return found, skipped


def _give_way(
    found: list[Finding], skipped: list[Skipped], instead: Sequence[Skipped]
) -> tuple[list[Finding], list[Skipped]]:
    """Replace the findings and skipped entries of the checks ``instead`` names by it."""
    ids = {s.check for s in instead}
    kept = [f for f in found if f.id not in ids]
    rest = [s for s in skipped if s.check not in ids]
    seen: set[str] = set()
    for s in instead:
        if s.check not in seen:
            rest.append(s)
            seen.add(s.check)
    return kept, rest


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
    "start_proof",
]
