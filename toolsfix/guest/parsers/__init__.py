"""Parsers for every command output and configuration file toolsfix reads from a guest.

Each parser is a pure function from captured text (``str``, ``bytes`` or ``None``) to a frozen
dataclass. None of them raises, whatever the input: real guests print error lines, old command
versions use other layouts, bundles get truncated or pass through Windows editors. A parser
that cannot make sense of its input returns an empty result (or one whose ``error`` says why),
so a check can report "could not evaluate" instead of the tool crashing.

Line numbers are 1-based and count the lines of the text given (``str.splitlines``), so they can
be quoted as evidence ("/kernel/drv/vmxnet3s.conf:12").

One module per kind of source, so a parser sits beside the ones it shares quirks with:

* :mod:`.release`: which OS (``/etc/release``, ``/etc/os-release``, ``uname``, ``isainfo``)
* :mod:`.solaris`: Solaris runtime state (``modinfo``, ``ndd``, ``dladm``, ``ipadm``, ``ifconfig``)
* :mod:`.linux`: Linux runtime state (``ethtool``, ``ip link``, ``sysctl``)
* :mod:`.esxi`: ESXi host advanced settings
* :mod:`.kernelconf`: ``driver.conf`` (vmxnet3s.conf) and ``/etc/system``
* :mod:`.bootscripts`: tunables persisted by boot scripts and SMF methods
* :mod:`.bgp`: BGP daemon configuration (TCP-MD5 peers)
* :mod:`.installdb`: the VMware Tools install journal

Everything public is re-exported here, so callers keep writing
``from toolsfix.guest import parsers as p`` and ``p.parse_modinfo(...)``; a submodule is
imported when one of its names is first used, so a run loads only the parsers its guest needs.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from toolsfix.guest.parsers._common import TextInput, as_text
    from toolsfix.guest.parsers.bgp import BgpConfig, BgpMd5Peer, parse_bgp_config
    from toolsfix.guest.parsers.bootscripts import PersistentSetting, find_persistent_settings
    from toolsfix.guest.parsers.esxi import (
        AdvancedSetting,
        EsxAdvanced,
        parse_esxcfg_advcfg,
        parse_esxcli_advanced,
    )
    from toolsfix.guest.parsers.installdb import InstallDB, parse_locations
    from toolsfix.guest.parsers.kernelconf import (
        VMXNET3S_PROPERTIES,
        ConfEntry,
        ConfProblem,
        ConfProperty,
        ConfScalar,
        ConfValue,
        DriverConf,
        EtcSystem,
        PropSpec,
        SystemDirective,
        SystemSet,
        parse_driver_conf,
        parse_etc_system,
    )
    from toolsfix.guest.parsers.linux import (
        ETHTOOL_SHORT_NAMES,
        EthtoolFeature,
        EthtoolFeatures,
        EthtoolInfo,
        IpLink,
        SysctlEntry,
        SysctlValues,
        normalise_feature_name,
        parse_ethtool_i,
        parse_ethtool_k,
        parse_ip_link,
        parse_sysctl,
    )
    from toolsfix.guest.parsers.release import (
        SOLARIS10_UPDATES,
        SUNOS_FAMILIES,
        OsRelease,
        Release,
        Uname,
        parse_isainfo_b,
        parse_os_release,
        parse_release,
        parse_uname,
        release_from_os_release,
    )
    from toolsfix.guest.parsers.solaris import (
        DladmDev,
        DladmLink,
        DladmLinkProp,
        DladmPhys,
        IfconfigEntry,
        IpadmProp,
        ModinfoRow,
        parse_dladm_show_dev,
        parse_dladm_show_link,
        parse_dladm_show_linkprop,
        parse_dladm_show_phys,
        parse_ifconfig,
        parse_ipadm_show_prop,
        parse_modinfo,
        parse_ndd_value,
    )

_HOME: dict[str, str] = {
    "TextInput": "_common",
    "as_text": "_common",
    "BgpConfig": "bgp",
    "BgpMd5Peer": "bgp",
    "parse_bgp_config": "bgp",
    "PersistentSetting": "bootscripts",
    "find_persistent_settings": "bootscripts",
    "AdvancedSetting": "esxi",
    "EsxAdvanced": "esxi",
    "parse_esxcfg_advcfg": "esxi",
    "parse_esxcli_advanced": "esxi",
    "InstallDB": "installdb",
    "parse_locations": "installdb",
    "VMXNET3S_PROPERTIES": "kernelconf",
    "ConfEntry": "kernelconf",
    "ConfProblem": "kernelconf",
    "ConfProperty": "kernelconf",
    "ConfScalar": "kernelconf",
    "ConfValue": "kernelconf",
    "DriverConf": "kernelconf",
    "EtcSystem": "kernelconf",
    "PropSpec": "kernelconf",
    "SystemDirective": "kernelconf",
    "SystemSet": "kernelconf",
    "parse_driver_conf": "kernelconf",
    "parse_etc_system": "kernelconf",
    "ETHTOOL_SHORT_NAMES": "linux",
    "EthtoolFeature": "linux",
    "EthtoolFeatures": "linux",
    "EthtoolInfo": "linux",
    "IpLink": "linux",
    "SysctlEntry": "linux",
    "SysctlValues": "linux",
    "normalise_feature_name": "linux",
    "parse_ethtool_i": "linux",
    "parse_ethtool_k": "linux",
    "parse_ip_link": "linux",
    "parse_sysctl": "linux",
    "SOLARIS10_UPDATES": "release",
    "SUNOS_FAMILIES": "release",
    "OsRelease": "release",
    "Release": "release",
    "Uname": "release",
    "parse_isainfo_b": "release",
    "parse_os_release": "release",
    "parse_release": "release",
    "parse_uname": "release",
    "release_from_os_release": "release",
    "DladmDev": "solaris",
    "DladmLink": "solaris",
    "DladmLinkProp": "solaris",
    "DladmPhys": "solaris",
    "IfconfigEntry": "solaris",
    "IpadmProp": "solaris",
    "ModinfoRow": "solaris",
    "parse_dladm_show_dev": "solaris",
    "parse_dladm_show_link": "solaris",
    "parse_dladm_show_linkprop": "solaris",
    "parse_dladm_show_phys": "solaris",
    "parse_ifconfig": "solaris",
    "parse_ipadm_show_prop": "solaris",
    "parse_modinfo": "solaris",
    "parse_ndd_value": "solaris",
}

__all__ = [
    "ETHTOOL_SHORT_NAMES",
    "SOLARIS10_UPDATES",
    "SUNOS_FAMILIES",
    "VMXNET3S_PROPERTIES",
    "AdvancedSetting",
    "BgpConfig",
    "BgpMd5Peer",
    "ConfEntry",
    "ConfProblem",
    "ConfProperty",
    "ConfScalar",
    "ConfValue",
    "DladmDev",
    "DladmLink",
    "DladmLinkProp",
    "DladmPhys",
    "DriverConf",
    "EsxAdvanced",
    "EtcSystem",
    "EthtoolFeature",
    "EthtoolFeatures",
    "EthtoolInfo",
    "IfconfigEntry",
    "InstallDB",
    "IpLink",
    "IpadmProp",
    "ModinfoRow",
    "OsRelease",
    "PersistentSetting",
    "PropSpec",
    "Release",
    "SysctlEntry",
    "SysctlValues",
    "SystemDirective",
    "SystemSet",
    "TextInput",
    "Uname",
    "as_text",
    "find_persistent_settings",
    "normalise_feature_name",
    "parse_bgp_config",
    "parse_dladm_show_dev",
    "parse_dladm_show_link",
    "parse_dladm_show_linkprop",
    "parse_dladm_show_phys",
    "parse_driver_conf",
    "parse_esxcfg_advcfg",
    "parse_esxcli_advanced",
    "parse_etc_system",
    "parse_ethtool_i",
    "parse_ethtool_k",
    "parse_ifconfig",
    "parse_ip_link",
    "parse_ipadm_show_prop",
    "parse_isainfo_b",
    "parse_locations",
    "parse_modinfo",
    "parse_ndd_value",
    "parse_os_release",
    "parse_release",
    "parse_sysctl",
    "parse_uname",
    "release_from_os_release",
]


def __getattr__(name: str) -> Any:
    """Load the submodule holding ``name`` on first use: a Solaris guest never pays for the
    Linux, ESXi or BGP parsers (each module compiles its regexes and frozen dataclasses at
    import, a measurable share of a ``verify`` run's start-up)."""
    home = _HOME.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{home}"), name)
    globals()[name] = value  # found directly next time
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
