"""HTTPS JSON-RPC devices: Arista eAPI (NAPALM ``eos``) and Cisco NX-API (NAPALM ``nxos``).

One small threaded HTTPS server per device, on the stdlib ``http.server``. The TLS certificate
is self-signed, generated at start for the device's address, and kept in a temporary
directory that is removed on ``stop()``.

The servers answer the commands the real drivers send for ``open()`` and ``get_interfaces()``:

* eAPI (``POST /command-api``, method ``runCmds``): ``enable``, ``show version``,
  ``show interfaces``.
* NX-API (``POST /ins``, methods ``cli`` / ``cli_ascii``): ``show hostname``,
  ``show interface``.

Anything else is answered with the platform's own error object.
"""

from __future__ import annotations

import base64
import datetime
import ipaddress
import json
import ssl
import tempfile
import threading
from collections.abc import Callable
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.lab.devices import render
from tests.lab.devices.model import SimDevice

JsonObject = dict[str, Any]
CommandTable = dict[str, Callable[[], JsonObject]]

USERNAME = "admin"
PASSWORD = "admin"
EAPI_PATH = "/command-api"
NXAPI_PATH = "/ins"
_EAPI_INVALID_COMMAND = 1002
_NXAPI_INVALID_PARAMS = -32602


class UnknownCommandError(KeyError):
    """The simulated device has no output for a command."""


# ------------------------------------------------------------------------------ certificate


def write_self_signed_cert(directory: Path, common_name: str, host: str) -> tuple[Path, Path]:
    """Create a self-signed certificate for ``host`` and write it with its key.

    Args:
        directory: Where to write ``cert.pem`` and ``key.pem``.
        common_name: Certificate subject common name (the device name).
        host: IP address put in the subjectAltName.

    Returns:
        ``(cert_path, key_path)``.
    """
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = datetime.datetime.now(datetime.UTC)
    alt_names = x509.SubjectAlternativeName(
        [x509.IPAddress(ipaddress.ip_address(host)), x509.DNSName(common_name)]
    )
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=7))
        .add_extension(alt_names, critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


# ------------------------------------------------------------------------------ API dialects


class JsonRpcApi:
    """Base of a platform's JSON-RPC dialect: a command table and a URL path."""

    path = "/"

    def __init__(self, commands: CommandTable) -> None:
        """Store the command table.

        Args:
            commands: Command line -> function producing its JSON body.
        """
        self._commands = commands

    def run(self, command: str) -> JsonObject:
        """Produce one command's JSON body.

        Args:
            command: The command line.

        Returns:
            The body.

        Raises:
            UnknownCommandError: No output is known for the command.
        """
        try:
            produce = self._commands[command.strip()]
        except KeyError:
            raise UnknownCommandError(command) from None
        return produce()

    def handle(self, request: Any) -> Any:
        """Answer a decoded JSON-RPC request.

        Args:
            request: The decoded request body.

        Returns:
            The JSON-RPC response to encode.
        """
        raise NotImplementedError


class EapiApi(JsonRpcApi):
    """Arista eAPI: one ``runCmds`` request with a list of commands."""

    path = EAPI_PATH

    def handle(self, request: Any) -> Any:
        """Run every command of a ``runCmds`` request, stopping at the first unknown one.

        Args:
            request: ``{"method": "runCmds", "params": {"cmds": [...], "format": ...}}``.

        Returns:
            ``{"result": [...]}`` or eAPI's error object.
        """
        params = request.get("params", {})
        results: list[JsonObject] = []
        for index, entry in enumerate(params.get("cmds", []), start=1):
            command = entry["cmd"] if isinstance(entry, dict) else str(entry)
            try:
                body = self._run_in_format(command, params.get("format", "json"))
            except UnknownCommandError:
                return self._error(request, index, command, results)
            results.append(body)
        return {"jsonrpc": "2.0", "id": request.get("id"), "result": results}

    def _run_in_format(self, command: str, output_format: str) -> JsonObject:
        """A command's body as JSON, or wrapped as ``{"output": text}`` for text format."""
        body = self.run(command)
        if output_format == "text":
            return {"output": render.eos_json_text(body) if body else ""}
        return body

    @staticmethod
    def _error(request: Any, index: int, command: str, done: list[JsonObject]) -> JsonObject:
        """eAPI's error object for an invalid command."""
        message = f"CLI command {index} of {len(request['params']['cmds'])} '{command}' failed"
        data = [*done, {"errors": [f"Invalid input (at token 0: '{command}')"]}]
        error = {"code": _EAPI_INVALID_COMMAND, "message": f"{message}: invalid command"}
        return {"jsonrpc": "2.0", "id": request.get("id"), "error": {**error, "data": data}}


class NxapiApi(JsonRpcApi):
    """Cisco NX-API JSON-RPC: a list of single-command requests."""

    path = NXAPI_PATH

    def handle(self, request: Any) -> Any:
        """Answer each request of the batch.

        Args:
            request: One request object or a list of them.

        Returns:
            A single response object for a single request, a list otherwise (as NX-OS does).
        """
        batch = request if isinstance(request, list) else [request]
        responses = [self._answer(item) for item in batch]
        return responses[0] if len(responses) == 1 else responses

    def _answer(self, item: JsonObject) -> JsonObject:
        """Answer one ``cli`` / ``cli_ascii`` request."""
        command = str(item.get("params", {}).get("cmd", ""))
        try:
            body = self.run(command)
        except UnknownCommandError:
            error = {
                "code": _NXAPI_INVALID_PARAMS,
                "message": "Invalid params",
                "data": {"msg": "% Invalid command\n"},
            }
            return {"jsonrpc": "2.0", "error": error, "id": item.get("id")}
        result = {"msg": json.dumps(body)} if item.get("method") == "cli_ascii" else {"body": body}
        return {"jsonrpc": "2.0", "result": result, "id": item.get("id")}


def _eos_api(device: SimDevice) -> JsonRpcApi:
    """The eAPI dialect answering for a device."""
    return EapiApi(
        {
            "enable": dict,
            "show version": lambda: render.eos_show_version_json(device),
            "show interfaces": lambda: render.eos_show_interfaces_json(device),
        }
    )


def _nxos_api(device: SimDevice) -> JsonRpcApi:
    """The NX-API dialect answering for a device."""
    return NxapiApi(
        {
            "show hostname": lambda: render.nxos_show_hostname_json(device),
            "show interface": lambda: render.nxos_show_interface_json(device),
        }
    )


API_FACTORIES: dict[str, Callable[[SimDevice], JsonRpcApi]] = {"eos": _eos_api, "nxos": _nxos_api}
"""NAPALM driver name -> dialect its HTTPS transport speaks."""


# ---------------------------------------------------------------------------------- server


class _Handler(BaseHTTPRequestHandler):
    """HTTP request handler: Basic auth, then the dialect's ``handle``."""

    server: _DeviceHttpsServer
    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:
        """Answer a JSON-RPC POST.

        The body is read before any reply: closing a socket with unread input makes the
        kernel send a reset, which can destroy a 401 before the client reads it.
        """
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        if not self.server.authorized(self.headers.get("Authorization", "")):
            self._reply(HTTPStatus.UNAUTHORIZED, b'{"error": "Unauthorized"}', auth=True)
            return
        if self.path.rstrip("/") != self.server.api.path:
            self._reply(HTTPStatus.NOT_FOUND, b'{"error": "Not Found"}')
            return
        try:
            request = json.loads(body.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError):
            self._reply(HTTPStatus.BAD_REQUEST, b'{"error": "Parse error"}')
            return
        response = self.server.api.handle(request)
        self._reply(HTTPStatus.OK, json.dumps(response, ensure_ascii=False).encode("utf-8"))

    def _reply(self, status: HTTPStatus, body: bytes, auth: bool = False) -> None:
        """Send a JSON response."""
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        if auth:
            self.send_header("WWW-Authenticate", 'Basic realm="simulated device"')
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        """Keep request logs off stderr."""


class _DeviceHttpsServer(ThreadingHTTPServer):
    """Threaded HTTPS server; the TLS handshake runs in the request's own thread."""

    daemon_threads = True

    def __init__(
        self, address: tuple[str, int], api: JsonRpcApi, context: ssl.SSLContext, auth: str
    ) -> None:
        """Bind and listen.

        Args:
            address: ``(host, port)`` to bind.
            api: The dialect answering requests.
            context: Server-side TLS context.
            auth: Expected ``Authorization`` header value.
        """
        super().__init__(address, _Handler)
        self.api = api
        self._context = context
        self._auth = auth

    def authorized(self, header: str) -> bool:
        """Whether an ``Authorization`` header carries the device credentials."""
        return header == self._auth

    def finish_request(self, request: Any, client_address: Any) -> None:
        """Wrap the accepted socket in TLS, then serve it."""
        request.settimeout(30)
        try:
            tls = self._context.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError):
            return
        super().finish_request(tls, client_address)


class JsonRpcServer:
    """A running HTTPS JSON-RPC device.

    Attributes:
        name: Device name.
        host: Listening address.
        port: Listening port.
        cert_path: PEM file of the self-signed certificate (valid until ``stop()``).
    """

    def __init__(
        self, name: str, server: _DeviceHttpsServer, workdir: tempfile.TemporaryDirectory[str]
    ) -> None:
        """Start serving in a background thread.

        Args:
            name: Device name.
            server: The bound server.
            workdir: Temporary directory holding the certificate.
        """
        self.name = name
        self.host, self.port = server.server_address[0], int(server.server_address[1])
        self.cert_path = Path(workdir.name) / "cert.pem"
        self._server = server
        self._workdir = workdir
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"jsonrpc-{name}",
            daemon=True,
        )
        self._thread.start()

    def stop(self) -> None:
        """Stop serving, close the socket and remove the certificate."""
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
        self._workdir.cleanup()


def _basic_auth(username: str, password: str) -> str:
    """The ``Authorization`` header value for HTTP Basic."""
    token = base64.b64encode(f"{username}:{password}".encode()).decode("ascii")
    return f"Basic {token}"


def start_jsonrpc_device(
    device: SimDevice,
    host: str,
    port: int,
    username: str = USERNAME,
    password: str = PASSWORD,
) -> JsonRpcServer:
    """Serve one device's eAPI or NX-API over HTTPS.

    Args:
        device: The simulated device (platform ``eos`` or ``nxos``).
        host: Address to listen on.
        port: TCP port to listen on.
        username: HTTP Basic user name.
        password: HTTP Basic password.

    Returns:
        The running server; call ``stop()`` when done.

    Raises:
        ValueError: The platform has no HTTPS API here.
        OSError: ``host:port`` cannot be bound.
    """
    if device.platform not in API_FACTORIES:
        raise ValueError(f"platform {device.platform!r} has no HTTPS JSON-RPC API here")
    workdir = tempfile.TemporaryDirectory(prefix=f"simdev-{device.name}-")
    try:
        cert_path, key_path = write_self_signed_cert(Path(workdir.name), device.name, host)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert_path, key_path)
        api = API_FACTORIES[device.platform](device)
        server = _DeviceHttpsServer((host, port), api, context, _basic_auth(username, password))
    except BaseException:
        workdir.cleanup()
        raise
    return JsonRpcServer(device.name, server, workdir)
