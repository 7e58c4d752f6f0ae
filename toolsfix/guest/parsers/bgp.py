"""BGP daemon configuration (Quagga ``bgpd.conf``, FRR ``frr.conf``): which peers use TCP-MD5.

TCP-MD5 signs each segment as sent; an offload that re-segments or merges segments after the
digest was computed makes the peer drop them. Only whether a peer has a password matters, so
the secret is never kept: evidence quotes a redacted line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Optional

from toolsfix.guest.parsers._common import TextInput, numbered

__all__ = ["BgpConfig", "BgpMd5Peer", "parse_bgp_config"]


@dataclass(frozen=True)
class BgpMd5Peer:
    """A BGP neighbor with a TCP-MD5 password. The secret itself is never kept."""

    peer: str
    asn: Optional[str]
    line: int
    redacted: str  # the config line with the secret replaced, safe for evidence
    path: Optional[str] = None


@dataclass(frozen=True)
class BgpConfig:
    router_asns: tuple[str, ...]
    peers: tuple[BgpMd5Peer, ...]


# Top-level lines that do not end a ``router bgp`` section (Quagga writes them unindented).
_TOP_KEEP = (
    "neighbor",
    "bgp ",
    "network",
    "address-family",
    "exit-address-family",
    "redistribute",
    "timers",
    "maximum-paths",
    "no ",
)


def parse_bgp_config(text: TextInput, path: Optional[str] = None) -> BgpConfig:
    """Quagga ``bgpd.conf`` / FRR ``frr.conf``: ``neighbor <peer> password <secret>`` lines
    inside ``router bgp <asn>`` sections (and, leniently, outside them: asn is then None)."""
    asns: list[str] = []
    peers: list[BgpMd5Peer] = []
    current: Optional[str] = None
    for number, raw in numbered(text):
        line = raw.strip()
        if not line or line[0] in "!#":
            continue
        router = re.match(r"^router\s+bgp(?:\s+(\S+))?", line, re.I)
        if router:
            current = router.group(1) or "?"
            asns.append(current)
            continue
        if not raw[:1].isspace() and not line.lower().startswith(_TOP_KEEP):
            current = None  # another top-level section (interface, line vty, exit, ...)
            continue
        match = re.match(r"^neighbor\s+(\S+)\s+password(\s+.*)?$", line, re.I)
        if match and (match.group(2) or "").strip():
            peer = match.group(1)
            peers.append(
                BgpMd5Peer(
                    peer=peer,
                    asn=current,
                    line=number,
                    redacted=f"neighbor {peer} password <redacted>",
                    path=path,
                )
            )
    return BgpConfig(router_asns=tuple(asns), peers=tuple(peers))
