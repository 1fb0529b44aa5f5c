"""Sync live device interfaces (read with NAPALM) into NetBox, as a Nornir task.

Typical use::

    from nornir import InitNornir
    from nornir_utils.plugins.functions import print_result
    from nornir_nb_ifsync import netbox_update_interfaces

    nr = InitNornir(config_file="config.yaml")
    print_result(nr.run(task=netbox_update_interfaces, dry_run=True))
"""

from nornir_nb_ifsync.exceptions import (
    ConfigurationError,
    DeviceNotFoundError,
    GetterOutputError,
    IfSyncError,
    NetBoxError,
    NetBoxVersionError,
    UnknownPlatformError,
    WriteError,
)
from nornir_nb_ifsync.models import (
    SYNC_FIELDS,
    FieldChange,
    InterfaceCreate,
    InterfaceUpdate,
    Skipped,
    SyncReport,
)
from nornir_nb_ifsync.netbox import connect
from nornir_nb_ifsync.platforms import netbox_napalm_platform
from nornir_nb_ifsync.progress import SyncProgress
from nornir_nb_ifsync.tasks import netbox_update_interfaces

__all__ = [
    "SYNC_FIELDS",
    "ConfigurationError",
    "DeviceNotFoundError",
    "FieldChange",
    "GetterOutputError",
    "IfSyncError",
    "InterfaceCreate",
    "InterfaceUpdate",
    "NetBoxError",
    "NetBoxVersionError",
    "Skipped",
    "SyncProgress",
    "SyncReport",
    "UnknownPlatformError",
    "WriteError",
    "connect",
    "netbox_napalm_platform",
    "netbox_update_interfaces",
]
