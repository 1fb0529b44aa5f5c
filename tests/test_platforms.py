"""Tests of the NetBox platform -> NAPALM driver transform function."""

from __future__ import annotations

import pytest
from nornir.core.inventory import ConnectionOptions, Defaults, Group, Host, ParentGroups

from nornir_nb_ifsync.exceptions import UnknownPlatformError
from nornir_nb_ifsync.platforms import (
    check_driver,
    napalm_driver,
    netbox_napalm_platform,
    rules_driver,
)


@pytest.mark.parametrize(
    ("platform", "driver"),
    [
        ("cisco-ios", "ios"),
        ("Cisco IOS", "ios"),
        ("ios", "ios"),
        ("arista-eos", "eos"),
        ("Arista EOS", "eos"),
        ("cisco-nxos", "nxos"),
        ("nxos_ssh", "nxos_ssh"),
        ("cisco-iosxr", "iosxr"),
        ("iosxr_netconf", "iosxr_netconf"),
        ("juniper-junos", "junos"),
        (" Juniper Junos ", "junos"),
        ("IOS XE", "ios"),
        ("cisco_xe", "ios"),
        ("Cisco NXOS", "nxos"),
        ("nxos-ssh", "nxos_ssh"),
        ("iosxr-netconf", "iosxr_netconf"),
        ("cisco_xr", "iosxr"),
        ("unknown-os", None),
        (None, None),
    ],
)
def test_napalm_driver_maps_names_and_slugs(platform: str | None, driver: str | None) -> None:
    assert napalm_driver(platform) == driver


def test_napalm_driver_extra_mapping_wins() -> None:
    assert napalm_driver("Edge Router", {"edge router": "junos"}) == "junos"
    assert napalm_driver("ios", {"IOS": "eos"}) == "eos"


def _host(platform: str | None, **kwargs: object) -> Host:
    return Host(name="r1", platform=platform, defaults=Defaults(), **kwargs)  # type: ignore[arg-type]


def test_transform_sets_the_napalm_platform_only() -> None:
    host = _host("Cisco IOS")

    netbox_napalm_platform(host)

    assert host.platform == "Cisco IOS"
    assert host.get_connection_parameters("napalm").platform == "ios"
    assert check_driver(host) == "ios"


def test_transform_keeps_an_explicit_napalm_platform() -> None:
    host = _host("Cisco IOS", connection_options={"napalm": ConnectionOptions(platform="mock")})

    netbox_napalm_platform(host)

    assert host.get_connection_parameters("napalm").platform == "mock"


def test_transform_gives_each_host_its_own_extras() -> None:
    shared = {"optional_args": {"transport": "https"}}
    group = Group(name="eos", connection_options={"napalm": ConnectionOptions(extras=shared)})
    hosts = [_host("arista-eos", groups=ParentGroups([group])) for _ in range(2)]

    for host in hosts:
        netbox_napalm_platform(host)
    first = hosts[0].get_connection_parameters("napalm").extras
    assert first is not None
    first["optional_args"]["port"] = 1001

    assert hosts[1].get_connection_parameters("napalm").extras == shared
    assert "port" not in shared["optional_args"]


def test_check_driver_names_the_host_and_the_fix() -> None:
    host = _host("Weird OS")
    netbox_napalm_platform(host)

    with pytest.raises(UnknownPlatformError) as caught:
        check_driver(host)

    assert "r1" in str(caught.value)
    assert "transform_function_options.platforms" in str(caught.value)


@pytest.mark.parametrize(
    ("platform", "driver", "expected"),
    [("juniper-junos", "mock", "junos"), ("lab-box", "mock", "mock"), ("cisco-ios", "eos", "eos")],
)
def test_rules_driver_of_the_mock_driver_is_the_host_platform(
    platform: str, driver: str, expected: str
) -> None:
    assert rules_driver(Host(name="r1", platform=platform), driver) == expected
