"""Network policy: URLs come from strangers, so the checker must not become a way to probe
the machine's own network (SSRF).

The policy is enforced where connections are made — an httpcore network backend — so every
hop (redirects included) is vetted, and the connection goes to the very address that was
vetted: there is no second DNS lookup an attacker's resolver could answer differently
(DNS rebinding). Numeric host forms (``http://2852039166/``) are covered because the
*resolved* address is what is judged; IPv6 forms that carry an IPv4 address (mapped,
compatible, 6to4, Teredo, NAT64) are judged by the address they carry as well, and the
special ranges Python's tables miss (site-local ``fec0::/10``, ORCHID…) are named here.
Cloud metadata endpoints stay refused when private networks are allowed (see
``NetworkPolicy``).
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import httpcore

from verifier.errors import (
    DnsNotFoundError,
    DnsTemporaryError,
    InvalidHostError,
    NetworkPolicyError,
)
from verifier.urls import host_problem

if TYPE_CHECKING:
    from verifier.config_sections import SecuritySettings

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(address)
    for address in (
        "169.254.169.254",  # AWS, GCP (metadata.google.internal), Azure, OpenStack, Hetzner…
        "169.254.170.2",  # AWS ECS task metadata and credentials
        "169.254.170.23",  # AWS EKS Pod Identity agent (credentials)
        "169.254.0.23",  # Tencent Cloud
        "100.100.100.200",  # Alibaba Cloud
        "192.0.0.192",  # Oracle Cloud
        "168.63.129.16",  # Azure WireServer (a public address, reachable from Azure VMs
        # — GitHub's hosted runners among them)
        "fd00:ec2::254",  # AWS over IPv6
        "fd00:ec2::23",  # AWS EKS Pod Identity agent over IPv6
    )
)
"""Cloud metadata and credential endpoints: refused even with ``allow_private_networks``,
contacted only when ``[security] allowed_networks`` names the very address."""

_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_IPV4_COMPATIBLE = ipaddress.ip_network("::/96")
_SPECIAL_IPV6: tuple[tuple[ipaddress.IPv6Network, str], ...] = tuple(
    (ipaddress.IPv6Network(network), reason)
    for network, reason in (
        # Python's tables (3.11: fec0::/10 and 3fff::/20 count as global) lag the IANA
        # special-purpose registry, so the ranges that matter are named here.
        ("fec0::/10", "a site-local address (deprecated by RFC 3879, still routed inside sites)"),
        ("2001:10::/28", "an ORCHID identifier (RFC 4843), not a routable address"),
        ("2001:20::/28", "an ORCHIDv2 identifier (RFC 7343), not a routable address"),
        ("64:ff9b:1::/48", "a local-use NAT64 address (RFC 8215)"),
        ("100::/64", "a discard-only address (RFC 6666)"),
        ("2001:db8::/32", "a documentation address (RFC 3849)"),
        ("3fff::/20", "a documentation address (RFC 9637)"),
        ("5f00::/16", "an SRv6 segment identifier (RFC 9602)"),
    )
)


def embedded_ipv4s(address: IPAddress) -> tuple[ipaddress.IPv4Address, ...]:
    """The IPv4 addresses an IPv6 address carries and that a connection to it would reach
    (or reveal): IPv4-mapped (``::ffff:a.b.c.d``), IPv4-compatible (``::a.b.c.d``,
    deprecated), 6to4 (``2002:AABB:CCDD::``), Teredo (server and client) and NAT64
    (``64:ff9b::a.b.c.d``, RFC 6052)."""
    if not isinstance(address, ipaddress.IPv6Address):
        return ()
    if address.ipv4_mapped is not None:
        return (address.ipv4_mapped,)
    if address.sixtofour is not None:
        return (address.sixtofour,)
    if address.teredo is not None:
        return address.teredo
    if address in _NAT64 or (address in _IPV4_COMPATIBLE and int(address) > 1):
        return (ipaddress.IPv4Address(int(address) & 0xFFFFFFFF),)
    return ()


def metadata_address(address: IPAddress) -> IPAddress | None:
    """The cloud metadata address ``address`` is, or hides (``::ffff:169.254.169.254``)."""
    if address in METADATA_ADDRESSES:
        return address
    return next((inner for inner in embedded_ipv4s(address) if inner in METADATA_ADDRESSES), None)


def refusal_reason(address: IPAddress) -> str | None:
    """Why ``address`` must not be contacted, or None if it is a public unicast address."""
    if address in METADATA_ADDRESSES:
        return "a cloud metadata address"
    if isinstance(address, ipaddress.IPv6Address):
        for network, special in _SPECIAL_IPV6:
            if address in network:
                return special
        inner = embedded_ipv4s(address)
        for ipv4 in inner:
            reason = refusal_reason(ipv4)
            if reason is not None:
                return f"{reason} (inside {address})"
        if address in _IPV4_COMPATIBLE and inner:
            return "an IPv4-compatible address (deprecated by RFC 4291)"
        if inner:
            return None  # a translation of public IPv4 addresses
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
    """Which resolved addresses may be contacted.

    ``allow_private_networks`` opens every non-public address but the cloud metadata ones
    (``METADATA_ADDRESSES``, also in disguise: ``::ffff:169.254.169.254``,
    ``64:ff9b::a9fe:a9fe``), which hand out credentials to whoever asks from the machine.
    ``allowed_networks`` opens the networks it names; a metadata address only when an
    entry names that very address (``169.254.169.254`` or ``169.254.169.254/32``), never
    through a wider network such as ``169.254.0.0/16`` or ``0.0.0.0/0``.
    """

    allow_private_networks: bool = False
    allowed_networks: tuple[IPNetwork, ...] = ()

    @classmethod
    def build(cls, allow_private: bool, allowed: Iterable[str]) -> NetworkPolicy:
        return cls(allow_private, tuple(ipaddress.ip_network(n, strict=False) for n in allowed))

    @classmethod
    def from_settings(cls, security: SecuritySettings) -> NetworkPolicy:
        """The policy ``[security]`` configures."""
        return cls.build(security.allow_private_networks, security.allowed_networks)

    def check(self, host: str, address: IPAddress) -> None:
        """Raise ``NetworkPolicyError`` if ``address`` (resolved from ``host``) is refused."""
        shown = str(address) if host == str(address) else f"{host} ({address})"
        metadata = metadata_address(address)
        if metadata is not None:
            if any(
                network.num_addresses == 1 and address in network
                for network in self.allowed_networks
            ):
                return
            inside = "" if metadata == address else f" (inside {address})"
            raise NetworkPolicyError(
                f"refused to connect to {shown}: a cloud metadata address{inside}; "
                "only [security] allowed_networks naming this very address opens it"
            )
        if self.allow_private_networks:
            return
        if any(address in network for network in self.allowed_networks):
            return
        reason = refusal_reason(address)
        if reason is not None:
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
