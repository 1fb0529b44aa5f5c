"""The real task under faults: NetBox behind a fault-injecting proxy, broken devices, bad data.

NetBox is the lab's; devices are served by NAPALM's mock driver. After a faulty run, one clean
run straight to NetBox must leave NetBox equal to the devices, with no duplicate interface or
MAC address, and must write exactly what the faulty run reported as not written.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
from nornir.core.task import AggregatedResult

from nornir_nb_ifsync import (
    GetterOutputError,
    NetBoxError,
    SyncReport,
    connect,
    netbox_update_interfaces,
)
from nornir_nb_ifsync import netbox as nbmod
from nornir_nb_ifsync.names import guess_type, interface_kind
from nornir_nb_ifsync.normalize import normalize
from tests.lab.faultproxy import FaultProxy, FaultRates
from tests.lab.inventory import make_nornir, mock_host, write_mock_replies
from tests.lab.netbox_server import NetBoxLab
from tests.lab.seed import create_devices

pytestmark = pytest.mark.lab

FLEET_SIZE = 10
WORKERS = 5
TEST_TIMEOUT = (1.0, 3.0)
FAULT_RATES = FaultRates(
    drop_before=0.04,
    drop_after=0.05,
    delay=0.03,
    too_many=0.04,
    bad_gateway=0.04,
    unavailable=0.04,
    retry_after="1",
    delay_seconds=3.5,
)


def _unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:6]}"


def _entry(
    description: str = "",
    speed: float = 1000.0,
    mtu: int = 1500,
    mac: str = "",
    enabled: bool = True,
) -> dict[str, Any]:
    return {
        "is_enabled": enabled,
        "is_up": enabled,
        "description": description,
        "last_flapped": -1.0,
        "speed": speed,
        "mtu": mtu,
        "mac_address": mac,
    }


def fleet_device(index: int) -> dict[str, dict[str, Any]]:
    """Return one device's ``get_interfaces``: 21 interfaces with LAG, subinterfaces, MACs."""
    reply: dict[str, dict[str, Any]] = {}
    for port in range(1, 13):
        reply[f"Ethernet{port}"] = _entry(
            description=f"dev{index} port {port}",
            speed=10000.0 if port > 8 else 1000.0,
            mtu=9214 if port % 2 else 1500,
            mac=f"00:1c:73:{index:02x}:00:{port:02x}",
            enabled=port != 7,
        )
    reply["Port-Channel1"] = _entry("uplink bundle", 20000.0, 9214, f"00:1c:73:{index:02x}:01:01")
    for unit in (100, 200, 300):
        reply[f"Ethernet1.{unit}"] = _entry(f"vlan {unit}", 0.0, 1500)
    reply["Ethernet2.10"] = _entry("transit", 0.0, 9000)
    reply["Loopback0"] = _entry("router id", 0.0, 65535)
    reply["Vlan10"] = _entry("users", 0.0, 1500, f"00:1c:73:{index:02x}:02:0a")
    reply["Vlan20"] = _entry("voice", 0.0, 1500, f"00:1c:73:{index:02x}:02:14", enabled=False)
    reply["Management1"] = _entry("oob", 1000.0, 1500, f"00:1c:73:{index:02x}:03:01")
    return reply


def _seed_stale_values(api: Any, device_ids: list[int], names: list[str]) -> None:
    """Create some interfaces of the devices with wrong values (so that they update)."""
    api.dcim.interfaces.create(
        [
            {
                "device": device_id,
                "name": name,
                "type": guess_type(name, interface_kind(name), 1_000_000),
                "description": "wrong",
                "mtu": 1400,
            }
            for device_id in device_ids
            for name in names
        ]
    )


def _expected(host: str, reply: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """What NetBox must hold for a device after a complete sync."""
    state: dict[str, dict[str, Any]] = {}
    for interface in normalize(host, reply).interfaces:
        state[interface.name] = {
            "enabled": interface.enabled,
            "description": interface.description,
            "mtu": interface.mtu,
            "speed": interface.speed,
            "mac": interface.mac_address,
            "parent": interface.parent,
        }
    return state


def _netbox_state(api: Any, device_id: int) -> dict[str, dict[str, Any]]:
    records = list(api.dcim.interfaces.filter(device_id=device_id, limit=1000))
    names = [r.name for r in records]
    assert len(names) == len(set(names)), f"duplicate interface names: {names}"
    return {
        r.name: {
            "enabled": r.enabled,
            "description": r.description,
            "mtu": r.mtu,
            "speed": r.speed,
            "mac": str(r.mac_address).upper() if r.mac_address else None,
            "parent": r.parent.name if r.parent else None,
        }
        for r in records
    }


def _mac_objects(api: Any, device_id: int) -> Counter[tuple[int, str]]:
    """(interface id, MAC) -> number of MAC address objects on the device."""
    macs = api.dcim.mac_addresses.filter(device_id=device_id, limit=1000)
    return Counter((int(m.assigned_object_id), str(m.mac_address).upper()) for m in macs)


def _changes_on(api: Any, device_id: int) -> int:
    """Change log entries of objects that belong to a device (its interfaces, MACs)."""
    return int(
        api.core.object_changes.count(
            related_object_type="dcim.device", related_object_id=device_id
        )
    )


def _writes(report: SyncReport) -> set[str]:
    return {c.name for c in report.created} | {u.name for u in report.updated}


def _report(result: AggregatedResult, host: str) -> SyncReport | None:
    value = result[host][0].result
    return value if isinstance(value, SyncReport) else None


@pytest.fixture
def fleet(netbox_lab: NetBoxLab, tmp_path: Path) -> dict[str, tuple[int, dict[str, Any], Path]]:
    """Ten devices: host name -> (NetBox id, get_interfaces reply, mock directory)."""
    api = connect(netbox_lab.url, netbox_lab.token_v1)
    ids = create_devices(api, [_unique(f"fault-{index}") for index in range(FLEET_SIZE)])
    _seed_stale_values(api, list(ids.values())[::2], ["Ethernet1", "Ethernet2", "Ethernet3"])
    devices: dict[str, tuple[int, dict[str, Any], Path]] = {}
    for index, (name, device_id) in enumerate(ids.items()):
        reply = fleet_device(index)
        path = write_mock_replies(tmp_path / name, {"get_interfaces": reply})
        devices[name] = (device_id, reply, path)
    return devices


def test_sync_through_faults_then_clean_run_ends_exact(
    netbox_lab: NetBoxLab, fleet: dict[str, tuple[int, dict[str, Any], Path]]
) -> None:
    direct = connect(netbox_lab.url, netbox_lab.token_v1)
    hosts = [mock_host(name, device_id, path) for name, (device_id, _, path) in fleet.items()]
    nr = make_nornir(hosts, num_workers=WORKERS)
    dry = nr.run(task=netbox_update_interfaces, netbox=direct, dry_run=True)
    planned = {host: _writes(dry[host][0].result) for host in fleet}

    with FaultProxy(netbox_lab.url, FAULT_RATES, seed=20240611) as proxy:
        proxy.force("POST", "drop_after", "delay")
        proxy.force("PATCH", "bad_gateway")
        faulty_api = connect(proxy.url, netbox_lab.token_v1, timeout=TEST_TIMEOUT, retries=4)
        faulty = nr.run(task=netbox_update_interfaces, netbox=faulty_api, on_failed=True)
    clean = nr.run(task=netbox_update_interfaces, netbox=direct, on_failed=True)

    posts = [s.fault for s in proxy.seen if s.method == "POST"]
    patches = [s.fault for s in proxy.seen if s.method == "PATCH"]
    # Forced faults meet the first requests of their method, whichever thread sends them.
    assert posts[:2] == ["drop_after", "delay"]
    assert not patches or patches[0] == "bad_gateway"
    assert sum(n for (_, fault), n in proxy.counts().items() if fault != "none") > 3
    for host, (device_id, reply, _) in fleet.items():
        assert not clean[host].failed, clean[host].exception
        assert _netbox_state(direct, device_id) == _expected(host, reply), host
        macs = _mac_objects(direct, device_id)
        assert set(macs.values()) == {1}, (host, macs)
        assert len(macs) == sum(1 for e in _expected(host, reply).values() if e["mac"])
        done, again = _report(faulty, host), _report(clean, host)
        assert again is not None
        redone = _writes(again)
        if done is None:
            assert faulty[host].failed
            assert redone == planned[host], host
            continue
        assert _writes(done) | set(done.not_written) == planned[host], host
        assert not _writes(done) & redone, host
        if "outcome is unknown" in done.error:
            assert redone <= set(done.not_written), host
        else:
            assert redone == set(done.not_written), (host, done.error)
        assert bool(done.error) is faulty[host].failed
        assert bool(done.not_written) is faulty[host].failed


def test_partial_failure_reports_what_was_written_and_others_go_on(
    netbox_lab: NetBoxLab, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(nbmod, "BACKOFF_FACTOR", 0.05)
    direct = connect(netbox_lab.url, netbox_lab.token_v1)
    outdated = ["Ethernet5", "Ethernet6", "Ethernet8"]
    subinterfaces = {"Ethernet1.100", "Ethernet1.200", "Ethernet1.300", "Ethernet2.10"}
    ids = create_devices(direct, [_unique("partial-0"), _unique("partial-1")])
    _seed_stale_values(direct, list(ids.values()), outdated)
    hosts = []
    for index, (name, device_id) in enumerate(ids.items()):
        path = write_mock_replies(tmp_path / name, {"get_interfaces": fleet_device(index)})
        hosts.append(mock_host(name, device_id, path))
    first, second = (h.name for h in hosts)
    parents = set(fleet_device(0)) - subinterfaces - set(outdated)

    with FaultProxy(netbox_lab.url) as proxy:
        proxy.force("POST", "none", *["unavailable"] * nbmod.WRITE_ROUNDS)
        api = connect(proxy.url, netbox_lab.token_v1, retries=1)
        result = make_nornir(hosts, num_workers=1).run(
            task=netbox_update_interfaces, netbox=api, on_failed=True
        )

    report = _report(result, first)
    assert report is not None
    assert result[first].failed is True
    assert isinstance(result[first].exception, NetBoxError)
    assert f"gave up after {nbmod.WRITE_ROUNDS} requests" in report.error
    assert {c.name for c in report.created} == parents
    assert report.updated == ()
    assert set(report.not_written) == subinterfaces | set(outdated)
    assert set(_netbox_state(direct, ids[first])) == parents | set(outdated)
    assert f"x not written (failed): {', '.join(report.not_written)}" in result[first][0].diff
    assert result[second].failed is False
    assert _netbox_state(direct, ids[second]) == _expected(second, fleet_device(1))


# --------------------------------------------------------------------------- device faults

GOOD = {"Ethernet1": _entry("good", mac="00:1c:73:aa:00:01"), "Vlan5": _entry("svi", 0.0)}

BROKEN_REPLIES: dict[str, Any] = {
    "raises": {"exception": "napalm.base.exceptions.ConnectionException", "args": ["boom"]},
    "times-out": {"exception": "socket.timeout", "args": ["getter timed out"]},
    "not-a-mapping": [{"Ethernet1": _entry()}],
}


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("raises", "get_interfaces failed: boom; NetBox left alone"),
        ("times-out", "get_interfaces failed: getter timed out; NetBox left alone"),
        ("not-a-mapping", "get_interfaces returned list, not a mapping"),
        ("fails-on-open", "get_interfaces failed: You told me to do this; NetBox left alone"),
    ],
)
def test_broken_device_fails_its_host_only_and_writes_nothing(
    netbox_lab: NetBoxLab, tmp_path: Path, case: str, message: str
) -> None:
    api = connect(netbox_lab.url, netbox_lab.token_v1)
    broken, good = _unique(f"broken-{case}"), _unique("good")
    ids = create_devices(api, [broken, good])
    broken_id, good_id = ids[broken], ids[good]
    reply = BROKEN_REPLIES.get(case, GOOD)
    options: dict[str, Any] = {"fail_on_open": True} if case == "fails-on-open" else {}
    hosts = [
        mock_host(
            broken,
            broken_id,
            write_mock_replies(tmp_path / "b", {"get_interfaces": reply}),
            **options,
        ),
        mock_host(good, good_id, write_mock_replies(tmp_path / "g", {"get_interfaces": GOOD})),
    ]

    result = make_nornir(hosts).run(task=netbox_update_interfaces, netbox=api, on_failed=True)

    exception = result[broken].exception
    assert result[broken].failed is True
    assert isinstance(exception, GetterOutputError)
    assert str(exception) == f"{broken}: {message}"
    assert _netbox_state(api, broken_id) == {}
    assert result[good].failed is False
    assert _netbox_state(api, good_id) == _expected(good, GOOD)
    assert _changes_on(api, broken_id) == 0
    assert _changes_on(api, good_id) >= len(GOOD)


@pytest.mark.parametrize(
    ("entry", "field", "message"),
    [
        ({**_entry(), "is_enabled": ["yes"]}, "is_enabled", "expected bool, got ['yes']"),
        ({k: v for k, v in _entry().items() if k != "mtu"}, "mtu", "missing"),
        ({**_entry(), "speed": "1000"}, "speed", "expected int or float, got '1000'"),
        ({**_entry(), "mac_address": None}, "mac_address", "expected str, got None"),
    ],
    ids=["list-for-bool", "missing-key", "string-speed", "null-mac"],
)
def test_bad_interface_is_skipped_with_its_field_named(
    netbox_lab: NetBoxLab, tmp_path: Path, entry: dict[str, Any], field: str, message: str
) -> None:
    api = connect(netbox_lab.url, netbox_lab.token_v1)
    host = _unique("bad-data")
    device_id = create_devices(api, [host])[host]
    reply = {**GOOD, "Ethernet9": entry, "Ethernet9.100": _entry("child", 0.0)}
    hosts = [mock_host(host, device_id, write_mock_replies(tmp_path, {"get_interfaces": reply}))]

    result = make_nornir(hosts).run(task=netbox_update_interfaces, netbox=api, on_failed=True)

    report = _report(result, host)
    assert report is not None
    assert result[host].failed is False
    skipped = {s.name: s for s in report.skipped}
    assert skipped["Ethernet9"].field is None
    assert skipped["Ethernet9"].reason == (
        f"not written, not NAPALM's shape: field '{field}': {message}"
    )
    assert skipped["Ethernet9.100"].reason == "child of skipped interface Ethernet9"
    assert "Ethernet9" in result[host][0].diff
    assert set(_netbox_state(api, device_id)) == set(GOOD)
