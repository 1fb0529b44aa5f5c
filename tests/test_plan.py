"""Table tests of matching, diffing and planning (pure functions, no NetBox)."""

from __future__ import annotations

import re
from typing import Any

import pytest

from nornir_nb_ifsync.apply import _waves
from nornir_nb_ifsync.diff import match_interfaces
from nornir_nb_ifsync.models import FieldChange, NetBoxInterface
from nornir_nb_ifsync.normalize import normalize
from nornir_nb_ifsync.plan import build_plan, owned_fields
from nornir_nb_ifsync.stale import stale_policy

DELETE = stale_policy("delete")


def _napalm(**over: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "is_up": True,
        "is_enabled": True,
        "description": "",
        "last_flapped": -1.0,
        "speed": 1000.0,
        "mtu": 1500,
        "mac_address": "",
    }
    base.update(over)
    return base


def _nb(id_: int, name: str, **over: Any) -> NetBoxInterface:
    values: dict[str, Any] = {
        "type": "1000base-t",
        "enabled": True,
        "description": "",
        "mtu": 1500,
        "speed": 1_000_000,
        "mac_address": None,
    }
    values.update(over)
    return NetBoxInterface(id=id_, name=name, **values)


def test_match_prefers_exact_then_case_then_canonical() -> None:
    device = normalize("r1", {"gi0/1": _napalm(), "Ethernet1": _napalm(), "Gi0/2": _napalm()})
    netbox = [_nb(1, "Gi0/1"), _nb(2, "Ethernet1"), _nb(3, "GigabitEthernet0/2"), _nb(4, "X")]

    matching = match_interfaces(device.interfaces, netbox)

    assert [(i.name, nb.name) for i, nb in matching.pairs] == [
        ("gi0/1", "Gi0/1"),
        ("Ethernet1", "Ethernet1"),
        ("Gi0/2", "GigabitEthernet0/2"),
    ]
    assert [nb.name for nb in matching.not_on_device] == ["X"]
    assert matching.missing == ()


def test_match_never_creates_a_second_spelling() -> None:
    device = normalize("r1", {"GigabitEthernet0/1": _napalm(), "Gi0/1": _napalm()})

    matching = match_interfaces(device.interfaces, [_nb(1, "GigabitEthernet0/1")])

    assert [i.name for i, _ in matching.pairs] == ["GigabitEthernet0/1"]
    assert matching.missing == ()
    assert [d.name for d in matching.duplicates] == ["Gi0/1"]


def test_plan_updates_only_known_values() -> None:
    device = normalize("r1", {"Eth1": _napalm(speed=-1.0, mtu=0, description="new")})

    plan = build_plan(device, [_nb(7, "Eth1", speed=10_000_000, mtu=9214, description="old")])

    (update,) = plan.updates
    assert update.id == 7
    assert update.changes == (FieldChange("description", "old", "new"),)


def test_plan_compares_mac_case_insensitively() -> None:
    device = normalize("r1", {"Eth1": _napalm(mac_address="aa:bb:cc:00:00:01")})

    plan = build_plan(device, [_nb(1, "Eth1", mac_address="aa:bb:cc:00:00:01")])

    assert plan.updates == ()
    assert plan.unchanged == ("Eth1",)


def test_plan_never_changes_an_existing_type() -> None:
    device = normalize("r1", {"TenGigabitEthernet1/1/1": _napalm(speed=1000.0)})

    plan = build_plan(device, [_nb(1, "TenGigabitEthernet1/1/1", type="10gbase-x-sfpp")])

    assert all(c.field != "type" for u in plan.updates for c in u.changes)


def test_plan_creates_parents_before_children() -> None:
    reply = {"Ethernet1.100": _napalm(), "Ethernet1": _napalm(), "Ethernet2": _napalm()}

    plan = build_plan(normalize("r1", reply), [])

    names = [c.name for c in plan.creates]
    assert names.index("Ethernet1") < names.index("Ethernet1.100")
    child = next(c for c in plan.creates if c.name == "Ethernet1.100")
    assert child.values["parent"] == "Ethernet1"
    assert child.values["type"] == "virtual"


def test_plan_gives_no_parent_to_an_existing_non_virtual_subinterface() -> None:
    reply = {"Ethernet1": _napalm(), "Ethernet1.100": _napalm()}
    netbox = [_nb(1, "Ethernet1"), _nb(2, "Ethernet1.100", type="other")]

    plan = build_plan(normalize("r1", reply), netbox)

    assert plan.updates == ()
    (skip,) = [s for s in plan.skipped if s.field == "parent"]
    assert skip.name == "Ethernet1.100"
    assert "only on virtual" in skip.reason


def test_plan_sets_the_parent_of_an_existing_virtual_subinterface() -> None:
    reply = {"Ethernet1": _napalm(), "Ethernet1.100": _napalm(speed=0.0)}
    netbox = [_nb(1, "Ethernet1"), _nb(2, "Ethernet1.100", type="virtual", speed=None)]

    plan = build_plan(normalize("r1", reply), netbox)

    (update,) = plan.updates
    assert update.changes == (FieldChange("parent", None, "Ethernet1"),)


def test_plan_with_owned_fields_ignores_other_differences() -> None:
    device = normalize("r1", {"Eth1": _napalm(description="new", mtu=9000, is_enabled=False)})

    plan = build_plan(device, [_nb(1, "Eth1", description="old")], owned_fields(["description"]))

    (update,) = plan.updates
    assert [c.field for c in update.changes] == ["description"]


def test_plan_create_always_has_name_and_type() -> None:
    plan = build_plan(normalize("r1", {"Eth1": _napalm()}), [], owned_fields(["description"]))

    (create,) = plan.creates
    assert dict(create.values) == {"name": "Eth1", "type": "1000base-t", "description": ""}


@pytest.mark.parametrize("fields", [["descr"], ["description", "lag"], "description"])
def test_owned_fields_refuses_unknown_names(fields: Any) -> None:
    with pytest.raises(ValueError, match="field"):
        owned_fields(fields)


def test_plan_reports_interfaces_not_on_the_device() -> None:
    plan = build_plan(normalize("r1", {"Eth1": _napalm()}), [_nb(1, "Eth1"), _nb(2, "Eth9")])

    assert plan.not_on_device == ("Eth9",)


@pytest.mark.parametrize(
    ("device_name", "netbox_name"),
    [
        ("Bundle-Ether1", "BE1"),
        ("MgmtEth0/RP0/CPU0/0", "Mg0/RP0/CPU0/0"),
        ("GigabitEthernet0/1", "GI0/1"),
        ("FiveGigabitEthernet1/0/1", "Fi1/0/1"),
        ("Fi1/0/2", "FiftyGigabitEthernet1/0/2"),
    ],
)
def test_plan_pairs_a_short_netbox_spelling_instead_of_creating_and_deleting(
    device_name: str, netbox_name: str
) -> None:
    netbox = [_nb(7, netbox_name)]

    plan = build_plan(normalize("r1", {device_name: _napalm()}), netbox, policy=DELETE)

    assert plan.creates == ()
    assert plan.deletes == ()
    assert plan.unchanged == (netbox_name,)


def test_plan_pairs_an_ambiguous_short_name_by_netutils_first() -> None:
    netbox = [_nb(1, "FiveGigabitEthernet1/0/1"), _nb(2, "FiftyGigabitEthernet1/0/1")]

    plan = build_plan(normalize("r1", {"Fi1/0/1": _napalm()}), netbox)

    assert plan.unchanged == ("FiftyGigabitEthernet1/0/1",)
    assert plan.not_on_device == ()  # the short name may stand for it: never stale
    assert plan.creates == ()


def test_plan_creates_three_levels_one_wave_each() -> None:
    reply = {"Gi0/0": _napalm(), "Gi0/0.1.2": _napalm(), "Gi0/0.1": _napalm()}

    plan = build_plan(normalize("r1", reply), [])

    assert [(c.name, c.values["parent"]) for c in plan.creates] == [
        ("Gi0/0", None),
        ("Gi0/0.1", "Gi0/0"),
        ("Gi0/0.1.2", "Gi0/0.1"),
    ]
    assert [[c.name for c in wave] for wave in _waves(plan.creates)] == [
        ["Gi0/0"],
        ["Gi0/0.1"],
        ["Gi0/0.1.2"],
    ]


def test_plan_takes_a_parent_netbox_has_when_the_device_does_not_sync_it() -> None:
    reply = {"Ethernet1": _napalm(), "Ethernet1.100": _napalm(speed=0.0)}
    device = normalize("r1", reply, include=[re.compile(r"Ethernet1\.100")])

    plan = build_plan(device, [_nb(1, "Eth1")])

    (create,) = plan.creates
    assert create.values["parent"] == "Eth1"
    assert [s for s in plan.skipped if s.field == "parent"] == []


def test_plan_notes_a_parent_in_neither_place() -> None:
    plan = build_plan(normalize("r1", {"Ethernet1.100": _napalm(speed=0.0)}), [])

    (create,) = plan.creates
    assert create.values["parent"] is None
    assert [(s.field, s.reason) for s in plan.skipped] == [
        ("parent", "parent Ethernet1 is neither synced from the device nor in NetBox")
    ]


def test_plan_not_on_device_lists_only_what_the_device_did_not_report() -> None:
    reply = {"Ethernet1": _napalm(), "Ethernet2": _napalm(), "Null0": _napalm()}
    netbox = [_nb(1, "Ethernet1"), _nb(2, "Ethernet2"), _nb(3, "Null0"), _nb(4, "Ethernet9")]
    device = normalize("r1", reply, include=[re.compile("Ethernet1")])

    plan = build_plan(device, netbox, in_scope=lambda name: name == "Ethernet1")

    assert plan.not_on_device == ()


def test_plan_reports_a_second_spelling_netbox_already_holds() -> None:
    netbox = [_nb(1, "GigabitEthernet1/0/11"), _nb(2, "Gi1/0/11")]

    plan = build_plan(normalize("r1", {"GigabitEthernet1/0/11": _napalm()}), netbox, policy=DELETE)

    assert plan.unchanged == ("GigabitEthernet1/0/11",)
    assert [(s.name, s.reason) for s in plan.skipped] == [
        ("Gi1/0/11", "in NetBox a second spelling of GigabitEthernet1/0/11; left alone")
    ]
    assert plan.deletes == ()
    assert plan.not_on_device == ()


def test_plan_names_a_new_child_after_the_parent_netbox_spells_otherwise() -> None:
    reply = {
        "Gi1/0/1": _napalm(),
        "Gi1/0/1.100": _napalm(speed=0.0),
        "Gi1/0/1.100.7": _napalm(speed=0.0),
    }

    plan = build_plan(normalize("r1", reply), [_nb(1, "GigabitEthernet1/0/1")])

    assert [(c.name, c.values["name"], c.values["parent"]) for c in plan.creates] == [
        ("GigabitEthernet1/0/1.100", "GigabitEthernet1/0/1.100", "GigabitEthernet1/0/1"),
        ("GigabitEthernet1/0/1.100.7", "GigabitEthernet1/0/1.100.7", "GigabitEthernet1/0/1.100"),
    ]
    assert [[c.name for c in wave] for wave in _waves(plan.creates)] == [
        ["GigabitEthernet1/0/1.100"],
        ["GigabitEthernet1/0/1.100.7"],
    ]
