"""Network policy: URLs come from strangers, so the checker must not become a way to probe
the machine's own network (SSRF).

The policy is enforced where connections are made — an httpcore network backend — so every
hop (redirects included) is vetted, and the connection goes to the very address that was
vetted: there is no second DNS lookup an attacker's resolver could answer differently
(DNS rebinding). Numeric host forms (``http://2852039166/``), IPv4-mapped and NAT64 IPv6
forms are covered because the *resolved* address is what is judged.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import httpcore

from verifier.errors import (
    DnsNotFoundError,
    DnsTemporaryError,
    InvalidHostError,
    NetworkPolicyError,
)
from verifier.urls import host_problem

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(address)
    for address in (
        "169.254.169.254",  # AWS, GCP, Azure, OpenStack, DigitalOcean
        "169.254.170.2",  # AWS ECS task metadata
        "100.100.100.200",  # Alibaba Cloud
        "192.0.0.192",  # Oracle Cloud
        "fd00:ec2::254",  # AWS over IPv6
    )
)
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


def embedded_ipv4(address: IPAddress) -> ipaddress.IPv4Address | None:
    """The IPv4 address hidden in an IPv4-mapped, 6to4, Teredo or NAT64 IPv6 address."""
    if not isinstance(address, ipaddress.IPv6Address):
        return None
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def refusal_reason(address: IPAddress) -> str | None:
    """Why ``address`` must not be contacted, or None if it is a public unicast address."""
    inner = embedded_ipv4(address)
    if inner is not None:
        reason = refusal_reason(inner)
        return f"{reason} (inside {address})" if reason else None
    if address in METADATA_ADDRESSES:
        return "a cloud metadata address"
    checks = (
        (address.is_loopback, "a loopback address"),
        (address.is_link_local, "a link-local address"),
        (address.is_multicast, "a multicast address"),
        (address.is_unspecified, "the unspecified address"),
        (address.is_reserved, "a reserved address"),
        (address.is_private, "a private address"),
        (not address.is_global, "not a public address"),
    )
    for hit, reason in checks:
        if hit:
            return reason
    return None


@dataclass(frozen=True, slots=True)
class NetworkPolicy:
    """Which resolved addresses may be contacted."""

    allow_private_networks: bool = False
    allowed_networks: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = ()

    @classmethod
    def build(cls, allow_private: bool, allowed: Iterable[str]) -> NetworkPolicy:
        return cls(allow_private, tuple(ipaddress.ip_network(n, strict=False) for n in allowed))

    def check(self, host: str, address: IPAddress) -> None:
        """Raise ``NetworkPolicyError`` if ``address`` (resolved from ``host``) is refused."""
        if self.allow_private_networks:
            return
        if any(address in network for network in self.allowed_networks):
            return
        reason = refusal_reason(address)
        if reason is not None:
            shown = str(address) if host == str(address) else f"{host} ({address})"
            raise NetworkPolicyError(f"refused to connect to {shown}: {reason}")


class Resolver:
    """Resolves host names with the system resolver, with optional static overrides.

    ``overrides`` maps a host name to an address (like curl's ``--resolve``), which lets a
    test web on loopback stand in for real host names.
    """

    def __init__(self, overrides: Mapping[str, str] | None = None, timeout: float = 10.0) -> None:
        self._overrides = {
            host.lower().rstrip("."): ipaddress.ip_address(address)
            for host, address in (overrides or {}).items()
        }
        self._timeout = timeout

    async def resolve(self, host: str, port: int) -> list[IPAddress]:
        name = host.lower().rstrip(".").strip("[]")
        override = self._overrides.get(name)
        if override is not None:
            return [override]
        try:
            return [ipaddress.ip_address(name)]
        except ValueError:
            pass
        problem = host_problem(name)
        if problem is not None:
            raise InvalidHostError(problem)
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(self._timeout):
                infos = await loop.getaddrinfo(name, port, type=socket.SOCK_STREAM)
        except UnicodeError as exc:  # the IDNA codec refusing the name
            raise InvalidHostError(f"host name {name!r} cannot be encoded: {exc}") from exc
        except TimeoutError as exc:
            raise DnsTemporaryError(f"DNS lookup of {name} timed out") from exc
        except socket.gaierror as exc:
            if exc.errno in (socket.EAI_NONAME, getattr(socket, "EAI_NODATA", -5)):
                raise DnsNotFoundError(f"host name {name} does not resolve") from exc
            raise DnsTemporaryError(f"DNS lookup of {name} failed: {exc.strerror}") from exc
        addresses: list[IPAddress] = []
        for _family, _type, _proto, _canon, sockaddr in infos:
            address = ipaddress.ip_address(str(sockaddr[0]).split("%", 1)[0])
            if address not in addresses:
                addresses.append(address)
        return addresses


class VettingBackend(httpcore.AsyncNetworkBackend):
    """An httpcore network backend that resolves, vets, and connects to the vetted address."""

    def __init__(
        self,
        policy: NetworkPolicy,
        resolver: Resolver,
        inner: httpcore.AsyncNetworkBackend | None = None,
    ) -> None:
        self._policy = policy
        self._resolver = resolver
        self._inner = inner or httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore's interface
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        addresses = await self._resolver.resolve(host, port)
        refusal: NetworkPolicyError | None = None
        allowed: list[IPAddress] = []
        for address in addresses:
            try:
                self._policy.check(host, address)
                allowed.append(address)
            except NetworkPolicyError as exc:
                refusal = refusal or exc
        if refusal is not None:
            raise refusal  # one refused address taints the name: no "pick the public one"
        last_error: Exception | None = None
        for address in allowed:
            try:
                return await self._inner.connect_tcp(
                    str(address), port, timeout, local_address, socket_options
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                last_error = exc
        if last_error is not None:
            raise last_error
        raise DnsNotFoundError(f"host name {host} has no address")

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore's interface
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise NetworkPolicyError("unix sockets are never contacted")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)
