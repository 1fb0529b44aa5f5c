"""The small frozen types the sync passes from step to step.

The vocabulary is the same everywhere: an interface is *created*, *updated*, *unchanged* or
*skipped*; an interface NetBox has and the device did not report is *not on the device*.
Units are NetBox's: speed in kbit/s, MTU in bytes, MAC addresses as ``AA:BB:CC:DD:EE:FF``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

#: The NetBox interface fields the sync can own, in the order they are shown.
SYNC_FIELDS: tuple[str, ...] = (
    "type",
    "enabled",
    "parent",
    "mtu",
    "speed",
    "mac_address",
    "description",
)


class Kind(StrEnum):
    """What an interface is, as far as the sync's rules care."""

    PHYSICAL = "physical"
    LAG = "lag"
    VIRTUAL = "virtual"


@dataclass(frozen=True, slots=True)
class DeviceInterface:
    """One interface as the device reported it, normalised to NetBox's units.

    A value of ``None`` means *unknown*: the sync leaves NetBox's value alone on an existing
    interface and writes null on a new one.

    Attributes:
        name: The name in the device's spelling.
        kind: Physical port, LAG or virtual interface (from the name).
        type: The NetBox type to give the interface if it has to be created.
        enabled: Administratively enabled.
        description: Cleaned description ("" when the device has none).
        mtu: MTU in bytes (1..65536), or None.
        speed: Speed in kbit/s, or None (always None for virtual interfaces).
        mac_address: ``AA:BB:CC:DD:EE:FF``, or None.
        parent: Name of the parent interface (device spelling) for a subinterface, or None.
    """

    name: str
    kind: Kind
    type: str
    enabled: bool
    description: str
    mtu: int | None
    speed: int | None
    mac_address: str | None
    parent: str | None = None


@dataclass(frozen=True, slots=True)
class NetBoxInterface:
    """The part of a NetBox interface the sync reads.

    Attributes:
        id: NetBox object id.
        name: The name in NetBox's spelling.
        type: NetBox interface type value (e.g. ``1000base-t``, ``virtual``).
        enabled: Enabled flag.
        description: Description ("" when empty).
        mtu: MTU in bytes, or None.
        speed: Speed in kbit/s, or None.
        mac_address: The primary MAC address, or None.
        parent_id: Id of the parent interface, or None.
        lag_id: Id of the LAG the interface is a member of, or None.
        bridge_id: Id of the bridge interface it belongs to, or None.
        mgmt_only: NetBox's management-only flag.
        connected: True when the interface has a cable or is marked connected.
        ip_count: Number of IP addresses assigned to it.
        on_module: True when the interface belongs to a module.
        tags: Tag slugs.
    """

    id: int
    name: str
    type: str
    enabled: bool
    description: str
    mtu: int | None
    speed: int | None
    mac_address: str | None
    parent_id: int | None = None
    lag_id: int | None = None
    bridge_id: int | None = None
    mgmt_only: bool = False
    connected: bool = False
    ip_count: int = 0
    on_module: bool = False
    tags: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Refusal:
    """An item NetBox refused in a bulk write.

    Attributes:
        name: Interface name.
        reason: NetBox's words, ``field: message``.
    """

    name: str
    reason: str


@dataclass(frozen=True, slots=True)
class BulkOutcome:
    """What a bulk write achieved.

    Attributes:
        written: Name -> NetBox id of every item written.
        refused: Items NetBox refused, with its reason.
    """

    written: Mapping[str, int]
    refused: tuple[Refusal, ...]


@dataclass(frozen=True, slots=True)
class FieldChange:
    """One field of one interface going from ``old`` to ``new``."""

    field: str
    old: Any
    new: Any


@dataclass(frozen=True, slots=True)
class InterfaceCreate:
    """An interface to create.

    Attributes:
        name: Name to create it with.
        values: NetBox field values (``parent`` holds the parent's *name*).
    """

    name: str
    values: Mapping[str, Any]

    @property
    def parent(self) -> str | None:
        """Name of the parent interface, if the new interface has one."""
        parent = self.values.get("parent")
        return parent if isinstance(parent, str) else None


@dataclass(frozen=True, slots=True)
class InterfaceUpdate:
    """Changes to one existing NetBox interface.

    Attributes:
        id: NetBox id of the interface.
        name: Its name in NetBox's spelling.
        changes: The fields that change.
    """

    id: int
    name: str
    changes: tuple[FieldChange, ...]


@dataclass(frozen=True, slots=True)
class InterfaceDelete:
    """A stale interface to delete.

    Attributes:
        id: NetBox id.
        name: Name in NetBox.
        depth: How many parents it has among the device's interfaces (children go first).
    """

    id: int
    name: str
    depth: int = 0


@dataclass(frozen=True, slots=True)
class Skipped:
    """Something the sync did not write, and why.

    Attributes:
        name: The interface concerned.
        reason: A sentence a person can act on.
        field: The field concerned, or None when the whole interface was skipped.
    """

    name: str
    reason: str
    field: str | None = None


@dataclass(frozen=True, slots=True)
class Plan:
    """What one device needs, before anything is written.

    Attributes:
        creates: Interfaces to create, every parent before its children.
        updates: Field changes on existing interfaces.
        unchanged: Names of interfaces already right in NetBox.
        skipped: Interfaces or values left out, each with its reason.
        not_on_device: NetBox interfaces the device did not report at all (stale), among
            those the sync manages (not outside ``include``, in ``exclude`` or skipped).
        deletes: Stale interfaces to delete, children first.
        kept: Stale interfaces the stale mode left alone, with the reason.
        deletes_held: Deletions ``max_delete`` held back (none were made).
    """

    creates: tuple[InterfaceCreate, ...] = ()
    updates: tuple[InterfaceUpdate, ...] = ()
    unchanged: tuple[str, ...] = ()
    skipped: tuple[Skipped, ...] = ()
    not_on_device: tuple[str, ...] = ()
    deletes: tuple[InterfaceDelete, ...] = ()
    kept: tuple[Skipped, ...] = ()
    deletes_held: int = 0

    @property
    def has_writes(self) -> bool:
        """True when applying the plan writes anything to NetBox."""
        return bool(self.creates or self.updates or self.deletes)


@dataclass(frozen=True, slots=True, repr=False)
class SyncReport:
    """What the sync did (or, in a dry run, would do) for one device.

    This is ``Result.result`` of the task. Every collection is a tuple, so the report can be
    shared between threads and kept after the run.

    Attributes:
        device: NetBox device name.
        device_id: NetBox device id.
        dry_run: True when nothing was written.
        created: Interfaces created (or to create).
        updated: Interfaces updated (or to update), with old and new values.
        unchanged: Names of interfaces already right in NetBox.
        skipped: Interfaces and values not written, with the reason (including those NetBox
            refused).
        not_on_device: NetBox interfaces the device did not report at all (stale), among
            those the sync manages.
        run_id: Identifier of this run, also written in NetBox's change log messages.
        deleted: Stale interfaces deleted (or to delete).
        kept: Stale interfaces the stale mode left alone, with the reason.
        not_written: Interfaces the plan had that were not written because a write failed.
        error: Why the sync of this device failed, or "".
        branch: The NetBox branch (netbox-branching plugin) read and written instead of main,
            or "". A dry run names it even when the branch does not exist yet and main was
            read instead; its diff then says so.
    """

    device: str
    device_id: int
    dry_run: bool
    created: tuple[InterfaceCreate, ...] = ()
    updated: tuple[InterfaceUpdate, ...] = ()
    unchanged: tuple[str, ...] = ()
    skipped: tuple[Skipped, ...] = ()
    not_on_device: tuple[str, ...] = ()
    run_id: str = ""
    deleted: tuple[InterfaceDelete, ...] = ()
    kept: tuple[Skipped, ...] = ()
    not_written: tuple[str, ...] = ()
    error: str = ""
    branch: str = ""

    @property
    def changed(self) -> bool:
        """True when anything was (or in a dry run would be) written."""
        return bool(self.created or self.updated or self.deleted)

    def __repr__(self) -> str:
        """One line of counts (``print_result`` shows it under the diff)."""
        counts = ", ".join(
            f"{name}={len(getattr(self, name))}"
            for name in ("created", "updated", "deleted", "unchanged", "skipped", "kept")
        )
        state = f", error={self.error!r}" if self.error else ""
        return (
            f"SyncReport(device={self.device!r}, dry_run={self.dry_run}, {counts}, "
            f"not_on_device={len(self.not_on_device)}{state})"
        )

    def to_dict(self) -> dict[str, Any]:
        """Return the report as plain JSON-able data."""
        return {
            "device": self.device,
            "device_id": self.device_id,
            "dry_run": self.dry_run,
            "changed": self.changed,
            "run_id": self.run_id,
            "created": [{"name": c.name, **dict(c.values)} for c in self.created],
            "updated": [
                {
                    "id": u.id,
                    "name": u.name,
                    "changes": {c.field: {"old": c.old, "new": c.new} for c in u.changes},
                }
                for u in self.updated
            ],
            "unchanged": list(self.unchanged),
            "skipped": [
                {"name": s.name, "field": s.field, "reason": s.reason} for s in self.skipped
            ],
            "not_on_device": list(self.not_on_device),
            "deleted": [{"id": d.id, "name": d.name} for d in self.deleted],
            "kept": [{"name": k.name, "reason": k.reason} for k in self.kept],
            "not_written": list(self.not_written),
            "error": self.error,
            "branch": self.branch,
        }
