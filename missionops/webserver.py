"""The `web` process: WEB_PROCESSES daphne processes on one address (default: one per CPU).

One daphne runs the application's Python in one thread at a time (the GIL): measured on 2 cores,
8 clients posting telemetry kept it at 85-100 % of one core while PostgreSQL used about 0.7 of
the other and the rest sat idle (bench/README.md, ingest, "This round (2026-12-08)"). Each
process here gets a listening socket of its own, bound to the same address with SO_REUSEPORT, so
the kernel spreads new connections across them (with one shared socket, whichever process wakes
first takes them). Every process serves HTTP and WebSockets alike: live messages go through the
Redis channel layer, and every cache a process keeps is checked against shared state.

A process that exits is started again on its own socket after a short pause; SIGTERM or SIGINT
stops them all.

    python -m missionops.webserver [daphne options, without -b/-p] missionops.asgi:application
    (HOST, PORT and WEB_PROCESSES from the environment)
"""

import os
import signal
import socket
import subprocess
import sys
import time

RESTART_PAUSE_S = 1.0


def process_count() -> int:
    configured = os.environ.get("WEB_PROCESSES", "").strip()
    if configured:
        count = int(configured)
        if count < 1:
            raise SystemExit(f"WEB_PROCESSES must be at least 1, not {configured}")
        return count
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def listening_socket(host: str, port: int) -> socket.socket:
    """A listening TCP socket on host:port that other processes may bind as well (SO_REUSEPORT)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    sock.listen(1024)
    sock.set_inheritable(True)
    return sock


def daphne_command(fd: int, daphne_args: list[str]) -> list[str]:
    return [sys.executable, "-m", "daphne", "--fd", str(fd), *daphne_args]


def serve(*, host: str, port: int, processes: int, daphne_args: list[str]) -> int:
    sockets = [listening_socket(host, port) for _ in range(processes)]
    children: dict[int, subprocess.Popen] = {}
    stopping = False

    def start(index: int) -> None:
        fd = sockets[index].fileno()
        children[index] = subprocess.Popen(daphne_command(fd, daphne_args), pass_fds=(fd,))

    def stop(signum, frame) -> None:
        nonlocal stopping
        stopping = True
        for child in children.values():
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    for index in range(processes):
        start(index)
    print(f"web: {processes} daphne process(es) on http://{host}:{port}/", flush=True)
    while not stopping:
        time.sleep(0.2)
        for index, child in list(children.items()):
            code = child.poll()
            if code is not None and not stopping:
                print(f"web: daphne {index} (pid {child.pid}) exited with {code}; starting it again", flush=True)
                time.sleep(RESTART_PAUSE_S)
                if not stopping:
                    start(index)
    deadline = time.monotonic() + 15
    for child in children.values():
        try:
            child.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            child.kill()
    return 0


def main(argv: list[str]) -> int:
    host = os.environ.get("HOST", "127.0.0.1")
    port = int(os.environ.get("PORT", "8000"))
    return serve(host=host, port=port, processes=process_count(), daphne_args=argv[1:])


if __name__ == "__main__":
    sys.exit(main(sys.argv))
