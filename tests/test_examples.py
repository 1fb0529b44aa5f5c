"""The examples a user copies: ``sync.py`` and ``report_csv.py`` with ``config.yaml``.

The row-building of ``report_csv.py`` is tested on plain reports; both scripts are then run as
a user runs them (their own process, ``NB_URL`` / ``NB_TOKEN`` in the environment) against the
lab NetBox and the demo's simulated devices, with ``examples/config.yaml`` whose device filter
is edited to the devices of this test.
"""

from __future__ import annotations

import csv
import io
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from examples import demo_lab
from examples.report_csv import COLUMNS, cell, change_rows, failures, summary_table
from nornir_nb_ifsync import InterfaceCreate, InterfaceUpdate, SyncReport
from nornir_nb_ifsync.models import FieldChange, InterfaceDelete
from tests.lab.devices.fleet import Fleet
from tests.lab.netbox_server import NetBoxLab
from tests.lab.seed import delete_device

EXAMPLES = Path(demo_lab.__file__).resolve().parent
TAG = "examples-test"
SCRIPT_TIMEOUT_S = 180


# ------------------------------------------------------------------------------ report_csv


def test_cell_writes_none_empty_and_booleans_lower_case() -> None:
    assert [cell(None), cell(True), cell(False), cell(9214), cell("a, b")] == [
        "",
        "true",
        "false",
        "9214",
        "a, b",
    ]


def test_change_rows_one_row_per_created_value_updated_field_and_deleted_interface() -> None:
    report = SyncReport(
        device="r1",
        device_id=7,
        dry_run=True,
        created=(InterfaceCreate("Gi0/1.10", {"type": "virtual", "parent": "Gi0/1"}),),
        updated=(
            InterfaceUpdate(
                3, "Gi0/1", (FieldChange("mtu", 1500, 9000), FieldChange("enabled", True, False))
            ),
        ),
        deleted=(InterfaceDelete(4, "Gi0/9"),),
        unchanged=("Gi0/2",),
    )

    rows = list(change_rows(report.to_dict()))

    assert [tuple(row[c] for c in COLUMNS) for row in rows] == [
        ("r1", "Gi0/1.10", "create", "type", "", "virtual"),
        ("r1", "Gi0/1.10", "create", "parent", "", "Gi0/1"),
        ("r1", "Gi0/1", "update", "mtu", "1500", "9000"),
        ("r1", "Gi0/1", "update", "enabled", "true", "false"),
        ("r1", "Gi0/9", "delete", "", "", ""),
    ]


def test_change_rows_of_an_unchanged_device_are_empty() -> None:
    report = SyncReport(device="r1", device_id=7, dry_run=False, unchanged=("Gi0/1",))

    assert list(change_rows(report.to_dict())) == []


def test_summary_table_counts_per_device_and_a_status_only_when_a_host_failed() -> None:
    ok = SyncReport(device="r1", device_id=1, dry_run=True, unchanged=("a", "b"))
    broken = "ConnectionException: Cannot connect to 127.0.0.9"
    buffer = io.StringIO()
    console = Console(file=buffer, width=100)

    console.print(summary_table({"r1": ok}, dry_run=True))
    console.print(summary_table({"r1": ok, "r2": broken}, dry_run=False))

    lines = [line.split() for line in buffer.getvalue().splitlines()]
    assert ["r1", "0", "0", "0", "2", "0", "0"] in lines
    assert ["r1", "0", "0", "0", "2", "0", "0", "ok"] in lines
    assert ["r2", "failed"] in lines
    assert failures({"r1": ok, "r2": broken}) == {"r2": broken}


# ------------------------------------------------------------------------- against the lab


@dataclass(frozen=True)
class Workspace:
    """A user's copy of the examples, pointed at the lab.

    Attributes:
        config: The edited ``config.yaml``.
        env: Environment for the scripts (``NB_URL``, ``NB_TOKEN``).
        api: pynetbox API of the lab.
        device_ids: Device name -> NetBox id.
    """

    config: Path
    env: dict[str, str]
    api: Any
    device_ids: dict[str, int]


@pytest.fixture(scope="module")
def demo_fleet() -> Iterator[Fleet]:
    """The demo's simulated devices, on addresses of their own."""
    with demo_lab.start_demo_fleet(first_ip="127.0.21.1") as fleet:
        yield fleet


@pytest.fixture(scope="module")
def workspace(
    netbox_lab: NetBoxLab, demo_fleet: Fleet, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Workspace]:
    """The demo's devices in the lab NetBox, tagged, and a copy of the examples for them.

    The devices are deleted afterwards: the lab NetBox is shared by the test session.
    """
    api = netbox_lab.api()
    device_ids = demo_lab.seed_netbox(api, demo_fleet, tag=TAG)
    directory = tmp_path_factory.mktemp("examples")
    demo_lab.write_inventory_files(directory, demo_fleet)
    config = demo_lab.write_config(directory, filter_parameters={"tag": TAG})
    env = {**os.environ, "NB_URL": netbox_lab.url, "NB_TOKEN": netbox_lab.token_v1}
    yield Workspace(config, env, api, device_ids)
    for device_id in device_ids.values():
        delete_device(api, device_id)


def _script(workspace: Workspace, name: str, *args: str) -> subprocess.CompletedProcess[str]:
    """Run an example script as a user would; fail with its output if it fails."""
    completed = subprocess.run(
        [sys.executable, str(EXAMPLES / name), "--config", str(workspace.config), *args],
        cwd=workspace.config.parent,
        env=workspace.env,
        capture_output=True,
        text=True,
        timeout=SCRIPT_TIMEOUT_S,
        check=False,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    return completed


def _read_csv(path: Path) -> list[tuple[str, ...]]:
    with path.open(newline="", encoding="utf-8") as stream:
        reader = csv.DictReader(stream)
        assert tuple(reader.fieldnames or ()) == COLUMNS
        return [tuple(row[c] for c in COLUMNS) for row in reader]


def _interfaces(workspace: Workspace) -> dict[str, set[str]]:
    return demo_lab.netbox_interfaces(workspace.api, workspace.device_ids)


def _expected_rows() -> set[tuple[str, ...]]:
    """A sample of the rows the demo seed must produce (creates and updates)."""
    return {
        ("ios-edge-01", "GigabitEthernet0/0.100", "create", "parent", "", "GigabitEthernet0/0"),
        ("ios-edge-01", "GigabitEthernet0/2", "create", "enabled", "", "false"),
        ("ios-edge-01", "GigabitEthernet0/0", "update", "mtu", "9000", "1500"),
        ("eos-leaf-01", "Ethernet2", "update", "description", "esx-06 vmnic0", "esx-07 vmnic0"),
        ("eos-leaf-01", "Ethernet1", "update", "enabled", "false", "true"),
        ("nxos-leaf-02", "Ethernet1/1", "update", "mtu", "1500", "9216"),
        ("junos-core-01", "ae0", "create", "type", "", "lag"),
        ("iosxr-core-02", "TenGigE0/0/0/0", "update", "speed", "1000000", "10000000"),
    }


@pytest.mark.lab
def test_examples_report_then_sync_against_the_lab(workspace: Workspace) -> None:
    before = _interfaces(workspace)
    planned_csv = workspace.config.parent / "planned.csv"

    report = _script(workspace, "report_csv.py", str(planned_csv))
    dry = _script(workspace, "sync.py")
    after_dry_runs = _interfaces(workspace)
    applied = _script(workspace, "sync.py", "--apply")
    after_apply = _interfaces(workspace)
    done_csv = workspace.config.parent / "done.csv"
    again = _script(workspace, "report_csv.py", str(done_csv))

    planned = _read_csv(planned_csv)
    assert _expected_rows() <= set(planned)
    assert {row[0] for row in planned} == set(workspace.device_ids)
    assert {row[2] for row in planned} == {"create", "update"}
    assert f"{len(planned)} row(s), one per changed field, in" in report.stdout
    assert "Interface sync (dry run: nothing written)" in report.stdout
    assert "+ GigabitEthernet0/0.100" in dry.stdout
    assert "5 device(s) to change; run again with --apply" in dry.stdout
    assert after_dry_runs == before
    assert "~ Ethernet2  description" in applied.stdout
    run = re.search(r"run id ([0-9a-f]{12}): NetBox's change log lists its writes", applied.stdout)
    assert run is not None, applied.stdout
    logged = list(workspace.api.core.object_changes.filter(q=run.group(1)))
    assert {str(c.changed_object_type) for c in logged} >= {"dcim.interface"}
    assert all(run.group(1) in c.message for c in logged)
    for demo in demo_lab.DEMO_DEVICES:
        reported = {i.name for i in demo.device.interfaces}
        assert reported <= after_apply[demo.device.name]
        assert after_apply[demo.device.name] - reported == before[demo.device.name] - reported
    assert _read_csv(done_csv) == []
    assert "0 row(s), one per changed field, in" in again.stdout
    assert (workspace.config.parent / "nornir.log").exists()
