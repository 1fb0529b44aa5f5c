"""Fill a large fleet's interfaces straight into the lab NetBox's database.

A first sync of 1,000 devices x 48 interfaces through the API takes hours on a 2-core lab
(NetBox spends about 0.2 s of server time per interface it creates, bulk or not). To measure
the steady state, the drift and the memory at that size all the same, the benchmark can write
the interfaces the first sync would have written (the library's own normalisation of the
same replies: names, types, enabled, MTU, speed, description, parent, primary MAC address)
with Django's ``bulk_create`` in NetBox's own environment. No change log or search index
entries are written for them. The steady-state phase that follows proves the result is what
the library expects: it must find nothing to change.

Only a lab started by the benchmark can be seeded this way (it needs the lab's NetBox
environment and database).
"""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Mapping
from pathlib import Path

from bench.fleet import Fleet, device_interfaces
from nornir_nb_ifsync.normalize import normalize

# Run by the NetBox venv's Python with NETBOX_ROOT set; argv[1] is a JSON-lines file with one
# device per line: {"id": ..., "interfaces": [{name, type, enabled, mtu, speed, description,
# mac, parent}, ...]}, parents before their children.
_SCRIPT = """
import json
import sys

import django

django.setup()

from django.contrib.contenttypes.models import ContentType
from django.db import transaction

from dcim.models import Interface, MACAddress

FIELDS = ("type", "enabled", "mtu", "speed", "description")
interface_type = ContentType.objects.get_for_model(Interface)


def seed(devices):
    Interface.objects.bulk_create(
        Interface(device_id=device["id"], name=row["name"], **{f: row[f] for f in FIELDS})
        for device in devices
        for row in device["interfaces"]
    )
    created = {
        (i.device_id, i.name): i
        for i in Interface.objects.filter(device_id__in=[d["id"] for d in devices])
    }
    by_id = {i.id: i for i in created.values()}
    children, macs = [], []
    for device in devices:
        for row in device["interfaces"]:
            interface = created[(device["id"], row["name"])]
            if row["parent"]:
                interface.parent_id = created[(device["id"], row["parent"])].id
                children.append(interface)
            if row["mac"]:
                macs.append(
                    MACAddress(
                        mac_address=row["mac"],
                        assigned_object_type=interface_type,
                        assigned_object_id=interface.id,
                    )
                )
    Interface.objects.bulk_update(children, ["parent"])
    primaries = []
    for mac in MACAddress.objects.bulk_create(macs):
        interface = by_id[mac.assigned_object_id]
        interface.primary_mac_address_id = mac.id
        primaries.append(interface)
    Interface.objects.bulk_update(primaries, ["primary_mac_address"])
    return len(created)


total = 0
batch = []
with open(sys.argv[1], encoding="utf-8") as lines, transaction.atomic():
    for line in lines:
        batch.append(json.loads(line))
        if len(batch) == 50:
            total += seed(batch)
            batch = []
    if batch:
        total += seed(batch)
print(total)
"""


def _rows(name: str, index: int, interfaces: int) -> list[dict[str, object]]:
    """What the first sync writes for one device, from the library's own normalisation."""
    normalized = normalize(name, device_interfaces(index, interfaces))
    return [
        {
            "name": i.name,
            "type": i.type,
            "enabled": i.enabled,
            "mtu": i.mtu,
            "speed": i.speed,
            "description": i.description,
            "mac": i.mac_address,
            "parent": i.parent,
        }
        for i in normalized.interfaces
    ]


def seed_interfaces(python: Path, env: Mapping[str, str], cwd: Path, fleet: Fleet) -> float:
    """Write the fleet's interfaces into NetBox's database; return the seconds it took.

    Args:
        python: The NetBox environment's interpreter.
        env: NetBox's process environment (``NETBOX_ROOT`` of the running lab).
        cwd: Working directory for the process (the lab's run directory).
        fleet: The fleet, whose devices exist in NetBox without interfaces.

    Raises:
        RuntimeError: The seeding process failed, or wrote a different number of interfaces.
    """
    began = time.perf_counter()
    document = fleet.root / "seed.jsonl"
    document.parent.mkdir(parents=True, exist_ok=True)
    with document.open("w", encoding="utf-8") as out:
        for offset, (name, device_id) in enumerate(fleet.devices.items()):
            rows = _rows(name, fleet.first_index + offset, fleet.interfaces)
            out.write(json.dumps({"id": device_id, "interfaces": rows}) + "\n")
    done = subprocess.run(
        [str(python), "-c", _SCRIPT, str(document)],
        cwd=cwd,
        env=dict(env),
        capture_output=True,
        text=True,
        check=False,
    )
    document.unlink()
    expected = len(fleet.devices) * fleet.interfaces
    if done.returncode != 0 or done.stdout.strip() != str(expected):
        raise RuntimeError(
            f"seeding failed ({done.returncode}), expected {expected} interfaces, got "
            f"{done.stdout.strip()!r}:\n{done.stderr[-3000:]}"
        )
    return time.perf_counter() - began
