"""The network policy: private, loopback, link-local, metadata and disguised forms refused."""

from __future__ import annotations

import ipaddress

import pytest

from verifier.errors import NetworkPolicyError
from verifier.web.netpolicy import NetworkPolicy, Resolver, refusal_reason


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
