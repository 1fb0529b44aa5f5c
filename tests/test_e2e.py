"""The sync end to end, the way a user runs it: NetBoxInventory2 with the sync's transform
function, nornir-salt's RetryRunner, NAPALM's real drivers against the simulated devices, and
the lab NetBox.

For every platform and transport: a dry run writes nothing and lists the plan, a real run makes
NetBox match the device, and a second run finds nothing to do. Then the same with the NetBox
client made from the inventory's options, for several platforms at once, with the v2 token,
and with Nornir's global dry run.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
from nornir import InitNornir
from nornir.core import Nornir
from nornir.core.task import AggregatedResult
from nornir_netbox.plugins.inventory.netbox import NetBoxInventory2

from nornir_nb_ifsync import SyncReport, connect, netbox_update_interfaces
from nornir_nb_ifsync.platforms import CONNECTION_NAME
from tests.lab.devices.fleet import Fleet, start_fleet
from tests.lab.e2e import (
    SCENARIOS,
    NetBoxInterface,
    Scenario,
    diff_changes,
    netbox_state,
    planned_updates,
    platform_groups,
    seeded_devices,
    write_config,
)
from tests.lab.inventory import counting
from tests.lab.netbox_server import NetBoxLab

pytestmark = pytest.mark.lab

FIRST_IP = "127.0.12.1"
"""First fleet address; the other lab modules' fleets use other ranges."""
SEVERAL = tuple(s for s in SCENARIOS if s.id != "eos-ssh")
"""The scenarios of the runs over several platforms: both EOS transports share one NetBox
platform, so one group file cannot give them their different optional_args."""
ONE = next(s for s in SCENARIOS if s.id == "eos-eapi")
"""The scenario of the single-device runs (the quickest to reach)."""
RUN_ID = "e2e-several-platforms"

Devices = Mapping[str, tuple[Scenario, int]]


@dataclasses.dataclass(frozen=True)
class Stage:
    """One ``nr.run`` of the sync and what it cost.

    Attributes:
        result: The run's result.
        requests: Requests by HTTP method through the client given as ``netbox=`` (empty when
            the task made its own client).
        changes: Entries NetBox's change log gained.
    """

    result: AggregatedResult
    requests: dict[str, int]
    changes: int

    def report(self, host: str) -> SyncReport:
        """The host's sync report."""
        report: SyncReport = self.result[host][0].result
        return report

    def failures(self) -> dict[str, str]:
        """Host -> exception, for the hosts that failed."""
        return {h: repr(r[0].exception) for h, r in self.result.items() if r.failed}

    @property
    def writes(self) -> int:
        """POST, PATCH, PUT and DELETE requests."""
        return sum(n for m, n in self.requests.items() if m in ("POST", "PATCH", "PUT", "DELETE"))


@dataclasses.dataclass(frozen=True)
class Synced:
    """Devices taken through a dry run, a real run and a second run.

    Attributes:
        devices: Host (and NetBox device) name -> (scenario, NetBox device id).
        drivers: Host -> the NAPALM driver Nornir chose.
        seeded: Host -> NetBox's interfaces before the sync.
        after_dry_run: Host -> NetBox's interfaces after the dry run.
        synced: Host -> NetBox's interfaces after the real run.
        dry: The dry run.
        first: The real run.
        second: The second run.
        run_messages: Change log entries of the real run by message (read only when the run
            was given a ``run_id``).
    """

    devices: Devices
    drivers: dict[str, str]
    seeded: dict[str, dict[str, NetBoxInterface]]
    after_dry_run: dict[str, dict[str, NetBoxInterface]]
    synced: dict[str, dict[str, NetBoxInterface]]
    dry: Stage
    first: Stage
    second: Stage
    run_messages: dict[str, int]

    def single(self) -> tuple[str, Scenario]:
        """The host and scenario of a run over one device."""
        [(host, (scenario, _))] = self.devices.items()
        return host, scenario


@pytest.fixture(scope="module")
def fleet() -> Iterator[Fleet]:
    """Every scenario's simulated device, on one port."""
    with start_fleet([s.device for s in SCENARIOS], first_ip=FIRST_IP) as running:
        yield running


def _nornir(
    directory: Path,
    lab: NetBoxLab,
    fleet: Fleet,
    devices: Devices,
    token: str | None = None,
    dry_run: bool = False,
    **inventory_options: Any,
) -> Nornir:
    """Nornir from a config file, as a user writes it, over the given NetBox devices."""
    groups = platform_groups((s, fleet[s.device.name]) for s, _ in devices.values())
    config = write_config(
        directory,
        nb_url=lab.url,
        nb_token=token or lab.token_v1,
        device_names=list(devices),
        fleet=fleet,
        groups=groups,
        inventory_options=inventory_options,
    )
    return InitNornir(config_file=str(config), dry_run=dry_run)


def _run(nr: Nornir, api: Any, client: Any | None, **kwargs: Any) -> Stage:
    """Run the sync once; count requests on ``client`` when the task is given one."""
    changes = api.core.object_changes.count()
    if client is None:
        result = nr.run(task=netbox_update_interfaces, **kwargs)
        return Stage(result, {}, api.core.object_changes.count() - changes)
    with counting(client) as counter:
        result = nr.run(task=netbox_update_interfaces, netbox=client, **kwargs)
    return Stage(result, dict(counter.by_method), api.core.object_changes.count() - changes)


def _states(api: Any, devices: Devices) -> dict[str, dict[str, NetBoxInterface]]:
    return {host: netbox_state(api, device_id) for host, (_, device_id) in devices.items()}


def _last_change_id(api: Any) -> int:
    last = next(iter(api.core.object_changes.filter(ordering="-id", limit=1)), None)
    return int(last.id) if last is not None else 0


def _messages_since(api: Any, change_id: int) -> dict[str, int]:
    messages: dict[str, int] = {}
    for change in api.core.object_changes.filter(id__gt=change_id, limit=1000):
        messages[str(change.message)] = messages.get(str(change.message), 0) + 1
    return messages


def _sync_three_times(
    nr: Nornir, api: Any, devices: Devices, client: Any | None, run_id: str | None = None
) -> Synced:
    """Dry run, real run, second run; NetBox's state read around them."""
    seeded = _states(api, devices)
    try:
        dry = _run(nr, api, client, dry_run=True)
        after_dry_run = _states(api, devices)
        last_change = _last_change_id(api) if run_id is not None else None
        first = _run(nr, api, client, dry_run=False, run_id=run_id)
        run_messages = _messages_since(api, last_change) if last_change is not None else {}
        synced = _states(api, devices)
        second = _run(nr, api, client, dry_run=False)
    finally:
        nr.close_connections()
    drivers = {
        host: str(nr.inventory.hosts[host].get_connection_parameters(CONNECTION_NAME).platform)
        for host in devices
    }
    return Synced(devices, drivers, seeded, after_dry_run, synced, dry, first, second, run_messages)


def _updated_fields(report: SyncReport) -> set[tuple[str, str]]:
    return {(u.name, c.field) for u in report.updated for c in u.changes}


def _create_waves(scenario: Scenario) -> int:
    """Bulk creates the sync needs: one, plus one when a new interface's parent is new too."""
    expected = scenario.expected()
    nested = any(expected[name].parent in scenario.created for name in scenario.created)
    return 2 if nested else 1


# ----------------------------------------------------------------- one platform at a time


@pytest.fixture(scope="class", params=SCENARIOS, ids=[s.id for s in SCENARIOS])
def one(
    request: pytest.FixtureRequest,
    netbox_lab: NetBoxLab,
    fleet: Fleet,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Synced]:
    """One scenario's device through the three runs, the task given ``netbox=``."""
    scenario: Scenario = request.param
    api = connect(netbox_lab.url, netbox_lab.token_v1)
    with seeded_devices(api, fleet, [scenario]) as devices:
        nr = _nornir(tmp_path_factory.mktemp(scenario.id), netbox_lab, fleet, devices)
        yield _sync_three_times(nr, api, devices, client=api)


class TestOnePlatform:
    """Each platform and transport on its own, requests counted on the given client."""

    def test_transform_function_picks_the_napalm_driver(self, one: Synced) -> None:
        host, scenario = one.single()

        assert one.drivers == {host: scenario.driver}

    def test_dry_run_writes_nothing(self, one: Synced) -> None:
        assert one.dry.failures() == {}
        assert one.dry.requests == {"GET": 2}
        assert one.dry.changes == 0
        assert one.after_dry_run == one.seeded

    def test_dry_run_lists_every_planned_change(self, one: Synced) -> None:
        host, scenario = one.single()
        result = one.dry.result[host][0]
        report = one.dry.report(host)

        creates, updates = diff_changes(str(result.diff))

        assert result.changed is True
        assert report.dry_run is True
        assert creates == scenario.created
        assert {c.name for c in report.created} == scenario.created
        assert updates == planned_updates(scenario)
        assert _updated_fields(report) == set(planned_updates(scenario))
        assert set(report.not_on_device) == scenario.not_on_device
        assert all(name in str(result.diff) for name in scenario.not_on_device)

    def test_sync_makes_netbox_match_the_device(self, one: Synced) -> None:
        host, scenario = one.single()
        report = one.first.report(host)

        assert one.first.failures() == {}
        assert one.first.result[host][0].changed is True
        assert report.dry_run is False
        assert {c.name for c in report.created} == scenario.created
        assert _updated_fields(report) == set(planned_updates(scenario))
        assert one.synced[host] == scenario.expected()
        assert "other" not in {one.synced[host][name].type for name in scenario.created}

    def test_sync_writes_in_bulk(self, one: Synced) -> None:
        _, scenario = one.single()

        assert one.first.requests == {"GET": 1, "POST": _create_waves(scenario), "PATCH": 1}

    def test_second_sync_changes_nothing(self, one: Synced) -> None:
        host, _ = one.single()
        report = one.second.report(host)

        assert one.second.failures() == {}
        assert one.second.result[host][0].changed is False
        assert (report.created, report.updated) == ((), ())
        assert one.second.requests == {"GET": 1}
        assert one.second.changes == 0


# --------------------------------------------------- several platforms, client from inventory


@pytest.fixture(scope="class")
def several(
    netbox_lab: NetBoxLab, fleet: Fleet, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Synced]:
    """One device per platform in one Nornir; the task makes its client from the inventory
    options (no ``netbox=``); hosts get the platform slug rather than its name."""
    api = connect(netbox_lab.url, netbox_lab.token_v1)
    with seeded_devices(api, fleet, SEVERAL) as devices:
        directory = tmp_path_factory.mktemp("several")
        nr = _nornir(directory, netbox_lab, fleet, devices, use_platform_slug=True)
        yield _sync_three_times(nr, api, devices, client=None, run_id=RUN_ID)


class TestSeveralPlatforms:
    """Six platforms at once through RetryRunner, NetBox client from NetBoxInventory2."""

    def test_transform_function_maps_platform_slugs(self, several: Synced) -> None:
        expected = {host: scenario.driver for host, (scenario, _) in several.devices.items()}

        assert several.drivers == expected

    def test_dry_run_writes_nothing_on_any_host(self, several: Synced) -> None:
        changed = {host: r[0].changed for host, r in several.dry.result.items()}

        assert several.dry.failures() == {}
        assert changed == dict.fromkeys(several.devices, True)
        assert several.dry.changes == 0
        assert several.after_dry_run == several.seeded

    def test_sync_makes_every_device_match(self, several: Synced) -> None:
        expected = {host: scenario.expected() for host, (scenario, _) in several.devices.items()}

        assert several.first.failures() == {}
        assert several.synced == expected

    def test_change_log_names_the_run(self, several: Synced) -> None:
        reports = [several.first.report(host) for host in several.devices]
        writes = sum(len(r.created) + len(r.updated) for r in reports)

        assert {r.run_id for r in reports} == {RUN_ID}
        assert several.run_messages[f"nornir-nb-ifsync run {RUN_ID}"] == writes

    def test_second_sync_changes_nothing_on_any_host(self, several: Synced) -> None:
        changed = {host: r[0].changed for host, r in several.second.result.items()}

        assert several.second.failures() == {}
        assert changed == dict.fromkeys(several.devices, False)
        assert several.second.changes == 0


# --------------------------------------------------------------------------- single runs


def test_netbox_inventory_sends_v2_token_with_token_prefix(
    netbox_lab: NetBoxLab, tmp_path: Path
) -> None:
    inventory = NetBoxInventory2(
        nb_url=netbox_lab.url,
        nb_token=netbox_lab.token_v2,
        filter_parameters={"name": "no-such-device"},
        group_file=str(tmp_path / "groups.yaml"),
        defaults_file=str(tmp_path / "defaults.yaml"),
    )

    loaded = inventory.load()

    assert inventory.session.headers["Authorization"] == f"Token {netbox_lab.token_v2}"
    assert list(loaded.hosts) == []


def test_v2_token_serves_inventory_and_task(
    netbox_lab: NetBoxLab, fleet: Fleet, tmp_path: Path
) -> None:
    api = connect(netbox_lab.url, netbox_lab.token_v1)
    with seeded_devices(api, fleet, [ONE]) as devices:
        nr = _nornir(tmp_path, netbox_lab, fleet, devices, token=netbox_lab.token_v2)
        [host] = devices

        synced = _sync_three_times(nr, api, devices, client=None)

    assert list(nr.inventory.hosts) == [host]
    assert (synced.dry.changes, synced.dry.result[host][0].changed) == (0, True)
    assert synced.first.failures() == {}
    assert synced.first.result[host][0].changed is True
    assert synced.synced[host] == ONE.expected()
    assert synced.second.result[host][0].changed is False


def test_global_dry_run_writes_nothing(netbox_lab: NetBoxLab, fleet: Fleet, tmp_path: Path) -> None:
    api = connect(netbox_lab.url, netbox_lab.token_v1)
    with seeded_devices(api, fleet, [ONE]) as devices:
        nr = _nornir(tmp_path, netbox_lab, fleet, devices, dry_run=True)
        [(host, (_, device_id))] = devices.items()
        before = netbox_state(api, device_id)

        try:
            stage = _run(nr, api, api)
        finally:
            nr.close_connections()
        after = netbox_state(api, device_id)

    assert stage.failures() == {}
    assert stage.report(host).dry_run is True
    assert stage.result[host][0].changed is True
    assert stage.writes == 0
    assert stage.changes == 0
    assert after == before
