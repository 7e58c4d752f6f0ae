"""What one configurator analysis established, and the product rule every command shares.

:class:`ConfiguratorFacts` holds the static model, the sandboxed execution and the compile
check of one file and decides between them (execution wins when both exist), so ``scan``
and ``verify`` serialise the same answers; :func:`applies_to_solaris` says whether the
Solaris selection matters for a distrib at all. Producing these facts, with the proof in a
worker thread, is :mod:`toolsfix.configurator`; turning them into findings is
:mod:`toolsfix.configurator_findings`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Optional

from toolsfix import installer
from toolsfix.installer import Analysis, DirPair
from toolsfix.knowledge import CONFIGURED_MODULES, GUESTS, Guest
from toolsfix.perl import CompileCheck, Execution
from toolsfix.proofdb import ProofRecord

Dirs = dict[str, Optional[dict[str, Optional[DirPair]]]]

#: Products whose distrib never runs ``configure_module_solaris``.
NON_SOLARIS_PRODUCTS: Mapping[str, str] = {
    "tools-for-linux": "Linux",
    "tools-for-freebsd": "FreeBSD",
}


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
    #: The proof on record the execution and compile check were taken from (None: perl ran).
    record: Optional[ProofRecord] = None
    #: Copies on record of the release this file claims, none with its bytes: it was modified.
    differs_from: tuple[ProofRecord, ...] = ()

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

    # ---- the proofs on record

    def _on_record(self) -> Optional[dict[str, Any]]:
        """What the proofs on record say of this file: ``known`` (its proof was taken from a
        record), ``modified`` (its release is on record, its bytes are not), else None."""
        r = self.record or (self.differs_from[0] if self.differs_from else None)
        if r is None:
            return None
        out: dict[str, Any] = {
            "state": "known" if r is self.record else "modified",
            "file": r.file,
            "source": r.source,
            "synthetic": r.synthetic,
        }
        if r is not self.record:
            out["differs_from"] = sorted({d.sha256 for d in self.differs_from})
        return out

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
                "source": "sandbox" if self.record is None else "record",
            }
        out["on_record"] = self._on_record()
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
