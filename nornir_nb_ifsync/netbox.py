"""Everything the sync says to NetBox, through pynetbox.

This is the only module that talks to NetBox. It builds the HTTP session (timeouts, retries
of what is safe to retry), reads a device's interfaces in one request, and writes them in
bulk, turning NetBox's per-item refusals into :class:`Refusal` values rather than losing the
whole batch. pynetbox and requests errors are translated into :class:`NetBoxError` here.

Retries
    urllib3's :class:`~urllib3.util.retry.Retry` is mounted on the session
    (:func:`retry_policy`). ``GET`` and ``PATCH`` (a bulk update by id sets absolute values,
    so sending it twice is harmless) are retried on a dropped connection, a read timeout and
    the statuses 429, 502, 503 and 504, with exponential backoff (0, 1, 2, 4 … seconds, at
    most :data:`BACKOFF_MAX`) or the server's ``Retry-After``, capped at
    :data:`RETRY_AFTER_MAX` (an unreadable ``Retry-After`` falls back to the backoff).
    ``POST`` and ``DELETE`` are retried only when the connection could not be opened, so
    NetBox never saw them; once they may have been sent, urllib3 never repeats them (a
    repeated bulk create would be refused as duplicates, a repeated bulk delete as "does not
    exist"). TLS errors are not retried. Every request has a (connect, read) timeout.

Writes whose outcome is unknown
    A bulk write that fails after it may have reached NetBox (read timeout, connection
    dropped, any 5xx: NetBox commits before it runs the event rules, whose failure still
    answers 500) is not sent again blindly: the client pauses, reads NetBox back and sends
    again only what is still missing (creates: by name on the device; updates: the
    interfaces whose fields do not yet have the new values; deletes: the ids still present).
    A later failure of the same write (a resend refused as a duplicate because the first
    request landed late) is settled the same way before it counts. NetBox applies a bulk
    request all or nothing and holds interface names unique per device, so an interface is
    never created twice. A write that raises lists what may not have been written ("maybe
    not written" when NetBox could not be read back). One bulk write makes at most
    :data:`WRITE_ROUNDS` rounds, refusals and unknown outcomes together; the session may
    repeat a PATCH round's request up to ``retries`` times.

Redirects
    The session follows none: requests would resend a redirected bulk POST as a GET. A
    redirect is an error naming where it points.

Worst case of one host's NetBox phase
    With ``c, r = timeout``, ``N = retries``, ``A = RETRY_AFTER_MAX`` (>= ``BACKOFF_MAX``) and
    ``R = WRITE_ROUNDS``, one request (retries included) takes at most::

        T = (N + 1) * (c + r) + N * A

    and one host at most::

        (3 + p) * T  +  B * (R * ((1 + s) * T + A) + s * T)

    where ``p`` is the number of pages of the device's interfaces (1 up to
    :data:`PAGE_SIZE`), ``B`` the number of bulk writes (one create per level of parents,
    usually 2; one update; one delete per level with ``stale="delete"``) and ``s`` the
    requests of one read-back (1 up to :data:`PAGE_SIZE` creates, ``ceil(k / ID_CHUNK)`` for
    ``k`` updates or deletes). Each write round is one request, a pause and a read-back; a
    last read-back checks refusals that followed an unknown outcome. The stale options add a
    tag lookup and create and the primary IP lookup: ``4 * T`` more.
    :func:`worst_case_seconds` computes it. With the defaults (``T`` = 445 s) a host with up
    to 200 interfaces and subinterfaces (``p = s = 1``, ``B = 3``) is bounded by 3.9 hours:
    NetBox would have to stall every request past its read timeout. When NetBox refuses
    connections a host fails after the backoff, about 7 seconds. The read timeout is
    requests', per socket read: a server that trickles bytes is not bounded by it.

Threads
    A ``requests.Session`` is not documented as thread-safe. :func:`thread_client` gives
    each runner thread its own ``pynetbox.api`` and session; the per-client caches of this
    module (version, tags) are guarded by a lock. A single ``pynetbox.api`` passed to every
    host shares one session between the runner's threads.
"""

from __future__ import annotations

import logging
import re
import threading
import time
import warnings
import weakref
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import pynetbox
import requests
import urllib3
from packaging.version import InvalidVersion, Version
from pynetbox.core.query import Request
from requests.adapters import HTTPAdapter
from urllib3.exceptions import ConnectTimeoutError, InvalidHeader
from urllib3.util.retry import Retry

from nornir_nb_ifsync.exceptions import (
    ConfigurationError,
    DeviceNotFoundError,
    NetBoxError,
    NetBoxVersionError,
    WriteError,
)
from nornir_nb_ifsync.models import BulkOutcome, NetBoxInterface, Refusal

logger = logging.getLogger(__name__)

#: NetBox's default MAX_PAGE_SIZE: one request reads up to this many interfaces.
PAGE_SIZE = 1000
#: Interfaces read back by id in one request (keeps the URL under 4 KB).
ID_CHUNK = 200
#: Seconds to wait for NetBox to connect and to answer one request.
DEFAULT_TIMEOUT = (5.0, 60.0)
#: How many times a safe request is retried (connection errors, 429, 502, 503, 504).
DEFAULT_RETRIES = 4
#: The longest ``Retry-After`` the client honours, in seconds.
RETRY_AFTER_MAX = 30.0
#: Backoff between retries: ``BACKOFF_FACTOR * 2 ** (n - 1)`` seconds, at most BACKOFF_MAX.
BACKOFF_FACTOR = 0.5
#: The longest backoff between two attempts, in seconds.
BACKOFF_MAX = 10.0
#: Requests one bulk write sends at most: the first, and resends after refusals or an
#: unknown outcome.
WRITE_ROUNDS = 4
#: Statuses that mean NetBox, or a proxy in front of it, is busy or unreachable.
RETRY_STATUSES = frozenset({429, 502, 503, 504})
#: The oldest NetBox the sync supports: 4.7 takes ``mac_address`` on interface writes.
MIN_VERSION = Version("4.7")
#: NetBox writes take ``changelog_message`` from this version on.
CHANGELOG_MESSAGE_VERSION = Version("4.4")
#: How much of an error response's body a message quotes.
BODY_EXCERPT = 300

_VERSION_RE = re.compile(r"\d+(\.\d+)*")

_READ_FIELDS = (
    "id,name,type,enabled,description,mtu,speed,mac_address,parent,lag,bridge,mgmt_only,"
    "mark_connected,cable,module,count_ipaddresses,tags"
)


class CappedRetry(Retry):
    """urllib3's Retry, honouring ``Retry-After`` only up to :data:`RETRY_AFTER_MAX`."""

    def get_retry_after(self, response: urllib3.BaseHTTPResponse) -> float | None:
        """Return the server's ``Retry-After`` in seconds, capped; None if absent or unreadable."""
        try:
            retry_after = super().get_retry_after(response)
        except InvalidHeader:
            return None
        return None if retry_after is None else min(retry_after, RETRY_AFTER_MAX)


class _SessionAdapter(HTTPAdapter):
    """An HTTPAdapter with the sync's timeout and an explicit TLS choice.

    The timeout applies unless the caller gave one. An explicit ``verify`` (False or a CA
    bundle path) wins over ``REQUESTS_CA_BUNDLE`` and ``CURL_CA_BUNDLE``, which requests would
    otherwise let override the session's setting.
    """

    def __init__(self, timeout: tuple[float, float], retries: Retry, verify: bool | str) -> None:
        self._timeout = timeout
        self._verify = verify
        super().__init__(max_retries=retries)

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        """Send the request with the adapter's timeout and TLS verification."""
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = self._timeout
        if self._verify is not True:
            kwargs["verify"] = self._verify
        return super().send(request, **kwargs)


def retry_policy(total: int = DEFAULT_RETRIES) -> Retry:
    """Return the retry policy: GET and PATCH are repeated; POST and DELETE only when unsent.

    Args:
        total: Retries of one request, all causes together.
    """
    return CappedRetry(
        total=total,
        connect=total,
        read=total,
        status=total,
        other=0,
        backoff_factor=BACKOFF_FACTOR,
        backoff_max=BACKOFF_MAX,
        status_forcelist=RETRY_STATUSES,
        allowed_methods=frozenset({"GET", "HEAD", "OPTIONS", "PATCH"}),
        respect_retry_after_header=True,
        raise_on_status=False,
    )


def request_worst_case(
    timeout: tuple[float, float] = DEFAULT_TIMEOUT, retries: int = DEFAULT_RETRIES
) -> float:
    """Return ``T``, the longest one request can take with its retries, in seconds."""
    connect, read = timeout
    return (retries + 1) * (connect + read) + retries * max(RETRY_AFTER_MAX, BACKOFF_MAX)


def worst_case_seconds(
    *,
    timeout: tuple[float, float] = DEFAULT_TIMEOUT,
    retries: int = DEFAULT_RETRIES,
    pages: int = 1,
    bulk_writes: int = 3,
    readback_requests: int = 1,
    stale: bool = False,
) -> float:
    """Return the longest one host's NetBox phase can take, in seconds (see the module doc).

    Args:
        timeout: (connect, read) seconds of each request.
        retries: Retries of one request.
        pages: Pages of the device's interfaces (``ceil(n / PAGE_SIZE)``).
        bulk_writes: Bulk requests the plan needs before resends.
        readback_requests: Requests of one read-back after an unknown outcome.
        stale: A stale option other than ``ignore`` (tag and primary IP lookups).
    """
    one = request_worst_case(timeout, retries)
    reads = (3 + pages + (4 if stale else 0)) * one
    rounds = WRITE_ROUNDS * ((1 + readback_requests) * one + RETRY_AFTER_MAX)
    return reads + bulk_writes * (rounds + readback_requests * one)


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
    adapter = _SessionAdapter(timeout, retry_policy(retries), verify)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    session.verify = verify
    # requests would follow a redirect (http:// -> https://, say) by turning a bulk POST into
    # a GET; refusing it makes the misconfigured URL an error that says so.
    session.max_redirects = 0
    return session


_warned_insecure: set[str] = set()
_warned_lock = threading.Lock()


def _warn_insecure(url: str) -> None:
    """Log, once per process and URL, that TLS verification is off; silence urllib3's warning."""
    with _warned_lock:
        first = url not in _warned_insecure
        _warned_insecure.add(url)
    warnings.filterwarnings("ignore", category=urllib3.exceptions.InsecureRequestWarning)
    if first:
        logger.warning("TLS certificate verification is off for %s", url)


def connect(
    url: str,
    token: str,
    verify: bool | str = True,
    timeout: tuple[float, float] = DEFAULT_TIMEOUT,
    retries: int = DEFAULT_RETRIES,
) -> Any:
    """Return a ``pynetbox.api`` using :func:`make_session`.

    Both token kinds work: a classic 40-character token and a NetBox 4.5+ ``nbt_`` token.
    With ``verify=False`` one warning is logged (once per process and URL) and urllib3's
    per-request warning is silenced.

    Args:
        url: NetBox's base URL; a trailing ``/`` or ``/api`` (pynetbox adds it) is dropped.
        token: API token; blanks around it (a newline from a secret file) are dropped.
        verify: True, a CA bundle path, or False.
        timeout: (connect, read) seconds for each request.
        retries: How often a safe request is retried.

    Raises:
        ConfigurationError: The token is empty, or holds blanks or characters that are not
            printable ASCII (it could not be sent in a header; it is not quoted).
    """
    api = pynetbox.api(base_url(url), token=checked_token(token))
    api.http_session = make_session(verify, timeout, retries)
    if verify is False:
        _warn_insecure(url)
    return api


def base_url(url: str) -> str:
    """Return NetBox's base URL without the ``/`` or ``/api`` a user may end it with."""
    text = url.strip().rstrip("/")
    return text.removesuffix("/api").rstrip("/") if text.endswith("/api") else text


def checked_token(token: str) -> str:
    """Return the token without the blanks around it, once it can be sent in a header.

    Raises:
        ConfigurationError: See :func:`connect`.
    """
    text = token.strip()
    if text.split(" ", 1)[0].lower() in ("token", "bearer") and " " in text:
        raise ConfigurationError(
            "the NetBox token starts with 'Token ' or 'Bearer ': give the key alone (the "
            "client adds the header's prefix)"
        )
    if not text or not text.isascii() or not text.isprintable() or " " in text:
        raise ConfigurationError(
            "the NetBox token is empty, or holds blanks or characters that are not printable "
            "ASCII (check where it is read from; it is not shown here)"
        )
    return text


_local = threading.local()


def thread_client(url: str, token: str, verify: bool | str) -> Any:
    """Return this thread's ``pynetbox.api`` for ``url`` and ``token``, made on first use.

    Nornir runs hosts in threads; each thread gets its own HTTP session, since
    ``requests.Session`` is not documented as thread-safe. The cache is keyed by a hash of
    the token, so the token is held only by the client itself.
    """
    clients: dict[tuple[str, int, str], Any] = _local.__dict__.setdefault("clients", {})
    key = (url, hash(token), repr(verify))
    if key not in clients:
        clients[key] = connect(url, token, verify)
    return clients[key]


_FAILURES: tuple[type[Exception], ...] = (
    pynetbox.RequestError,
    pynetbox.ContentError,
    pynetbox.AllocationError,
    requests.RequestException,
    # A token or header that http.client cannot encode (a token given as a pynetbox.api).
    UnicodeEncodeError,
)

#: What may be a token in a message: an Authorization header's value, a v2 or a v1 token.
_SECRET_RE = re.compile(r"\b(Token|Bearer)\s+[^\s'\"]{8,}|\bnbt_[^\s'\"]+|\b[0-9a-fA-F]{40}\b")


def _status(exc: BaseException | None) -> int | None:
    status = getattr(getattr(exc, "req", None), "status_code", None)
    return status if isinstance(status, int) else None


def redact(text: str) -> str:
    """Return ``text`` with anything that may be a token replaced by ``***``."""
    return _SECRET_RE.sub(
        lambda m: f"{m.group(1)} ***" if m.group(1) else "***",
        text,
    )


def _describe(exc: BaseException | None) -> str:
    """Say what went wrong, without the request (whose headers hold the token)."""
    return redact(_what_went_wrong(exc))


def _what_went_wrong(exc: BaseException | None) -> str:
    if exc is None:
        return "no answer"
    if isinstance(exc, pynetbox.RequestError):
        body = " ".join(str(exc.error).split())
        if len(body) > BODY_EXCERPT:
            body = body[:BODY_EXCERPT] + "…"
        status = _status(exc)
        if status == 404 and body[:15].lower().startswith(("<!doctype", "<html")):
            return (
                "HTTP 404 with an HTML page: no NetBox API at this URL (give NetBox's base "
                "URL, without /api)"
            )
        hint = " (check the token and its NetBox permissions)" if status in (401, 403) else ""
        return f"HTTP {status}: {body}{hint}"
    if isinstance(exc, (pynetbox.ContentError, pynetbox.AllocationError)):
        return f"HTTP {_status(exc)}: {exc.error}"
    if isinstance(exc, requests.TooManyRedirects) and exc.response is not None:
        location = exc.response.headers.get("Location", "?")
        return (
            f"NetBox answered HTTP {exc.response.status_code} with a redirect to {location}; "
            "give the address it redirects to (without /api) as NetBox's URL"
        )
    return f"{type(exc).__name__}: {exc}"


def _translate(exc: BaseException, action: str, device: str) -> NetBoxError:
    return NetBoxError(f"{action}: {_describe(exc)}", device=device, status=_status(exc))


@contextmanager
def _translated(action: str, device: str) -> Iterator[None]:
    """Translate pynetbox and requests errors into :class:`NetBoxError`."""
    try:
        yield
    except _FAILURES as exc:
        raise _translate(exc, action, device) from exc


def _unsettled(exc: BaseException) -> bool:
    """True when a failed write may nevertheless have been applied by NetBox.

    A server error counts: NetBox commits a write before it runs the event rules, whose
    failure then turns the answer into a 500.
    """
    if isinstance(exc, pynetbox.RequestError):
        status = _status(exc)
        return status is not None and (status in RETRY_STATUSES or status >= 500)
    if isinstance(exc, (requests.exceptions.SSLError, requests.exceptions.ConnectTimeout)):
        return False
    if isinstance(exc, requests.ConnectionError):
        reason = getattr(exc.args[0] if exc.args else None, "reason", None)
        return not isinstance(reason, ConnectTimeoutError)
    return isinstance(exc, (requests.Timeout, requests.exceptions.ChunkedEncodingError))


def _pause(exc: BaseException, attempt: int) -> float:
    """Seconds to wait before reading back: the server's Retry-After (capped), else backoff."""
    headers = getattr(getattr(exc, "req", None), "headers", None) or {}
    text = str(headers.get("Retry-After", "")).strip()
    if text.isdigit():
        return min(float(text), RETRY_AFTER_MAX)
    return float(min(BACKOFF_FACTOR * 2 ** (attempt - 1), BACKOFF_MAX))


def _item_errors(exc: BaseException) -> list[dict[str, Any]] | None:
    """Return NetBox 4.7's per-item errors of a refused bulk request, or None.

    NetBox names refused items with status 400 (invalid), 403 (outside the token's object
    permissions) or 409 (a delete blocked by a dependency).
    """
    if not isinstance(exc, pynetbox.RequestError) or _status(exc) not in (400, 403, 409):
        return None
    try:
        body = exc.req.json()
    except ValueError:
        return None
    errors = body.get("errors") if isinstance(body, dict) else None
    if not isinstance(errors, list) or not errors:
        return None
    return errors if all(isinstance(e, dict) for e in errors) else None


def _reason(errors: object) -> str:
    if isinstance(errors, Mapping):
        return "; ".join(
            f"{field}: {' '.join(map(str, msgs)) if isinstance(msgs, list) else msgs}"
            for field, msgs in errors.items()
        )
    return str(errors)


_versions: weakref.WeakKeyDictionary[Any, Version] = weakref.WeakKeyDictionary()
_tags: weakref.WeakKeyDictionary[Any, set[str]] = weakref.WeakKeyDictionary()
_api_locks: weakref.WeakKeyDictionary[Any, threading.Lock] = weakref.WeakKeyDictionary()
_versions_lock = threading.Lock()


def _version_lock(api: Any) -> threading.Lock:
    """The lock that makes hosts sharing one client read its version once."""
    with _versions_lock:
        return _api_locks.setdefault(api, threading.Lock())


class NetBox:
    """The sync's view of one NetBox server.

    Args:
        api: A ``pynetbox.api``, best made by :func:`connect` (timeouts and retries).
        changelog_message: Text for NetBox's change log on every write (NetBox >= 4.4).
    """

    def __init__(self, api: Any, changelog_message: str = "") -> None:
        self.api = api
        self._changelog_message = changelog_message

    def __repr__(self) -> str:
        return f"NetBox({getattr(self.api, 'base_url', '?')!r})"

    def version(self, device: str = "") -> Version:
        """Return NetBox's version (read once per ``pynetbox.api``), checking it is supported.

        Read from the API root's ``API-Version`` header. pynetbox reads that header even from
        a 403; an empty one makes the client read ``/api/status/``, whose error names the
        problem (a bad token, say).

        Raises:
            NetBoxVersionError: NetBox is older than :data:`MIN_VERSION`.
            NetBoxError: NetBox could not be read.
        """
        with _version_lock(self.api):
            version = _versions.get(self.api)
            if version is None:
                version = self._read_version(device)
                _versions[self.api] = version
        if version < MIN_VERSION:
            raise NetBoxVersionError(
                f"NetBox {version} is not supported; the sync needs {MIN_VERSION} or later",
                device=device,
            )
        return version

    def _read_version(self, device: str) -> Version:
        with _translated("reading the NetBox version", device):
            text = str(self.api.version or "")
            if not text:
                status = self.api.status()
                text = str(status.get("netbox-version", "")) if isinstance(status, Mapping) else ""
        match = _VERSION_RE.match(text)
        try:
            return Version(match.group(0) if match else text)
        except InvalidVersion as exc:
            raise NetBoxVersionError(f"unreadable NetBox version {text!r}", device=device) from exc

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
            raise DeviceNotFoundError(
                "no NetBox device has this name (or the token may not view it: "
                "dcim.device view permission)",
                device=name,
            )
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

        When the outcome of a request is unknown, the device's interfaces are read back and
        only those still missing (by name) are sent again.

        Args:
            items: Interface payloads, each with ``device`` (id) and ``name``.
            device: Device name, for messages.

        Raises:
            NetBoxError: The write failed for another reason than refused items, or still had
                no known outcome after :data:`WRITE_ROUNDS` requests.
        """
        return self._bulk(
            items,
            device,
            "creating interfaces",
            lambda sent: _ids_by_name(self.api.dcim.interfaces.create(sent)),
            settle=lambda pending: self._created(pending, device),
        )

    def update_interfaces(
        self, items: Sequence[dict[str, Any]], names: Mapping[int, str], device: str
    ) -> BulkOutcome:
        """Update interfaces in one bulk PATCH; items NetBox refuses are left out and reported.

        When the outcome is unknown after the retries, the interfaces are read back and only
        those whose fields do not have the new values yet are sent again.

        Args:
            items: Partial payloads, each with ``id``.
            names: Interface id -> name, for the outcome.
            device: Device name, for messages.

        Raises:
            NetBoxError: As for :meth:`create_interfaces`.
        """
        return self._bulk(
            items,
            device,
            "updating interfaces",
            lambda sent: _ids_by_name(self.api.dcim.interfaces.update(sent)),
            lambda item: names[item["id"]],
            lambda pending: self._updated(pending, names, device),
        )

    def delete_interfaces(
        self, ids: Sequence[int], names: Mapping[int, str], device: str
    ) -> BulkOutcome:
        """Delete interfaces in one bulk request; items NetBox refuses are kept and reported.

        When the outcome is unknown, the ids are read back and only those still present are
        sent again.

        Args:
            ids: Interface ids.
            names: Interface id -> name, for the outcome.
            device: Device name, for messages.

        Raises:
            NetBoxError: As for :meth:`create_interfaces`.
        """
        return self._bulk(
            [{"id": i} for i in ids],
            device,
            "deleting interfaces",
            lambda sent: self._delete(sent, names),
            lambda item: names[item["id"]],
            lambda pending: self._deleted(pending, names, device),
        )

    def _delete(self, items: list[dict[str, Any]], names: Mapping[int, str]) -> dict[str, int]:
        """Bulk DELETE with the items as given (pynetbox's own delete drops their messages)."""
        endpoint = self.api.dcim.interfaces
        Request(base=endpoint.url, token=self.api.token, http_session=self.api.http_session).delete(
            data=items
        )
        return {names[item["id"]]: item["id"] for item in items}

    def _created(self, pending: Sequence[dict[str, Any]], device: str) -> dict[str, int]:
        """Return name -> id of the pending creates NetBox now has."""
        device_ids = {item["device"] for item in pending}
        with _translated("reading interfaces back", device):
            existing = {
                str(r.name): int(r.id)
                for device_id in device_ids
                for r in self.api.dcim.interfaces.filter(
                    device_id=device_id, limit=PAGE_SIZE, fields="id,name"
                )
            }
        return {str(i["name"]): existing[i["name"]] for i in pending if i["name"] in existing}

    def _updated(
        self, pending: Sequence[dict[str, Any]], names: Mapping[int, str], device: str
    ) -> dict[str, int]:
        """Return name -> id of the pending updates whose fields NetBox now has."""
        records = self._by_ids([item["id"] for item in pending], device)
        return {
            names[item["id"]]: item["id"]
            for item in pending
            if item["id"] in records and _holds(records[item["id"]], item)
        }

    def _deleted(
        self, pending: Sequence[dict[str, Any]], names: Mapping[int, str], device: str
    ) -> dict[str, int]:
        """Return name -> id of the pending deletes NetBox no longer has."""
        present = self._by_ids([item["id"] for item in pending], device, fields="id")
        return {names[i["id"]]: i["id"] for i in pending if i["id"] not in present}

    def _by_ids(self, ids: Sequence[int], device: str, fields: str | None = None) -> dict[int, Any]:
        """Read interfaces by id, :data:`ID_CHUNK` per request."""
        extra = {"fields": fields} if fields else {}
        records: dict[int, Any] = {}
        with _translated("reading interfaces back", device):
            for start in range(0, len(ids), ID_CHUNK):
                chunk = list(ids[start : start + ID_CHUNK])
                for record in self.api.dcim.interfaces.filter(id=chunk, limit=PAGE_SIZE, **extra):
                    records[int(record.id)] = record
        return records

    def ensure_tag(self, slug: str, device: str) -> None:
        """Create the tag ``slug`` unless NetBox has it (looked up once per client).

        Hosts in other threads may create it at the same moment: a refused create is
        followed by one more look-up, and only a tag still missing then is an error.
        """
        with _versions_lock:
            known = slug in _tags.setdefault(self.api, set())
        if known:
            return
        with _translated(f"looking up tag {slug}", device):
            exists = self.api.extras.tags.get(slug=slug) is not None
        if not exists:
            try:
                with _translated(f"creating tag {slug}", device):
                    self.api.extras.tags.create(name=slug, slug=slug)
            except NetBoxError:
                with _translated(f"looking up tag {slug}", device):
                    if self.api.extras.tags.get(slug=slug) is None:
                        raise
        with _versions_lock:
            _tags[self.api].add(slug)

    def primary_ip_interfaces(self, device_id: int, device: str) -> set[int]:
        """Return the ids of the interfaces holding the device's primary IP addresses.

        Raises:
            NetBoxError: The device or one of its primary addresses cannot be read (NetBox
                hides objects outside a token's constrained permissions rather than refusing;
                the protection must not silently lapse).
        """
        with _translated("reading the primary IP addresses", device):
            record = self.api.dcim.devices.get(device_id)
            if record is None:
                raise NetBoxError(
                    f"reading the primary IP addresses: device {device_id} is not visible to "
                    "the token (dcim.device view permission)",
                    device=device,
                )
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
            addresses = list(self.api.ipam.ip_addresses.filter(id=ip_ids))
        if len(addresses) < len(ip_ids):
            raise NetBoxError(
                "reading the primary IP addresses: they are not visible to the token "
                "(ipam.ipaddress view permission)",
                device=device,
            )
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
        settle: Callable[[list[dict[str, Any]]], Mapping[str, int]] | None = None,
    ) -> BulkOutcome:
        """Send ``items``; drop what NetBox refuses, settle unknown outcomes, send the rest.

        NetBox 4.7 refuses a bulk request as a whole, naming each refused item by its index
        (create) or id (update, delete). Those are dropped and the others sent again, so one
        bad value costs only its own interface. A request whose outcome is unknown is
        followed by a pause and ``settle``, which reads back what NetBox has; only the rest
        is sent again. Any later failure is settled the same way before it is raised: the
        unknown request may have landed after all (NetBox then refuses its resend, e.g. with
        a 500 for a duplicate name). At most :data:`WRITE_ROUNDS` requests are sent.

        Raises:
            WriteError: The write failed; its ``outcome`` holds what was written (and what
                NetBox refused) before.
        """
        refused: list[Refusal] = []
        written: dict[str, int] = {}
        try:
            return self._rounds(items, device, action, send, name_of, settle, written, refused)
        except NetBoxError as exc:
            outcome = BulkOutcome(written=dict(written), refused=tuple(refused))
            raise WriteError(
                exc.message, device=exc.device, status=exc.status, outcome=outcome
            ) from exc

    def _rounds(
        self,
        items: Sequence[dict[str, Any]],
        device: str,
        action: str,
        send: Callable[[list[dict[str, Any]]], Mapping[str, int]],
        name_of: Callable[[dict[str, Any]], str],
        settle: Callable[[list[dict[str, Any]]], Mapping[str, int]] | None,
        written: dict[str, int],
        refused: list[Refusal],
    ) -> BulkOutcome:
        """The rounds of :meth:`_bulk`, filling ``written`` and ``refused`` as they go."""
        pending = self._stamp(items, device)
        refused_items: list[dict[str, Any]] = []
        failure: BaseException | None = None
        unknown = False
        for attempt in range(1, WRITE_ROUNDS + 1):
            try:
                written.update(send(pending))
                pending = []
                break
            except _FAILURES as exc:
                failure = exc
            errors = _item_errors(failure)
            if errors is not None:
                kept = _drop_refused(pending, errors, name_of, refused, device)
                refused_items.extend(item for item in pending if item not in kept)
                pending = kept
            elif settle is not None and (unknown or _unsettled(failure)):
                found = self._settle(pending, failure, attempt, action, device, settle, name_of)
                written.update(found)
                pending = [item for item in pending if name_of(item) not in found]
                if pending and unknown and not _unsettled(failure):
                    raise _translate(failure, action, device) from failure
                unknown = True
            else:
                raise _translate(failure, action, device) from failure
            if not pending:
                break
        if unknown and refused_items and settle is not None:
            refused[:] = _landed_after_all(refused, refused_items, settle, written, name_of)
        for refusal in refused:
            logger.warning("%s: NetBox refused %s: %s", device, refusal.name, refusal.reason)
        if pending:
            names = ", ".join(name_of(item) for item in pending)
            raise NetBoxError(
                f"{action}: gave up after {WRITE_ROUNDS} requests ({_describe(failure)}); "
                f"not written: {names}",
                device=device,
                status=_status(failure),
            ) from failure
        return BulkOutcome(written=written, refused=tuple(refused))

    def _settle(
        self,
        pending: list[dict[str, Any]],
        failure: BaseException,
        attempt: int,
        action: str,
        device: str,
        settle: Callable[[list[dict[str, Any]]], Mapping[str, int]],
        name_of: Callable[[dict[str, Any]], str],
    ) -> Mapping[str, int]:
        """Pause, then return name -> id of what NetBox has of ``pending``.

        Raises:
            NetBoxError: NetBox could not be read back; the outcome stays unknown.
        """
        pause = _pause(failure, attempt)
        logger.warning(
            "%s: %s: outcome unknown (%s); reading NetBox back in %.1fs",
            device,
            action,
            _describe(failure),
            pause,
        )
        time.sleep(pause)
        try:
            return settle(pending)
        except NetBoxError as exc:
            names = ", ".join(name_of(item) for item in pending)
            raise NetBoxError(
                f"{action}: the outcome is unknown ({_describe(failure)}) and NetBox could not "
                f"be read back ({exc}); maybe not written: {names}",
                device=device,
                status=exc.status,
            ) from failure


def _landed_after_all(
    refused: list[Refusal],
    refused_items: list[dict[str, Any]],
    settle: Callable[[list[dict[str, Any]]], Mapping[str, int]],
    written: dict[str, int],
    name_of: Callable[[dict[str, Any]], str],
) -> list[Refusal]:
    """Move to ``written`` the refused items NetBox has after all, and return the others.

    A request whose outcome was unknown can land after it was sent again; the second one is
    then refused (e.g. as a duplicate name) although the first wrote the item.
    """
    try:
        found = settle(refused_items)
    except NetBoxError:
        return refused
    written.update(found)
    return [r for r in refused if r.name not in found]


def _holds(record: Any, item: Mapping[str, Any]) -> bool:
    """True when a NetBox interface record has every value of an update payload."""
    return all(
        _current(record, key) == _wanted(key, value)
        for key, value in item.items()
        if key not in ("id", "changelog_message")
    )


def _current(record: Any, key: str) -> Any:
    """The value of one payload field on a NetBox interface record, in payload form."""
    if key == "parent":
        return int(record.parent.id) if record.parent else None
    if key == "mac_address":
        return str(record.mac_address).upper() if record.mac_address else None
    if key == "tags":
        return sorted(str(tag.slug) for tag in (record.tags or ()))
    value = getattr(record, key, None)
    return getattr(value, "value", value)


def _wanted(key: str, value: Any) -> Any:
    """A payload value in the form :func:`_current` returns."""
    if key == "mac_address":
        return str(value).upper() if value else None
    if key == "tags":
        return sorted(str(t["slug"]) if isinstance(t, Mapping) else str(t) for t in value)
    return value


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
        lag_id=int(record.lag.id) if record.lag else None,
        bridge_id=int(record.bridge.id) if record.bridge else None,
        mgmt_only=bool(record.mgmt_only),
        connected=bool(record.cable) or bool(record.mark_connected),
        ip_count=int(record.count_ipaddresses or 0),
        on_module=bool(record.module),
        tags=tuple(str(tag.slug) for tag in (record.tags or ())),
    )
