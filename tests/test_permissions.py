"""Least privilege: the exact NetBox permissions the sync needs, proven against the lab.

A user and a v2 token are made through the API (as an admin would) with exactly the
ObjectPermissions under test. The minimal set syncs a device completely, and each of its
permissions is needed: without it the host fails with a message naming the problem and
NetBox holds exactly what the report says was written. A view-only token fails a real run
cleanly and runs a dry run.
"""

from __future__ import annotations

import ipaddress
import uuid
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

from nornir_nb_ifsync import SyncReport, connect, netbox_update_interfaces
from tests.lab.inventory import make_nornir, mock_host, write_mock_replies
from tests.lab.netbox_server import NetBoxLab
from tests.lab.seed import create_device, create_interfaces

pytestmark = pytest.mark.lab

Permissions = Mapping[str, Sequence[str]]

#: What a sync with ``stale="ignore"`` needs. ``dcim.device`` view finds a device by name
#: (NetBoxInventory2 needs it too); ``dcim.macaddress`` add makes the MAC address objects.
MINIMAL: Permissions = {
    "dcim.device": ["view"],
    "dcim.interface": ["view", "add", "change"],
    "dcim.macaddress": ["add"],
}
VIEW_ONLY: Permissions = {"dcim.device": ["view"], "dcim.interface": ["view"]}
#: Stands for a tag slug NetBox does not have yet (made unique per run).
NEW_TAG = "<new tag>"

REPLY = {
    "Ethernet1": {"description": "uplink", "mac_address": "00:1c:73:9a:00:01"},
    "Ethernet1.100": {"description": "vlan 100", "mac_address": ""},
    "Ethernet2": {"description": "now right", "mac_address": "00:1c:73:9a:00:02"},
}


def _reply() -> dict[str, dict[str, Any]]:
    return {
        name: {
            "is_enabled": True,
            "is_up": True,
            "last_flapped": -1.0,
            "speed": 0.0 if "." in name else 1000.0,
            "mtu": 1500,
            **values,
        }
        for name, values in REPLY.items()
    }


def _with(base: Permissions, **more: Sequence[str]) -> dict[str, list[str]]:
    """``base`` plus more actions, keyed ``app__model`` (``dcim__interface=["delete"]``)."""
    merged = {k: list(v) for k, v in base.items()}
    for key, actions in more.items():
        merged.setdefault(key.replace("__", "."), []).extend(actions)
    return merged


def _without(base: Permissions, object_type: str, action: str) -> dict[str, list[str]]:
    reduced = {k: [a for a in v if (k, a) != (object_type, action)] for k, v in base.items()}
    return {k: v for k, v in reduced.items() if v}


@pytest.fixture
def token_with(netbox_lab: NetBoxLab) -> Callable[..., str]:
    """Make a user with exactly these ObjectPermissions and return its v2 token.

    ``constraints`` maps an object type to the constraints of its permission.
    """
    admin = connect(netbox_lab.url, netbox_lab.token_v1)

    def make(permissions: Permissions, constraints: Mapping[str, Any] | None = None) -> str:
        name = f"least-{uuid.uuid4().hex[:8]}"
        user = admin.users.users.create(username=name, password=f"Pw-{uuid.uuid4().hex}")
        for object_type, actions in permissions.items():
            admin.users.permissions.create(
                name=f"{name} {object_type}",
                object_types=[object_type],
                actions=list(actions),
                constraints=(constraints or {}).get(object_type),
                users=[user.id],
            )
        token = admin.users.tokens.create(user=user.id)
        return f"nbt_{token.key}.{token.token}"

    return make


class Device:
    """A lab device in the state before a sync: Ethernet2 outdated, Gone1 not on the device."""

    def __init__(self, lab: NetBoxLab, tmp_path: Path, primary_ip: bool = False) -> None:
        self.admin = connect(lab.url, lab.token_v1)
        self.name = f"least-{uuid.uuid4().hex[:8]}"
        address = str(ipaddress.ip_address("10.0.0.0") + uuid.uuid4().int % 2**24)
        self.id = create_device(
            self.admin, self.name, "mock", address if primary_ip else None, mgmt_interface="Gone2"
        )
        create_interfaces(
            self.admin,
            self.id,
            [
                {"name": "Ethernet2", "type": "1000base-t", "description": "outdated"},
                {"name": "Gone1", "type": "1000base-t"},
            ],
        )
        self.path = write_mock_replies(tmp_path / self.name, {"get_interfaces": _reply()})

    def sync(self, lab: NetBoxLab, token: str, **options: Any) -> tuple[Any, SyncReport | None]:
        """Run the task for this device (looked up by name) with ``token``."""
        nr = make_nornir([mock_host(self.name, None, self.path)])
        api = connect(lab.url, token)
        result = nr.run(task=netbox_update_interfaces, netbox=api, on_failed=True, **options)
        report = result[self.name][0].result
        return result[self.name], report if isinstance(report, SyncReport) else None

    def state(self) -> dict[str, tuple[str, str | None, list[str]]]:
        """Name -> (description, MAC, tag slugs) of every interface in NetBox."""
        return {
            str(r.name): (
                str(r.description),
                str(r.mac_address).upper() if r.mac_address else None,
                sorted(t.slug for t in r.tags),
            )
            for r in self.admin.dcim.interfaces.filter(device_id=self.id)
        }


def _synced_state() -> dict[str, tuple[str, str | None, list[str]]]:
    return {
        name: (values["description"], values["mac_address"].upper() or None, [])
        for name, values in REPLY.items()
    }


def test_minimal_permissions_sync_a_device_completely(
    netbox_lab: NetBoxLab, tmp_path: Path, token_with: Callable[..., str]
) -> None:
    device = Device(netbox_lab, tmp_path)

    host, report = device.sync(netbox_lab, token_with(MINIMAL))

    assert not host.failed, host.exception
    assert report is not None
    assert {c.name for c in report.created} == {"Ethernet1", "Ethernet1.100"}
    assert [u.name for u in report.updated] == ["Ethernet2"]
    state = device.state()
    assert {n: state[n] for n in REPLY} == _synced_state()


@pytest.mark.parametrize(
    ("object_type", "action", "message"),
    [
        ("dcim.device", "view", "looking up the device: HTTP 403"),
        ("dcim.interface", "view", "reading interfaces: HTTP 403"),
        ("dcim.interface", "add", "creating interfaces: HTTP 403"),
        ("dcim.interface", "change", "updating interfaces: HTTP 403"),
        ("dcim.macaddress", "add", "You do not have permission to create MAC addresses."),
    ],
)
def test_minimal_permission_missing_fails_the_host_and_says_why(
    netbox_lab: NetBoxLab,
    tmp_path: Path,
    token_with: Callable[..., str],
    object_type: str,
    action: str,
    message: str,
) -> None:
    device = Device(netbox_lab, tmp_path)
    before = device.state()

    host, report = device.sync(netbox_lab, token_with(_without(MINIMAL, object_type, action)))

    assert host.failed is True
    assert message in str(host.exception)
    written = set() if report is None else {c.name for c in report.created}
    assert set(device.state()) == set(before) | written
    if report is not None:
        assert report.error == str(host.exception)
        assert set(report.not_written) == set(REPLY) - written


@pytest.mark.parametrize(
    ("options", "extra", "check"),
    [
        ({"stale": "delete"}, {"dcim__interface": ["delete"]}, "deleted"),
        ({"stale": "tag"}, {"extras__tag": ["view"]}, "tagged"),
        ({"stale": "tag", "stale_tag": NEW_TAG}, {"extras__tag": ["view", "add"]}, "tagged"),
        (
            {"stale": "delete", "unprotect": ["ip_addresses"]},
            {"dcim__interface": ["delete"], "ipam__ipaddress": ["view"]},
            "deleted",
        ),
    ],
    ids=["delete", "tag-existing", "tag-new", "delete-checking-primary-ip"],
)
def test_stale_options_need_their_extra_permissions(
    netbox_lab: NetBoxLab,
    tmp_path: Path,
    token_with: Callable[..., str],
    options: dict[str, Any],
    extra: dict[str, list[str]],
    check: str,
) -> None:
    if options.get("stale_tag") == NEW_TAG:
        options = {**options, "stale_tag": f"gone-{uuid.uuid4().hex[:8]}"}
    device = Device(netbox_lab, tmp_path, primary_ip="unprotect" in options)
    other = Device(netbox_lab, tmp_path, primary_ip="unprotect" in options)
    (key, actions), *_ = reversed(extra.items())
    missing = _without(_with(MINIMAL, **extra), key.replace("__", "."), actions[-1])

    refused, _ = other.sync(netbox_lab, token_with(missing), **options)
    host, _ = device.sync(netbox_lab, token_with(_with(MINIMAL, **extra)), **options)

    assert not host.failed, host.exception
    state = device.state()
    if check == "deleted":
        assert "Gone1" not in state
    else:
        assert state["Gone1"][2] == [options.get("stale_tag", "stale")]
    assert refused.failed is True
    assert "HTTP 403" in str(refused.exception)


def test_hidden_primary_ip_fails_the_host_instead_of_lifting_the_protection(
    netbox_lab: NetBoxLab, tmp_path: Path, token_with: Callable[..., str]
) -> None:
    device = Device(netbox_lab, tmp_path, primary_ip=True)
    permissions = _with(MINIMAL, dcim__interface=["delete"], ipam__ipaddress=["view"])
    token = token_with(permissions, {"ipam.ipaddress": {"id": -1}})
    before = device.state()

    host, _ = device.sync(netbox_lab, token, stale="delete", unprotect=["ip_addresses"])

    assert host.failed is True
    assert "not visible to the token (ipam.ipaddress view permission)" in str(host.exception)
    assert set(device.state()) == set(before)


def test_view_only_token_fails_a_real_run_cleanly_and_runs_a_dry_run(
    netbox_lab: NetBoxLab, tmp_path: Path, token_with: Callable[..., str]
) -> None:
    device = Device(netbox_lab, tmp_path)
    token = token_with(VIEW_ONLY)
    before = device.state()

    dry, planned = device.sync(netbox_lab, token, dry_run=True)
    real, report = device.sync(netbox_lab, token)

    assert not dry.failed, dry.exception
    assert planned is not None
    assert {c.name for c in planned.created} == {"Ethernet1", "Ethernet1.100"}
    assert real.failed is True
    assert "creating interfaces: HTTP 403" in str(real.exception)
    assert "permission" in str(real.exception)
    assert report is not None
    assert (report.created, report.updated) == ((), ())
    assert set(report.not_written) == set(REPLY)
    assert "x not written (failed): " in real[0].diff
    assert device.state() == before
