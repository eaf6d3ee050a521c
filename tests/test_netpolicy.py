"""The network policy: private, loopback, link-local, metadata and disguised forms refused."""

from __future__ import annotations

import ipaddress
from typing import Any

import httpcore
import pytest

from verifier.errors import NetworkPolicyError
from verifier.web.netpolicy import NetworkPolicy, Resolver, VettingBackend, refusal_reason


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "10.1.2.3",
        "172.16.0.1",
        "192.168.1.1",
        "169.254.169.254",
        "100.100.100.200",
        "0.0.0.0",
        "224.0.0.1",
        "::1",
        "fe80::1",
        "fd00:ec2::254",
        "::ffff:127.0.0.1",
        "64:ff9b::a9fe:a9fe",
        "2002:7f00:1::",
    ],
)
def test_non_public_addresses_are_refused(address: str) -> None:
    assert refusal_reason(ipaddress.ip_address(address)) is not None


@pytest.mark.parametrize("address", ["93.184.215.14", "2606:2800:21f:cb07:6820:80da:af6b:8b2c"])
def test_public_addresses_pass(address: str) -> None:
    assert refusal_reason(ipaddress.ip_address(address)) is None


def test_policy_allows_configured_networks_only() -> None:
    policy = NetworkPolicy.build(False, ["127.0.0.2/32"])
    policy.check("127.0.0.2", ipaddress.ip_address("127.0.0.2"))
    with pytest.raises(NetworkPolicyError, match="loopback"):
        policy.check("127.0.0.3", ipaddress.ip_address("127.0.0.3"))
    NetworkPolicy.build(True, []).check("x", ipaddress.ip_address("10.0.0.1"))


async def test_numeric_host_forms_resolve_to_the_address_they_hide() -> None:
    resolver = Resolver()
    [address] = await resolver.resolve("2852039166", 80)  # 169.254.169.254 as one number
    assert str(address) == "169.254.169.254"
    assert refusal_reason(address) == "a cloud metadata address"


async def test_resolver_overrides_map_names_to_addresses() -> None:
    resolver = Resolver({"www.example.org": "127.0.0.9"})
    assert [str(a) for a in await resolver.resolve("WWW.Example.org.", 443)] == ["127.0.0.9"]


# -- special and deprecated IPv6 ranges, and the IPv4 addresses IPv6 forms carry ------------


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("fec0::1", "site-local"),  # deprecated (RFC 3879), Python 3.11 calls it global
        ("feff:ffff::1", "site-local"),
        ("2001:10::1", "ORCHID"),
        ("2001:20::1", "ORCHIDv2"),
        ("64:ff9b:1::a00:1", "local-use NAT64"),
        ("3fff::1", "documentation"),  # RFC 9637, unknown to Python 3.11
        ("5f00::1", "SRv6"),
        ("::7f00:1", "loopback address (inside ::7f00:1)"),  # IPv4-compatible 127.0.0.1
        ("::808:808", "IPv4-compatible"),  # deprecated even with a public IPv4 inside
        ("::ffff:a9fe:a9fe", "metadata"),
        ("64:ff9b::a00:1", "private address (inside 64:ff9b::a00:1)"),
        ("2002:a9fe:a9fe::1", "metadata"),  # 6to4 of 169.254.169.254
        ("2002:c0a8:101::1", "private"),  # 6to4 of 192.168.1.1
        # Teredo: server 10.0.0.1, client 8.8.8.8 (stored inverted): the server is private
        ("2001:0:a00:1:8000:63bf:f7f7:f7f7", "private address (inside"),
        # Teredo: server 65.54.227.120, client 10.0.0.1
        ("2001:0:4136:e378:8000:63bf:f5ff:fffe", "private address (inside"),
        ("168.63.129.16", "metadata"),  # Azure WireServer: public, reachable from runners
        ("169.254.170.23", "metadata"),
        ("fd00:ec2::23", "metadata"),
    ],
)
def test_special_ranges_and_embedded_private_ipv4_are_refused(address: str, reason: str) -> None:
    found = refusal_reason(ipaddress.ip_address(address))
    assert found is not None
    assert reason in found


@pytest.mark.parametrize(
    "address",
    [
        "::ffff:8.8.8.8",
        "64:ff9b::808:808",  # NAT64 of 8.8.8.8
        "2002:808:808::1",  # 6to4 of 8.8.8.8
        "2001:0:4136:e378:8000:63bf:f7f7:f7f7",  # Teredo: both IPv4 addresses public
    ],
)
def test_ipv6_forms_of_public_ipv4_pass(address: str) -> None:
    assert refusal_reason(ipaddress.ip_address(address)) is None


# -- metadata stays closed when private networks are open -------------------------------------


@pytest.mark.parametrize(
    "address",
    [
        "169.254.169.254",
        "169.254.170.2",
        "100.100.100.200",
        "192.0.0.192",
        "fd00:ec2::254",
        "::ffff:169.254.169.254",
        "64:ff9b::a9fe:a9fe",
        "2002:a9fe:a9fe::",
    ],
)
def test_private_networks_allowed_still_refuse_metadata(address: str) -> None:
    policy = NetworkPolicy.build(True, ["0.0.0.0/0", "::/0", "169.254.0.0/16"])
    with pytest.raises(NetworkPolicyError, match="cloud metadata address"):
        policy.check(address, ipaddress.ip_address(address))


def test_private_networks_allowed_open_other_private_addresses() -> None:
    policy = NetworkPolicy.build(True, [])
    for address in ("127.0.0.1", "10.0.0.1", "169.254.1.1", "fec0::1", "::1", "fd00::1"):
        policy.check(address, ipaddress.ip_address(address))


def test_a_metadata_address_opens_only_when_named_exactly() -> None:
    policy = NetworkPolicy.build(False, ["169.254.169.254", "fd00:ec2::254/128"])
    policy.check("169.254.169.254", ipaddress.ip_address("169.254.169.254"))
    policy.check("fd00:ec2::254", ipaddress.ip_address("fd00:ec2::254"))
    with pytest.raises(NetworkPolicyError, match="metadata"):
        policy.check("169.254.170.2", ipaddress.ip_address("169.254.170.2"))
    wide = NetworkPolicy.build(False, ["169.254.0.0/16"])
    wide.check("169.254.1.1", ipaddress.ip_address("169.254.1.1"))
    with pytest.raises(NetworkPolicyError, match="metadata"):
        wide.check("169.254.169.254", ipaddress.ip_address("169.254.169.254"))


class _RecordingBackend(httpcore.AsyncNetworkBackend):
    """Stands below the vetting backend: records a connection it is asked for, makes none."""

    def __init__(self) -> None:
        self.asked: list[str] = []

    async def connect_tcp(self, host: str, port: int, *args: Any, **kwargs: Any) -> Any:
        self.asked.append(host)
        raise httpcore.ConnectError("the test never connects")


async def test_metadata_host_name_is_refused_with_private_networks_allowed() -> None:
    inner = _RecordingBackend()
    backend = VettingBackend(
        NetworkPolicy.build(True, []),
        Resolver({"metadata.google.internal": "169.254.169.254"}),
        inner,
    )
    with pytest.raises(NetworkPolicyError, match=r"metadata.google.internal \(169.254.169.254\)"):
        await backend.connect_tcp("metadata.google.internal", 80)
    assert inner.asked == []
