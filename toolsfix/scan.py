"""``toolsfix scan``: will this distrib install the right driver build on every Solaris release?

Assembles the pipeline source -> inventory -> configurator service (model, sandboxed proof,
compile check) -> checks -> report. Read-only by construction: nothing here opens a file for
writing.

The proof overlaps the stream: the configurator is an early member of a Tools tarball, so the
moment its bytes are read it is lexed and its sandboxed proof starts in worker threads (which
only wait on perl), while the rest of the archive -- tens of megabytes of driver objects --
is still being decompressed and hashed. Even the configurator service itself (the model,
the sandbox, the checks: a tenth of a second of imports) is imported by the helper thread that
starts the proof, so the stream starts as soon as the distrib modules are loaded.
``scan --guest`` (or ``--release``/``--version``) adds one guest to the simulation and scopes
the release-specific verdicts to it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional

from toolsfix.background import Background
from toolsfix.distrib import CONFIGURATOR, Entry, Inventory, inventory, open_source
from toolsfix.errors import ExitCode, InputError, ToolsfixError
from toolsfix.findings import Evidence, Finding, Report, Skipped
from toolsfix.knowledge import GUESTS, Guest

if TYPE_CHECKING:
    from toolsfix.configurator import (
        ConfiguratorFacts,
        ConfiguratorOptions,
        GuestAnswer,
        GuestTarget,
        PendingProof,
        SolarisApplicability,
    )
    from toolsfix.guest.capture_api import Capture
    from toolsfix.perltext import Line

# The configurator service (model, sandbox, checks) is imported where it is used, not here:
# a scan imports it on the helper thread that starts the proof, while the stream is read
# (see the module docstring). Each such import says "lazy: start-up time of scan".


@dataclass(frozen=True)
class ScanOptions:
    """``execute``: run the sandboxed proof (``--no-exec`` turns it off); ``guest``: the one
    guest to answer for (``--guest``, or ``--release``/``--version``); ``use_records``: take
    the proof from a record of the same bytes when there is one (``--reprove`` turns it
    off), looked up in the shipped and user databases and ``db_dirs``."""

    execute: bool = True
    perl_timeout: float = 20.0
    guest: Optional[GuestTarget] = None
    use_records: bool = True  # a proof on record of the same bytes answers (not --reprove)
    db_dirs: tuple[Path, ...] = ()  # database directories whose proofs count too (--db)

    def configurator_options(self) -> ConfiguratorOptions:
        from toolsfix.configurator import ConfiguratorOptions  # lazy: start-up time of scan

        return ConfiguratorOptions(
            execute=self.execute,
            perl_timeout=self.perl_timeout,
            use_records=self.use_records,
            extra_record_dirs=self.db_dirs,
        )


@dataclass(frozen=True)
class ScanFacts:
    """What a scan established besides its findings; :meth:`to_dict` is the report's JSON."""

    distrib: Optional[Inventory]
    configurator: Optional[ConfiguratorFacts]
    applicability: Optional[SolarisApplicability] = None
    guest: Optional[GuestAnswer] = None
    summary: tuple[str, ...] = field(default=())

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "distrib": self.distrib.to_dict() if self.distrib is not None else None,
            "configurator": (
                self.configurator.to_dict(self.applicability)
                if self.configurator is not None
                else None
            ),
        }
        if self.guest is not None:
            out["guest"] = self.guest.to_dict()
        if self.summary:
            out["summary"] = list(self.summary)
        return out


def __getattr__(name: str) -> Any:
    """``ConfiguratorResult`` and ``modules_of``, kept importable for callers of the former API
    (verify imported them from here); the service is :mod:`toolsfix.configurator`, loaded
    only when one of them is asked for."""
    if name in ("ConfiguratorResult", "modules_of"):
        from toolsfix import configurator  # lazy: start-up time of scan

        return (
            configurator.ConfiguratorFacts
            if name == "ConfiguratorResult"
            else configurator.modules_of
        )
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def analyse_configurator(data: bytes, path: str, options: ScanOptions) -> ConfiguratorFacts:
    """Former entry point: :func:`toolsfix.configurator.analyse`."""
    from toolsfix import configurator  # lazy: start-up time of scan

    return configurator.analyse(data, path, options.configurator_options())


def configurator_findings(
    result: ConfiguratorFacts,
    source_text: str,
    target: str,
    inv: Optional[Inventory],
    commands: tuple[str, ...] = (),
) -> tuple[list[Finding], list[Skipped]]:
    """Former entry point: :func:`toolsfix.configurator.findings` (``source_text`` is the
    facts' own text and no longer needed)."""
    del source_text
    from toolsfix import configurator  # lazy: start-up time of scan

    return configurator.findings(result, target, inv, commands)


def package_manager_line(
    data: bytes, lines: Optional[Sequence[Line]] = None
) -> Optional[tuple[int, str]]:
    """Where a script shows it is vmware-install.pl (or its 10.x sh wrapper), not the
    configurator: (line, text), or None."""
    from toolsfix import installer  # lazy: start-up time of scan
    from toolsfix.perltext import find_sub, lex  # lazy: start-up time of scan

    text = installer.decode(data)
    if find_sub(lines if lines is not None else lex(text), installer.FUNCTION) is not None:
        return None
    for number, line in enumerate(text.splitlines()[:200], 1):
        if "Tar package manager" in line or "vmware-install.real.pl" in line:
            return number, line.strip()
    return None


# --------------------------------------------------------------------------------------------
# The guest of ``--guest`` / ``--release --version``

_UNAME_R_RE = re.compile(r"5\.(\d{1,3})")
_UNAME_V_RE = re.compile(r"[\x21-\x7e]{1,64}")


def _simulated(uname_r: str, uname_v: str, release: str) -> Optional[Guest]:
    """The guest as the sandbox simulates it, or None when it is not SunOS 5.x."""
    from toolsfix.configurator import TARGET_GUEST  # lazy: start-up time of scan

    if _UNAME_R_RE.fullmatch(uname_r) is None:
        return None
    return Guest(TARGET_GUEST, uname_r, uname_v, release)


def guest_from_uname(release: str, version: str) -> GuestTarget:
    """``--release 5.11 --version 11.4.0.15.0``: a guest named by its ``uname -r``/``-v``."""
    if _UNAME_R_RE.fullmatch(release) is None:
        raise ToolsfixError(
            f"--release {release!r}: give the guest's `uname -r`, SunOS 5.<minor> (e.g. 5.10, "
            "5.11)",
            ExitCode.USAGE,
        )
    if _UNAME_V_RE.fullmatch(version) is None:
        raise ToolsfixError(
            f"--version {version!r}: give the guest's `uname -v` (e.g. Generic_147441-21, "
            "11.4.0.15.0, snv_111b): 1 to 64 printable characters, no spaces",
            ExitCode.USAGE,
        )
    from toolsfix.configurator import TARGET_GUEST, GuestTarget  # lazy: start-up time of scan

    label = f"SunOS {release} {version}"
    guest = Guest(TARGET_GUEST, release, version, "")
    minor = int(release.split(".")[1])
    why = f"{label} is older than Solaris 10: the configurator copies nothing" if minor < 10 else ""
    evidence = (Evidence(command="--release/--version", excerpt=f"{release} {version}"),)
    return GuestTarget("--release/--version", label, guest, "solaris", evidence, None, why)


def open_guest(path: Path) -> Capture:
    """A collector bundle (a file, or a directory with a manifest) or an image root."""
    # lazy: the guest layer (parsers, facts) costs a scan without --guest ~0.1 s to import
    from toolsfix.guest.bundle import BundleCapture
    from toolsfix.guest.root import RootCapture

    if path.is_dir() and not (path / "manifest.txt").exists():
        return RootCapture(path)
    if not path.exists() and not path.is_symlink():
        raise InputError(f"{path}: no such guest bundle or image root")
    return BundleCapture(path)


def guest_from_capture(capture: Capture, shown: str) -> GuestTarget:
    """The guest a bundle or image root describes, from its uname or its /etc/release.

    Not evaluable (exit 3) when nothing says what the guest runs; a guest that is not SunOS
    is a valid answer (the Solaris checks then do not apply to it).
    """
    # lazy: only --guest reads a guest (see open_guest)
    from toolsfix.configurator import GuestTarget  # lazy: start-up time of scan
    from toolsfix.guest.facts import facts_from_capture

    facts = facts_from_capture(capture)
    origin = capture.origin
    kind = facts.os_kind.value if facts.os_kind.known else None
    release_line = facts.release.value.name if facts.release.known and facts.release.value else ""
    evidence = tuple(
        e for f in (facts.uname_r, facts.uname_v) for e in f.evidence() if f.known
    ) or tuple(facts.release.evidence())
    bits = facts.kernel_bits.value if facts.kernel_bits.known else None
    uname_r = facts.uname_r.value if facts.uname_r.known else None
    uname_v = facts.uname_v.value if facts.uname_v.known else None
    if kind is not None and kind != "solaris":
        label = release_line or kind
        why = f"the guest is {kind}, not SunOS: configure_module_solaris never runs there"
        return GuestTarget(origin, label, None, kind, evidence, bits, why)
    if uname_r is None or uname_v is None:
        reason = facts.uname_r.reason if uname_r is None else facts.uname_v.reason
        raise InputError(
            f"{shown}: cannot tell which Solaris release the guest runs ({reason or 'unknown'})"
        )
    guest = _simulated(uname_r, uname_v, release_line)
    label = f"SunOS {uname_r} {uname_v}"
    if guest is None:
        why = f"uname -r {uname_r!r} is not SunOS 5.x: configure_module_solaris never runs there"
        return GuestTarget(origin, label, None, kind, evidence, bits, why)
    why = ""
    if guest.minor < 10:
        why = f"SunOS {uname_r} is older than Solaris 10: the configurator copies nothing"
    return GuestTarget(origin, label, guest, kind or "solaris", evidence, bits, why)


def load_guest(path: Path) -> GuestTarget:
    """``--guest BUNDLE|ROOT``."""
    return guest_from_capture(open_guest(path), str(path))


# --------------------------------------------------------------------------------------------
# The scan


def scan(path: Path, options: ScanOptions = ScanOptions()) -> Report:
    """Scan the distrib at ``path``; raises :class:`InputError` (exit 3) when it is not one.

    The proof of the configurator starts from the stream (see the module docstring) and is
    cancelled -- its perl processes killed, its worker joined -- whatever way this returns.
    """
    source = open_source(path)
    target = str(path)
    guest = options.guest
    simulated = (*GUESTS, guest.guest) if guest is not None and guest.guest is not None else GUESTS
    # The path the configurator is reported under: its place in a distrib, or the script.
    label = CONFIGURATOR if source.kind != "script" else target
    starting: Optional[_ProofStart] = None

    def start(entry: Entry) -> None:
        """Start the proof the moment the configurator member has been read (with
        ``--no-exec``, only its lexing: that too then overlaps the rest of the stream)."""
        nonlocal starting
        if entry.member.path != CONFIGURATOR or entry.data is None:
            return
        if starting is not None:  # a second copy of the member: the last one counts
            starting.cancel()
        starting = _ProofStart(entry.data, label, options, simulated)

    try:
        inv = inventory(source, keep=start)
        data = inv.configurator
        if starting is not None and starting.data is not data:
            starting.cancel()
            starting = None
        pending = starting.proof() if starting is not None else None
        return _report(label, target, source.kind, inv, data, pending, options, simulated)
    finally:
        if starting is not None:
            starting.cancel()  # a no-op once the proof was used; stops it on any error


class _ProofStart:
    """The proof of one configurator, started by a helper thread that imports the service.

    :func:`toolsfix.configurator.start_proof` needs the configurator service, which loads the
    model, the sandbox and the checks: about a tenth of a second of imports without bytecode
    caches. Done on the stream's thread, that would hold up the stream behind the first
    member; done here, it overlaps the stream like the proof itself. So does the import of
    the findings side, which the report needs once the stream has ended.
    """

    def __init__(
        self, data: bytes, label: str, options: ScanOptions, guests: tuple[Guest, ...]
    ) -> None:
        self.data = data
        self._label = label
        self._options = options
        self._guests = guests
        self._task = Background(self._start, "toolsfix-proof-start")

    def _start(self) -> PendingProof:
        from toolsfix import configurator  # lazy: start-up time of scan (see class doc)

        pending = configurator.start_proof(
            self.data,
            self._options.configurator_options(),
            guests=self._guests,
            path=self._label,
        )
        # lazy: start-up time of scan -- loaded here, beside the stream (see class doc)
        from toolsfix import configurator_findings  # noqa: F401

        return pending

    def proof(self) -> PendingProof:
        """The started proof (waiting for the helper to have started it)."""
        return self._task.get()

    def cancel(self) -> None:
        """Stop the proof, once started, and wait for every thread of it (idempotent)."""
        pending = self._task.settled()
        if pending is not None:
            pending.cancel()


def _report(
    label: str,
    target: str,
    kind: str,
    inv: Inventory,
    data: Optional[bytes],
    pending: Optional[PendingProof],
    options: ScanOptions,
    simulated: tuple[Guest, ...],
) -> Report:
    """The report once the stream has been read: no configurator, the package manager
    handed over instead, or the configurator service's facts and findings."""
    from toolsfix import configurator  # lazy: start-up time of scan
    from toolsfix.catalog import finding  # lazy: start-up time of scan

    findings: list[Finding] = []
    skipped: list[Skipped] = []
    distrib = inv if kind != "script" else None
    if data is None and not inv.drivers and not inv.scripts:
        raise InputError(
            f"{target}: not a VMware Tools distrib (no {CONFIGURATOR}, no installer, no "
            f"lib/modules/binary builds among {inv.members} members)"
        )
    if data is None:
        findings.append(
            finding(
                "TF103",
                f"{target}: no {CONFIGURATOR} in this distrib ({inv.members} members read)",
                evidence=[Evidence(path=target, detail=f"{inv.members} members")],
                subject=target,
            )
        )
        facts = ScanFacts(distrib, None)
        return Report("scan", target, tuple(findings), tuple(skipped), facts.to_dict())
    installer_line = (
        package_manager_line(data, pending.lines if pending is not None else None)
        if kind == "script"
        else None
    )
    if installer_line is not None:
        # vmware-install.pl only *mentions* the function: patching it fixes nothing.
        findings.append(
            finding(
                "TF103",
                f"{target} is the tar package manager (vmware-install.pl), not the "
                f"configurator: the driver selection lives in {CONFIGURATOR}",
                evidence=[Evidence(path=target, line=installer_line[0], excerpt=installer_line[1])],
                subject=target,
            )
        )
        facts = ScanFacts(distrib, None)
        return Report("scan", target, tuple(findings), tuple(skipped), facts.to_dict())
    cfg = configurator.analyse(
        data, label, options.configurator_options(), proof=pending, guests=simulated
    )
    rule = configurator.applies_to_solaris(
        cfg.analysis.product, inv.layout() if kind != "script" else None
    )
    found, skip = configurator.findings(
        cfg, target, distrib, applicability=rule, guest=options.guest
    )
    findings.extend(found)
    skipped.extend(skip)
    answer = None
    summary: tuple[str, ...] = ()
    if options.guest is not None:
        answer = configurator.guest_answer(cfg, options.guest, distrib, rule)
        summary = (answer.summary(),)
    facts = ScanFacts(distrib, cfg, rule, answer, summary)
    return Report("scan", target, tuple(findings), tuple(skipped), facts.to_dict())
