"""The per-object baseline: what the reference method does, with plain pynetbox.

For each interface the device reports, in the device's order:

1. ``GET`` the interface by device and name (``nb.dcim.interfaces.get``);
2. ``POST`` it when NetBox has none, else set its fields and ``.save()`` (pynetbox sends a
   ``PATCH`` only when a field differs);
3. when the device reports a MAC address that is not already the interface's primary MAC:
   ``GET`` the MAC object of that interface, ``POST`` it when there is none, and ``PATCH`` the
   interface's ``primary_mac_address`` with a separate ``.save()``.

The device is read the same way as by the library (``napalm_get`` / ``get_interfaces`` on
the same mock-driver files) and the values are converted the same way (speed in kbit/s, MAC
upper case, no speed on virtual interfaces), so the two methods write the same data and
differ only in how they talk to NetBox. Nothing is looked up that the inventory already
knows: the device id comes from the host's data, as NetBoxInventory2 provides it.
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Mapping
from typing import Any

from nornir.core.task import Result, Task
from nornir_napalm.plugins.tasks import napalm_get

_SUBINTERFACE = re.compile(r"^(?P<parent>.+)\.\d+$")
_VIRTUAL = re.compile(r"^(loopback|vlan|tunnel)", re.IGNORECASE)
_LAG = re.compile(r"^(port-channel|ae\d|bundle-ether)", re.IGNORECASE)
_TYPE_BY_SPEED = {
    1_000_000: "1000base-t",
    10_000_000: "10gbase-x-sfpp",
    25_000_000: "25gbase-x-sfp28",
    40_000_000: "40gbase-x-qsfpp",
    100_000_000: "100gbase-x-qsfp28",
}


def _convert(name: str, data: Mapping[str, Any]) -> dict[str, Any]:
    """One NAPALM interface -> NetBox values (``parent`` by name, ``mac`` separately)."""
    match = _SUBINTERFACE.match(name)
    virtual = bool(match) or bool(_VIRTUAL.match(name))
    speed = data["speed"]
    kbps = round(speed * 1000) if not virtual and math.isfinite(speed) and speed > 0 else None
    if virtual:
        interface_type = "virtual"
    elif _LAG.match(name):
        interface_type = "lag"
    else:
        interface_type = _TYPE_BY_SPEED.get(kbps or 0, "other")
    mac = str(data["mac_address"]).strip().upper()
    return {
        "type": interface_type,
        "enabled": bool(data["is_enabled"]),
        "description": str(data["description"]).strip(),
        "mtu": int(data["mtu"]) if data["mtu"] > 0 else None,
        "speed": kbps,
        "parent": match.group("parent") if match else None,
        "mac": mac if mac not in ("", "NONE", "UNSPECIFIED") else None,
    }


def per_object_sync(task: Task, nb: Any) -> Result:
    """Sync the host's interfaces into NetBox one object at a time (the baseline).

    Args:
        task: The Nornir task.
        nb: A plain ``pynetbox.api``.

    Returns:
        A Result whose ``result`` counts interfaces created and saved and MAC objects created.
    """
    reply = task.run(
        task=napalm_get, getters=["get_interfaces"], severity_level=logging.DEBUG
    ).result["get_interfaces"]
    device_id = int(task.host.data["id"])
    ids: dict[str, int] = {}
    counts = {"created": 0, "saved": 0, "macs_created": 0, "primary_set": 0}
    for name, data in reply.items():
        values = _convert(name, data)
        mac = values.pop("mac")
        parent = values.pop("parent")
        values["parent"] = ids.get(parent) if parent else None
        record = nb.dcim.interfaces.get(device_id=device_id, name=name)
        if record is None:
            record = nb.dcim.interfaces.create(device=device_id, name=name, **values)
            counts["created"] += 1
        else:
            for field, value in values.items():
                if field != "type":
                    setattr(record, field, value)
            if record.save():
                counts["saved"] += 1
        ids[name] = int(record.id)
        if mac is None or str(record.mac_address or "").upper() == mac:
            continue
        mac_record = nb.dcim.mac_addresses.get(mac_address=mac, interface_id=record.id)
        if mac_record is None:
            mac_record = nb.dcim.mac_addresses.create(
                mac_address=mac,
                assigned_object_type="dcim.interface",
                assigned_object_id=record.id,
            )
            counts["macs_created"] += 1
        record.primary_mac_address = mac_record.id
        record.save()
        counts["primary_set"] += 1
    changed = any(counts.values())
    return Result(host=task.host, result=counts, changed=changed)
