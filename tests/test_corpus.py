"""Every device of NAPALM's own test data (``shared/corpus/``) synced into the lab's NetBox."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest

from nornir_nb_ifsync import connect, netbox_update_interfaces
from nornir_nb_ifsync.models import Kind
from nornir_nb_ifsync.names import interface_kind, parent_name, skip_reason
from tests.lab.inventory import (
    make_nornir,
    mock_host,
    require_shared,
    shared_files,
    write_mock_replies,
)
from tests.lab.netbox_server import NetBoxLab
from tests.lab.seed import create_device

pytestmark = pytest.mark.lab

CORPUS = shared_files("corpus/napalm-get-interfaces", "*.json")


def test_corpus_is_present() -> None:
    require_shared(CORPUS)

    assert len(CORPUS) >= 21


def _read_back(api: Any, device_id: int) -> list[Any]:
    return list(api.dcim.interfaces.filter(device_id=device_id, limit=1000))


def _assert_no_junk(name: str, record: Any, reported: dict[str, Any]) -> None:
    kind = interface_kind(name)
    mac = str(record.mac_address or "")
    assert mac.replace(":", "").strip("0") or not mac, f"{name}: all-zero MAC"
    if record.speed is not None:
        assert record.speed > 0, name
        assert kind is not Kind.VIRTUAL, f"{name}: a virtual interface got a speed"
    if reported["speed"] <= 0 or not math.isfinite(reported["speed"]):
        assert record.speed is None, f"{name}: unknown speed written as {record.speed}"
    if record.mtu is not None:
        assert 1 <= record.mtu <= 65536, name
    if reported["mtu"] <= 0:
        assert record.mtu is None, f"{name}: unknown MTU written as {record.mtu}"
    if kind is Kind.VIRTUAL:
        assert record.type.value == "virtual", f"{name}: logical interface typed {record.type}"
    if kind is Kind.LAG:
        assert record.type.value == "lag", name
    assert record.type.value != "other" or kind is Kind.PHYSICAL, name


@pytest.mark.parametrize("corpus_file", CORPUS, ids=[c.stem for c in CORPUS])
def test_corpus_device_syncs_without_junk(
    corpus_file: Path, netbox_lab: NetBoxLab, tmp_path: Path
) -> None:
    reply = json.loads(corpus_file.read_text(encoding="utf-8"))
    api = connect(netbox_lab.url, netbox_lab.token_v1)
    name = f"corpus-{corpus_file.stem}"
    device_id = create_device(api, name, "mock")
    path = write_mock_replies(tmp_path, {"get_interfaces": reply})
    platform = corpus_file.stem.split("__")[0]
    nr = make_nornir([mock_host(name, device_id, path, platform=platform)])

    first = nr.run(task=netbox_update_interfaces, netbox=api, on_failed=True)
    records = {r.name: r for r in _read_back(api, device_id)}
    second = nr.run(task=netbox_update_interfaces, netbox=api, on_failed=True)

    report = first[name][0].result
    assert not first[name].failed, report
    skipped = {s.name for s in report.skipped if s.field is None}
    synced = {n for n in reply if skip_reason(n, driver=platform) is None and n not in skipped}
    assert set(records) == synced
    for if_name, record in records.items():
        assert skip_reason(if_name, driver=platform) is None, f"{if_name} is skipped"
        _assert_no_junk(if_name, record, reply[if_name])
        parent = parent_name(if_name)
        if parent in records:
            assert record.parent is not None, f"{if_name} has no parent"
            assert record.parent.name == parent
    assert not second[name].failed
    assert second[name].changed is False, second[name][0].diff
