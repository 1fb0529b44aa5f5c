"""Table tests of the stale-interface rules (pure functions, no NetBox)."""

from __future__ import annotations

import re
from typing import Any

import pytest

from nornir_nb_ifsync.models import FieldChange, NetBoxInterface
from nornir_nb_ifsync.normalize import normalize
from nornir_nb_ifsync.plan import build_plan
from nornir_nb_ifsync.stale import plan_stale, protection, stale_policy


def _nb(id_: int, name: str, **over: Any) -> NetBoxInterface:
    values: dict[str, Any] = {
        "type": "1000base-t",
        "enabled": True,
        "description": "",
        "mtu": None,
        "speed": None,
        "mac_address": None,
    }
    values.update(over)
    return NetBoxInterface(id=id_, name=name, **values)


REPLY = {
    "Eth1": {
        "is_up": True,
        "is_enabled": True,
        "description": "",
        "last_flapped": -1.0,
        "speed": 0.0,
        "mtu": 0,
        "mac_address": "",
    }
}


@pytest.mark.parametrize(
    ("interface", "reason"),
    [
        (_nb(1, "Eth9"), None),
        (_nb(1, "Eth9", connected=True), "has a cable or is marked connected"),
        (_nb(1, "Eth9", ip_count=2), "has IP addresses"),
        (_nb(1, "Eth9", mgmt_only=True), "is management-only"),
        (_nb(1, "Eth9", on_module=True), "is on a module"),
        (_nb(7, "Eth9"), "holds the device's primary IP"),
        (_nb(1, "Mgmt0"), "matched by protect"),
    ],
)
def test_protection_names_the_reason(interface: NetBoxInterface, reason: str | None) -> None:
    policy = stale_policy("delete", protect=[re.compile("Mgmt.*")])

    assert protection(interface, policy, primary_ip_ids={7}) == reason


def test_protect_matches_the_long_form_of_a_short_name() -> None:
    policy = stale_policy("delete", protect=[re.compile("GigabitEthernet0/9")])

    assert protection(_nb(1, "Gi0/9"), policy, primary_ip_ids=()) == "matched by protect"


def test_stale_policy_refuses_one_string_as_unprotect() -> None:
    with pytest.raises(ValueError, match="unprotect takes a list"):
        stale_policy("delete", unprotect="ip_addresses")


def test_protection_can_be_lifted() -> None:
    policy = stale_policy("delete", unprotect=["ip_addresses"])

    assert protection(_nb(1, "Eth9", ip_count=1), policy, ()) is None


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"mode": "purge"}, "stale"),
        ({"unprotect": ["cables"]}, "unprotect"),
        ({"tag": "a b"}, "stale_tag"),
        ({"max_delete": -1}, "max_delete"),
    ],
)
def test_stale_policy_refuses_bad_options(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        stale_policy(**kwargs)


def test_plan_stale_tag_adds_the_tag_once() -> None:
    stale = [_nb(1, "Eth8"), _nb(2, "Eth9", tags=("stale",))]

    plan = plan_stale(stale, stale, stale_policy("tag"))

    assert dict(plan.changes) == {1: (FieldChange("tags", [], ["stale"]),)}


def test_plan_stale_disable_only_enabled_interfaces() -> None:
    stale = [_nb(1, "Eth8"), _nb(2, "Eth9", enabled=False)]

    plan = plan_stale(stale, stale, stale_policy("disable"))

    assert dict(plan.changes) == {1: (FieldChange("enabled", True, False),)}


def test_plan_stale_deletes_children_before_parents() -> None:
    netbox = [_nb(1, "Eth8"), _nb(2, "Eth8.10", parent_id=1, type="virtual")]

    plan = plan_stale(netbox, netbox, stale_policy("delete"))

    assert [d.name for d in plan.deletes] == ["Eth8.10", "Eth8"]
    assert [d.depth for d in plan.deletes] == [1, 0]


def test_plan_stale_keeps_a_parent_whose_child_stays() -> None:
    netbox = [_nb(1, "Eth8"), _nb(2, "Eth8.10", parent_id=1, type="virtual", ip_count=1)]

    plan = plan_stale(netbox, netbox, stale_policy("delete"))

    assert plan.deletes == ()
    assert {(k.name, k.reason) for k in plan.kept} == {
        ("Eth8.10", "stale, kept: has IP addresses"),
        ("Eth8", "stale, kept: parent of Eth8.10"),
    }


def test_plan_stale_keeps_a_lag_or_bridge_whose_member_stays() -> None:
    netbox = [
        _nb(1, "Po1", type="lag"),
        _nb(2, "Eth1", lag_id=1),
        _nb(3, "br0", type="bridge"),
        _nb(4, "Eth2", bridge_id=3),
        _nb(5, "Po2", type="lag"),
        _nb(6, "Eth3", lag_id=5),
    ]
    stale = [netbox[0], netbox[2], netbox[4], netbox[5]]

    plan = plan_stale(stale, netbox, stale_policy("delete"))

    assert [d.name for d in plan.deletes] == ["Po2", "Eth3"]
    assert {(k.name, k.reason) for k in plan.kept} == {
        ("Po1", "stale, kept: LAG of Eth1"),
        ("br0", "stale, kept: bridge of Eth2"),
    }


def test_plan_stale_max_delete_deletes_none_over_the_cap() -> None:
    stale = [_nb(i, f"Eth{i}") for i in range(1, 4)]

    plan = plan_stale(stale, stale, stale_policy("delete", max_delete=2))

    assert plan.deletes == ()
    assert all("max_delete=2" in k.reason for k in plan.kept)
    assert len(plan.kept) == 3


def test_build_plan_untags_an_interface_that_came_back() -> None:
    netbox = [_nb(1, "Eth1", tags=("stale", "core"))]

    plan = build_plan(normalize("r1", REPLY), netbox, policy=stale_policy("tag"))

    (update,) = plan.updates
    assert update.changes == (FieldChange("tags", ["core", "stale"], ["core"]),)


def test_build_plan_acts_on_nothing_when_the_device_reports_nothing() -> None:
    netbox = [_nb(1, "Eth1"), _nb(2, "Eth2")]

    plan = build_plan(normalize("r1", {}), netbox, policy=stale_policy("delete"))

    assert plan.deletes == ()
    assert plan.updates == ()
    assert {k.name for k in plan.kept} == {"Eth1", "Eth2"}


def test_build_plan_in_ignore_mode_only_reports_when_the_device_reports_nothing() -> None:
    netbox = [_nb(1, "Eth1"), _nb(2, "Eth2")]

    plan = build_plan(normalize("r1", {}), netbox)

    assert plan.kept == ()
    assert plan.not_on_device == ("Eth1", "Eth2")


def test_plan_stale_max_delete_says_how_many_it_held() -> None:
    stale = [_nb(i, f"Eth{i}") for i in range(1, 4)]

    plan = build_plan(normalize("r1", REPLY), stale, policy=stale_policy("delete", max_delete=1))

    assert plan.deletes == ()
    assert plan.deletes_held == 2


def test_build_plan_leaves_out_of_scope_and_skipped_names() -> None:
    reply = {**REPLY, "lsi": REPLY["Eth1"]}
    netbox = [_nb(1, "Eth1"), _nb(2, "lsi"), _nb(3, "Null0"), _nb(4, "Eth9")]

    plan = build_plan(
        normalize("r1", reply),
        netbox,
        policy=stale_policy("delete"),
        in_scope=lambda name: name != "Null0",
    )

    assert [d.name for d in plan.deletes] == ["Eth9"]
    assert plan.not_on_device == ("Eth9",)
