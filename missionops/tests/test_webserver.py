"""The `web` process (missionops.webserver): WEB_PROCESSES daphne processes, each listening on the
same port with a socket of its own; one that dies is started again; SIGTERM stops them all."""

import os
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from missionops import webserver
from missionops.testing import ROOT, free_port, poll_until, test_database_env

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def daphnes_of(parent: int) -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            command = (entry / "cmdline").read_bytes().split(b"\0")
        except (OSError, IndexError, ValueError):
            continue
        if ppid == parent and b"daphne" in command:
            pids.append(int(entry.name))
    return sorted(pids)


def listening_inodes(port: int) -> set[str]:
    """Inodes of the sockets listening on `port` (state 0A in /proc/net/tcp)."""
    inodes = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if int(fields[1].split(":")[1], 16) == port and fields[3] == "0A":
            inodes.add(fields[9])
    return inodes


def socket_inodes_of(pid: int) -> set[str]:
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        target = os.readlink(fd)
        if target.startswith("socket:["):
            inodes.add(target[len("socket:[") : -1])
    return inodes


def get(base: str, path: str) -> int:
    with urllib.request.urlopen(base + path, timeout=30) as response:
        return response.status


def test_two_processes_share_the_port_and_one_that_dies_comes_back():
    port = free_port()
    env = {**test_database_env(), "HOST": "127.0.0.1", "PORT": str(port), "WEB_PROCESSES": "2"}
    web = subprocess.Popen(
        [sys.executable, "-m", "missionops.webserver", "missionops.asgi:application"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        first = poll_until(lambda: len(daphnes_of(web.pid)) == 2 and daphnes_of(web.pid), timeout_s=60, every_s=0.2)
        poll_until(lambda: get(base, "/login/") == 200, timeout_s=60, every_s=0.2)
        # Each daphne holds a listening socket of its own on the port (SO_REUSEPORT).
        listening = listening_inodes(port)
        assert len(listening) == 2
        assert all(len(socket_inodes_of(pid) & listening) == 1 for pid in first)
        assert socket_inodes_of(first[0]) & listening != socket_inodes_of(first[1]) & listening

        os.kill(first[0], signal.SIGKILL)

        def replaced():
            now = daphnes_of(web.pid)
            return len(now) == 2 and first[0] not in now and now

        again = poll_until(replaced, timeout_s=60, every_s=0.2)
        assert first[1] in again  # the other went on serving
        assert all(get(base, "/login/") == 200 for _ in range(10))
    finally:
        web.send_signal(signal.SIGTERM)
        assert web.wait(timeout=30) == 0
    assert not any(Path(f"/proc/{pid}").exists() for pid in again)  # stopped with it


def test_process_count(monkeypatch):
    monkeypatch.setenv("WEB_PROCESSES", "3")
    assert webserver.process_count() == 3
    monkeypatch.delenv("WEB_PROCESSES")
    assert webserver.process_count() == len(os.sched_getaffinity(0))
    monkeypatch.setenv("WEB_PROCESSES", "0")
    with pytest.raises(SystemExit, match="WEB_PROCESSES must be at least 1"):
        webserver.process_count()
