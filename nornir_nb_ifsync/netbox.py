"""Everything the sync says to NetBox, through pynetbox.

This is the only module that talks to NetBox. It builds the HTTP session (timeouts, retries
of what is safe to retry), reads a device's interfaces in one request, and writes them in
bulk, turning NetBox's per-item refusals into :class:`Refusal` values rather than losing the
whole batch. pynetbox and requests errors are translated into :class:`NetBoxError` here.
"""

from __future__ import annotations

import logging
import threading
import warnings
import weakref
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import pynetbox
import requests
import urllib3
from packaging.version import InvalidVersion, Version
from pynetbox.core.query import Request
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from nornir_nb_ifsync.exceptions import DeviceNotFoundError, NetBoxError, NetBoxVersionError
from nornir_nb_ifsync.models import NetBoxInterface

logger = logging.getLogger(__name__)

#: NetBox's default MAX_PAGE_SIZE: one request reads up to this many interfaces.
PAGE_SIZE = 1000
#: Seconds to wait for NetBox to connect and to answer one request.
DEFAULT_TIMEOUT = (5.0, 60.0)
#: How many times a safe request is retried (connection errors, 429, 502, 503, 504).
DEFAULT_RETRIES = 4
#: The longest ``Retry-After`` the client honours, in seconds.
RETRY_AFTER_MAX = 30.0
#: The oldest NetBox the sync supports: 4.7 takes ``mac_address`` on interface writes.
MIN_VERSION = Version("4.7")
#: NetBox writes take ``changelog_message`` from this version on.
CHANGELOG_MESSAGE_VERSION = Version("4.4")

_READ_FIELDS = (
    "id,name,type,enabled,description,mtu,speed,mac_address,parent,mgmt_only,"
    "mark_connected,cable,module,count_ipaddresses,tags"
)


class CappedRetry(Retry):
    """urllib3's Retry, honouring ``Retry-After`` only up to :data:`RETRY_AFTER_MAX`."""

    def get_retry_after(self, response: urllib3.BaseHTTPResponse) -> float | None:
        """Return the server's ``Retry-After``, capped."""
        retry_after = super().get_retry_after(response)
        return None if retry_after is None else min(retry_after, RETRY_AFTER_MAX)


class _TimeoutAdapter(HTTPAdapter):
    """An HTTPAdapter that gives every request a timeout unless the caller set one."""

    def __init__(self, timeout: tuple[float, float], retries: Retry) -> None:
        self._timeout = timeout
        super().__init__(max_retries=retries)

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        """Send the request with the adapter's timeout as the default."""
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = self._timeout
        return super().send(request, **kwargs)


def retry_policy(total: int = DEFAULT_RETRIES) -> Retry:
    """Return the retry policy: GET and PATCH by id are safe to repeat; POST never is."""
    return CappedRetry(
        total=total,
        connect=total,
        read=total,
        status=total,
        backoff_factor=0.5,
        backoff_max=10.0,
        status_forcelist=(429, 502, 503, 504),
        allowed_methods=frozenset({"GET", "HEAD", "OPTIONS", "PATCH"}),
        respect_retry_after_header=True,
        raise_on_status=False,
    )


def make_session(
    verify: bool | str = True,
    timeout: tuple[float, float] = DEFAULT_TIMEOUT,
    retries: int = DEFAULT_RETRIES,
) -> requests.Session:
    """Return a requests session with the sync's timeouts and retries mounted.

    Args:
        verify: True to check NetBox's TLS certificate, a CA bundle path, or False (insecure).
        timeout: (connect, read) seconds for each request.
        retries: How often a safe request is retried.
    """
    session = requests.Session()
    adapter = _TimeoutAdapter(timeout, retry_policy(retries))
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    session.verify = verify
    return session


def connect(
    url: str,
    token: str,
    verify: bool | str = True,
    timeout: tuple[float, float] = DEFAULT_TIMEOUT,
    retries: int = DEFAULT_RETRIES,
) -> Any:
    """Return a ``pynetbox.api`` using :func:`make_session`.

    Both token kinds work: a classic 40-character token and a NetBox 4.5+ ``nbt_`` token.
    With ``verify=False`` one warning is logged and urllib3's per-request warning is silenced.
    """
    api = pynetbox.api(url, token=token)
    api.http_session = make_session(verify, timeout, retries)
    if verify is False:
        logger.warning("TLS certificate verification is off for %s", url)
        warnings.filterwarnings("ignore", category=urllib3.exceptions.InsecureRequestWarning)
    return api


_local = threading.local()


def thread_client(url: str, token: str, verify: bool | str) -> Any:
    """Return this thread's ``pynetbox.api`` for ``url`` and ``token``, made on first use.

    Nornir runs hosts in threads; each thread gets its own HTTP session.
    """
    clients: dict[tuple[str, int, str], Any] = _local.__dict__.setdefault("clients", {})
    key = (url, hash(token), repr(verify))
    if key not in clients:
        clients[key] = connect(url, token, verify)
    return clients[key]


@dataclass(frozen=True)
class Refusal:
    """An item NetBox refused in a bulk write.

    Attributes:
        name: Interface name.
        reason: NetBox's words, ``field: message``.
    """

    name: str
    reason: str


@dataclass(frozen=True)
class BulkOutcome:
    """What a bulk write achieved.

    Attributes:
        written: Name -> NetBox id of every item written.
        refused: Items NetBox refused, with its reason.
    """

    written: Mapping[str, int]
    refused: tuple[Refusal, ...]


@contextmanager
def _translated(action: str, device: str) -> Iterator[None]:
    """Translate pynetbox and requests errors into :class:`NetBoxError`."""
    try:
        yield
    except pynetbox.RequestError as exc:
        status = getattr(exc.req, "status_code", None)
        raise NetBoxError(
            f"{action}: HTTP {status}: {exc.error}", device=device, status=status
        ) from exc
    except requests.RequestException as exc:
        raise NetBoxError(f"{action}: {type(exc).__name__}: {exc}", device=device) from exc


def _item_errors(exc: pynetbox.RequestError) -> list[dict[str, Any]] | None:
    """Return NetBox 4.7's per-item errors of a refused bulk request, or None."""
    if getattr(exc.req, "status_code", None) != 400:
        return None
    try:
        body = exc.req.json()
    except ValueError:
        return None
    errors = body.get("errors") if isinstance(body, dict) else None
    return errors if isinstance(errors, list) and errors else None


def _reason(errors: object) -> str:
    if isinstance(errors, Mapping):
        return "; ".join(
            f"{field}: {' '.join(map(str, msgs)) if isinstance(msgs, list) else msgs}"
            for field, msgs in errors.items()
        )
    return str(errors)


_versions: weakref.WeakKeyDictionary[Any, Version] = weakref.WeakKeyDictionary()
_tags: weakref.WeakKeyDictionary[Any, set[str]] = weakref.WeakKeyDictionary()
_versions_lock = threading.Lock()


class NetBox:
    """The sync's view of one NetBox server.

    Args:
        api: A ``pynetbox.api``.
        changelog_message: Text for NetBox's change log on every write (NetBox >= 4.4).
    """

    def __init__(self, api: Any, changelog_message: str = "") -> None:
        self.api = api
        self._changelog_message = changelog_message

    def version(self, device: str = "") -> Version:
        """Return NetBox's version (read once per ``pynetbox.api``), checking it is supported.

        Raises:
            NetBoxVersionError: NetBox is older than :data:`MIN_VERSION`.
        """
        with _versions_lock:
            version = _versions.get(self.api)
        if version is None:
            with _translated("reading the NetBox version", device):
                text = self.api.version
            try:
                version = Version(text)
            except InvalidVersion as exc:
                raise NetBoxVersionError(f"unreadable NetBox version {text!r}") from exc
            with _versions_lock:
                _versions[self.api] = version
        if version < MIN_VERSION:
            raise NetBoxVersionError(
                f"NetBox {version} is not supported; the sync needs {MIN_VERSION} or later",
                device=device,
            )
        return version

    def find_device(self, name: str, device_id: int | None) -> tuple[int, str]:
        """Return the NetBox id and name of a device.

        Args:
            name: The Nornir host's name (the NetBox device name when no id is known).
            device_id: The id the inventory gave, if any.

        Raises:
            DeviceNotFoundError: No device has that id or name.
        """
        with _translated("looking up the device", name):
            if device_id is not None:
                return device_id, name
            record = self.api.dcim.devices.get(name=name)
        if record is None:
            raise DeviceNotFoundError("no NetBox device has this name", device=name)
        return int(record.id), str(record.name)

    def read_interfaces(self, device_id: int, device: str) -> list[NetBoxInterface]:
        """Read every interface of a device, with its primary MAC address.

        One request for up to :data:`PAGE_SIZE` interfaces.

        Raises:
            DeviceNotFoundError: NetBox has no device with that id.
            NetBoxError: NetBox could not be read.
        """
        try:
            with _translated("reading interfaces", device):
                records = list(
                    self.api.dcim.interfaces.filter(
                        device_id=device_id, limit=PAGE_SIZE, fields=_READ_FIELDS
                    )
                )
        except NetBoxError as exc:
            if exc.status == 400 and "device_id" in str(exc):
                raise DeviceNotFoundError(
                    f"no NetBox device has id {device_id}", device=device
                ) from exc
            raise
        return [_to_interface(record) for record in records]

    def _stamp(self, items: Sequence[dict[str, Any]], device: str) -> list[dict[str, Any]]:
        if not self._changelog_message or self.version(device) < CHANGELOG_MESSAGE_VERSION:
            return list(items)
        return [{**item, "changelog_message": self._changelog_message} for item in items]

    def create_interfaces(self, items: Sequence[dict[str, Any]], device: str) -> BulkOutcome:
        """Create interfaces in one bulk request; items NetBox refuses are left out and reported.

        Args:
            items: Interface payloads, each with ``device`` and ``name``.
            device: Device name, for messages.
        """
        return self._bulk(
            items,
            device,
            "creating interfaces",
            lambda sent: _ids_by_name(self.api.dcim.interfaces.create(sent)),
        )

    def update_interfaces(
        self, items: Sequence[dict[str, Any]], names: Mapping[int, str], device: str
    ) -> BulkOutcome:
        """Update interfaces in one bulk PATCH; items NetBox refuses are left out and reported.

        Args:
            items: Partial payloads, each with ``id``.
            names: Interface id -> name, for the outcome.
            device: Device name, for messages.
        """
        return self._bulk(
            items,
            device,
            "updating interfaces",
            lambda sent: _ids_by_name(self.api.dcim.interfaces.update(sent)),
            lambda item: names[item["id"]],
        )

    def delete_interfaces(
        self, ids: Sequence[int], names: Mapping[int, str], device: str
    ) -> BulkOutcome:
        """Delete interfaces in one bulk request; items NetBox refuses are kept and reported.

        Args:
            ids: Interface ids.
            names: Interface id -> name, for the outcome.
            device: Device name, for messages.
        """
        return self._bulk(
            [{"id": i} for i in ids],
            device,
            "deleting interfaces",
            lambda sent: self._delete(sent, names),
            lambda item: names[item["id"]],
        )

    def _delete(self, items: list[dict[str, Any]], names: Mapping[int, str]) -> dict[str, int]:
        """Bulk DELETE with the items as given (pynetbox's own delete drops their messages)."""
        endpoint = self.api.dcim.interfaces
        Request(base=endpoint.url, token=self.api.token, http_session=self.api.http_session).delete(
            data=items
        )
        return {names[item["id"]]: item["id"] for item in items}

    def ensure_tag(self, slug: str, device: str) -> None:
        """Create the tag ``slug`` unless NetBox has it (looked up once per client)."""
        with _versions_lock:
            known = slug in _tags.setdefault(self.api, set())
        if known:
            return
        with _translated(f"looking up tag {slug}", device):
            if self.api.extras.tags.get(slug=slug) is None:
                self.api.extras.tags.create(name=slug, slug=slug)
        with _versions_lock:
            _tags[self.api].add(slug)

    def primary_ip_interfaces(self, device_id: int, device: str) -> set[int]:
        """Return the ids of the interfaces holding the device's primary IP addresses."""
        with _translated("reading the primary IP addresses", device):
            record = self.api.dcim.devices.get(device_id)
            ip_ids = [
                int(ip.id)
                for ip in (
                    getattr(record, "primary_ip4", None),
                    getattr(record, "primary_ip6", None),
                )
                if ip
            ]
            if not ip_ids:
                return set()
            addresses = self.api.ipam.ip_addresses.filter(id=ip_ids)
            return {
                int(a.assigned_object_id)
                for a in addresses
                if a.assigned_object_type == "dcim.interface" and a.assigned_object_id
            }

    def _bulk(
        self,
        items: Sequence[dict[str, Any]],
        device: str,
        action: str,
        send: Callable[[list[dict[str, Any]]], Mapping[str, int]],
        name_of: Callable[[dict[str, Any]], str] = lambda item: str(item["name"]),
    ) -> BulkOutcome:
        """Send ``items`` in one request; drop what NetBox names as refused and send the rest.

        NetBox 4.7 refuses a bulk request as a whole, naming each refused item by its index
        (create) or id (update). Those are dropped and the others sent again, so one bad value
        costs only its own interface. Each round removes at least one item.
        """
        pending = self._stamp(items, device)
        refused: list[Refusal] = []
        written: Mapping[str, int] = {}
        while pending:
            with _translated(action, device):
                try:
                    written = send(pending)
                    break
                except pynetbox.RequestError as exc:
                    errors = _item_errors(exc)
                    if errors is None:
                        raise
            pending = _drop_refused(pending, errors, name_of, refused, device)
        for refusal in refused:
            logger.warning("%s: NetBox refused %s: %s", device, refusal.name, refusal.reason)
        return BulkOutcome(written=written, refused=tuple(refused))


def _drop_refused(
    pending: list[dict[str, Any]],
    errors: list[dict[str, Any]],
    name_of: Callable[[dict[str, Any]], str],
    refused: list[Refusal],
    device: str,
) -> list[dict[str, Any]]:
    """Return ``pending`` without the items NetBox's errors name, recording each refusal."""
    by_index = {e["index"]: e.get("errors") for e in errors if isinstance(e.get("index"), int)}
    by_id = {e["id"]: e.get("errors") for e in errors if isinstance(e.get("id"), int)}
    kept: list[dict[str, Any]] = []
    for index, item in enumerate(pending):
        if index in by_index or item.get("id") in by_id:
            reason = by_index.get(index, by_id.get(item.get("id", -1)))
            refused.append(Refusal(name_of(item), _reason(reason)))
        else:
            kept.append(item)
    if len(kept) == len(pending):
        raise NetBoxError(
            f"NetBox refused the bulk request without naming an item: {errors}", device=device
        )
    return kept


def _ids_by_name(records: Any) -> dict[str, int]:
    return {str(r.name): int(r.id) for r in records}


def _to_interface(record: Any) -> NetBoxInterface:
    """Convert a pynetbox interface record into a :class:`NetBoxInterface`."""
    interface_type = record.type
    return NetBoxInterface(
        id=int(record.id),
        name=str(record.name),
        type=str(getattr(interface_type, "value", interface_type)),
        enabled=bool(record.enabled),
        description=str(record.description or ""),
        mtu=record.mtu,
        speed=record.speed,
        mac_address=str(record.mac_address).upper() if record.mac_address else None,
        parent_id=int(record.parent.id) if record.parent else None,
        mgmt_only=bool(record.mgmt_only),
        connected=bool(record.cable) or bool(record.mark_connected),
        ip_count=int(record.count_ipaddresses or 0),
        on_module=bool(record.module),
        tags=tuple(str(tag.slug) for tag in (record.tags or ())),
    )
