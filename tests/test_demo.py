"""The demo (``python -m examples.demo --no-wait``): its whole run, and its command line."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from rich.console import Console

from examples import demo
from examples.demo_lab import DEMO_DEVICES, start_demo_fleet
from tests.lab.__main__ import _describe_fleet, _run_devices, build_parser
from tests.lab.devices.sshcli import port_is_free

_NORNIR_LOGGERS = ("nornir", "nornir_nb_ifsync")


@pytest.fixture
def nornir_logging_restored() -> Iterator[None]:
    """Undo the logging set-up InitNornir does from the demo's config.yaml."""
    saved = {}
    for name in _NORNIR_LOGGERS:
        logger = logging.getLogger(name)
        saved[name] = (list(logger.handlers), logger.level, logger.propagate)
    yield
    for name, (handlers, level, propagate) in saved.items():
        logger = logging.getLogger(name)
        for handler in logger.handlers:
            if handler not in handlers:
                handler.close()
        logger.handlers[:] = handlers
        logger.setLevel(level)
        logger.propagate = propagate


@pytest.mark.lab
@pytest.mark.filterwarnings("ignore::nornir.core.exceptions.ConflictingConfigurationWarning")
@pytest.mark.usefixtures("nornir_logging_restored")
def test_demo_runs_dry_run_apply_and_a_clean_second_run(
    capsys: pytest.CaptureFixture[str],
) -> None:
    buffer = io.StringIO()
    console = Console(file=buffer, width=120)

    outcome = demo.run_demo(console, wait=False)

    names = {d.device.name for d in DEMO_DEVICES}
    assert set(outcome.dry_run) == names
    assert not outcome.dry_run.failed
    assert all(result.changed for result in outcome.dry_run.values())
    assert not outcome.applied.failed
    assert all(result.changed for result in outcome.applied.values())
    assert not outcome.second.failed
    assert not any(result.changed for result in outcome.second.values())
    assert outcome.ok
    for device in DEMO_DEVICES:
        in_netbox = outcome.netbox_interfaces[device.device.name]
        reported = {i.name for i in device.device.interfaces}
        stale = {str(i["name"]) for i in device.netbox} - reported
        assert in_netbox == reported | stale | {"Management1"}

    printed = capsys.readouterr().out
    assert "+ GigabitEthernet0/0.100" in printed
    assert '~ Ethernet2  description: "esx-06 vmnic0" → "esx-07 vmnic0"' in printed
    assert "? in NetBox, not on the device: Ethernet48, Management1" in printed
    text = buffer.getvalue()
    assert "✓ the second run changed nothing" in text
    assert "Have a look" not in text  # its commands would name a lab that is stopped
    assert "stopped." in text

    with pytest.raises(requests.ConnectionError):
        requests.get(f"{outcome.netbox_url}/api/", timeout=5)
    assert all(port_is_free(ip, port) for ip, port in outcome.device_addresses.values())


def test_demo_command_line_no_wait_stops_after_the_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[dict[str, Any]] = []

    class Outcome:
        ok = True

    def fake_run_demo(console: Console | None = None, **kwargs: Any) -> Outcome:
        calls.append(kwargs)
        return Outcome()

    monkeypatch.setattr(demo, "run_demo", fake_run_demo)

    assert demo.main(["--no-wait"]) == 0
    assert demo.main(["--stale", "tag"]) == 0
    assert calls == [{"wait": False, "stale": "ignore"}, {"wait": True, "stale": "tag"}]


def test_demo_command_line_reports_a_sync_left_unfinished(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    class Outcome:
        ok = False

    monkeypatch.setattr(demo, "run_demo", lambda console=None, **kwargs: Outcome())

    assert demo.main(["--no-wait"]) == 1


def test_lab_command_line_has_a_devices_subcommand() -> None:
    args = build_parser().parse_args(["devices", "--first-ip", "127.0.24.1"])

    assert args.handler is _run_devices
    assert args.first_ip == "127.0.24.1"
    assert build_parser().parse_args(["devices"]).first_ip == "127.0.20.1"


@pytest.mark.lab
def test_lab_devices_description_says_how_napalm_reaches_each_device() -> None:
    with start_demo_fleet(first_ip="127.0.24.1") as fleet:
        text = _describe_fleet(fleet)

    lines = text.splitlines()
    port = fleet.port
    assert lines[0].split() == [
        "device",
        "NAPALM",
        "driver",
        "transport",
        "address",
        "optional_args",
    ]
    assert lines[2].split()[:4] == ["eos-leaf-01", "eos", "https", f"127.0.24.2:{port}"]
    assert '"transport": "https"' in lines[2]
    assert f'"port": {port}' in lines[2]
    assert lines[5].split()[:4] == [
        "iosxr-core-02",
        "iosxr_netconf",
        "netconf",
        f"127.0.24.5:{port}",
    ]
    assert "login     admin / admin" in text
