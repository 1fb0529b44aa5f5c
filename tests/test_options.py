"""Stale modes, protections, max_delete, field ownership and change log messages, against the
lab's real NetBox."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest

from nornir_nb_ifsync import SyncReport, connect, netbox_update_interfaces
from tests.lab.inventory import counting, make_nornir, mock_host, write_mock_replies
from tests.lab.netbox_server import NetBoxLab
from tests.lab.seed import create_device, create_interfaces

pytestmark = pytest.mark.lab


def _port(description: str = "", enabled: bool = True) -> dict[str, Any]:
    return {
        "is_up": True,
        "is_enabled": enabled,
        "description": description,
        "last_flapped": -1.0,
        "speed": 1000.0,
        "mtu": 1500,
        "mac_address": "",
    }


class Lab:
    """One device of the test: a NetBox device and its mock-driver Nornir host."""

    def __init__(self, netbox_lab: NetBoxLab, tmp_path: Path, name: str, **device: Any) -> None:
        self.api = connect(netbox_lab.url, netbox_lab.token_v1)
        self.name = name
        self.tmp_path = tmp_path
        self.device_id = create_device(self.api, name, "mock", **device)

    def run(self, reply: dict[str, Any], **options: Any) -> Any:
        path = write_mock_replies(self.tmp_path / f"run{id(reply)}", {"get_interfaces": reply})
        nr = make_nornir([mock_host(self.name, self.device_id, path)])
        return nr.run(task=netbox_update_interfaces, netbox=self.api, **options)[self.name]

    def interfaces(self) -> dict[str, Any]:
        return {
            r.name: r for r in self.api.dcim.interfaces.filter(device_id=self.device_id, limit=0)
        }


@pytest.fixture
def tagged_lab(netbox_lab: NetBoxLab, tmp_path: Path) -> Lab:
    lab = Lab(netbox_lab, tmp_path, "opt-stale-tag")
    create_interfaces(
        lab.api,
        lab.device_id,
        [
            {"name": "Eth1", "type": "1000base-t"},
            {"name": "Eth9", "type": "1000base-t"},
            {"name": "Eth8", "type": "1000base-t", "mark_connected": True},
            {"name": "Eth6", "type": "1000base-t"},
            {"name": "Mgmt0", "type": "1000base-t", "mgmt_only": True},
        ],
    )
    return lab


def test_stale_tag_dry_run_then_apply_then_untag(tagged_lab: Lab) -> None:
    reply = {"Eth1": _port()}

    with counting(tagged_lab.api) as dry_requests:
        dry = tagged_lab.run(reply, stale="tag", protect=["Eth6"], dry_run=True)
    real = tagged_lab.run(reply, stale="tag", protect=["Eth6"])
    tags_after = {n: [t.slug for t in r.tags] for n, r in tagged_lab.interfaces().items()}
    back = tagged_lab.run({"Eth1": _port(), "Eth9": _port()}, stale="tag")

    assert dry_requests.writes == 0
    assert '~ Eth9  tags: [] → ["stale"]' in dry[0].diff
    assert "? in NetBox" not in dry[0].diff
    assert not real.failed, real[0].result
    assert tags_after["Eth9"] == ["stale"]
    assert tags_after["Eth8"] == tags_after["Eth6"] == tags_after["Mgmt0"] == []
    report: SyncReport = real[0].result
    assert {(k.name, k.reason) for k in report.kept} == {
        ("Eth8", "stale, kept: has a cable or is marked connected"),
        ("Eth6", "stale, kept: matched by protect"),
        ("Mgmt0", "stale, kept: is management-only"),
    }
    assert [t.slug for t in tagged_lab.interfaces()["Eth9"].tags] == []
    assert back.changed is True


def test_stale_disable(netbox_lab: NetBoxLab, tmp_path: Path) -> None:
    lab = Lab(netbox_lab, tmp_path, "opt-stale-disable")
    create_interfaces(lab.api, lab.device_id, [{"name": "Eth1"}, {"name": "Eth9"}])

    result = lab.run({"Eth1": _port()}, stale="disable")

    assert not result.failed
    assert lab.interfaces()["Eth9"].enabled is False
    assert "~ Eth9  enabled: true → false" in result[0].diff


def test_stale_delete_children_first_and_max_delete(
    netbox_lab: NetBoxLab, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    lab = Lab(netbox_lab, tmp_path, "opt-stale-delete")
    (parent_id,) = create_interfaces(lab.api, lab.device_id, [{"name": "Eth9"}])
    create_interfaces(
        lab.api,
        lab.device_id,
        [{"name": "Eth1"}, {"name": "Eth9.100", "type": "virtual", "parent": parent_id}],
    )
    reply = {"Eth1": _port()}
    caplog.set_level(logging.WARNING, logger="nornir_nb_ifsync")

    capped = lab.run(reply, stale="delete", max_delete=1)
    after_capped = set(lab.interfaces())
    deleted = lab.run(reply, stale="delete", max_delete=2)

    assert not capped.failed
    assert after_capped == {"Eth1", "Eth9", "Eth9.100"}
    assert all("max_delete=1" in k.reason for k in capped[0].result.kept)
    assert (
        "opt-stale-delete: 2 stale interfaces to delete, more than max_delete=1: none deleted"
        in caplog.messages
    )
    assert not deleted.failed, deleted[0].result
    assert set(lab.interfaces()) == {"Eth1"}
    assert [d.name for d in deleted[0].result.deleted] == ["Eth9.100", "Eth9"]


def test_stale_never_acts_when_the_device_reports_nothing(
    netbox_lab: NetBoxLab, tmp_path: Path
) -> None:
    lab = Lab(netbox_lab, tmp_path, "opt-stale-empty")
    create_interfaces(lab.api, lab.device_id, [{"name": "Eth1"}, {"name": "Eth2"}])

    with counting(lab.api) as requests:
        result = lab.run({}, stale="delete")

    assert not result.failed
    assert requests.writes == 0
    assert set(lab.interfaces()) == {"Eth1", "Eth2"}


def _protected_device(lab: Lab) -> int:
    """Give the lab's device one stale interface of each protection NetBox itself holds: a
    cable (both ends stale), an IP address, a module, a LAG whose member stays; and one with
    none."""
    (lag,) = create_interfaces(lab.api, lab.device_id, [{"name": "Po9", "type": "lag"}])
    names = ("Eth1", "EthA", "EthB", "EthIP", "EthX")
    ids = create_interfaces(
        lab.api,
        lab.device_id,
        [{"name": n, "type": "1000base-t", "lag": lag if n == "Eth1" else None} for n in names],
    )
    by_name = dict(zip(names, ids, strict=True))
    lab.api.dcim.cables.create(
        a_terminations=[{"object_type": "dcim.interface", "object_id": by_name["EthA"]}],
        b_terminations=[{"object_type": "dcim.interface", "object_id": by_name["EthB"]}],
    )
    lab.api.ipam.ip_addresses.create(
        address="192.0.2.1/24",
        assigned_object_type="dcim.interface",
        assigned_object_id=by_name["EthIP"],
    )
    manufacturer = lab.api.dcim.manufacturers.get(slug="lab")
    module_type = lab.api.dcim.module_types.create(
        manufacturer=manufacturer.id, model=f"{lab.name} card"
    )
    bay = lab.api.dcim.module_bays.create(device=lab.device_id, name="slot1")
    module = lab.api.dcim.modules.create(
        device=lab.device_id, module_bay=bay.id, module_type=module_type.id
    )
    create_interfaces(
        lab.api, lab.device_id, [{"name": "EthM", "type": "1000base-t", "module": module.id}]
    )
    return lag


def test_stale_delete_keeps_each_interface_netbox_protects(
    netbox_lab: NetBoxLab, tmp_path: Path
) -> None:
    lab = Lab(netbox_lab, tmp_path, "opt-stale-protected")
    lag = _protected_device(lab)
    reply = {"Eth1": _port()}

    dry = lab.run(reply, stale="delete", dry_run=True)
    real = lab.run(reply, stale="delete")
    after = set(lab.interfaces())
    lifted = lab.run(reply, stale="delete", unprotect=["module"])

    assert [line for line in dry[0].diff.splitlines() if line[0] in "-="] == [
        "- EthX  delete (not on the device)",
        "= EthA  stale, kept: has a cable or is marked connected",
        "= EthB  stale, kept: has a cable or is marked connected",
        "= EthIP  stale, kept: has IP addresses",
        "= EthM  stale, kept: is on a module",
        "= Po9  stale, kept: LAG of Eth1",
    ]
    assert not real.failed, real[0].result
    assert [d.name for d in real[0].result.deleted] == ["EthX"]
    assert after == {"Eth1", "EthA", "EthB", "EthIP", "EthM", "Po9"}
    assert not lifted.failed, lifted[0].result
    assert [d.name for d in lifted[0].result.deleted] == ["EthM"]
    assert set(lab.interfaces()) == {"Eth1", "EthA", "EthB", "EthIP", "Po9"}
    assert lab.interfaces()["Eth1"].lag.id == lag


def test_stale_primary_ip_interface_is_kept(netbox_lab: NetBoxLab, tmp_path: Path) -> None:
    lab = Lab(netbox_lab, tmp_path, "opt-stale-primary", primary_ip="127.0.99.1")

    result = lab.run({"Eth1": _port()}, stale="delete", unprotect=["ip_addresses", "mgmt_only"])

    assert not result.failed, result[0].result
    (kept,) = result[0].result.kept
    assert kept.reason == "stale, kept: holds the device's primary IP"
    assert kept.name in lab.interfaces()


def test_fields_limits_what_is_written(netbox_lab: NetBoxLab, tmp_path: Path) -> None:
    lab = Lab(netbox_lab, tmp_path, "opt-fields")
    create_interfaces(
        lab.api, lab.device_id, [{"name": "Eth1", "description": "old", "enabled": True}]
    )

    result = lab.run({"Eth1": _port("new", enabled=False)}, fields=["description"])

    record = lab.interfaces()["Eth1"]
    assert not result.failed
    assert record.description == "new"
    assert record.enabled is True
    assert record.mtu is None


def test_unknown_field_fails_the_host_with_a_clear_message(
    netbox_lab: NetBoxLab, tmp_path: Path
) -> None:
    lab = Lab(netbox_lab, tmp_path, "opt-bad-field")

    result = lab.run({"Eth1": _port()}, fields=["descr"])

    assert result.failed
    assert "descr" in str(result[0].exception)
    assert lab.interfaces() == {}


def test_changelog_messages_carry_the_run_id(netbox_lab: NetBoxLab, tmp_path: Path) -> None:
    lab = Lab(netbox_lab, tmp_path, "opt-changelog")
    create_interfaces(lab.api, lab.device_id, [{"name": "Eth1"}, {"name": "Eth9"}])
    run_id = "run-4d1f7c0e"

    result = lab.run({"Eth1": _port("x"), "Eth2": _port()}, stale="delete", run_id=run_id)
    changes = list(lab.api.core.object_changes.filter(q=run_id))

    assert not result.failed
    assert result[0].result.run_id == run_id
    assert {c.object_repr for c in changes} >= {"Eth1", "Eth2", "Eth9"}
    assert all(run_id in c.message for c in changes)
