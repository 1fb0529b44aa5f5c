"""How many NetBox requests one device's sync costs, measured against the lab NetBox.

The same device shape at 8 and at 96 interfaces (three quarters ports, one quarter their
subinterfaces; one in eight ports already in NetBox with a wrong description, tagged) must cost
the same number of requests: reads and writes are in bulk, never per interface. The device
answers through NAPALM's mock driver.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from pathlib import Path
from typing import Any

import pytest
import requests

from nornir_nb_ifsync import SyncReport, connect, netbox_update_interfaces
from tests.lab.inventory import counting, make_nornir, mock_host, write_mock_replies
from tests.lab.netbox_server import NetBoxLab
from tests.lab.seed import STALE_TAG_SLUG, create_device, create_interfaces

pytestmark = pytest.mark.lab

SIZES = (8, 96)
VERSION_PATH = "/api/"
"""Where pynetbox reads NetBox's version (the ``API-Version`` header of the API root)."""
HOLD_SECONDS = 3.0


@dataclasses.dataclass(frozen=True)
class Measured:
    """One sync run: requests by HTTP method, its report and how long it took.

    Attributes:
        requests: Requests by HTTP method.
        report: The host's sync report.
        seconds: Wall time of the run.
    """

    requests: dict[str, int]
    report: SyncReport
    seconds: float


@dataclasses.dataclass(frozen=True)
class Costs:
    """The runs measured for one device size.

    Attributes:
        host: Nornir host and NetBox device name.
        device_id: NetBox device id.
        replies: The mock driver's reply files.
        dry_run: Dry run, new client.
        first: First real sync, new client.
        steady: Second real sync, new client.
        steady_same_client: Third real sync, on the client of ``steady``.
        steady_by_name: A real sync of a host without the NetBox id (looked up by name),
            new client.
    """

    host: str
    device_id: int
    replies: Path
    dry_run: Measured
    first: Measured
    steady: Measured
    steady_same_client: Measured
    steady_by_name: Measured

    def requests(self) -> dict[str, dict[str, int]]:
        """Run -> requests by HTTP method."""
        runs = ("dry_run", "first", "steady", "steady_same_client", "steady_by_name")
        return {run: getattr(self, run).requests for run in runs}


class HoldFirstVersionRead:
    """A response hook that holds the first version read until a second one arrives.

    Two hosts that start together then both find the version not yet known, unless the client
    makes the second wait for the first read. Gives up holding after :data:`HOLD_SECONDS`.
    """

    def __init__(self) -> None:
        self.reads = 0
        self._lock = threading.Lock()
        self._second = threading.Event()

    def __call__(self, response: requests.Response, *args: Any, **kwargs: Any) -> None:
        """Count a version read; hold the first one."""
        if response.request.path_url != VERSION_PATH:
            return
        with self._lock:
            self.reads += 1
            first = self.reads == 1
        if first:
            self._second.wait(HOLD_SECONDS)
        else:
            self._second.set()


def _napalm(description: str, mtu: int, mac: str) -> dict[str, Any]:
    return {
        "is_up": True,
        "is_enabled": True,
        "description": description,
        "last_flapped": -1.0,
        "speed": 10_000.0,
        "mtu": mtu,
        "mac_address": mac,
    }


def _ports(size: int) -> int:
    return size * 3 // 4


def _device_reply(size: int) -> dict[str, dict[str, Any]]:
    """A ``get_interfaces`` reply: ports, and a subinterface on the first quarter of them."""
    reply = {
        f"Ethernet{i}": _napalm(f"port {i}", 9000, f"52:54:00:0C:{i // 256:02X}:{i % 256:02X}")
        for i in range(1, _ports(size) + 1)
    }
    reply.update(
        {
            f"Ethernet{i}.100": _napalm(f"vlan 100 on port {i}", 1500, "")
            for i in range(1, size - _ports(size) + 1)
        }
    )
    return reply


def _seed(api: Any, device_id: int, size: int) -> None:
    """Put one in eight of the device's ports in NetBox, with a wrong description and a tag."""
    tag = api.extras.tags.get(slug=STALE_TAG_SLUG)
    reply = _device_reply(size)
    create_interfaces(
        api,
        device_id,
        [
            {
                "name": f"Ethernet{i}",
                "type": "10gbase-x-sfpp",
                "description": "wrong",
                "mtu": reply[f"Ethernet{i}"]["mtu"],
                "speed": 10_000_000,
                "mac_address": reply[f"Ethernet{i}"]["mac_address"],
                "tags": [int(tag.id)],
            }
            for i in range(1, size // 8 + 1)
        ],
    )


def _measure(nr: Any, host: str, api: Any, **kwargs: Any) -> Measured:
    with counting(api) as counter:
        started = time.perf_counter()
        result = nr.run(task=netbox_update_interfaces, netbox=api, on_failed=True, **kwargs)
        seconds = time.perf_counter() - started
    assert not result[host].failed, result[host][0].exception
    return Measured(dict(counter.by_method), result[host][0].result, seconds)


def _costs(lab: NetBoxLab, directory: Path, size: int) -> Costs:
    api = connect(lab.url, lab.token_v1)
    name = f"cost-{size}-{time.monotonic_ns()}"
    device_id = create_device(api, name, "mock")
    _seed(api, device_id, size)
    replies = write_mock_replies(directory, {"get_interfaces": _device_reply(size)})
    nr = make_nornir([mock_host(name, device_id, replies)])
    by_name = make_nornir([mock_host(name, None, replies)])

    dry_run = _measure(nr, name, connect(lab.url, lab.token_v1), dry_run=True)
    first = _measure(nr, name, connect(lab.url, lab.token_v1))
    steady_api = connect(lab.url, lab.token_v1)
    steady = _measure(nr, name, steady_api)
    steady_same_client = _measure(nr, name, steady_api)
    steady_by_name = _measure(by_name, name, connect(lab.url, lab.token_v1))
    return Costs(
        name, device_id, replies, dry_run, first, steady, steady_same_client, steady_by_name
    )


@pytest.fixture(scope="module")
def costs(netbox_lab: NetBoxLab, tmp_path_factory: pytest.TempPathFactory) -> dict[int, Costs]:
    """The runs of a device of each size.

    The devices stay in the session's NetBox (dropped when the session ends): deleting one with
    96 interfaces and their MAC addresses takes NetBox longer than all the runs measured.
    """
    return {
        size: _costs(netbox_lab, tmp_path_factory.mktemp(f"cost{size}"), size) for size in SIZES
    }


def test_api_cost_does_not_grow_with_interfaces(costs: dict[int, Costs]) -> None:
    small, large = (costs[size].requests() for size in SIZES)

    assert small == large


@pytest.mark.parametrize("size", SIZES)
def test_api_cost_dry_run_reads_version_and_interfaces(costs: dict[int, Costs], size: int) -> None:
    dry_run = costs[size].dry_run

    assert dry_run.requests == {"GET": 2}
    assert dry_run.report.changed is True


@pytest.mark.parametrize("size", SIZES)
def test_api_cost_first_sync_reads_twice_and_writes_once_per_level(
    costs: dict[int, Costs], size: int
) -> None:
    first = costs[size].first

    assert first.requests == {"GET": 2, "POST": 2, "PATCH": 1}
    assert sum(first.requests.values()) <= 6


@pytest.mark.parametrize("size", SIZES)
def test_api_cost_first_sync_writes_every_interface(costs: dict[int, Costs], size: int) -> None:
    report = costs[size].first.report

    assert len(report.created) == size - size // 8
    assert len(report.updated) == size // 8
    assert {c.field for u in report.updated for c in u.changes} == {"description"}


@pytest.mark.parametrize("size", SIZES)
def test_api_cost_steady_state_reads_version_once_per_client(
    costs: dict[int, Costs], size: int
) -> None:
    cost = costs[size]

    assert cost.steady.requests == {"GET": 2}
    assert cost.steady_same_client.requests == {"GET": 1}
    assert (cost.steady.report.changed, cost.steady_same_client.report.changed) == (False, False)


@pytest.mark.parametrize("size", SIZES)
def test_api_cost_device_lookup_by_name_costs_one_read(costs: dict[int, Costs], size: int) -> None:
    by_name = costs[size].steady_by_name

    assert by_name.requests == {"GET": 3}
    assert by_name.report.changed is False


def test_api_cost_parallel_hosts_read_version_once_per_client(
    netbox_lab: NetBoxLab, costs: dict[int, Costs]
) -> None:
    hosts = [mock_host(c.host, c.device_id, c.replies) for c in costs.values()]
    nr = make_nornir(hosts, num_workers=len(hosts))
    client = connect(netbox_lab.url, netbox_lab.token_v1)
    hold = HoldFirstVersionRead()
    client.http_session.hooks.setdefault("response", []).append(hold)

    with counting(client) as counter:
        result = nr.run(task=netbox_update_interfaces, netbox=client, dry_run=True)

    assert not result.failed
    assert hold.reads == 1
    assert counter.by_method == {"GET": len(hosts) + 1}
