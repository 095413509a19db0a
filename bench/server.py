"""The daphne the HTTP / socket benches run against: the Procfile's web options, throttles out of
the way, on a free loopback port."""

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_daphne(extra_env: dict | None = None, processes: int | None = None) -> tuple[subprocess.Popen, int]:
    """Start the `web` process as `make run` does (missionops.webserver: WEB_PROCESSES daphne
    processes, default one per CPU; `processes` overrides) and wait until it answers; returns
    (process, port). The caller terminates it (which stops every daphne)."""
    port = free_port()
    env = {
        **os.environ,
        "HOST": "127.0.0.1",
        "PORT": str(port),
        **({"WEB_PROCESSES": str(processes)} if processes else {}),
        "THROTTLE_READ": "1000000/min",
        "THROTTLE_INGEST": "1000000/min",
        "THROTTLE_OPERATE": "1000000/min",
        "LOG_LEVEL": "WARNING",
        **{name: str(value) for name, value in (extra_env or {}).items()},
    }
    from missionops.testing import daphne_size_flags

    command = [sys.executable, "-m", "missionops.webserver", "--websocket_connect_timeout", "30", *daphne_size_flags()]
    daphne = subprocess.Popen(
        [*command, "missionops.asgi:application"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    for _ in range(200):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/login/", timeout=1)
            return daphne, port
        except OSError:
            time.sleep(0.1)
    daphne.terminate()
    raise RuntimeError("daphne did not start")
