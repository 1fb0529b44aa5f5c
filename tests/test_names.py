"""Table tests of the name rules."""

from __future__ import annotations

import re

import pytest

from nornir_nb_ifsync import connect
from nornir_nb_ifsync.models import Kind
from nornir_nb_ifsync.names import (
    GUESSABLE_TYPES,
    canonical_key,
    compile_patterns,
    guess_type,
    interface_kind,
    name_keys,
    parent_name,
    skip_reason,
)
from tests.lab.netbox_server import NetBoxLab


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("GigabitEthernet0/1", Kind.PHYSICAL),
        ("Ethernet1/1", Kind.PHYSICAL),
        ("ge-0/0/2", Kind.PHYSICAL),
        ("Management1", Kind.PHYSICAL),
        ("Loopback0", Kind.VIRTUAL),
        ("lo0", Kind.VIRTUAL),
        ("Vlan100", Kind.VIRTUAL),
        ("irb.10", Kind.VIRTUAL),
        ("Tunnel1", Kind.VIRTUAL),
        ("Ethernet1.100", Kind.VIRTUAL),
        ("ge-0/0/2.0", Kind.VIRTUAL),
        ("Port-Channel10", Kind.LAG),
        ("port-channel1", Kind.LAG),
        ("Po1", Kind.LAG),
        ("ae0", Kind.LAG),
        ("Bundle-Ether1", Kind.LAG),
        ("Bundle-Ether1.100", Kind.VIRTUAL),
        ("PortChannel0001", Kind.LAG),
        ("pseudowire100006", Kind.VIRTUAL),
        ("PW-Ether1", Kind.VIRTUAL),
        ("VirtualPortGroup0", Kind.VIRTUAL),
        ("Virtual-Template1", Kind.VIRTUAL),
        ("NVI0", Kind.VIRTUAL),
        ("LISP0", Kind.VIRTUAL),
    ],
)
def test_interface_kind(name: str, kind: Kind) -> None:
    assert interface_kind(name) is kind


@pytest.mark.parametrize(
    ("name", "parent"),
    [
        ("Ethernet1.100", "Ethernet1"),
        ("ge-0/0/2.0", "ge-0/0/2"),
        ("Bundle-Ether1.100", "Bundle-Ether1"),
        ("Ethernet1", None),
        ("GigabitEthernet0/0/0", None),
    ],
)
def test_parent_name(name: str, parent: str | None) -> None:
    assert parent_name(name) == parent


@pytest.mark.parametrize(
    ("name", "speed", "expected"),
    [
        ("GigabitEthernet1", 1_000_000, "1000base-t"),
        ("GigabitEthernet1", None, "1000base-t"),
        ("TenGigabitEthernet1/1/1", 1_000_000, "10gbase-x-sfpp"),
        ("Ethernet2", 25_000_000, "25gbase-x-sfp28"),
        ("Ethernet1/1", 10_000_000, "10gbase-x-sfpp"),
        ("et-0/0/0", 100_000_000, "100gbase-x-qsfp28"),
        ("xe-0/0/0", None, "10gbase-x-sfpp"),
        ("Ethernet3", None, "other"),
        ("Ethernet4", 10_000, "other"),
        ("Ethernet5", 100_000, "100base-tx"),
        ("TwoGigabitEthernet1/0/1", 1_000_000, "2.5gbase-t"),
        ("FiveGigabitEthernet1/0/1", None, "5gbase-t"),
        ("ge-0/0/1", None, "1000base-t"),
        ("fe-0/0/1", None, "100base-tx"),
        ("Loopback0", None, "virtual"),
        ("Port-Channel10", 200_000_000, "lag"),
    ],
)
def test_guess_type(name: str, speed: int | None, expected: str) -> None:
    assert guess_type(name, interface_kind(name), speed) == expected


@pytest.mark.parametrize(
    ("short", "long"),
    [
        ("Gi0/1", "GigabitEthernet0/1"),
        ("GI0/1", "GigabitEthernet0/1"),
        ("TE1/1", "TenGigabitEthernet1/1"),
        ("Po10", "Port-Channel10"),
        ("BE1", "Bundle-Ether1"),
        ("Be1.100", "Bundle-Ether1.100"),
        ("Mg0/RP0/CPU0/0", "MgmtEth0/RP0/CPU0/0"),
    ],
)
def test_canonical_key_matches_short_and_long_spellings(short: str, long: str) -> None:
    assert canonical_key(short) == canonical_key(long)


def test_canonical_key_keeps_different_interfaces_apart() -> None:
    assert canonical_key("Gi0/1") != canonical_key("Gi0/2")
    assert canonical_key("et-0/0/0") != canonical_key("Ethernet-0/0/0")


def test_name_keys_of_an_ambiguous_short_name_hold_both_long_names() -> None:
    keys = name_keys("Fi1/0/1")

    assert canonical_key("FiftyGigabitEthernet1/0/1") in keys
    assert canonical_key("FiveGigabitEthernet1/0/1") in keys
    assert name_keys("Ethernet1") == {"ethernet1"}


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        (".local.", "pseudo-interface (default skip list)"),
        ("bme0", "pseudo-interface (default skip list)"),
        ("dsc", "pseudo-interface (default skip list)"),
        ("Null0", "pseudo-interface (default skip list)"),
        ("Control Plane Interface", "pseudo-interface (default skip list)"),
        ("lo0.16384", "internal logical unit (>= 16384)"),
        ("ae0.32767", "internal logical unit (>= 16384)"),
        ("gre.0", "child of skipped interface gre"),
        ("ge-0/0/0", None),
        ("lo0.0", None),
        ("tap0", None),
    ],
)
def test_skip_reason_default_list(name: str, reason: str | None) -> None:
    assert skip_reason(name, driver="junos") == reason


@pytest.mark.parametrize(
    "name", ["GigabitEthernet0/0/0/0.20001", "Bundle-Ether1.16384", "Ethernet1.30000"]
)
def test_skip_reason_high_units_are_internal_on_junos_only(name: str) -> None:
    assert skip_reason(name, driver="iosxr") is None
    assert skip_reason(name) is None


def test_skip_reason_include_and_exclude() -> None:
    include = compile_patterns([r"ge-.*", "lsi"], "include")
    exclude = compile_patterns([r"ge-0/0/9"], "exclude")

    assert skip_reason("ge-0/0/1", include, exclude) is None
    assert skip_reason("lsi", include, exclude) is None
    assert skip_reason("xe-0/0/1", include, exclude) == "not matched by include"
    assert skip_reason("ge-0/0/9", include, exclude) == "matched by exclude"


def test_compile_patterns_names_the_option() -> None:
    with pytest.raises(ValueError, match="exclude"):
        compile_patterns(["("], "exclude")


def test_compile_patterns_returns_compiled() -> None:
    assert compile_patterns(["a.*"], "include") == (re.compile("a.*"),)


@pytest.mark.lab
def test_every_type_the_rules_guess_is_one_netbox_accepts(netbox_lab: NetBoxLab) -> None:
    api = connect(netbox_lab.url, netbox_lab.token_v1)

    accepted = {choice["value"] for choice in api.dcim.interfaces.choices()["type"]}

    assert accepted >= GUESSABLE_TYPES, sorted(GUESSABLE_TYPES - accepted)


@pytest.mark.parametrize("option", ["include", "exclude", "protect"])
def test_compile_patterns_refuses_one_string(option: str) -> None:
    with pytest.raises(ValueError, match=rf"{option} takes a list, not the string 'Vlan999'"):
        compile_patterns("Vlan999", option)


def test_patterns_match_the_long_form_of_a_short_name() -> None:
    exclude = compile_patterns(["GigabitEthernet1/0/3"], "exclude")
    include = compile_patterns([r"GigabitEthernet1/0/\d+"], "include")

    assert skip_reason("Gi1/0/3", exclude=exclude) == "matched by exclude"
    assert skip_reason("Gi1/0/4", include) is None
    assert skip_reason("Te1/1/1", include) == "not matched by include"
