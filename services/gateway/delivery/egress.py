"""Where the gateway may send a webhook: resolve the name, check every address, pin one.

A tenant chooses the URL, so without this check it could aim the gateway at our
own network (the database, the broker, the cloud metadata service). The check
runs when a subscription is saved and again before every send, and the request
then connects to the address that passed (so a DNS answer that changes between
check and connect, "DNS rebinding", reaches nothing new). Only globally routable
addresses pass, unless an operator allow-lists a network explicitly.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

from services.gateway.exceptions import GatewayError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
Resolver = Callable[[str, int], Awaitable[list[str]]]
# A name that takes longer than this to resolve is treated as not resolving: the
# delivery deadline covers the whole send, and a save should answer promptly.
RESOLVE_TIMEOUT_S = 2.0
# NAT64 prefixes (RFC 6052, RFC 8215): the IPv4 address inside decides.
_NAT64 = (ipaddress.ip_network("64:ff9b::/96"), ipaddress.ip_network("64:ff9b:1::/48"))
_DEFAULT_PORTS = {"http": 80, "https": 443}


class BlockedDestinationError(GatewayError):
    """The webhook URL is not one the gateway may call; the message says why."""


@dataclass(frozen=True)
class EgressPolicy:
    """Which webhook destinations are allowed (from operator settings)."""

    allow_http: bool = False
    allow_networks: tuple[IPNetwork, ...] = ()

    @classmethod
    def of(cls, allow_http: bool, allow_networks: Iterable[str]) -> EgressPolicy:
        """Parse CIDR strings (``10.2.0.0/16``) into a policy."""
        return cls(allow_http, tuple(ipaddress.ip_network(n, strict=False) for n in allow_networks))


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip.teredo is not None:
        return ip.teredo[1]
    if any(ip in net for net in _NAT64):
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def blocked_reason(ip: IPAddress, policy: EgressPolicy) -> str | None:
    """Why ``ip`` may not be called, or None when it may.

    >>> p = EgressPolicy()
    >>> [blocked_reason(ipaddress.ip_address(a), p) for a in ("8.8.8.8", "127.0.0.1")]
    [None, '127.0.0.1 is not a public address']
    >>> blocked_reason(ipaddress.ip_address("::ffff:169.254.169.254"), p)
    '::ffff:a9fe:a9fe is not a public address'
    >>> blocked_reason(ipaddress.ip_address("10.1.2.3"), EgressPolicy.of(False, ["10.1.0.0/16"]))
    """
    if any(ip in net for net in policy.allow_networks):
        return None
    inner = _embedded_ipv4(ip) if isinstance(ip, ipaddress.IPv6Address) else None
    if not ip.is_global or ip.is_multicast or (inner is not None and not inner.is_global):
        return f"{ip} is not a public address"
    return None


async def system_resolver(host: str, port: int) -> list[str]:
    """Every address ``host`` resolves to (the event loop's getaddrinfo, off-thread)."""
    infos = await asyncio.get_running_loop().getaddrinfo(
        host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP
    )
    return [str(info[4][0]) for info in infos]


@dataclass(frozen=True)
class Target:
    """A checked destination: the URL to connect to (an address) and the original name."""

    url: str
    host_header: str
    sni_hostname: str | None


def _split(url: str, policy: EgressPolicy) -> tuple[str, str, int]:
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS:
        raise BlockedDestinationError(f"scheme {scheme!r} is not allowed; use https")
    if scheme == "http" and not policy.allow_http:
        raise BlockedDestinationError(
            "plain http is not allowed for webhooks; use https (operators can allow http "
            "with SPENDSTREAM_GATEWAY_WEBHOOK_ALLOW_HTTP)"
        )
    try:
        port = parts.port or _DEFAULT_PORTS[scheme]
    except ValueError as exc:
        raise BlockedDestinationError("the URL's port is not a number in 1-65535") from exc
    if not parts.hostname:
        raise BlockedDestinationError("the URL has no host")
    return scheme, parts.hostname, port


async def resolve_checked(
    url: str, policy: EgressPolicy, resolver: Resolver = system_resolver
) -> Target:
    """Resolve ``url``'s host and check every address; raises BlockedDestinationError.

    Every address must pass (not just one), so a name with one public and one
    internal answer cannot be used to reach the internal one.
    """
    scheme, host, port = _split(url, policy)
    try:
        literal: IPAddress | None = ipaddress.ip_address(host)
    except ValueError:
        literal = None
    if literal is not None:
        addresses = [str(literal)]
    else:
        try:
            async with asyncio.timeout(RESOLVE_TIMEOUT_S):
                addresses = await resolver(host, port)
        except (OSError, TimeoutError, UnicodeError) as exc:
            raise BlockedDestinationError(f"host {host!r} does not resolve") from exc
    if not addresses:
        raise BlockedDestinationError(f"host {host!r} does not resolve")
    checked = [ipaddress.ip_address(a.split("%", 1)[0]) for a in addresses]
    for ip in checked:
        reason = blocked_reason(ip, policy)
        if reason is not None:
            raise BlockedDestinationError(
                f"webhook host {host!r} resolves to {ip}, which is not a public address; operators "
                "can allow internal receivers with SPENDSTREAM_GATEWAY_WEBHOOK_ALLOW_NETWORKS"
            )
    pinned = checked[0]
    netloc = f"[{pinned}]:{port}" if pinned.version == 6 else f"{pinned}:{port}"
    parts = urlsplit(url)
    userinfo = parts.netloc.rpartition("@")[0]
    if userinfo:
        netloc = f"{userinfo}@{netloc}"
    default_port = port == _DEFAULT_PORTS[scheme]
    host_header = (f"[{host}]" if ":" in host else host) + ("" if default_port else f":{port}")
    return Target(
        url=urlunsplit((scheme, netloc, parts.path or "/", parts.query, "")),
        host_header=host_header,
        sni_hostname=host if scheme == "https" and literal is None else None,
    )
