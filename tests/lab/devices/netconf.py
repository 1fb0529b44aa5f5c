"""A small NETCONF-over-SSH server that plays a junos or iosxr_netconf device.

`start_netconf_device` listens on a loopback address with paramiko's SSH server (password
admin/admin, the `netconf` subsystem, or Junos' `xml-mode netconf need-trailer` exec fallback),
exchanges hellos with `]]>]]>` framing, switches to RFC 6242 chunked framing when both peers
announce base:1.1, and answers the RPCs that NAPALM's real `junos` (PyEZ) and `iosxr_netconf`
(ncclient) drivers send for `get_interfaces`. Anything else gets an `<rpc-error>`.
"""

from __future__ import annotations

import atexit
import copy
import enum
import functools
import ipaddress
import itertools
import logging
import socket
import threading
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Protocol

import paramiko
from lxml import etree  # type: ignore[import-untyped,unused-ignore]

from tests.lab.devices import render_netconf as rn
from tests.lab.devices.model import SimDevice

log = logging.getLogger(__name__)
log.addHandler(logging.NullHandler())
SSH_LOG_CHANNEL = f"{__name__}.ssh"

USERNAME = "admin"
PASSWORD = "admin"
EOM = b"]]>]]>"
MAX_CHUNK_SIZE = 4_294_967_295
SEND_CHUNK_SIZE = 65_536
EXEC_COMMANDS = frozenset({"xml-mode netconf need-trailer", "netconf"})
DEFAULT_BASES: dict[str, tuple[str, ...]] = {
    "junos": ("1.0",),
    "iosxr_netconf": ("1.0", "1.1"),
}
_BASE_URIS = {"1.0": rn.BASE_1_0, "1.1": rn.BASE_1_1}
_POLL_SECONDS = 0.1
_SETUP_TIMEOUT = 15.0
_JOIN_TIMEOUT = 5.0

JUNOS_CAPABILITIES = (
    "urn:ietf:params:netconf:capability:candidate:1.0",
    "urn:ietf:params:netconf:capability:confirmed-commit:1.0",
    "urn:ietf:params:netconf:capability:validate:1.0",
    "urn:ietf:params:netconf:capability:url:1.0?scheme=http,ftp,file",
    "urn:ietf:params:xml:ns:netconf:base:1.0",
    "urn:ietf:params:xml:ns:netconf:capability:candidate:1.0",
    "urn:ietf:params:xml:ns:netconf:capability:confirmed-commit:1.0",
    "urn:ietf:params:xml:ns:netconf:capability:validate:1.0",
    "http://xml.juniper.net/netconf/junos/1.0",
    "http://xml.juniper.net/dmi/system/1.0",
)
IOSXR_CAPABILITIES = (
    "urn:ietf:params:netconf:capability:candidate:1.0",
    "urn:ietf:params:netconf:capability:rollback-on-error:1.0",
    "urn:ietf:params:netconf:capability:validate:1.1",
    "urn:ietf:params:netconf:capability:confirmed-commit:1.1",
    "urn:ietf:params:netconf:capability:with-defaults:1.0?basic-mode=report",
    *(f"{ns}?module={name}&revision={rev}" for name, rev, ns in rn.XR_MODULES),
    f"{rn.YANG_LIBRARY_NS}?module=ietf-yang-library&revision=2019-01-04",
)


# ---------------------------------------------------------------------------
# Framing (RFC 6242)
# ---------------------------------------------------------------------------


class Framing(enum.Enum):
    """How messages are delimited on the channel."""

    EOM = "1.0"
    CHUNKED = "1.1"


class FramingError(Exception):
    """The peer broke the framing; the session must end."""


def frame_message(payload: bytes, framing: Framing, chunk_size: int = SEND_CHUNK_SIZE) -> bytes:
    """Frame one message for sending.

    Args:
        payload: The XML document.
        framing: End-of-message marker (base:1.0) or chunks (base:1.1).
        chunk_size: Largest chunk to emit in chunked framing.

    Returns:
        The bytes to write on the channel.
    """
    if framing is Framing.EOM:
        return payload + EOM
    parts = [
        b"\n#%d\n" % len(payload[start : start + chunk_size]) + payload[start : start + chunk_size]
        for start in range(0, len(payload), chunk_size)
    ]
    return b"".join(parts) + b"\n##\n"


def parse_chunk_header(buffer: bytes) -> tuple[int, int] | None:
    """Parse the chunk header (or end-of-chunks marker) at the start of a buffer.

    Args:
        buffer: Received bytes, starting where a header must start.

    Returns:
        (chunk size, header length), with size 0 for the end-of-chunks marker `\\n##\\n`;
        None when more bytes are needed to decide.

    Raises:
        FramingError: When the bytes cannot start a valid header.
    """
    if not b"\n#".startswith(buffer[:2]):
        raise FramingError(f"expected a chunk header, got {buffer[:12]!r}")
    if len(buffer) < 3:
        return None
    if buffer[2:3] == b"#":
        if len(buffer) < 4:
            return None
        if buffer[3:4] != b"\n":
            raise FramingError(f"bad end-of-chunks marker {buffer[:4]!r}")
        return 0, 4
    end = buffer.find(b"\n", 2)
    digits = buffer[2:end] if end >= 0 else buffer[2:]
    if not digits.isdigit() or digits.startswith(b"0") or len(digits) > 10:
        raise FramingError(f"bad chunk size {digits[:12]!r}")
    if end < 0:
        return None
    size = int(digits)
    if size > MAX_CHUNK_SIZE:
        raise FramingError(f"chunk size {size} exceeds {MAX_CHUNK_SIZE}")
    return size, end + 1


class MessageDecoder:
    """Incremental decoder of framed messages; the framing can change between messages."""

    def __init__(self, framing: Framing = Framing.EOM) -> None:
        """Start with an empty buffer.

        Args:
            framing: The framing in force for the next message.
        """
        self.framing = framing
        self._buffer = bytearray()
        self._chunks: list[bytes] = []

    def feed(self, data: bytes) -> None:
        """Append received bytes.

        Args:
            data: Bytes read from the channel.
        """
        self._buffer.extend(data)

    def next_message(self) -> bytes | None:
        """Take the next complete message out of the buffer.

        Returns:
            The message payload, or None until more bytes arrive.

        Raises:
            FramingError: When the peer's bytes violate the framing in force.
        """
        if self.framing is Framing.EOM:
            return self._next_eom()
        return self._next_chunked()

    def _next_eom(self) -> bytes | None:
        """Cut the buffer at the next `]]>]]>`."""
        end = self._buffer.find(EOM)
        if end < 0:
            return None
        message = bytes(self._buffer[:end])
        del self._buffer[: end + len(EOM)]
        return message

    def _next_chunked(self) -> bytes | None:
        """Collect chunks until the end-of-chunks marker."""
        if not self._chunks:
            self._skip_leading_whitespace()
        while self._buffer:
            header = parse_chunk_header(bytes(self._buffer[:14]))
            if header is None:
                return None
            size, header_length = header
            if size == 0:
                del self._buffer[:header_length]
                if not self._chunks:
                    raise FramingError("end-of-chunks marker before any chunk")
                message, self._chunks = b"".join(self._chunks), []
                return message
            if len(self._buffer) < header_length + size:
                return None
            self._chunks.append(bytes(self._buffer[header_length : header_length + size]))
            del self._buffer[: header_length + size]
        return None

    def _skip_leading_whitespace(self) -> None:
        """Drop blanks a peer may leave between an EOM-framed hello and the first chunk."""
        while bytes(self._buffer[:1]) in (b" ", b"\r", b"\t", b"\n") and not b"\n#".startswith(
            bytes(self._buffer[:2])
        ):
            del self._buffer[:1]


def negotiate_framing(server_bases: Iterable[str], client_capabilities: Iterable[str]) -> Framing:
    """Choose the framing after the hello exchange.

    Args:
        server_bases: Base versions the server announced ("1.0", "1.1").
        client_capabilities: Capability URIs from the client's hello.

    Returns:
        CHUNKED when both sides announce base:1.1, else EOM.

    Raises:
        ValueError: When the peers share no base version.
    """
    server = {_BASE_URIS[b] for b in server_bases}
    common = server & set(client_capabilities)
    if rn.BASE_1_1 in common:
        return Framing.CHUNKED
    if rn.BASE_1_0 in common:
        return Framing.EOM
    raise ValueError("no common NETCONF base version")


# ---------------------------------------------------------------------------
# XML handling
# ---------------------------------------------------------------------------


def parse_xml(payload: bytes) -> etree._Element:
    """Parse a received document without entity expansion or network access.

    Args:
        payload: The message bytes.

    Returns:
        The root element.

    Raises:
        etree.XMLSyntaxError: When the payload is not well-formed XML.
    """
    parser = etree.XMLParser(resolve_entities=False, no_network=True, remove_blank_text=True)
    return etree.fromstring(payload.strip(), parser)


def localname(element: etree._Element) -> str:
    """Return an element's name without namespace.

    Args:
        element: Any element.

    Returns:
        The local name.
    """
    return str(etree.QName(element).localname)


def parse_client_hello(payload: bytes) -> list[str]:
    """Read the capabilities out of a client's `<hello>`.

    Args:
        payload: The hello document.

    Returns:
        The capability URIs.

    Raises:
        ValueError: When the document is not a client hello.
    """
    try:
        root = parse_xml(payload)
    except etree.XMLSyntaxError as exc:
        raise ValueError(f"malformed hello: {exc}") from exc
    if localname(root) != "hello":
        raise ValueError(f"expected <hello>, got <{localname(root)}>")
    if any(localname(e) == "session-id" for e in root.iter() if isinstance(e.tag, str)):
        raise ValueError("a client hello must not carry a session-id")
    return [
        (e.text or "").strip()
        for e in root.iter()
        if isinstance(e.tag, str) and localname(e) == "capability"
    ]


class RpcReplyError(Exception):
    """Raised by a backend to answer an RPC with an `<rpc-error>`."""

    def __init__(self, spec: rn.RpcErrorSpec) -> None:
        """Keep the error to render.

        Args:
            spec: The rpc-error content.
        """
        super().__init__(spec.message)
        self.spec = spec


def unsupported(operation: etree._Element) -> RpcReplyError:
    """Build the failure for an RPC the simulated device does not implement.

    Args:
        operation: The RPC's operation element.

    Returns:
        An operation-not-supported failure naming the element.
    """
    name = localname(operation)
    return RpcReplyError(
        rn.RpcErrorSpec(
            tag="operation-not-supported",
            message=f"RPC <{name}> is not supported by this simulated device",
            bad_element=name,
        )
    )


# ---------------------------------------------------------------------------
# Platform backends
# ---------------------------------------------------------------------------


class Backend(Protocol):
    """What a platform contributes: its capabilities and its answers to RPCs."""

    device: SimDevice
    capabilities: tuple[str, ...]
    reply_nsmap: dict[str | None, str]
    hello_prolog: bytes
    reply_prolog: bytes

    def handle(self, operation: etree._Element) -> list[etree._Element]:
        """Answer one RPC operation (the child of `<rpc>`).

        Args:
            operation: The operation element.

        Returns:
            The reply content; empty for `<ok/>`.

        Raises:
            RpcReplyError: To answer with an rpc-error.
        """
        ...


class JunosBackend:
    """Junos: `get-interface-information` as PyEZ tables ask it."""

    capabilities: tuple[str, ...] = JUNOS_CAPABILITIES
    reply_nsmap: dict[str | None, str] = {"junos": rn.JUNOS_NS}  # noqa: RUF012
    hello_prolog = (
        b"<!-- No zombies were killed during the creation of this user interface -->\n"
        b"<!-- user admin, class super-user -->\n"
    )
    reply_prolog = b""

    def __init__(self, device: SimDevice) -> None:
        """Validate, group and render the device's interfaces once.

        Args:
            device: The simulated device.
        """
        self.device = device
        self._groups = rn.junos_groups(device.interfaces)
        self._all = rn.render_junos_interface_information(self._groups)

    def handle(self, operation: etree._Element) -> list[etree._Element]:
        """Answer one Junos RPC.

        Args:
            operation: The operation element.

        Returns:
            The reply content.

        Raises:
            RpcReplyError: For unknown RPCs and unknown interface names.
        """
        if localname(operation) != "get-interface-information":
            raise unsupported(operation)
        pattern = next(
            (
                (e.text or "").strip()
                for e in operation
                if isinstance(e.tag, str) and localname(e) == "interface-name"
            ),
            "",
        )
        if not pattern:
            return [copy.deepcopy(self._all)]
        groups = rn.junos_select(self._groups, pattern)
        if not groups:
            raise RpcReplyError(
                rn.RpcErrorSpec(tag="operation-failed", message=f"device {pattern} not found")
            )
        return [rn.render_junos_interface_information(groups)]


class IosxrBackend:
    """IOS-XR: `<get>` with subtree filters over the interface oper model and yang-library."""

    capabilities: tuple[str, ...] = IOSXR_CAPABILITIES
    reply_nsmap: dict[str | None, str] = {}  # noqa: RUF012
    hello_prolog = b'<?xml version="1.0" encoding="UTF-8"?>\n'
    reply_prolog = b'<?xml version="1.0"?>\n'

    def __init__(self, device: SimDevice) -> None:
        """Render the operational datastore once.

        Args:
            device: The simulated device.
        """
        self.device = device
        self._data = [rn.render_iosxr_interfaces(device), rn.render_yang_library()]

    def handle(self, operation: etree._Element) -> list[etree._Element]:
        """Answer one IOS-XR RPC.

        Args:
            operation: The operation element.

        Returns:
            The reply content.

        Raises:
            RpcReplyError: For unknown RPCs and non-subtree filters.
        """
        if localname(operation) != "get":
            raise unsupported(operation)
        return [rn.render_data(rn.apply_subtree_filter(self._data, self._filter(operation)))]

    @staticmethod
    def _filter(operation: etree._Element) -> list[etree._Element] | None:
        """Return the subtree filter's nodes, or None when the get has no filter."""
        found = [e for e in operation if isinstance(e.tag, str) and localname(e) == "filter"]
        if not found:
            return None
        kind = found[0].get("type") or found[0].get(f"{{{rn.BASE_NS}}}type") or "subtree"
        if kind != "subtree":
            raise RpcReplyError(
                rn.RpcErrorSpec(
                    tag="bad-attribute",
                    message=f"filter type {kind!r} is not supported",
                    bad_element="filter",
                )
            )
        return [e for e in found[0] if isinstance(e.tag, str)]


BACKENDS: dict[str, Callable[[SimDevice], Backend]] = {
    "junos": JunosBackend,
    "iosxr_netconf": IosxrBackend,
}


def make_backend(device: SimDevice) -> Backend:
    """Create the backend for a device's platform.

    Args:
        device: The simulated device.

    Returns:
        The platform backend.

    Raises:
        ValueError: For a platform this server does not play.
    """
    try:
        factory = BACKENDS[device.platform]
    except KeyError:
        raise ValueError(
            f"{device.name}: platform {device.platform!r} is not a NETCONF platform "
            f"(expected one of {sorted(BACKENDS)})"
        ) from None
    return factory(device)


def _error_reply(backend: Backend, attributes: dict[str, str], spec: rn.RpcErrorSpec) -> bytes:
    """Render an rpc-reply holding one rpc-error."""
    content = [rn.render_rpc_error(spec)]
    return rn.render_reply(attributes, content, backend.reply_nsmap, backend.reply_prolog)


def handle_rpc(payload: bytes, backend: Backend) -> tuple[bytes, bool]:
    """Answer one received message.

    Args:
        payload: The message, normally an `<rpc>`.
        backend: The platform backend.

    Returns:
        (reply document, whether the session ends after sending it).
    """
    try:
        root = parse_xml(payload)
    except etree.XMLSyntaxError as exc:
        log.debug("%s: malformed message: %s", backend.device.name, exc)
        spec = rn.RpcErrorSpec("malformed-message", str(exc), "rpc")
        return _error_reply(backend, {}, spec), False
    attributes = {str(k): str(v) for k, v in root.attrib.items()}
    operations = [e for e in root if isinstance(e.tag, str)]
    if localname(root) != "rpc" or not operations:
        spec = rn.RpcErrorSpec("unknown-element", "expected <rpc> with an operation", "rpc")
        return _error_reply(backend, attributes, spec), False
    operation = operations[0]
    log.debug(
        "%s: rpc <%s> message-id=%s: %s",
        backend.device.name,
        localname(operation),
        attributes.get("message-id", "-"),
        etree.tostring(operation, encoding="unicode")[:600],
    )
    if localname(operation) == "close-session":
        return rn.render_reply(attributes, [], backend.reply_nsmap, backend.reply_prolog), True
    try:
        content = backend.handle(operation)
    except RpcReplyError as failure:
        log.debug("%s: rpc-error %s: %s", backend.device.name, failure.spec.tag, failure)
        return _error_reply(backend, attributes, failure.spec), False
    return rn.render_reply(attributes, content, backend.reply_nsmap, backend.reply_prolog), False


# ---------------------------------------------------------------------------
# SSH and the NETCONF session
# ---------------------------------------------------------------------------


@functools.cache
def host_key() -> paramiko.PKey:
    """Return the process-wide SSH host key (ECDSA P-256, generated on first use).

    Returns:
        The host key.
    """
    return paramiko.ECDSAKey.generate(bits=256)


class _SshServer(paramiko.ServerInterface):  # type: ignore[misc]
    """Password auth as admin/admin and a session channel asking for NETCONF."""

    def __init__(self) -> None:
        self.netconf_requested = threading.Event()

    def get_allowed_auths(self, username: str) -> str:
        return "password"

    def check_auth_password(self, username: str, password: str) -> int:
        if username == USERNAME and password == PASSWORD:
            return int(paramiko.AUTH_SUCCESSFUL)
        return int(paramiko.AUTH_FAILED)

    def check_channel_request(self, kind: str, chanid: int) -> int:
        if kind == "session":
            return int(paramiko.OPEN_SUCCEEDED)
        return int(paramiko.OPEN_FAILED_ADMINISTRATIVELY_PROHIBITED)

    def check_channel_subsystem_request(self, channel: Any, name: str) -> bool:
        if name != "netconf":
            return False
        self.netconf_requested.set()
        return True

    def check_channel_exec_request(self, channel: Any, command: bytes) -> bool:
        if command.decode("utf-8", "replace").strip() not in EXEC_COMMANDS:
            return False
        self.netconf_requested.set()
        return True


class _NetconfSession:
    """One NETCONF session on an SSH channel."""

    def __init__(
        self, channel: Any, backend: Backend, bases: Sequence[str], session_id: int
    ) -> None:
        self._channel = channel
        self._backend = backend
        self._bases = bases
        self._session_id = session_id
        self._decoder = MessageDecoder()

    def run(self) -> None:
        """Exchange hellos, then answer RPCs until close-session or disconnect."""
        name = self._backend.device.name
        capabilities = [_BASE_URIS[b] for b in self._bases] + list(self._backend.capabilities)
        hello_prolog = self._backend.hello_prolog
        self._send(rn.render_hello(capabilities, self._session_id, hello_prolog))
        hello = self._receive()
        if hello is None:
            return
        try:
            framing = negotiate_framing(self._bases, parse_client_hello(hello))
        except ValueError as exc:
            log.debug("%s: session %d ends at hello: %s", name, self._session_id, exc)
            return
        log.debug("%s: session %d uses base:%s framing", name, self._session_id, framing.value)
        self._decoder.framing = framing
        while (payload := self._receive()) is not None:
            reply, done = handle_rpc(payload, self._backend)
            self._send(reply)
            if done:
                return

    def _receive(self) -> bytes | None:
        """Return the next message, or None when the peer closed the channel."""
        while (message := self._decoder.next_message()) is None:
            data = self._channel.recv(65_536)
            if not data:
                return None
            self._decoder.feed(data)
        return message

    def _send(self, payload: bytes) -> None:
        """Frame and write one message."""
        self._channel.sendall(frame_message(payload, self._decoder.framing))


class RunningServer:
    """A listening simulated NETCONF device; `stop()` ends it and all its threads."""

    def __init__(self, backend: Backend, host: str, port: int, bases: Sequence[str]) -> None:
        """Bind the listener (use `start()` to serve).

        Args:
            backend: The platform backend holding the simulated device.
            host: Loopback address to bind.
            port: TCP port, 0 for any free port.
            bases: NETCONF base versions to announce.
        """
        self.device = backend.device
        self.host = host
        self._backend = backend
        self._bases = tuple(bases)
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._workers: list[threading.Thread] = []
        self._transports: list[paramiko.Transport] = []
        self._session_ids = itertools.count(1001)
        self._listener = socket.create_server((host, port))
        self._listener.settimeout(_POLL_SECONDS)
        self.port: int = self._listener.getsockname()[1]
        self._acceptor = threading.Thread(
            target=self._accept_loop, name=f"netconf-{self.device.name}-accept", daemon=True
        )

    def start(self) -> None:
        """Start accepting connections."""
        with _REGISTRY_LOCK:
            _RUNNING.add(self)
        self._acceptor.start()
        log.debug(
            "%s: NETCONF (%s) on %s:%d",
            self.device.name,
            self.device.platform,
            self.host,
            self.port,
        )

    def stop(self) -> None:
        """Close the listener and every connection, and join all threads (idempotent)."""
        if self._stopping.is_set():
            return
        self._stopping.set()
        if self._acceptor.is_alive():
            self._acceptor.join(_JOIN_TIMEOUT)
        self._listener.close()
        with self._lock:
            transports, workers = list(self._transports), list(self._workers)
        for transport in transports:
            transport.close()
        for thread in [*workers, *transports]:
            if thread.is_alive():
                thread.join(_JOIN_TIMEOUT)
        with _REGISTRY_LOCK:
            _RUNNING.discard(self)

    def _accept_loop(self) -> None:
        """Accept connections until stopped, one worker thread each."""
        while not self._stopping.is_set():
            try:
                conn, peer = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            conn.settimeout(None)
            worker = threading.Thread(
                target=self._serve,
                args=(conn, peer),
                name=f"netconf-{self.device.name}-{peer[1]}",
                daemon=True,
            )
            with self._lock:
                self._workers = [w for w in self._workers if w.is_alive()]
                self._transports = [t for t in self._transports if t.is_alive()]
                self._workers.append(worker)
            worker.start()

    def _serve(self, conn: socket.socket, peer: tuple[str, int]) -> None:
        """Run SSH and one NETCONF session on an accepted connection."""
        transport = paramiko.Transport(conn)
        transport.set_log_channel(SSH_LOG_CHANNEL)
        with self._lock:
            self._transports.append(transport)
        if self._stopping.is_set():
            transport.close()
            return
        try:
            self._run_transport(transport)
        except (paramiko.SSHException, EOFError, OSError, FramingError) as exc:
            log.debug("%s: connection from %s:%d ended: %r", self.device.name, *peer, exc)
        except Exception:
            log.exception("%s: connection from %s:%d failed", self.device.name, *peer)
        finally:
            transport.close()

    def _run_transport(self, transport: paramiko.Transport) -> None:
        """Negotiate SSH, wait for the NETCONF channel, then run the session."""
        transport.add_server_key(host_key())
        ssh = _SshServer()
        transport.start_server(server=ssh)
        channel = self._wait(transport, lambda: transport.accept(_POLL_SECONDS))
        if channel is None:
            return
        requested = self._wait(
            transport, lambda: True if ssh.netconf_requested.wait(_POLL_SECONDS) else None
        )
        if requested is None:
            return
        try:
            _NetconfSession(channel, self._backend, self._bases, next(self._session_ids)).run()
        finally:
            channel.close()

    def _wait(self, transport: paramiko.Transport, poll: Callable[[], Any]) -> Any:
        """Call `poll` until it returns non-None, the transport dies, stop, or timeout."""
        for _ in range(int(_SETUP_TIMEOUT / _POLL_SECONDS)):
            if self._stopping.is_set() or not transport.is_active():
                return None
            result = poll()
            if result is not None:
                return result
        return None


_RUNNING: set[RunningServer] = set()
_REGISTRY_LOCK = threading.Lock()


def _stop_all() -> None:
    """Stop every server still running (registered with atexit)."""
    with _REGISTRY_LOCK:
        servers = list(_RUNNING)
    for server in servers:
        server.stop()


atexit.register(_stop_all)


def _check_loopback(host: str) -> None:
    """Refuse to bind anything but an IPv4 loopback address."""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        raise ValueError(f"host must be a 127.x.y.z address, got {host!r}") from None
    if address.version != 4 or not address.is_loopback:
        raise ValueError(f"host must be a 127.x.y.z address, got {host!r}")


def start_netconf_device(
    device: SimDevice, host: str, port: int, *, bases: Sequence[str] | None = None
) -> RunningServer:
    """Start a simulated junos or iosxr_netconf device.

    Args:
        device: The device; its platform must be "junos" or "iosxr_netconf".
        host: A 127.x.y.z address to bind.
        port: TCP port; 0 picks a free one (read it back from `.port`).
        bases: NETCONF base versions to announce ("1.0", "1.1"); by default "1.0" for
            junos (as Junos without `rfc-compliant version-1.1`) and both for iosxr_netconf.

    Returns:
        The running server; call `.stop()` when done (also done at interpreter exit).

    Raises:
        ValueError: For a non-loopback host, an unknown platform or base, or a model the
            platform cannot render.
    """
    _check_loopback(host)
    backend = make_backend(device)
    chosen = tuple(bases) if bases is not None else DEFAULT_BASES[device.platform]
    if not chosen or not set(chosen) <= set(_BASE_URIS):
        raise ValueError(f"bases must be a non-empty subset of {sorted(_BASE_URIS)}")
    host_key()
    server = RunningServer(backend, host, port, chosen)
    server.start()
    return server


def napalm_optional_args(platform: str) -> dict[str, Any]:
    """Return the NAPALM `optional_args` (besides `port`) that suit these simulated devices.

    Args:
        platform: "junos" or "iosxr_netconf".

    Returns:
        The optional_args; keys are those the platform's driver accepts.
    """
    if platform == "iosxr_netconf":
        return {"allow_agent": False, "look_for_keys": False, "hostkey_verify": False}
    return {"auto_probe": 0}
