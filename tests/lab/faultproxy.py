"""An HTTP(S) proxy on 127.0.0.1 that forwards to NetBox and injects faults.

Every request is forwarded to the upstream URL unless a fault says otherwise. Faults are
drawn at set rates from a seeded random generator, or forced in order with :meth:`force`:

``drop_before``
    close the connection without forwarding (NetBox never sees the request);
``drop_after``
    forward, then close without answering (a write happened; the client cannot know);
``delay``
    forward, then answer only after ``delay_seconds`` (past the client's read timeout);
``too_many``
    answer 429 with ``Retry-After`` without forwarding;
``bad_gateway``
    forward, then answer 502 (a write happened);
``unavailable``
    answer 503 without forwarding.

With ``tls`` the proxy terminates TLS with the given certificate (see :func:`self_signed`),
in front of a plain-HTTP upstream.

Typical use::

    with FaultProxy(lab.url, FaultRates(drop_after=0.1), seed=7) as proxy:
        api = connect(proxy.url, token, timeout=(1, 2))
"""

from __future__ import annotations

import contextlib
import datetime
import http.client
import ipaddress
import logging
import random
import socket
import ssl
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Literal, Self, cast, get_args
from urllib.parse import urlsplit

logger = logging.getLogger(__name__)

Fault = Literal[
    "none", "drop_before", "drop_after", "delay", "too_many", "bad_gateway", "unavailable"
]
#: Every fault, and ``"none"``.
FAULTS: tuple[Fault, ...] = get_args(Fault)

#: Headers that concern one connection only, never forwarded.
HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "content-length",
    }
)
#: Seconds the proxy waits for the upstream.
UPSTREAM_TIMEOUT = 120.0


@dataclass(frozen=True)
class FaultRates:
    """How often each fault happens, as a probability per request (their sum at most 1).

    Attributes:
        drop_before: Close without forwarding.
        drop_after: Forward, then close without answering.
        delay: Forward, then answer after ``delay_seconds``.
        too_many: Answer 429 with ``Retry-After: retry_after``, not forwarded.
        bad_gateway: Forward, then answer 502.
        unavailable: Answer 503, not forwarded.
        methods: The HTTP methods faults apply to.
        retry_after: The ``Retry-After`` header of a 429.
        delay_seconds: How long a delayed answer waits.
    """

    drop_before: float = 0.0
    drop_after: float = 0.0
    delay: float = 0.0
    too_many: float = 0.0
    bad_gateway: float = 0.0
    unavailable: float = 0.0
    methods: frozenset[str] = frozenset({"GET", "POST", "PATCH", "PUT", "DELETE"})
    retry_after: str = "1"
    delay_seconds: float = 3.0

    def __post_init__(self) -> None:
        """Check the rates are probabilities that sum to at most 1."""
        total = sum(self.rates().values())
        if any(r < 0 for r in self.rates().values()) or total > 1:
            raise ValueError(f"fault rates must be >= 0 and sum to <= 1, got {total}")

    def rates(self) -> dict[Fault, float]:
        """Return fault -> probability, in a fixed order."""
        kinds: tuple[Fault, ...] = (
            "drop_before",
            "drop_after",
            "delay",
            "too_many",
            "bad_gateway",
            "unavailable",
        )
        return {kind: float(getattr(self, kind)) for kind in kinds}


@dataclass(frozen=True)
class Injected:
    """One request the proxy saw.

    Attributes:
        method: HTTP method.
        path: Path and query.
        fault: The fault injected, or ``"none"``.
    """

    method: str
    path: str
    fault: Fault


@dataclass(frozen=True)
class TlsFiles:
    """A certificate and its key, PEM files.

    Attributes:
        cert: The certificate (self-signed: also the CA bundle that trusts it).
        key: Its private key.
    """

    cert: Path
    key: Path


def self_signed(directory: Path, host: str = "127.0.0.1") -> TlsFiles:
    """Write a self-signed CA certificate for ``host`` (IP address and ``localhost``).

    Args:
        directory: Where to write ``proxy.pem`` and ``proxy.key``.
        host: The IP address the certificate names.

    Returns:
        The two files.
    """
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "nb-ifsync fault proxy")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address(host)), x509.DNSName("localhost")]
            ),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    directory.mkdir(parents=True, exist_ok=True)
    files = TlsFiles(cert=directory / "proxy.pem", key=directory / "proxy.key")
    files.cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    files.key.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return files


@dataclass
class _State:
    rates: FaultRates
    rng: random.Random
    forced: dict[str, list[Fault]] = field(default_factory=dict)
    seen: list[Injected] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, proxy: FaultProxy) -> None:
        self.proxy = proxy
        super().__init__(("127.0.0.1", 0), _Handler)

    def handle_error(self, request: object, client_address: object) -> None:
        """Log a broken client connection at DEBUG (clients that time out cause them)."""
        logger.debug("fault proxy: client %s went away", client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: object) -> None:
        """Log each request at DEBUG instead of printing it."""
        logger.debug("fault proxy: " + format, *args)

    def _handle(self) -> None:
        proxy = self.server.proxy
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        fault = proxy.draw(self.command, self.path)
        if fault == "drop_before":
            self._drop()
            return
        if fault == "too_many":
            retry_after = proxy.rates.retry_after
            self._answer(429, b'{"detail": "too many requests"}', {"Retry-After": retry_after})
            return
        if fault == "unavailable":
            self._answer(503, b"<html>service unavailable</html>", {"Content-Type": "text/html"})
            return
        status, headers, data = proxy.forward(self.command, self.path, self.headers.items(), body)
        if fault == "drop_after":
            self._drop()
            return
        if fault == "bad_gateway":
            self._answer(502, b"<html>bad gateway</html>", {"Content-Type": "text/html"})
            return
        if fault == "delay":
            time.sleep(proxy.rates.delay_seconds)
        with contextlib.suppress(OSError):
            self._answer(status, data, headers)

    def _answer(self, status: int, body: bytes, headers: dict[str, str]) -> None:
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _drop(self) -> None:
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)

    do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = do_HEAD = do_OPTIONS = _handle  # noqa: N815


class FaultProxy:
    """A threaded HTTP(S) proxy in front of ``upstream`` that injects faults.

    Args:
        upstream: Base URL of the server to forward to (plain HTTP).
        rates: How often each fault happens.
        seed: Seed of the random generator that draws the faults.
        tls: Certificate and key to terminate TLS with, or None for plain HTTP.
    """

    def __init__(
        self,
        upstream: str,
        rates: FaultRates | None = None,
        seed: int = 0,
        tls: TlsFiles | None = None,
    ) -> None:
        parts = urlsplit(upstream)
        self._upstream = (parts.hostname or "127.0.0.1", parts.port or 80)
        self._state = _State(rates=rates or FaultRates(), rng=random.Random(seed))
        self._tls = tls
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """The proxy's base URL, e.g. ``http://127.0.0.1:41234``."""
        if self._server is None:
            raise RuntimeError("the proxy is not started")
        scheme = "https" if self._tls else "http"
        return f"{scheme}://127.0.0.1:{self._server.server_address[1]}"

    @property
    def rates(self) -> FaultRates:
        """The fault rates in force."""
        return self._state.rates

    @rates.setter
    def rates(self, rates: FaultRates) -> None:
        with self._state.lock:
            self._state.rates = rates

    @property
    def seen(self) -> list[Injected]:
        """Every request the proxy saw, in order, with its fault."""
        with self._state.lock:
            return list(self._state.seen)

    def counts(self) -> Counter[tuple[str, str]]:
        """Return (method, fault) -> number of requests."""
        return Counter((s.method, s.fault) for s in self.seen)

    def force(self, method: str, *faults: str) -> None:
        """Inject ``faults`` into the next requests of ``method``, in order, before any draw.

        Raises:
            ValueError: A name is not one of :data:`FAULTS`.
        """
        unknown = sorted(set(faults) - set(FAULTS))
        if unknown:
            raise ValueError(f"unknown faults: {unknown}; known: {FAULTS}")
        with self._state.lock:
            forced = self._state.forced.setdefault(method.upper(), [])
            forced.extend(cast(Fault, fault) for fault in faults)

    def draw(self, method: str, path: str) -> Fault:
        """Choose the fault for one request and record it."""
        with self._state.lock:
            state = self._state
            forced = state.forced.get(method, [])
            fault: Fault = "none"
            if forced:
                fault = forced.pop(0)
            elif method in state.rates.methods:
                point, edge = state.rng.random(), 0.0
                for kind, rate in state.rates.rates().items():
                    edge += rate
                    if point < edge:
                        fault = kind
                        break
            state.seen.append(Injected(method, path, fault))
        if fault != "none":
            logger.debug("fault proxy: %s %s -> %s", method, path, fault)
        return fault

    def forward(
        self, method: str, path: str, headers: list[tuple[str, str]], body: bytes
    ) -> tuple[int, dict[str, str], bytes]:
        """Send one request upstream; an unreachable upstream becomes a 502."""
        conn = http.client.HTTPConnection(*self._upstream, timeout=UPSTREAM_TIMEOUT)
        try:
            conn.request(
                method,
                path,
                body=body or None,
                headers={k: v for k, v in headers if k.lower() not in HOP_BY_HOP},
            )
            reply = conn.getresponse()
            data = reply.read()
            kept = {k: v for k, v in reply.getheaders() if k.lower() not in HOP_BY_HOP}
            return reply.status, kept, data
        except OSError as exc:
            return 502, {"Content-Type": "text/plain"}, f"upstream: {exc}".encode()
        finally:
            conn.close()

    def start(self) -> Self:
        """Start serving in a background thread."""
        server = _Server(self)
        if self._tls is not None:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(self._tls.cert, self._tls.key)
            server.socket = context.wrap_socket(
                server.socket, server_side=True, do_handshake_on_connect=False
            )
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the listening socket."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = self._thread = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()
