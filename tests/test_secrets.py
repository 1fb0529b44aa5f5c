"""The NetBox token never shows: not in logs (every logger at DEBUG, nornir.log included), not
in Results, ``print_result`` output, reports, exceptions or reprs.

Each scenario runs the whole sync through ``InitNornir`` (token from ``NB_TOKEN`` or from the
NetBoxInventory2 options, never passed to the task), then searches everything captured for
the token and for its secret part.
"""

from __future__ import annotations

import io
import json
import logging
import traceback
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from nornir import InitNornir
from nornir.core import Nornir
from nornir.core.inventory import ConnectionOptions
from nornir.core.task import AggregatedResult
from nornir_utils.plugins.functions import print_result

from nornir_nb_ifsync import SyncReport, connect, netbox_update_interfaces
from nornir_nb_ifsync.netbox import NetBox, thread_client
from tests.lab.inventory import write_mock_replies
from tests.lab.netbox_server import TOKEN_V2_KEY, NetBoxLab
from tests.lab.seed import create_device

pytestmark = [
    pytest.mark.lab,
    pytest.mark.filterwarnings("ignore::nornir.core.exceptions.ConflictingConfigurationWarning"),
]

#: Every logger that could see a request: ours, Nornir's, NAPALM's, HTTP clients'.
LOGGERS = [
    "nornir",
    "nornir_nb_ifsync",
    "nornir_napalm",
    "nornir_netbox",
    "napalm",
    "pynetbox",
    "requests",
    "urllib3",
    "tests",
]
WRONG_V1 = "0a1b2c3d4e5f60718293a4b5c6d7e8f901234567"
WRONG_V2_SECRET = "WrongSecretForTheLabOnly9f8e7d6c5b4a3210"
#: Length of the pieces of a secret searched for, so that a partial leak is found too.
PIECE = 12

REPLY = {
    "Ethernet1": {
        "is_enabled": True,
        "is_up": True,
        "description": "secrets",
        "last_flapped": -1.0,
        "speed": 1000.0,
        "mtu": 1500,
        "mac_address": "00:1c:73:5e:c0:01",
    },
    "Ethernet1.10": {
        "is_enabled": True,
        "is_up": True,
        "description": "sub",
        "last_flapped": -1.0,
        "speed": 0.0,
        "mtu": 1500,
        "mac_address": "",
    },
}


@dataclass(frozen=True)
class Scenario:
    """One sync to search.

    Attributes:
        kind: ``v1`` or ``v2`` token.
        outcome: ``ok``, ``bad-token`` (NetBox answers 403) or ``bad-url`` (nothing listens).
        source: Where the token comes from: ``env`` or ``inventory`` (NetBoxInventory2).
    """

    kind: str
    outcome: str
    source: str = "env"

    def token(self, lab: NetBoxLab) -> str:
        """The token the sync is given."""
        if self.outcome == "bad-token":
            return WRONG_V1 if self.kind == "v1" else f"nbt_{TOKEN_V2_KEY}.{WRONG_V2_SECRET}"
        return lab.token_v1 if self.kind == "v1" else lab.token_v2

    def secrets(self, lab: NetBoxLab) -> list[str]:
        """What must never show: the token, its secret part, and any 12 characters of it."""
        secret = self.token(lab).rsplit(".", 1)[-1]
        pieces = {secret[i : i + PIECE] for i in range(len(secret) - PIECE + 1)}
        return [self.token(lab), secret, *sorted(pieces)]


SCENARIOS = [
    Scenario("v1", "ok"),
    Scenario("v2", "ok"),
    Scenario("v1", "ok", "inventory"),
    Scenario("v1", "bad-token"),
    Scenario("v2", "bad-token"),
    Scenario("v1", "bad-url"),
    Scenario("v2", "bad-url"),
]


@pytest.fixture
def debug_logs() -> Iterator[io.StringIO]:
    """Every logger at DEBUG; the root's output also goes to the returned stream."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setLevel(logging.DEBUG)
    root = logging.getLogger()
    saved = {name: logging.getLogger(name).level for name in ["", *LOGGERS]}
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield stream
    finally:
        root.removeHandler(handler)
        for name, level in saved.items():
            logger = logging.getLogger(name)
            logger.setLevel(level)
            logger.propagate = True
            for added in [h for h in logger.handlers if name and h is not handler]:
                logger.removeHandler(added)
                added.close()


def _inventory_files(directory: Path, hosts: dict[str, tuple[int, Path]]) -> dict[str, Any]:
    """Write a SimpleInventory of mock-driver hosts; return its options."""
    doc = {
        name: {
            "hostname": "127.0.0.1",
            "platform": "mock",
            "data": {"id": device_id},
            "connection_options": {
                "napalm": {"platform": "mock", "extras": {"optional_args": {"path": str(path)}}}
            },
        }
        for name, (device_id, path) in hosts.items()
    }
    host_file = directory / "hosts.yaml"
    host_file.write_text(yaml.safe_dump(doc), encoding="utf-8")
    return {
        "host_file": str(host_file),
        "group_file": str(directory / "none.yaml"),
        "defaults_file": str(directory / "none.yaml"),
    }


def _nornir(
    scenario: Scenario, lab: NetBoxLab, url: str, hosts: dict[str, tuple[int, Path]], tmp: Path
) -> Nornir:
    logging_options = {
        "enabled": True,
        "level": "DEBUG",
        "log_file": str(tmp / "nornir.log"),
        "to_console": True,
        "loggers": LOGGERS,
    }
    runner = {"plugin": "threaded", "options": {"num_workers": 2}}
    if scenario.source == "env":
        return InitNornir(
            runner=runner,
            logging=logging_options,
            inventory={"plugin": "SimpleInventory", "options": _inventory_files(tmp, hosts)},
        )
    nr = InitNornir(
        runner=runner,
        logging=logging_options,
        inventory={
            "plugin": "NetBoxInventory2",
            "options": {
                "nb_url": url,
                "nb_token": scenario.token(lab),
                "filter_parameters": {"name": list(hosts)},
                "group_file": str(tmp / "none.yaml"),
                "defaults_file": str(tmp / "none.yaml"),
            },
        },
    )
    for name, (_, path) in hosts.items():
        nr.inventory.hosts[name].connection_options["napalm"] = ConnectionOptions(
            platform="mock", extras={"optional_args": {"path": str(path)}}
        )
    return nr


def _everything(result: AggregatedResult, nr: Nornir) -> str:
    """Every rendering of the results a user could print, log or serialise."""
    texts = [repr(result), str(result)]
    for multi in result.values():
        texts.append(repr(multi))
        for item in multi:
            texts.extend([repr(item), str(item), repr(item.result), str(item.diff)])
            if isinstance(item.result, SyncReport):
                texts.append(json.dumps(item.result.to_dict()))
            if item.exception is not None:
                texts.extend([str(item.exception), repr(item.exception)])
                texts.extend(traceback.format_exception(item.exception))
    texts.append(repr(nr.inventory.hosts))
    return "\n".join(texts)


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda s: f"{s.kind}-{s.outcome}-{s.source}")
def test_token_never_shows_in_logs_results_or_errors(
    netbox_lab: NetBoxLab,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capfd: pytest.CaptureFixture[str],
    debug_logs: io.StringIO,
    scenario: Scenario,
) -> None:
    admin = connect(netbox_lab.url, netbox_lab.token_v1)
    url = "http://127.0.0.1:9" if scenario.outcome == "bad-url" else netbox_lab.url
    hosts = {}
    for n in range(2):
        name = f"secret-{scenario.kind}-{n}-{uuid.uuid4().hex[:6]}"
        path = write_mock_replies(tmp_path / name, {"get_interfaces": REPLY})
        hosts[name] = (create_device(admin, name, "mock"), path)
    monkeypatch.setenv("NB_URL", url)
    monkeypatch.setenv("NB_TOKEN", scenario.token(netbox_lab))
    if scenario.source == "inventory":
        monkeypatch.delenv("NB_TOKEN")
    nr = _nornir(scenario, netbox_lab, url, hosts, tmp_path)

    result = nr.run(task=netbox_update_interfaces)
    print_result(result, severity_level=logging.DEBUG)
    client = NetBox(thread_client(url, scenario.token(netbox_lab), True))
    captured = capfd.readouterr()
    logs = debug_logs.getvalue() + (tmp_path / "nornir.log").read_text(encoding="utf-8")
    searched = "\n".join(
        [logs, captured.out, captured.err, _everything(result, nr), repr(client), str(vars(client))]
    )

    for secret in scenario.secrets(netbox_lab):
        assert secret not in searched
    assert "urllib3.connectionpool" in logs or "Starting new HTTP connection" in logs
    assert "netbox_update_interfaces" in captured.out
    if scenario.outcome == "ok":
        assert not result.failed
        assert "created 2" in logs
    else:
        assert all(result[h].failed for h in hosts)
        expected = "HTTP 403" if scenario.outcome == "bad-token" else "ConnectionError"
        assert all(expected in str(result[h].exception) for h in hosts)
