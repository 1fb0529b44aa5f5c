"""Fifty hosts under nornir-salt's RetryRunner with twenty workers, one NetBox.

The task gets no ``netbox=``: each runner thread builds its own client from ``NB_URL`` and
``NB_TOKEN`` (:func:`nornir_nb_ifsync.netbox.thread_client`). NetBox must end equal to the
devices, with no duplicate interface or MAC address, and no HTTP session may serve two
threads.
"""

from __future__ import annotations

import threading
import uuid
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import pytest
import yaml
from nornir import InitNornir

from nornir_nb_ifsync import SyncReport, connect, netbox_update_interfaces
from nornir_nb_ifsync import netbox as nbmod
from tests.lab.inventory import write_mock_replies
from tests.lab.netbox_server import NetBoxLab
from tests.lab.seed import create_devices

pytestmark = pytest.mark.lab

HOSTS = 50
WORKERS = 20


def _entry(description: str, speed: float, mac: str) -> dict[str, Any]:
    return {
        "is_enabled": True,
        "is_up": True,
        "description": description,
        "last_flapped": -1.0,
        "speed": speed,
        "mtu": 1500,
        "mac_address": mac,
    }


def _reply(index: int) -> dict[str, dict[str, Any]]:
    """Six interfaces: ports with MACs, a LAG and a loopback (one bulk create per host)."""
    reply = {
        f"Ethernet{p}": _entry(f"host {index} port {p}", 1000.0, f"02:00:{index:02x}:00:00:{p:02x}")
        for p in range(1, 5)
    }
    reply["Port-Channel1"] = _entry("bundle", 2000.0, f"02:00:{index:02x}:00:01:01")
    reply["Loopback0"] = _entry("router id", 0.0, "")
    return reply


class SessionThreads:
    """Records which threads used each HTTP session the sync made."""

    def __init__(self) -> None:
        self.threads: defaultdict[int, set[int]] = defaultdict(set)
        self._lock = threading.Lock()

    def connect(self, *args: Any, **kwargs: Any) -> Any:
        """Make a client as the sync would, and watch its session."""
        api = connect(*args, **kwargs)
        session = id(api.http_session)
        api.http_session.hooks["response"].append(lambda *_, **__: self._seen(session))
        return api

    def _seen(self, session: int) -> None:
        with self._lock:
            self.threads[session].add(threading.get_ident())


def _inventory(tmp_path: Path, ids: dict[str, int]) -> dict[str, str]:
    """Write a SimpleInventory of mock-driver hosts; return its options."""
    hosts = {}
    for index, (name, device_id) in enumerate(ids.items()):
        path = write_mock_replies(tmp_path / name, {"get_interfaces": _reply(index)})
        hosts[name] = {
            "hostname": "127.0.0.1",
            "platform": "mock",
            "data": {"id": device_id},
            "connection_options": {
                "napalm": {"platform": "mock", "extras": {"optional_args": {"path": str(path)}}}
            },
        }
    (tmp_path / "hosts.yaml").write_text(yaml.safe_dump(hosts), encoding="utf-8")
    return {
        "host_file": str(tmp_path / "hosts.yaml"),
        "group_file": str(tmp_path / "none.yaml"),
        "defaults_file": str(tmp_path / "none.yaml"),
    }


def test_retry_runner_fleet_through_thread_clients_ends_exact(
    netbox_lab: NetBoxLab, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    admin = connect(netbox_lab.url, netbox_lab.token_v1)
    run = uuid.uuid4().hex[:6]
    ids = create_devices(admin, [f"conc-{run}-{index:02d}" for index in range(HOSTS)])
    sessions = SessionThreads()
    monkeypatch.setattr(nbmod, "connect", sessions.connect)
    monkeypatch.setenv("NB_URL", netbox_lab.url)
    monkeypatch.setenv("NB_TOKEN", netbox_lab.token_v2)
    nr = InitNornir(
        logging={"enabled": False},
        runner={
            "plugin": "RetryRunner",
            "options": {
                "num_workers": WORKERS,
                "num_connectors": 10,
                "task_retry": 1,
                "task_backoff": 500,
                "connect_backoff": 500,
            },
        },
        inventory={"plugin": "SimpleInventory", "options": _inventory(tmp_path, ids)},
    )

    result = nr.run(task=netbox_update_interfaces)

    assert sorted(result) == sorted(ids)
    assert not result.failed, {h: str(r.exception) for h, r in result.failed_hosts.items()}
    device_ids = list(ids.values())
    records = list(admin.dcim.interfaces.filter(device_id=device_ids, limit=1000))
    macs = Counter(
        (int(m.assigned_object_id), str(m.mac_address).lower())
        for m in admin.dcim.mac_addresses.filter(device_id=device_ids, limit=1000)
    )
    by_device: defaultdict[int, list[Any]] = defaultdict(list)
    for record in records:
        by_device[int(record.device.id)].append(record)
    for index, (host, device_id) in enumerate(ids.items()):
        report = result[host][0].result
        expected = {n: (e["description"], e["mac_address"]) for n, e in _reply(index).items()}
        names = Counter(r.name for r in by_device[device_id])
        state = {
            r.name: (r.description, str(r.mac_address or "").lower()) for r in by_device[device_id]
        }
        assert isinstance(report, SyncReport)
        assert {c.name for c in report.created} == set(expected)
        assert names == Counter(set(expected)), host
        assert state == expected, host
    assert set(macs.values()) == {1}
    assert len(macs) == HOSTS * sum(1 for e in _reply(0).values() if e["mac_address"])
    assert sessions.threads
    assert all(len(threads) == 1 for threads in sessions.threads.values())
    assert len(sessions.threads) <= WORKERS
