"""The addresses and names rxcheck refuses to contact: one table, from the IANA special-purpose registries.

Sources: the IANA IPv4 and IPv6 Special-Purpose Address Registries (RFC 6890 and later additions), the multicast
ranges, and the metadata addresses cloud providers publish. Python's `ipaddress.is_global` is not used: its tables
lag the registries (Python 3.11 calls 192.0.0.0/24, where Oracle Cloud keeps its metadata service, global).

Each range has a `reason`, shown in refusals ("refused ...: it is a link-local address"), and says whether
`allow_private` (local testing) lifts it. Only loopback and private ranges can be lifted; link-local, metadata and
every other special-purpose range are refused whatever the settings. The first matching row wins, so the more
specific rows (metadata addresses) come first.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True)
class SpecialRange:
    network: IPNetwork
    reason: str
    liftable: bool = False  # `allow_private` lifts the refusal


def _rows(liftable: bool, reason: str, *networks: str) -> list[SpecialRange]:
    return [SpecialRange(ipaddress.ip_network(n), reason, liftable) for n in networks]


SPECIAL_RANGES: tuple[SpecialRange, ...] = tuple(
    # cloud metadata services, never contacted
    _rows(False, "cloud metadata", "169.254.169.254/32", "169.254.170.2/32", "169.254.169.123/32")
    + _rows(False, "cloud metadata", "192.0.0.192/32", "100.100.100.200/32", "fd00:ec2::254/128", "fd00:ec2::23/128")
    # IPv4 special-purpose registry
    + _rows(False, "unspecified", "0.0.0.0/8")
    + _rows(True, "loopback", "127.0.0.0/8")
    + _rows(True, "private", "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16")
    + _rows(False, "shared address space (carrier-grade NAT)", "100.64.0.0/10")
    + _rows(False, "link-local", "169.254.0.0/16")
    + _rows(False, "IETF protocol assignment", "192.0.0.0/24")
    + _rows(False, "documentation", "192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24")
    + _rows(False, "deprecated 6to4 relay anycast", "192.88.99.0/24")
    + _rows(False, "benchmarking", "198.18.0.0/15")
    + _rows(False, "multicast", "224.0.0.0/4")
    + _rows(False, "reserved", "240.0.0.0/4")  # includes the limited broadcast 255.255.255.255
    # IPv6 special-purpose registry (IPv4-mapped, NAT64 and 6to4 forms are judged by the IPv4 address they carry)
    + _rows(False, "unspecified", "::/128")
    + _rows(True, "loopback", "::1/128")
    + _rows(False, "IPv4-compatible (deprecated)", "::/96")
    + _rows(False, "local-use IPv4/IPv6 translation", "64:ff9b:1::/48")
    + _rows(False, "discard-only", "100::/64")
    + _rows(False, "dummy prefix", "100:0:0:1::/64")
    + _rows(False, "IETF protocol assignment", "2001::/23")  # Teredo, benchmarking, ORCHID...
    + _rows(False, "documentation", "2001:db8::/32", "3fff::/20")
    + _rows(False, "segment routing (SRv6)", "5f00::/16")
    + _rows(True, "private (unique-local)", "fc00::/7")
    + _rows(False, "site-local (deprecated)", "fec0::/10")
    + _rows(False, "link-local", "fe80::/10")
    + _rows(False, "multicast", "ff00::/8")
    + _rows(False, "reserved", "::/8", "0100::/8", "0200::/7", "0400::/6", "0800::/5", "1000::/4")
    + _rows(False, "reserved", "4000::/3", "6000::/3", "8000::/3", "a000::/3", "c000::/3", "e000::/4")
    + _rows(False, "reserved", "f000::/5", "f800::/6", "fe00::/9")
)

# IPv6 forms that carry an IPv4 address, judged by that address.
IPV4_MAPPED = ipaddress.IPv6Network("::ffff:0:0/96")
NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
SIX_TO_FOUR = ipaddress.IPv6Network("2002::/16")

# Names that always mean this machine, whatever DNS says (RFC 6761 and common /etc/hosts entries).
LOCAL_NAMES = frozenset(
    {
        "localhost",
        "localhost.localdomain",
        "localhost6",
        "localhost6.localdomain6",
        "ip6-localhost",
        "ip6-loopback",
        "ip6-localnet",
        "ip6-allnodes",
        "ip6-allrouters",
        "broadcasthost",
    }
)

# Refused when a proxy is allowed to resolve names rxcheck cannot (`proxy_resolves_names`): rxcheck cannot see
# where such a name leads, so the names of metadata services and internal suffixes are refused by name.
METADATA_NAMES = frozenset(
    {
        "metadata",
        "metadata.google.internal",
        "metadata.goog",
        "instance-data",
        "instance-data.ec2.internal",
        "metadata.tencentyun.com",
        "metadata.platformequinix.com",
    }
)
INTERNAL_SUFFIXES = (
    ".internal",
    ".local",
    ".localhost",
    ".localdomain",
    ".home.arpa",
    ".lan",
    ".intranet",
    ".corp",
    ".home",
    ".private",
)
