"""Table tests of the normalising rules (pure functions, no NetBox)."""

from __future__ import annotations

import re
from typing import Any

import pytest

from nornir_nb_ifsync.exceptions import GetterOutputError
from nornir_nb_ifsync.models import Kind
from nornir_nb_ifsync.normalize import (
    UnusableValueError,
    check_shape,
    description,
    mac_address,
    mtu_bytes,
    name_problem,
    normalize,
    speed_kbps,
)


def _iface(**over: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "is_up": True,
        "is_enabled": True,
        "description": "",
        "last_flapped": -1.0,
        "speed": 1000.0,
        "mtu": 1500,
        "mac_address": "AA:BB:CC:00:00:01",
    }
    base.update(over)
    return base


@pytest.mark.parametrize(
    ("mbps", "kind", "expected"),
    [
        (1000.0, Kind.PHYSICAL, 1_000_000),
        (0.023, Kind.PHYSICAL, 23),
        (2.5, Kind.PHYSICAL, 2500),
        (25000.0, Kind.PHYSICAL, 25_000_000),
        (0.0, Kind.PHYSICAL, None),
        (-1.0, Kind.PHYSICAL, None),
        (8000.0, Kind.VIRTUAL, None),
        (float("nan"), Kind.PHYSICAL, None),
        (1_600_000.0, Kind.PHYSICAL, 1_600_000_000),
        (200000.0, Kind.LAG, 200_000_000),
        (3_200_000.0, Kind.LAG, 3_200_000_000),
    ],
)
def test_speed_kbps_converts_mbps_to_kbps(mbps: float, kind: Kind, expected: int | None) -> None:
    assert speed_kbps(mbps, kind) == expected


@pytest.mark.parametrize(
    ("mbps", "kind"),
    [(25_000_000_000.0, Kind.PHYSICAL), (1_600_001.0, Kind.PHYSICAL), (1e12, Kind.LAG)],
)
def test_speed_kbps_refuses_implausible_speeds(mbps: float, kind: Kind) -> None:
    with pytest.raises(UnusableValueError, match="implausible"):
        speed_kbps(mbps, kind)


@pytest.mark.parametrize(
    ("value", "expected"),
    [(1500, 1500), (1, 1), (65536, 65536), (65535, 65535), (0, None), (-1, None), (9214.0, 9214)],
)
def test_mtu_bytes_keeps_netbox_range(value: int | float, expected: int | None) -> None:
    assert mtu_bytes(value) == expected


@pytest.mark.parametrize("value", [65537, 2147483647, 1500.5])
def test_mtu_bytes_refuses_out_of_range(value: int | float) -> None:
    with pytest.raises(UnusableValueError, match="MTU"):
        mtu_bytes(value)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("AA:BB:CC:00:01:01", "AA:BB:CC:00:01:01"),
        ("aabb.cc00.0101", "AA:BB:CC:00:01:01"),
        ("aa-bb-cc-00-01-01", "AA:BB:CC:00:01:01"),
        ("aabbcc000101", "AA:BB:CC:00:01:01"),
        ("  aa:bb:cc:0:1:1 ", "AA:BB:CC:00:01:01"),
        ("", None),
        ("None", None),
        ("Unspecified", None),
        ("00:00:00:00:00:00", None),
        ("0000.0000.0000", None),
    ],
)
def test_mac_address_parses_common_notations(value: str, expected: str | None) -> None:
    assert mac_address(value) == expected


@pytest.mark.parametrize("value", ["not-a-mac", "AA:BB:CC:DD:EE:FF:00:11", "zz:zz"])
def test_mac_address_refuses_garbage(value: str) -> None:
    with pytest.raises(UnusableValueError, match="MAC"):
        mac_address(value)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("  uplink  ", "uplink"),
        ("a\x00b\tc", "ab c"),
        ("line1\r\nline2", "line1 line2"),
        ("Zürich – ünïcode ✓", "Zürich – ünïcode ✓"),
        ("x" * 199 + " y", "x" * 199),
        ("", ""),
    ],
)
def test_description_is_cleaned(value: str, expected: str) -> None:
    assert description(value) == expected


def test_description_is_cut_to_200_and_stripped_again() -> None:
    text = "circuit " + "a" * 190 + "   tail"

    result = description(text)

    assert len(result) <= 200
    assert result == result.strip()
    assert result.startswith("circuit ")


@pytest.mark.parametrize(
    ("name", "problem"),
    [
        ("Ethernet1", None),
        ("x" * 64, None),
        ("x" * 65, "name longer than NetBox's 64 characters"),
        ("", "empty name"),
        (" Eth1", "name has leading or trailing blanks"),
        ("Eth\x001", "name contains control characters"),
    ],
)
def test_name_problem(name: str, problem: str | None) -> None:
    assert name_problem(name) == problem


@pytest.mark.parametrize(
    ("data", "field"),
    [
        (_iface(is_enabled=[True]), "is_enabled"),
        (_iface(speed="1000"), "speed"),
        (_iface(speed=True), "speed"),
        ({k: v for k, v in _iface().items() if k != "mtu"}, "mtu"),
        (_iface(mac_address=None), "mac_address"),
    ],
)
def test_check_shape_names_the_field(data: dict[str, Any], field: str) -> None:
    with pytest.raises(GetterOutputError) as caught:
        check_shape("r1", "Ethernet1", data)

    assert caught.value.field == field
    assert "r1" in str(caught.value)
    assert "Ethernet1" in str(caught.value)


def test_normalize_rejects_a_reply_that_is_not_a_mapping() -> None:
    with pytest.raises(GetterOutputError, match="r1"):
        normalize("r1", ["Ethernet1"])


def test_normalize_skips_a_malformed_interface_and_keeps_the_others() -> None:
    reply = {"Ethernet1": _iface(), "Ethernet2": _iface(mtu="big")}

    result = normalize("r1", reply)

    assert [i.name for i in result.interfaces] == ["Ethernet1"]
    assert [(s.name, s.field, s.reason) for s in result.skipped] == [
        (
            "Ethernet2",
            None,
            "not written, not NAPALM's shape: field 'mtu': expected int or float, got 'big'",
        )
    ]


def test_normalize_names_every_wrong_field_of_an_interface() -> None:
    reply = {"Gi1/0/1": _iface(is_enabled="true", speed="1000", description=None)}

    (skip,) = normalize("sw3", reply).skipped

    assert skip.reason == (
        "not written, not NAPALM's shape: field 'is_enabled': expected bool, got 'true'; "
        "field 'description': expected str, got None; "
        "field 'speed': expected int or float, got '1000'"
    )


def test_normalize_skips_pseudo_interfaces_and_their_children() -> None:
    reply = {
        "ge-0/0/0": _iface(),
        "ge-0/0/0.0": _iface(),
        "lsi": _iface(),
        "lsi.0": _iface(),
        "bme0.32768": _iface(),
        "lo0.16385": _iface(),
    }

    result = normalize("r1", reply, driver="junos")

    assert [i.name for i in result.interfaces] == ["ge-0/0/0", "ge-0/0/0.0"]
    assert {s.name for s in result.skipped} == {"lsi", "lsi.0", "bme0.32768", "lo0.16385"}


def test_normalize_syncs_a_subinterface_include_names_alone() -> None:
    reply = {"Ethernet1": _iface(), "Ethernet1.100": _iface(), "Ethernet2.100": _iface()}

    result = normalize("r1", reply, include=[re.compile(r"Ethernet1\.100")])

    assert [i.name for i in result.interfaces] == ["Ethernet1.100"]
    assert {s.name: s.reason for s in result.skipped} == {
        "Ethernet1": "not matched by include",
        "Ethernet2.100": "not matched by include",
    }


def test_normalize_skips_the_children_of_an_excluded_parent() -> None:
    reply = {"Ethernet1": _iface(), "Ethernet1.100": _iface()}

    result = normalize("r1", reply, exclude=[re.compile("Ethernet1")])

    assert result.interfaces == ()
    assert [s.reason for s in result.skipped] == [
        "matched by exclude",
        "child of skipped interface Ethernet1",
    ]


@pytest.mark.parametrize(
    ("data", "field", "reason"),
    [
        (_iface(mtu=2147483647), "mtu", "MTU 2147483647 is outside 1..65536; value not written"),
        (_iface(mtu=1500.5), "mtu", "MTU 1500.5 is not a whole number of bytes; value not written"),
        (
            _iface(speed=1600000.4),
            "speed",
            "speed 1600000.4 Mbit/s is implausible for a physical interface; value not written",
        ),
    ],
)
def test_normalize_names_the_refused_value_as_reported(
    data: dict[str, Any], field: str, reason: str
) -> None:
    result = normalize("r1", {"Ethernet2/1": data})

    assert [(s.field, s.reason) for s in result.skipped] == [(field, reason)]


def test_normalize_reports_an_implausible_value_and_keeps_the_interface() -> None:
    reply = {"Ethernet2/1": _iface(speed=25_000_000_000.0, mtu=-1)}

    result = normalize("r1", reply)

    (interface,) = result.interfaces
    assert interface.speed is None
    assert interface.mtu is None
    assert [(s.name, s.field) for s in result.skipped] == [("Ethernet2/1", "speed")]


def test_normalize_builds_the_interface_in_netbox_units() -> None:
    reply = {"Ethernet1.100": _iface(speed=10000.0, description=" cust ", mac_address="")}

    (interface,) = normalize("r1", reply).interfaces

    assert interface.kind is Kind.VIRTUAL
    assert interface.type == "virtual"
    assert interface.parent == "Ethernet1"
    assert interface.speed is None
    assert interface.description == "cust"
    assert interface.mac_address is None


def test_normalize_says_a_description_was_cut() -> None:
    result = normalize("r1", {"Ethernet1": _iface(description="x" * 300)})

    (interface,) = result.interfaces
    assert interface.description == "x" * 200
    assert [(s.field, s.reason) for s in result.skipped] == [
        ("description", "cut to NetBox's 200 characters (the device has 300)")
    ]
