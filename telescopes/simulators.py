"""Real Alpaca simulators (PyPI `alpaca-simulators`, a development dependency) on a port of our
choosing, with an offline star catalogue: used by the tests and by `manage.py alpaca_simulator`."""

import math
import random
import sqlite3
import subprocess
import sys
from pathlib import Path

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
    def __init__(self, tmp: Path, *, catalogue: bool = True, port: int | None = None):
        self.tmp = tmp
        self.port = port or free_port()
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
