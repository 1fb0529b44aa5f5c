"""Pure renderers: a `SimDevice` turned into the NETCONF XML that junos and IOS-XR send.

Nothing here touches a socket. The functions build lxml elements (or bytes) for the hello
message, `rpc-reply` / `rpc-error` envelopes, the Junos `get-interface-information` reply, the
IOS-XR `Cisco-IOS-XR-pfi-im-cmd-oper` interfaces tree and the YANG library, and apply an
RFC 6241 subtree filter to a data tree.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from lxml import etree  # type: ignore[import-untyped,unused-ignore]

from tests.lab.devices.model import SimDevice, SimInterface

BASE_NS = "urn:ietf:params:xml:ns:netconf:base:1.0"
BASE_1_0 = "urn:ietf:params:netconf:base:1.0"
BASE_1_1 = "urn:ietf:params:netconf:base:1.1"

JUNOS_VERSION = "23.4R1.9"
JUNOS_NS = f"http://xml.juniper.net/junos/{JUNOS_VERSION}/junos"
JUNOS_IF_NS = f"http://xml.juniper.net/junos/{JUNOS_VERSION}/junos-interface"

XR_IF_OPER_NS = "http://cisco.com/ns/yang/Cisco-IOS-XR-pfi-im-cmd-oper"
YANG_LIBRARY_NS = "urn:ietf:params:xml:ns:yang:ietf-yang-library"
XR_MODULE_SET = "XR-only"
XR_MODULES: tuple[tuple[str, str, str], ...] = (
    ("Cisco-IOS-XR-pfi-im-cmd-oper", "2019-04-05", XR_IF_OPER_NS),
    ("Cisco-IOS-XR-ifmgr-cfg", "2017-09-07", "http://cisco.com/ns/yang/Cisco-IOS-XR-ifmgr-cfg"),
    (
        "Cisco-IOS-XR-shellutil-oper",
        "2015-11-09",
        "http://cisco.com/ns/yang/Cisco-IOS-XR-shellutil-oper",
    ),
)

_MAC_RE = re.compile(r"^[0-9A-Fa-f]{2}(:[0-9A-Fa-f]{2}){5}$")
_JUNOS_PADDED = frozenset({"name", "admin-status", "oper-status", "speed", "link-level-type"})


@dataclass(frozen=True)
class RpcErrorSpec:
    """The content of one `<rpc-error>` (RFC 6241 section 4.3).

    Attributes:
        tag: The error-tag, e.g. "operation-not-supported".
        message: Human-readable error-message.
        error_type: transport, rpc, protocol or application.
        severity: "error" or "warning".
        bad_element: Name of the offending element, reported in error-info ("" for none).
    """

    tag: str
    message: str
    error_type: str = "protocol"
    severity: str = "error"
    bad_element: str = ""


# ---------------------------------------------------------------------------
# Envelopes
# ---------------------------------------------------------------------------


def _nc(tag: str) -> str:
    """Return the Clark-notation name of a NETCONF base element."""
    return f"{{{BASE_NS}}}{tag}"


def to_bytes(element: etree._Element, prolog: bytes = b"") -> bytes:
    """Serialise an element as UTF-8, after a prolog (XML declaration, comments) if given.

    Clients parse replies as Python strings, which lxml refuses when the declaration names an
    encoding: replies use no declaration or a plain `<?xml version="1.0"?>`.

    Args:
        element: The root element.
        prolog: Bytes to put before the element.

    Returns:
        The document bytes.
    """
    return prolog + bytes(etree.tostring(element, encoding="UTF-8"))


def render_hello(capabilities: Iterable[str], session_id: int, prolog: bytes = b"") -> bytes:
    """Render the server's `<hello>` message.

    Args:
        capabilities: Capability URIs the server announces.
        session_id: The NETCONF session-id.
        prolog: Bytes before the element (declaration, comments).

    Returns:
        The hello document, unframed.
    """
    hello = etree.Element(_nc("hello"), nsmap={None: BASE_NS})
    caps = etree.SubElement(hello, _nc("capabilities"))
    for uri in capabilities:
        etree.SubElement(caps, _nc("capability")).text = uri
    etree.SubElement(hello, _nc("session-id")).text = str(session_id)
    return to_bytes(hello, prolog)


def render_reply(
    rpc_attributes: dict[str, str],
    content: Sequence[etree._Element],
    nsmap: dict[str | None, str] | None = None,
    prolog: bytes = b"",
) -> bytes:
    """Render an `<rpc-reply>` carrying the given content (or `<ok/>` when empty).

    Args:
        rpc_attributes: Attributes of the request's `<rpc>`, copied as RFC 6241 requires.
        content: Child elements of the reply.
        nsmap: Extra namespace prefixes to declare on the reply.
        prolog: Bytes before the element (e.g. `<?xml version="1.0"?>`).

    Returns:
        The reply document, unframed.
    """
    namespaces: dict[str | None, str] = {None: BASE_NS, **(nsmap or {})}
    reply = etree.Element(_nc("rpc-reply"), nsmap=namespaces)
    for key, value in rpc_attributes.items():
        reply.set(key, value)
    if content:
        reply.extend(content)
    else:
        etree.SubElement(reply, _nc("ok"))
    return to_bytes(reply, prolog)


def render_rpc_error(error: RpcErrorSpec) -> etree._Element:
    """Render one `<rpc-error>` element.

    Args:
        error: What went wrong.

    Returns:
        The rpc-error element.
    """
    element = etree.Element(_nc("rpc-error"), nsmap={None: BASE_NS})
    etree.SubElement(element, _nc("error-type")).text = error.error_type
    etree.SubElement(element, _nc("error-tag")).text = error.tag
    etree.SubElement(element, _nc("error-severity")).text = error.severity
    etree.SubElement(element, _nc("error-message")).text = error.message
    if error.bad_element:
        info = etree.SubElement(element, _nc("error-info"))
        etree.SubElement(info, _nc("bad-element")).text = error.bad_element
    return element


def render_data(content: Sequence[etree._Element]) -> etree._Element:
    """Wrap elements in the `<data>` element of a `<get>` reply.

    Args:
        content: Top-level data nodes.

    Returns:
        The data element.
    """
    data = etree.Element(_nc("data"), nsmap={None: BASE_NS})
    data.extend(content)
    return data


# ---------------------------------------------------------------------------
# Value formatting
# ---------------------------------------------------------------------------


def validate_mac(mac: str) -> str:
    """Check a model MAC address ("AA:BB:CC:DD:EE:FF" or "").

    Args:
        mac: The MAC from a `SimInterface`.

    Returns:
        The MAC in lower case, as both Junos and IOS-XR print it.

    Raises:
        ValueError: When the MAC is not six colon-separated octets.
    """
    if mac and not _MAC_RE.match(mac):
        raise ValueError(f"MAC {mac!r} is not of the form AA:BB:CC:DD:EE:FF")
    return mac.lower()


def junos_speed(speed_mbps: int) -> str:
    """Format a speed as Junos prints `<speed>`.

    Args:
        speed_mbps: Speed in Mbit/s; 0 or less for unknown.

    Returns:
        "1000mbps", "10Gbps", "100Gbps", ... or "Unspecified".
    """
    if speed_mbps <= 0:
        return "Unspecified"
    if speed_mbps >= 10_000 and speed_mbps % 1000 == 0:
        return f"{speed_mbps // 1000}Gbps"
    return f"{speed_mbps}mbps"


def junos_mtu(mtu: int) -> str:
    """Format an MTU as Junos prints `<mtu>` ("Unlimited" for 0, as on lo0).

    Args:
        mtu: MTU in bytes, 0 for none.

    Returns:
        The text of the mtu element.
    """
    return str(mtu) if mtu > 0 else "Unlimited"


def iosxr_bandwidth(speed_mbps: int) -> str:
    """Format a speed as the IOS-XR oper model's `<bandwidth>` (kbit/s).

    Args:
        speed_mbps: Speed in Mbit/s; 0 or less for none (loopbacks report 0).

    Returns:
        The bandwidth text.
    """
    return str(max(speed_mbps, 0) * 1000)


def iosxr_states(interface: SimInterface) -> tuple[str, str]:
    """Return IOS-XR's (state, line-state) for an interface.

    Args:
        interface: The model interface.

    Returns:
        The im-state values of the interface and of its line protocol.
    """
    if not interface.enabled:
        return "im-state-admin-down", "im-state-admin-down"
    if interface.up:
        return "im-state-up", "im-state-up"
    return "im-state-down", "im-state-down"


# ---------------------------------------------------------------------------
# Junos
# ---------------------------------------------------------------------------


def junos_groups(
    interfaces: Iterable[SimInterface],
) -> list[tuple[SimInterface, list[SimInterface]]]:
    """Group logical units (names with a dot, e.g. ge-0/0/2.0) under their physical interface.

    Args:
        interfaces: The device's interfaces in model order.

    Returns:
        (physical, units) pairs in model order.

    Raises:
        ValueError: When a unit has no physical interface in the model.
    """
    interfaces = list(interfaces)
    physical = [i for i in interfaces if "." not in i.name]
    units: dict[str, list[SimInterface]] = {}
    for unit in (i for i in interfaces if "." in i.name):
        units.setdefault(unit.name.rsplit(".", 1)[0], []).append(unit)
    orphans = sorted(set(units) - {p.name for p in physical})
    if orphans:
        raise ValueError(f"logical units without their physical interface: {orphans}")
    return [(p, units.get(p.name, [])) for p in physical]


def _junos_leaf(parent: etree._Element, tag: str, text: str) -> etree._Element:
    """Append a leaf, padding the text with newlines where Junos does."""
    leaf = etree.SubElement(parent, tag)
    leaf.text = f"\n{text}\n" if tag in _JUNOS_PADDED else text
    return leaf


def _junos_logical(parent: etree._Element, unit: SimInterface, index: int) -> None:
    """Append a `<logical-interface>` for one unit."""
    logical = etree.SubElement(parent, "logical-interface")
    _junos_leaf(logical, "name", unit.name)
    _junos_leaf(logical, "local-index", str(index))
    _junos_leaf(logical, "snmp-index", str(index + 200))
    if unit.description:
        _junos_leaf(logical, "description", unit.description)
    flags = etree.SubElement(logical, "if-config-flags")
    etree.SubElement(flags, "iff-up" if unit.enabled else "iff-down")
    etree.SubElement(flags, "iff-snmp-traps")
    _junos_leaf(logical, "encapsulation", "ENET2")
    family = etree.SubElement(logical, "address-family")
    _junos_leaf(family, "address-family-name", "inet")
    _junos_leaf(family, "mtu", junos_mtu(unit.mtu))


def _junos_physical(
    parent: etree._Element, interface: SimInterface, units: Sequence[SimInterface], index: int
) -> None:
    """Append a `<physical-interface>` with its logical units."""
    physical = etree.SubElement(parent, "physical-interface")
    _junos_leaf(physical, "name", interface.name)
    admin = _junos_leaf(physical, "admin-status", "up" if interface.enabled else "down")
    admin.set(f"{{{JUNOS_NS}}}format", "Enabled" if interface.enabled else "Disabled")
    _junos_leaf(physical, "oper-status", "up" if interface.up else "down")
    _junos_leaf(physical, "local-index", str(index))
    _junos_leaf(physical, "snmp-index", str(index + 100))
    if interface.description:
        _junos_leaf(physical, "description", interface.description)
    mac = validate_mac(interface.mac)
    _junos_leaf(physical, "link-level-type", "Ethernet" if mac else "Unspecified")
    _junos_leaf(physical, "mtu", junos_mtu(interface.mtu))
    _junos_leaf(physical, "speed", junos_speed(interface.speed_mbps))
    if mac:
        _junos_leaf(physical, "current-physical-address", mac)
        _junos_leaf(physical, "hardware-physical-address", mac)
    for offset, unit in enumerate(units, start=1):
        _junos_logical(physical, unit, index * 10 + offset)


def junos_select(
    groups: Sequence[tuple[SimInterface, list[SimInterface]]], pattern: str
) -> list[tuple[SimInterface, list[SimInterface]]]:
    """Select what `show interfaces PATTERN` shows (Junos accepts `*` wildcards).

    A pattern naming a logical unit selects its physical interface with only that unit.

    Args:
        groups: Output of `junos_groups`.
        pattern: The `<interface-name>` argument.

    Returns:
        The matching (physical, units) pairs, possibly empty.
    """
    regex = re.compile("^" + ".*".join(re.escape(part) for part in pattern.split("*")) + "$")
    selected: list[tuple[SimInterface, list[SimInterface]]] = []
    for physical, units in groups:
        if regex.match(physical.name):
            selected.append((physical, units))
            continue
        chosen = [u for u in units if regex.match(u.name)]
        if chosen:
            selected.append((physical, chosen))
    return selected


def render_junos_interface_information(
    groups: Sequence[tuple[SimInterface, list[SimInterface]]],
) -> etree._Element:
    """Render Junos' reply to `<get-interface-information/>` (`show interfaces`).

    Args:
        groups: (physical, units) pairs, from `junos_groups` or `junos_select`.

    Returns:
        The `<interface-information>` element.
    """
    info = etree.Element(
        f"{{{JUNOS_IF_NS}}}interface-information", nsmap={None: JUNOS_IF_NS, "junos": JUNOS_NS}
    )
    info.set(f"{{{JUNOS_NS}}}style", "normal")
    for index, (physical, units) in enumerate(groups, start=128):
        _junos_physical(info, physical, units, index)
    for element in info.iter():
        if isinstance(element.tag, str) and not element.tag.startswith("{"):
            element.tag = f"{{{JUNOS_IF_NS}}}{element.tag}"
    return info


# ---------------------------------------------------------------------------
# IOS-XR
# ---------------------------------------------------------------------------


def _xr(parent: etree._Element, tag: str, text: str | None = None) -> etree._Element:
    """Append an element in the pfi-im-cmd-oper namespace."""
    element = etree.SubElement(parent, f"{{{XR_IF_OPER_NS}}}{tag}")
    if text is not None:
        element.text = text
    return element


def _xr_brief(parent: etree._Element, interface: SimInterface) -> None:
    """Append an entry of the `interfaces/interfaces` list (name and description)."""
    entry = _xr(parent, "interface")
    _xr(entry, "interface-name", interface.name)
    if interface.description:
        _xr(entry, "description", interface.description)


def _xr_detail(parent: etree._Element, interface: SimInterface) -> None:
    """Append an entry of the `interfaces/interface-xr` list."""
    entry = _xr(parent, "interface")
    state, line_state = iosxr_states(interface)
    _xr(entry, "interface-name", interface.name)
    _xr(entry, "interface-handle", interface.name)
    _xr(entry, "state", state)
    _xr(entry, "line-state", line_state)
    _xr(entry, "mtu", str(interface.mtu))
    mac = validate_mac(interface.mac)
    if mac:
        _xr(_xr(entry, "mac-address"), "address", mac)
        _xr(_xr(entry, "burned-in-address"), "address", mac)
    _xr(entry, "bandwidth", iosxr_bandwidth(interface.speed_mbps))
    if interface.description:
        _xr(entry, "description", interface.description)


def render_iosxr_interfaces(device: SimDevice) -> etree._Element:
    """Render the `Cisco-IOS-XR-pfi-im-cmd-oper:interfaces` operational tree.

    Both lists are sorted by name, as IOS-XR returns them.

    Args:
        device: The simulated device.

    Returns:
        The `<interfaces>` element.
    """
    root = etree.Element(f"{{{XR_IF_OPER_NS}}}interfaces", nsmap={None: XR_IF_OPER_NS})
    ordered = sorted(device.interfaces, key=lambda i: i.name)
    brief = _xr(root, "interfaces")
    for interface in ordered:
        _xr_brief(brief, interface)
    detail = _xr(root, "interface-xr")
    for interface in ordered:
        _xr_detail(detail, interface)
    return root


def render_yang_library() -> etree._Element:
    """Render the ietf-yang-library tree with the XR-only module-set NAPALM asks for.

    Returns:
        The `<yang-library>` element.
    """

    def sub(parent: etree._Element, tag: str, text: str | None = None) -> etree._Element:
        element = etree.SubElement(parent, f"{{{YANG_LIBRARY_NS}}}{tag}")
        element.text = text
        return element

    root = etree.Element(f"{{{YANG_LIBRARY_NS}}}yang-library", nsmap={None: YANG_LIBRARY_NS})
    module_set = sub(root, "module-set")
    sub(module_set, "name", XR_MODULE_SET)
    for name, revision, namespace in XR_MODULES:
        module = sub(module_set, "module")
        sub(module, "name", name)
        sub(module, "revision", revision)
        sub(module, "namespace", namespace)
    sub(root, "content-id", "1")
    return root


# ---------------------------------------------------------------------------
# Subtree filtering (RFC 6241 section 6)
# ---------------------------------------------------------------------------


def _elements(parent: etree._Element) -> list[etree._Element]:
    """Return the element children (no comments or processing instructions)."""
    return [child for child in parent if isinstance(child.tag, str)]


def _matches(data: etree._Element, node: etree._Element) -> bool:
    """Tell whether a filter node names a data node (a filter without namespace matches any)."""
    wanted = etree.QName(node)
    found = etree.QName(data)
    return wanted.localname == found.localname and wanted.namespace in (None, found.namespace)


def _is_content_match(node: etree._Element) -> bool:
    """Tell whether a filter node is a content match node (a leaf with a value)."""
    return not _elements(node) and bool((node.text or "").strip())


def _shallow_copy(data: etree._Element) -> etree._Element:
    """Copy an element's name and attributes, without text or children."""
    return etree.Element(data.tag, attrib=dict(data.attrib), nsmap=data.nsmap)


def _filter_node(data: etree._Element, node: etree._Element) -> etree._Element | None:
    """Apply one filter node to the data node it names; None when nothing is selected."""
    children = _elements(node)
    if not children:
        if _is_content_match(node):
            text_ok = (data.text or "").strip() == (node.text or "").strip()
            return copy.deepcopy(data) if text_ok else None
        return copy.deepcopy(data)
    content = [c for c in children if _is_content_match(c)]
    others = [c for c in children if not _is_content_match(c)]
    for match in content:
        if not any(_filter_node(d, match) is not None for d in data if _matches(d, match)):
            return None
    result = _shallow_copy(data)
    if not others:
        result.extend(copy.deepcopy(d) for d in _elements(data))
        return result
    selected = False
    for child in _elements(data):
        if any(_matches(child, c) for c in content):
            result.append(copy.deepcopy(child))
            continue
        for other in (o for o in others if _matches(child, o)):
            picked = _filter_node(child, other)
            if picked is not None:
                result.append(picked)
                selected = True
                break
    return result if selected or content else None


def apply_subtree_filter(
    data: Sequence[etree._Element], filter_nodes: Sequence[etree._Element] | None
) -> list[etree._Element]:
    """Select from top-level data nodes what a subtree filter asks for.

    Args:
        data: The datastore's top-level nodes.
        filter_nodes: The children of `<filter type="subtree">`; None for no filter.

    Returns:
        Copies of the selected nodes, in data order.
    """
    if filter_nodes is None:
        return [copy.deepcopy(d) for d in data]
    selected: list[etree._Element] = []
    for node in data:
        for wanted in filter_nodes:
            if _matches(node, wanted):
                picked = _filter_node(node, wanted)
                if picked is not None:
                    selected.append(picked)
                    break
    return selected
