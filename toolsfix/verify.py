"""``toolsfix verify``: is what is installed on this guest (or image root, or bundle) right?

Wiring only: a source (image root, collector bundle, this live system) -> facts (the guest's
OS facts and its driver facts, built from one reader; the installed configurator analysed by
the configurator service) -> the guest checks -> a report. ESXi host files, when given, add
the host-side checks. Read-only: captures only read.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional

from toolsfix import configurator as service
from toolsfix.errors import ExitCode, InputError, ToolsfixError
from toolsfix.findings import Report
from toolsfix.guest.bundle import BundleCapture
from toolsfix.guest.capture_api import Capture
from toolsfix.guest.facts import GuestFacts, GuestReader, facts_from_capture
from toolsfix.guest.tools_install import configurator_file

if TYPE_CHECKING:
    from toolsfix.checks.configurator import InstalledConfigurator
    from toolsfix.checks.esxi import HostResult
    from toolsfix.guest.drivers import DriverFacts

__all__ = ["VerifyOptions", "verify", "verify_capture"]


def __getattr__(name: str) -> Any:
    """``CONF_CHECKS`` and ``SCRIPT_CHECKS`` (they live in :mod:`toolsfix.checks.guest`), still
    importable from here without loading the checks before a run needs them."""
    if name in ("CONF_CHECKS", "SCRIPT_CHECKS"):
        from toolsfix.checks import guest  # lazy: checks load only once a run needs them

        return getattr(guest, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


@dataclass(frozen=True)
class VerifyOptions:
    db_dirs: tuple[Path, ...] = ()  # extra fingerprint databases (--db)
    execute: bool = True  # run the installed configurator's logic under perl
    use_records: bool = True  # take that proof from a record of the same bytes (not --reprove)
    # Host side: ESXi output files (--esxi-settings), switch configs (--switch-config) and
    # vmnic -> [SWITCH:]PORT (--uplink). A single Path is accepted for esxi_settings (the
    # option used to take one file).
    esxi_settings: tuple[Path, ...] = ()
    switch_configs: tuple[Path, ...] = ()
    uplinks: tuple[tuple[str, str], ...] = ()

    def __post_init__(self) -> None:
        given: object = self.esxi_settings
        if given is None:
            object.__setattr__(self, "esxi_settings", ())
        elif isinstance(given, (str, Path)):
            object.__setattr__(self, "esxi_settings", (Path(given),))


def _configurator(
    facts: GuestFacts,
    drv: DriverFacts,
    target: str,
    data: Optional[bytes],
    proof: Optional[service.PendingProof],
    cfg_options: service.ConfiguratorOptions,
) -> tuple[InstalledConfigurator, Optional[dict[str, Any]]]:
    """The installed configurator analysed by the configurator service, as the checks take it,
    and its JSON for the report (None when there is none to analyse). ``data`` are its bytes
    and ``proof`` the sandboxed proof already started on them."""
    from toolsfix.checks.configurator import InstalledConfigurator  # lazy: after the proof starts

    cfg = drv.configurator
    base = InstalledConfigurator(
        cfg.path,
        target,
        drv.bindir,
        facts.os_family.value if facts.os_family.known else None,
        drv.expected_family,
        unread=cfg.unread,
    )
    if data is None:
        return base, None
    found = service.analyse(data, cfg.path, cfg_options, proof=proof)
    rule = service.applies_to_solaris(found.analysis.product)
    checked = replace(
        base,
        analysis=found.effective,
        model=found.analysis,
        execution=found.execution,
        compiled=found.compiled,
        modules=found.modules,
        source_text=found.text,
        solaris_product=rule.applies,
        product_reason=rule.reason,
    )
    return checked, found.to_dict(rule)


def verify_capture(capture: Capture, options: VerifyOptions, target: str) -> Report:
    """Verify what one capture shows; raises :class:`InputError` (exit 3) when not evaluable:
    a core input exists but could not be read, or the source holds too little to decide.
    Anything else that cannot be read makes only the checks resting on it "not evaluated".

    The configurator's sandboxed proof starts as soon as its bytes are read, so its perl
    processes (~0.1 s) run while the driver and check modules load and the drivers are
    identified (and the ELF engine is imported, when some bytes need it); it is cancelled if
    the guest turns out not to be evaluable.
    """
    reader = GuestReader(capture)
    facts = facts_from_capture(capture, reader)
    installed_file = configurator_file(reader, facts)
    data = installed_file.data
    cfg_options = service.ConfiguratorOptions(
        execute=options.execute,
        use_records=options.use_records,
        extra_record_dirs=options.db_dirs,
        name_modified=False,  # an installed copy may differ from its distrib's (installer sed)
    )
    proof = (
        None if data is None else service.start_proof(data, cfg_options, path=installed_file.path)
    )
    try:
        # lazy: these modules load while the proof's perl processes run (see the docstring)
        from toolsfix.checks.guest import GuestInput, evaluate_guest
        from toolsfix.guest.drivers import driver_facts, interrupted_collection, not_evaluable

        drv = driver_facts(reader, facts, options.db_dirs)
        interrupted = interrupted_collection(capture)
        why = not_evaluable(facts, drv, interrupted)
        if why is not None:
            raise InputError(f"{target}: {why}")
        installed, cfg_json = _configurator(facts, drv, target, data, proof, cfg_options)
    except BaseException:
        if proof is not None:
            proof.cancel()  # no perl process outlives a run that failed meanwhile
        raise
    result = evaluate_guest(GuestInput(facts, drv, installed, target, interrupted))
    out = drv.report(facts)
    out["configurator"] = cfg_json
    findings, skipped = list(result.findings), list(result.skipped)
    if options.esxi_settings:
        from toolsfix.checks import esxi, linux  # lazy: only host-side files need them

        host = esxi.check_host(
            options.esxi_settings,
            options.switch_configs,
            dict(options.uplinks),
            guest_routes=linux.guest_forwards(facts),
        )
        findings += host.findings
        skipped += host.skipped
        _add_host_facts(out, host)
    return Report("verify", target, tuple(findings), tuple(skipped), out)


def _add_host_facts(facts_out: dict[str, Any], host: HostResult) -> None:
    facts_out["esxi_host"] = dict(host.facts)
    if host.summary:
        previous = facts_out.get("summary")
        facts_out["summary"] = [*(previous if isinstance(previous, list) else []), *host.summary]


def verify_host(options: VerifyOptions) -> Report:
    """Host-side checks alone (``verify --esxi-settings F`` without a guest source): the
    ESXi files and switch configs are all there is, so only host-side checks run; whether
    the guest routes (TF410) is unknown and said so."""
    from toolsfix.checks import esxi  # lazy: a guest-only verify never loads the host checks

    host = esxi.check_host(
        options.esxi_settings, options.switch_configs, dict(options.uplinks), guest_routes=None
    )
    target = ", ".join(str(p) for p in options.esxi_settings)
    facts: dict[str, Any] = {"origin": "esxi-host-files", "os": {"kind": None}}
    facts["configurator"] = None
    _add_host_facts(facts, host)
    return Report("verify", target, host.findings, host.skipped, facts)


def verify(
    *,
    root: Optional[Path] = None,
    bundle: Optional[Path] = None,
    live: bool = False,
    options: VerifyOptions = VerifyOptions(),
) -> Report:
    """Verify exactly one source: an image root, a collector bundle, or this live system."""
    chosen = [x for x in (root is not None, bundle is not None, live) if x]
    host_only = not chosen and bool(options.esxi_settings)
    _check_host_options(options)
    if len(chosen) != 1 and not host_only:
        raise ToolsfixError(
            "give exactly one of --root DIR, --bundle PATH, --live (or --esxi-settings FILE "
            "alone for host-side checks only)",
            ExitCode.USAGE,
        )
    if host_only:
        return verify_host(options)
    if root is not None:
        if not root.is_dir():
            raise InputError(f"{root}: not a directory (an image root is a mounted file system)")
        from toolsfix.guest.root import RootCapture  # lazy: only the chosen source is loaded

        return verify_capture(RootCapture(root), options, str(root))
    if bundle is not None:
        if not bundle.exists():
            raise InputError(f"{bundle}: no such file or directory")
        return verify_capture(BundleCapture(bundle), options, str(bundle))
    from toolsfix.guest.live import LiveCapture  # lazy: only the chosen source is loaded

    return verify_capture(LiveCapture(), options, "/")


def _check_host_options(options: VerifyOptions) -> None:
    """Before any capture: the host-side files exist, and switch configs / uplink mappings
    come with the teaming output they are compared with (usage error otherwise)."""
    if (options.switch_configs or options.uplinks) and not options.esxi_settings:
        raise ToolsfixError(
            "--switch-config and --uplink are compared with the vSwitch teaming policy: give "
            "--esxi-settings FILE with `esxcli network vswitch standard policy failover get` "
            "output too",
            ExitCode.USAGE,
        )
    if options.uplinks and not options.switch_configs:
        raise ToolsfixError(
            "--uplink maps vmnics to switch ports: give --switch-config too", ExitCode.USAGE
        )
    for path in (*options.esxi_settings, *options.switch_configs):
        if not path.exists():
            raise InputError(f"{path}: no such file")
