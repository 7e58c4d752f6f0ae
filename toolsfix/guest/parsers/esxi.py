"""ESXi host advanced settings: ``esxcli system settings advanced list`` and ``esxcfg-advcfg``.

Hardware LRO on the host (``/Net/Vmxnet3HwLRO``, ``/Net/Vmxnet3SwLRO``) merges frames before a
routing guest sees them, so the host's settings belong to the guest's verdict. Administrators
paste either command's output; both are read into the same :class:`EsxAdvanced`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Optional

from toolsfix.guest.parsers._common import TextInput, numbered, to_int

__all__ = ["AdvancedSetting", "EsxAdvanced", "parse_esxcfg_advcfg", "parse_esxcli_advanced"]


@dataclass(frozen=True)
class AdvancedSetting:
    path: str  # "/Net/Vmxnet3HwLRO", or the bare name from esxcfg-advcfg
    type: Optional[str]
    int_value: Optional[int]
    default_int_value: Optional[int]
    min_value: Optional[int]
    max_value: Optional[int]
    string_value: Optional[str]
    description: Optional[str]
    line: int


@dataclass(frozen=True)
class EsxAdvanced:
    settings: Mapping[str, AdvancedSetting]

    def get(self, name: str) -> Optional[AdvancedSetting]:
        """Look up ``/Net/Vmxnet3HwLRO``, ``Net.Vmxnet3HwLRO`` or the leaf ``Vmxnet3HwLRO``."""
        wanted = "/" + name.strip().strip("/").replace(".", "/")
        for path, setting in self.settings.items():
            if path.lower() == wanted.lower():
                return setting
        leaf = wanted.rsplit("/", 1)[-1].lower()
        for path, setting in self.settings.items():
            if path.rsplit("/", 1)[-1].lower() == leaf:
                return setting
        return None


def _setting_of(block: Mapping[str, str], line: int) -> Optional[AdvancedSetting]:
    """One ``Path:``-led block of ``esxcli ... advanced list``, or None without a path."""
    path = block.get("path")
    if not path:
        return None
    return AdvancedSetting(
        path=path,
        type=block.get("type") or None,
        int_value=to_int(block.get("int value")),
        default_int_value=to_int(block.get("default int value")),
        min_value=to_int(block.get("min value")),
        max_value=to_int(block.get("max value")),
        string_value=block.get("string value") or None,
        description=block.get("description") or None,
        line=line,
    )


def parse_esxcli_advanced(text: TextInput) -> EsxAdvanced:
    settings: dict[str, AdvancedSetting] = {}
    block: dict[str, str] = {}
    start = 0
    for number, raw in numbered(text):
        if ":" not in raw:
            continue
        key, _, value = raw.partition(":")
        key = key.strip().lower()
        if key == "path":
            setting = _setting_of(block, start)
            if setting is not None:
                settings[setting.path] = setting
            block = {}
            start = number
        block[key] = value.strip()
    setting = _setting_of(block, start)
    if setting is not None:
        settings[setting.path] = setting
    return EsxAdvanced(settings=MappingProxyType(settings))


def parse_esxcfg_advcfg(text: TextInput) -> EsxAdvanced:
    """``esxcfg-advcfg -g /Net/X`` prints ``Value of X is N``."""
    settings: dict[str, AdvancedSetting] = {}
    for number, raw in numbered(text):
        match = re.search(r"Value of\s+(\S+)\s+is\s+(\S*)", raw)
        if not match:
            continue
        name, value = match.group(1), match.group(2)
        path = name if name.startswith("/") else "/" + name
        int_value = to_int(value)
        settings[path] = AdvancedSetting(
            path=path,
            type="integer" if int_value is not None else None,
            int_value=int_value,
            default_int_value=None,
            min_value=None,
            max_value=None,
            string_value=None if int_value is not None else value,
            description=None,
            line=number,
        )
    return EsxAdvanced(settings=MappingProxyType(settings))
