"""Every real-world case of ``shared/cases/`` run by the real task against the lab's NetBox.

The case's ``get_interfaces`` is served by NAPALM's mock driver; NetBox is real.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from nornir_nb_ifsync import SyncReport, connect, netbox_update_interfaces
from tests.lab.inventory import (
    counting,
    make_nornir,
    mock_host,
    require_shared,
    shared_files,
    write_mock_replies,
)
from tests.lab.netbox_server import NetBoxLab
from tests.lab.seed import create_device, create_interfaces

pytestmark = pytest.mark.lab

CASES = shared_files("cases", "*.yaml")


def test_cases_are_present() -> None:
    require_shared(CASES)

    assert len(CASES) >= 8


def _netbox_state(api: Any, device_id: int) -> dict[str, dict[str, Any]]:
    state: dict[str, dict[str, Any]] = {}
    for record in api.dcim.interfaces.filter(device_id=device_id, limit=1000):
        state[record.name] = {
            "type": record.type.value,
            "enabled": record.enabled,
            "description": record.description,
            "mtu": record.mtu,
            "speed": record.speed,
            "mac": str(record.mac_address).upper() if record.mac_address else None,
            "parent": record.parent.name if record.parent else None,
        }
    return state


def _check_expectation(name: str, actual: dict[str, Any], expected: dict[str, Any]) -> None:
    for key, value in expected.items():
        description = actual["description"]
        if key == "description_max_length":
            assert len(description) <= value, name
        elif key == "description_has_trailing_space":
            assert (description != description.rstrip()) is value, name
        elif key == "description_starts_with":
            assert description.startswith(value), name
        elif key == "mac":
            assert actual["mac"] == (value.upper() if value else None), (name, key)
        else:
            assert actual[key] == value, (name, key, actual[key], value)


@pytest.mark.parametrize("case_file", CASES, ids=[c.stem for c in CASES])
def test_case(case_file: Path, netbox_lab: NetBoxLab, tmp_path: Path) -> None:
    case = yaml.safe_load(case_file.read_text(encoding="utf-8"))
    api = connect(netbox_lab.url, netbox_lab.token_v1)
    device_id = create_device(api, f"case-{case_file.stem}", "mock")
    create_interfaces(api, device_id, case["netbox_before"])
    replies = write_mock_replies(tmp_path / "mock", {"get_interfaces": case["get_interfaces"]})
    nr = make_nornir(
        [mock_host(f"case-{case_file.stem}", device_id, replies, platform=case["platform"])]
    )
    changes_before = api.core.object_changes.count()

    with counting(api) as dry_requests:
        dry = nr.run(task=netbox_update_interfaces, netbox=api, dry_run=True, on_failed=True)
    changes_after_dry = api.core.object_changes.count()
    first = nr.run(task=netbox_update_interfaces, netbox=api, on_failed=True)
    state = _netbox_state(api, device_id)
    with counting(api) as second_requests:
        second = nr.run(task=netbox_update_interfaces, netbox=api, on_failed=True)

    host = f"case-{case_file.stem}"
    assert not dry[host].failed, dry[host].exception
    assert dry[host].changed is True
    assert dry_requests.writes == 0
    assert changes_after_dry == changes_before
    assert not first[host].failed, first[host].exception
    for name, expected in case.get("expect", {}).items():
        assert name in state, f"{name} missing from NetBox"
        _check_expectation(name, state[name], expected)
    for name in case.get("absent", []):
        assert name not in state
    report: SyncReport = first[host][0].result
    if case.get("result", {}).get("names_the_skipped_interface"):
        for name in case.get("absent", []):
            reasons = [s.reason for s in report.skipped if s.name == name]
            assert reasons, f"{name} is not named in the result"
            assert all(reasons)
            assert name in first[host][0].diff
    assert not second[host].failed, second[host].exception
    if "second_run" in case:
        assert second[host].changed is case["second_run"]["changed"]
        assert second_requests.writes == 0
