"""seed_demo hook: a demo observatory at the Alpaca simulators' site; its devices only when a
simulator is named (`--alpaca-simulator host:port`), since nothing else answers. Idempotent."""

from missionops import outbound

from .discovery import DISCOVERY_PORT
from .exceptions import TelescopeError
from .models import Observatory
from .services import create_observatory, discover_devices

DEMO_OBSERVATORY = {
    "name": "Demo Observatory",
    "latitude_deg": 48.0,  # the PyPI alpaca-simulators' default site
    "longitude_deg": 8.0,
    "altitude_m": 1000.0,
    "horizon_limit_deg": 10.0,
}


def add_arguments(parser):
    parser.add_argument(
        "--alpaca-simulator",
        default="",
        metavar="HOST:PORT",
        help=f"an Alpaca server to register the demo observatory's devices from (e.g. 127.0.0.1:11111; "
        f"discovery datagrams go to port {DISCOVERY_PORT} of that host only)",
    )


def seed(*, organization, actor, log, options, stderr):
    observatory = Observatory.objects.filter(organization=organization, name=DEMO_OBSERVATORY["name"]).first()
    if observatory is None:
        observatory = create_observatory(organization=organization, actor=actor, **DEMO_OBSERVATORY)
        log(f"create observatory {observatory.name}")
    server = (options or {}).get("alpaca_simulator") or ""
    if not server:
        return
    host, _, port = server.rpartition(":")
    if not host or not port.isdigit():
        stderr.write(f"--alpaca-simulator wants host:port, not {server!r}\n")
        return
    try:
        # The operator named this server (a loopback simulator for `make run`): the outbound
        # guard lets this registration reach it, nothing else.
        with outbound.allowing(host, int(port)):
            report = discover_devices(observatory=observatory, servers=[(host, int(port))], actor=actor)
    except outbound.OutboundError as error:
        stderr.write(f"demo telescopes: {error}\n")
        return
    except TelescopeError as error:
        stderr.write(f"demo telescopes: {error.message}\n")
        return
    if report.registered:
        log(f"register {len(report.registered)} Alpaca device(s) of {server} at {observatory.name}")
    for error in report.errors:
        stderr.write(f"demo telescopes: {error}\n")
