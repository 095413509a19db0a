"""Finding Alpaca servers and their devices, on the network an administrator named and nowhere else.

1. UDP discovery (`alpacadiscovery1` to port 32227, the ASCOM protocol alpyca implements) sent only
   to the configured hosts or the directed broadcast address of one configured interface. alpyca's
   own `search_ipv4` broadcasts on every interface of the machine, which may sit on networks that
   are not ours, so it is never called.
2. For each server: the management API (`/management/v1/configureddevices`).
3. Where the server has none (the PyPI simulators), probe `/api/v1/<type>/<n>/name` per type.
HTTP goes through missionops.outbound (SSRF-guarded): the telescopes' network must be named in
settings.OUTBOUND_ALLOWED_NETWORKS.
"""

import ipaddress
import json
import re
import socket
import time
from dataclasses import dataclass
from urllib.parse import urlencode

import ifaddr
from alpaca import discovery as alpaca_discovery

from missionops import outbound

from .models import DeviceType

DISCOVERY_PORT = alpaca_discovery.port  # 32227
DISCOVERY_MESSAGE = alpaca_discovery.AlpacaDiscovery.encode()  # b"alpacadiscovery1"
MAX_DEVICE_NUMBER = 8  # probing stops at the first number a type does not answer, and here at the latest
HTTP_TIMEOUT_S = 3.0


class DiscoveryConfigError(ValueError):
    pass


@dataclass(frozen=True)
class FoundDevice:
    host: str
    port: int
    device_type: str
    device_number: int
    name: str
    unique_id: str
    source: str  # "management" or "probe"


def parse_targets(text: str) -> list[tuple[str, int]]:
    """`"10.0.0.5, 10.0.0.255:32227 [::1]:40000"` -> [(host, port), ...]."""
    targets = []
    for token in re.split(r"[\s,;]+", text or ""):
        if not token:
            continue
        match = re.fullmatch(r"\[(?P<v6>[^\]]+)\](?::(?P<p6>\d+))?|(?P<host>[^:]+)(?::(?P<port>\d+))?", token)
        if not match:
            raise DiscoveryConfigError(f"not a host or host:port: {token!r}")
        host = match["v6"] or match["host"]
        port = int(match["p6"] or match["port"] or DISCOVERY_PORT)
        if not 0 < port < 65536:
            raise DiscoveryConfigError(f"port out of range in {token!r}")
        targets.append((host, port))
    return targets


def interface_broadcasts(name: str) -> list[str]:
    """Directed broadcast addresses of the IPv4 networks of one named interface."""
    for adapter in ifaddr.get_adapters():
        if name in (adapter.name, adapter.nice_name):
            return [
                str(ipaddress.IPv4Network(f"{ip.ip}/{ip.network_prefix}", strict=False).broadcast_address)
                for ip in adapter.ips
                if ip.is_IPv4 and not str(ip.ip).startswith("169.254.")
            ]
    raise DiscoveryConfigError(f"no network interface named {name!r} on this machine")


def send_discovery(targets: list[tuple[str, int]], *, timeout_s: float = 1.0) -> list[tuple[str, int]]:
    """Send the discovery datagram to each target; return the (server ip, Alpaca HTTP port) that
    answered within `timeout_s`."""
    if not targets:
        return []
    found: list[tuple[str, int]] = []
    families = {socket.AF_INET6 if ":" in host else socket.AF_INET for host, _ in targets}
    for family in families:
        with socket.socket(family, socket.SOCK_DGRAM) as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)  # for a configured directed broadcast
            sock.bind(("::" if family == socket.AF_INET6 else "0.0.0.0", 0))
            for host, port in targets:
                if (":" in host) == (family == socket.AF_INET6):
                    sock.sendto(DISCOVERY_MESSAGE, (host, port))
            deadline = time.monotonic() + timeout_s
            while (left := deadline - time.monotonic()) > 0:
                sock.settimeout(left)
                try:
                    data, address = sock.recvfrom(1024)
                except TimeoutError:
                    break
                try:
                    alpaca_port = int(json.loads(data.decode())["AlpacaPort"])
                except (ValueError, KeyError, TypeError):
                    continue  # not an Alpaca answer
                if (address[0], alpaca_port) not in found:
                    found.append((address[0], alpaca_port))
    return found


def _base(host: str, port: int) -> str:
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def get_json(url: str):
    """The JSON answer of a 200, or None (any other status, no answer, not JSON, not allowed)."""
    try:
        response = outbound.request("GET", url, timeout_s=HTTP_TIMEOUT_S)
    except (outbound.OutboundError, outbound.OutboundRefused):
        return None
    if response.status != 200:
        return None
    try:
        return json.loads(response.body)
    except ValueError:
        return None


def management_devices(host: str, port: int) -> list[FoundDevice] | None:
    """The server's own list, or None when it has no management API. (alpyca's management module
    sends requests without a timeout, so this one call is made here with one.)"""
    try:
        rows = get_json(f"{_base(host, port)}/management/v1/configureddevices")["Value"]
        rows = [row for row in rows if isinstance(row, dict)]
    except (KeyError, TypeError):
        return None
    devices = []
    for row in rows:
        device_type = str(row.get("DeviceType", "")).lower()
        if device_type in DeviceType.values:
            devices.append(
                FoundDevice(
                    host,
                    port,
                    device_type,
                    int(row.get("DeviceNumber", 0)),
                    str(row.get("DeviceName", ""))[:200],
                    str(row.get("UniqueID", ""))[:120],
                    "management",
                )
            )
    return devices


def probe_name(host: str, port: int, device_type: str, number: int) -> str | None:
    """The device's Name, or None when the server has no such device."""
    query = urlencode({"ClientID": 1, "ClientTransactionID": 1})
    body = get_json(f"{_base(host, port)}/api/v1/{device_type}/{number}/name?{query}")
    if not isinstance(body, dict) or body.get("ErrorNumber", 0) != 0:
        return None
    return str(body.get("Value", ""))[:200]


def probed_devices(host: str, port: int) -> list[FoundDevice]:
    devices = []
    for device_type in DeviceType.values:
        for number in range(MAX_DEVICE_NUMBER):
            name = probe_name(host, port, device_type, number)
            if name is None:
                break
            devices.append(
                FoundDevice(host, port, device_type, number, name, f"{host}:{port}/{device_type}/{number}", "probe")
            )
    return devices


def server_devices(host: str, port: int) -> list[FoundDevice]:
    listed = management_devices(host, port)
    return listed if listed else probed_devices(host, port)
