"""The ``verify`` command: an installed guest, an image root, a bundle or ESXi host output.

Its own module so that ``toolsfix verify`` compiles and runs this command's definition only
(:mod:`toolsfix.cli` imports it when ``verify`` is asked for); the verify service, the policy
loader and the teaming parser for ``--uplink`` load when they are used.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Optional

import click

from toolsfix.clikit import (
    EXIT_CODES,
    ToolsfixCommand,
    db_dirs_option,
    reprove_option,
    run,
)
from toolsfix.clireport import (
    OutputOptions,
    PolicyFiles,
    emit,
    output_options,
    policy_narrowing,
    policy_options,
)

__all__ = ["verify"]


def _uplink_values(
    ctx: click.Context, param: click.Parameter, values: Sequence[str]
) -> tuple[tuple[str, str], ...]:
    """--uplink VMNIC=[SWITCH:]PORT values; a malformed or repeated vmnic is a usage error."""
    if not values:  # click calls this for every run: without --uplink, load nothing
        return ()
    # lazy: start-up time (only verify --uplink needs it)
    from toolsfix.checks.teaming import parse_uplink_option

    out: dict[str, str] = {}
    for value in values:
        try:
            vmnic, port = parse_uplink_option(value)
        except ValueError as exc:
            raise click.BadParameter(str(exc)) from None
        if vmnic in out and out[vmnic] != port:
            raise click.BadParameter(f"{vmnic} given twice ({out[vmnic]} and {port})")
        out[vmnic] = port
    return tuple(out.items())


@click.command(cls=ToolsfixCommand, epilog=EXIT_CODES)
@click.option(
    "--root",
    type=click.Path(path_type=Path),
    help="A mounted image root (paths are prefixed; never chroot).",
)
@click.option(
    "--bundle",
    type=click.Path(path_type=Path),
    help="A bundle written by the collector (directory, .tar or .tar.gz).",
)
@click.option("--live", is_flag=True, help="This running system (read-only commands only).")
@db_dirs_option
@click.option(
    "--esxi-settings",
    "esxi_settings",
    multiple=True,
    type=click.Path(path_type=Path),
    help="Output captured on the VM's ESXi host (repeatable): `esxcli system settings advanced "
    "list` and/or `esxcli network vswitch standard [portgroup] policy failover get`, detected "
    "by content. Alone (no --root/--bundle/--live) only host-side checks run.",
)
@click.option(
    "--switch-config",
    "switch_configs",
    multiple=True,
    type=click.Path(path_type=Path),
    help="Cisco IOS or HP ProCurve configuration of the physical switch the host's uplinks "
    "are cabled to (repeatable, detected by content); needs --esxi-settings.",
)
@click.option(
    "--uplink",
    "uplinks",
    multiple=True,
    metavar="VMNIC=[SWITCH:]PORT",
    callback=_uplink_values,
    help="Which switch port a vmnic is cabled to, e.g. vmnic0=Gi1/0/1 or vmnic2=sw2:A1 "
    "(repeatable); needed when a switch config has several channels.",
)
@click.option("--no-exec", is_flag=True, help="Do not run the installed configurator's logic.")
@reprove_option
@policy_options
@output_options
def verify(
    root: Optional[Path],
    bundle: Optional[Path],
    live: bool,
    db_dirs: tuple[Path, ...],
    esxi_settings: tuple[Path, ...],
    switch_configs: tuple[Path, ...],
    uplinks: tuple[tuple[str, str], ...],
    no_exec: bool,
    reprove: bool,
    policy_files: PolicyFiles,
    out: OutputOptions,
) -> None:
    """Verify an installed guest: driver build vs OS, tampering, LSO and jumbo readiness;
    and the ESXi host's LRO settings and NIC teaming against the physical switch.

    Never writes. Give exactly one of --root, --bundle, --live, or only --esxi-settings
    (host-side checks alone).

    \b
    Examples:
      toolsfix verify --root /mnt/golden-template --format json -o junit:verify.xml
      toolsfix verify --live --fail-on high
      toolsfix verify --bundle guest42.tar.gz --esxi-settings host-advanced.txt
      toolsfix verify --root /mnt/t --baseline last.json --waivers waivers.json
      toolsfix verify --esxi-settings vSwitch1-failover.txt --switch-config core-sw1.cfg
      toolsfix verify --esxi-settings esx01-session.txt --switch-config sw1.cfg \\
          --uplink vmnic2=Gi1/0/1 --uplink vmnic3=Gi1/0/2

    \b
    ESXi teaming (TF420-TF424, category esxi-teaming):
      An --esxi-settings file names its vSwitch by the echoed command line
      (`# esxcli network vswitch standard policy failover get -v vSwitch1`) or by
      its file name (vSwitch1-failover.txt); portgroups by `... portgroup policy
      failover get -p NAME`, tied to their vSwitch by `esxcli network vswitch
      standard portgroup list` output, the file name, or the only vSwitch given.
      Without --switch-config the rules that need the switch are not-evaluated.
      esxcli does not say which switch port a vmnic is cabled to: with no
      --uplink, a config without channels means unbundled ports, and a config
      with exactly one channel (and one vSwitch given) means that channel's
      members; findings say so (confidence medium). Several channels (static and
      LACP, or one per host) need --uplink for every uplink of the team.
    """
    # lazy: start-up time
    from toolsfix.verify import VerifyOptions
    from toolsfix.verify import verify as do_verify

    opts = VerifyOptions(
        tuple(db_dirs),
        not no_exec,
        not reprove,
        esxi_settings=tuple(esxi_settings),
        switch_configs=tuple(switch_configs),
        uplinks=tuple(uplinks),
    )

    def body() -> int:
        narrow = policy_narrowing("verify", policy_files)
        report = do_verify(root=root, bundle=bundle, live=live, options=opts)
        return emit(narrow(report), out)

    run(body)
