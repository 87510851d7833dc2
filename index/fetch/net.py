"""Which addresses newsbot may connect to: no server-side request forgery.

A URL given by a Discord admin, or found in a feed or a redirect, must never turn the bot against
its own network. Only ``http`` and ``https`` URLs are fetched, and no connection is made to a
loopback, private, shared, link-local, multicast, reserved or unspecified address, IPv4 or IPv6
(IPv4-mapped, 6to4, Teredo and NAT64 addresses are judged by the IPv4 address inside). The check
is made where the connection is made: by the resolver (every name the connector resolves) and by
the socket factory (every address a socket connects to), so a name that resolves differently
between a check and the connection (DNS rebinding) cannot get through.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable
from typing import Any

from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import DefaultResolver
from yarl import URL

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

MAX_URL_CHARS = 2048
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_NAT64_LOCAL = ipaddress.ip_network("64:ff9b:1::/48")


def parse_networks(values: Iterable[str]) -> list[IPNetwork]:
    """CIDR strings to networks; ``ValueError`` names the bad one."""
    out: list[IPNetwork] = []
    for value in values:
        try:
            out.append(ipaddress.ip_network(value.strip(), strict=False))
        except ValueError:
            raise ValueError(f"{value!r} is not an address or network (CIDR)") from None
    return out


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip.teredo is not None:
        return ip.teredo[1]
    if ip in _NAT64 or ip in _NAT64_LOCAL:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def address_problem(ip: IPAddress) -> str | None:
    """Why ``ip`` must not be connected to (``"a loopback address"``…), or None if it is public."""
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.scope_id:
            return "a scoped (link-local) address"
        inner = _embedded_ipv4(ip)
        if inner is not None:
            problem = address_problem(inner)
            return f"{problem} inside an IPv6 address" if problem else None
    checks = (
        (ip.is_unspecified, "an unspecified address"),
        (ip.is_loopback, "a loopback address"),
        (ip.is_link_local, "a link-local address"),
        (ip.is_multicast, "a multicast address"),
        (ip.is_private, "a private address"),
        (ip.is_reserved, "a reserved address"),
        (not ip.is_global, "a non-public address"),
    )
    for hit, problem in checks:
        if hit:
            return problem
    return None


class AddressPolicy:
    """Decides which addresses may be connected to."""

    def __init__(self, *, allow_private: bool = False, allowed_networks: Iterable[str] = ()) -> None:
        self.allow_private = allow_private
        self.allowed = parse_networks(allowed_networks)

    def problem(self, address: str) -> str | None:
        """None when ``address`` (an IP literal) may be connected to, else the reason it may not."""
        if self.allow_private:
            return None
        try:
            ip = ipaddress.ip_address(address.split("%", 1)[0] if "%" in address else address)
        except ValueError:
            return "not an IP address"
        if "%" in address and isinstance(ip, ipaddress.IPv6Address):
            return "a scoped (link-local) address"
        if any(ip in net for net in self.allowed if net.version == ip.version):
            return None
        return address_problem(ip)


class BlockedAddress(OSError):
    """Raised inside the connector when a host resolves to, or a socket aims at, a refused address."""

    def __init__(self, host: str, address: str, problem: str) -> None:
        self.host = host
        self.address = address
        self.problem = problem
        super().__init__(f"{host} is {address}, {problem}" if host != address else f"{address} is {problem}")


class GuardedResolver(AbstractResolver):
    """Resolves as usual, then drops refused addresses; raises :class:`BlockedAddress` if none is left."""

    def __init__(self, policy: AddressPolicy, inner: AbstractResolver | None = None) -> None:
        self.policy = policy
        self._inner = inner if inner is not None else DefaultResolver()

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        results = await self._inner.resolve(host, port, family)
        kept: list[ResolveResult] = []
        first_problem: tuple[str, str] | None = None
        for result in results:
            problem = self.policy.problem(result["host"])
            if problem is None:
                kept.append(result)
            elif first_problem is None:
                first_problem = (result["host"], problem)
        if not kept:
            if first_problem is None:
                raise OSError(f"{host} has no address")
            raise BlockedAddress(host, *first_problem)
        return kept

    async def close(self) -> None:
        await self._inner.close()


def guarded_socket_factory(policy: AddressPolicy) -> Any:
    """A socket factory for aiohttp's connector that refuses to aim a socket at a refused address."""

    def factory(addr_info: tuple[Any, ...]) -> socket.socket:
        family, type_, proto, _, sockaddr = addr_info
        address = str(sockaddr[0])
        problem = policy.problem(address)
        if problem is not None:
            raise BlockedAddress(address, address, problem)
        return socket.socket(family=family, type=type_, proto=proto)

    return factory


def check_url(url: str, policy: AddressPolicy) -> tuple[URL | None, str | None]:
    """``(URL, None)`` when ``url`` may be requested, else ``(None, reason)``.

    Only absolute http(s) URLs with a host; an IP-literal host is judged here (the connector does
    not resolve literals), a name when it is resolved.
    """
    if len(url) > MAX_URL_CHARS:
        return None, f"URL is over {MAX_URL_CHARS} characters"
    try:
        parsed = URL(url.strip())
    except (ValueError, TypeError):
        return None, "not a valid URL"
    if parsed.scheme not in ("http", "https"):
        shown = parsed.scheme or "no scheme"
        return None, f"only http and https URLs are fetched (this one is {shown})"
    host = parsed.raw_host
    if not host:
        return None, "the URL has no host"
    literal = host.strip("[]")
    try:
        ipaddress.ip_address(literal.split("%", 1)[0])
    except ValueError:
        return parsed, None
    problem = policy.problem(literal)
    if problem is not None:
        return None, f"{literal} is {problem}; newsbot does not fetch from its own network"
    return parsed, None
