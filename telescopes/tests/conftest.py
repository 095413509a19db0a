"""Real Alpaca simulators (PyPI `alpaca-simulators`) on free ports, with a local star catalogue,
and a UDP discovery responder on 127.0.0.1 as a real observatory server would have."""

import json
import math
import random
import socket
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import yaml

from missionops.testing import free_port, wait_for_port

SIMULATOR = Path(sys.executable).with_name("alpaca-simulators")


def _template() -> dict:
    import alpaca_simulators

    return yaml.safe_load((Path(alpaca_simulators.__file__).parent / "config" / "template.yaml").read_text())


def make_star_catalogue(path: Path, *, stars: int = 20000, seed: int = 9) -> Path:
    """A SQLite `gaia_sources(ra, dec, phot_g_mean_mag)` table: the simulator's offline catalogue."""
    rng = random.Random(seed)
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE gaia_sources (ra REAL, dec REAL, phot_g_mean_mag REAL)")
        rows = []
        for _ in range(stars):
            dec = math.degrees(math.asin(rng.uniform(-1, 1)))  # uniform over the sphere
            rows.append((rng.uniform(0, 360), dec, rng.uniform(5, 15)))
        db.executemany("INSERT INTO gaia_sources VALUES (?, ?, ?)", rows)
    return path


class SimulatorProcess:
    def __init__(self, tmp: Path, *, catalogue: bool = True):
        self.tmp = tmp
        self.port = free_port()
        config = _template()
        if catalogue:
            config["tap_source"] = str(make_star_catalogue(tmp / "gaia.db"))
        else:
            config["tap_source"] = None
            config["gaia_query_timeout"] = 2  # the machine has no internet: fail fast
        camera = config["devices"]["camera"][0]
        camera.update(cameraxsize=256, cameraysize=256, numx=256, numy=256)  # small frames, quick tests
        self.config_path = tmp / "simulator.yaml"
        self.config_path.write_text(yaml.safe_dump(config))
        self.proc = None
        self.log = tmp / "simulator.log"

    def start(self):
        self.proc = subprocess.Popen(
            [str(SIMULATOR), "--host", "127.0.0.1", "--port", str(self.port), "--config", str(self.config_path)],
            cwd=self.tmp,
            stdout=self.log.open("ab"),
            stderr=subprocess.STDOUT,
        )
        wait_for_port(self.port, timeout_s=30)
        return self

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


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
