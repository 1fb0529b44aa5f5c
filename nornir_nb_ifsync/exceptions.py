"""Exceptions of the sync. Each names the device (and interface and field) it concerns."""

from __future__ import annotations

from nornir_nb_ifsync.models import BulkOutcome


class IfSyncError(Exception):
    """Base class of every error the sync raises.

    Attributes:
        device: The device concerned, or "".
        message: The message without the ``device: `` prefix ``str()`` gives it.
    """

    def __init__(self, message: str, *, device: str = "") -> None:
        self.device = device
        self.message = message
        super().__init__(f"{device}: {message}" if device else message)


class ConfigurationError(IfSyncError):
    """The task was called with options, or an inventory, it cannot work with."""


class UnknownPlatformError(ConfigurationError):
    """The host's platform does not map to a NAPALM driver."""


class DeviceNotFoundError(IfSyncError):
    """The host has no matching NetBox device (or is a virtual machine)."""


class GetterOutputError(IfSyncError):
    """``get_interfaces`` returned something that is not the documented shape.

    Attributes:
        interface: The interface concerned, or "" when the whole reply is wrong.
        field: The field concerned, or "".
    """

    def __init__(self, message: str, *, device: str = "", interface: str = "", field: str = ""):
        self.interface = interface
        self.field = field
        where = ", ".join(
            part
            for part in (
                f"interface {interface!r}" if interface else "",
                f"field {field!r}" if field else "",
            )
            if part
        )
        super().__init__(f"{where}: {message}" if where else message, device=device)


class NetBoxError(IfSyncError):
    """NetBox could not be read or written (after the retries the client allows)."""

    def __init__(self, message: str, *, device: str = "", status: int | None = None) -> None:
        self.status = status
        super().__init__(message, device=device)


class WriteError(NetBoxError):
    """A bulk write failed part-way; what it wrote before that is known.

    Attributes:
        outcome: The items written (by name) and those NetBox refused, before the failure.
    """

    def __init__(
        self, message: str, *, device: str = "", status: int | None = None, outcome: BulkOutcome
    ) -> None:
        self.outcome = outcome
        super().__init__(message, device=device, status=status)


class NetBoxVersionError(NetBoxError):
    """The NetBox server is a version the sync does not support."""
