"""Real Alpaca simulators (PyPI `alpaca-simulators`) on free ports, with a local star catalogue,
and a UDP discovery responder on 127.0.0.1 as a real observatory server would have."""

import json
import socket
import threading
from datetime import timedelta

import pytest
from django.utils import timezone

from telescopes.simulators import SIMULATOR, SimulatorProcess, make_star_catalogue  # noqa: F401


@pytest.fixture
def simulator(tmp_path):
    sim = SimulatorProcess(tmp_path).start()
    yield sim
    sim.stop()


@pytest.fixture
def simulator_without_catalogue(tmp_path):
    sim = SimulatorProcess(tmp_path, catalogue=False).start()
    yield sim
    sim.stop()


class DiscoveryResponder:
    """Answers `alpacadiscovery1` on 127.0.0.1:<port> with {"AlpacaPort": alpaca_port}."""

    def __init__(self, alpaca_port: int):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.alpaca_port = alpaca_port
        self.queries = 0
        self.sock.settimeout(0.2)
        self.running = True
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self):
        while self.running:
            try:
                data, address = self.sock.recvfrom(1024)
            except (TimeoutError, OSError):
                continue
            if data.startswith(b"alpacadiscovery"):
                self.queries += 1
                self.sock.sendto(json.dumps({"AlpacaPort": self.alpaca_port}).encode(), address)

    def close(self):
        self.running = False
        self.thread.join(timeout=2)
        self.sock.close()


@pytest.fixture
def discovery_responder(simulator):
    responder = DiscoveryResponder(simulator.port)
    yield responder
    responder.close()


@pytest.fixture
def observatory(org_a):
    from telescopes.services import create_observatory

    # The simulator's own site (template.yaml): 48 N, 8 E, 1000 m.
    return create_observatory(
        organization=org_a,
        name="Sim Observatory",
        latitude_deg=48.0,
        longitude_deg=8.0,
        altitude_m=1000.0,
        horizon_limit_deg=10.0,
    )


@pytest.fixture
def devices(observatory, simulator):
    """Every device of the simulator, registered by probing it directly."""
    from telescopes.services import discover_devices

    discover_devices(observatory=observatory, servers=[("127.0.0.1", simulator.port)])
    return {d.device_type: d for d in observatory.devices.all()}


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def add_observatories(db):
    """add(org, numbers): observatories "Site <n>" with n % 3 cameras each, registered as rows (no
    simulator answers for them); returns {name: camera count}."""
    from telescopes.models import AlpacaDevice, DeviceType
    from telescopes.services import create_observatory

    def add(org, numbers) -> dict[str, int]:
        counts = {}
        for n in numbers:
            observatory = create_observatory(organization=org, name=f"Site {n}", latitude_deg=40.0, longitude_deg=n)
            for number in range(n % 3):
                AlpacaDevice.objects.create(
                    observatory=observatory,
                    device_type=DeviceType.CAMERA,
                    device_number=number,
                    host="127.0.0.1",
                    port=11111,
                )
            counts[observatory.name] = n % 3
        return counts

    return add


@pytest.fixture
def observatory_records(org_a, sc_a, operator):
    """An observatory with a telescope, one pending operation and a session an hour ahead."""
    from telescopes.models import AlpacaDevice, ObservationSession, Observatory, Operation

    observatory = Observatory.objects.create(organization=org_a, name="Obs", latitude_deg=37.9, longitude_deg=-75.5)
    scope = AlpacaDevice.objects.create(observatory=observatory, device_type="telescope", host="127.0.0.1", port=9)
    operation = Operation.objects.create(
        device=scope, kind="park", requested_by=operator, timeout_s=30, deadline=timezone.now()
    )
    start = timezone.now() + timedelta(hours=1)
    session = ObservationSession.objects.create(
        observatory=observatory,
        telescope=scope,
        spacecraft=sc_a,
        tle_line1="1",
        tle_line2="2",
        start=start,
        end=start + timedelta(minutes=10),
    )
    return scope, operation, session
