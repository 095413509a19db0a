"""Alarm quality end to end, through the public API, on labelled simulated faults.

A labelled set: N spacecraft (default 5) × H hours (default 48) at 10 s, eight float parameters
each (an orbit's swing plus noise, warning and critical limits), and six fault shapes on every
spacecraft but the last (which stays fault-free): bias step, variance blow-up, slow drift, stuck
value, spike burst, dropout, each on its own parameter at a random time (`--seed`). It runs:

- playback: timestamps days in the past, posted with `POST /api/v1/telemetry/` in 2-hour batches
  (as a ground station dumps a pass), then the product's sweep (`anomalies.services.sweeps.sweep`, what
  the beat task runs) until nothing is left to analyse;
- live: timestamps ending now, posted in time order with a sweep after each batch; the server and
  the sweeps run with ANOMALY_LATE_AFTER_S above the data's age, so every sample takes the live
  path (inline limit checks, paging rules) — the only way to replay two days "live" in minutes;
- peer: the same playback data through `GET /api/v1/telemetry/analyze/` (read-only, every detector
  on its own, one finding per detector episode): what the product offered before alarms.

Then `GET /api/v1/anomalies/` (or the analysis) is scored: each alarm activation (an alarm's
`activations`: the first and every return) on a faulted parameter that overlaps the fault
[start, end + 10 min] is a true positive; a fault is found when one does. Per shape: recall,
precision (activations on that shape's parameters), F1, median delay (first activation − fault
start), alarms per found fault; false alarm episodes per spacecraft-day on the fault-free
spacecraft; the forecast's lead time on drifts (limit crossing − the forecast detector's first
warning). `--json` ends with one summary line.

    .venv/bin/python bench/anomaly_eval.py --json                 # the figures in bench/README.md
    .venv/bin/python bench/anomaly_eval.py --hours 12 --seed 3    # a quicker look, other faults
    .venv/bin/python bench/anomaly_eval.py --demo-minutes 30 --json   # the make-run demo's alarm rate

Uses DATABASE_URL (an organization "bench-alarms" whose spacecraft are deleted afterwards).
"""

import argparse
import datetime as dt
import json
import math
import os
import statistics
import sys
import time
import urllib.parse
import urllib.request
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "missionops.settings")

import django  # noqa: E402

django.setup()

import numpy as np  # noqa: E402
from django.conf import settings  # noqa: E402

STEP_S = 10
GRACE_S = 600
ORBIT_S = 5400
SHAPES = ("bias_step", "variance", "drift", "stuck", "spike_burst", "dropout")
# name, subsystem, units, mean, scale (σ); limits: warning ±3σ, critical ±4.5σ around the mean.
PARAMETERS = [
    ("bus_voltage", "power", "V", 28.0, 0.4),
    ("battery_soc", "power", "%", 70.0, 3.0),
    ("battery_temp", "thermal", "degC", 15.0, 1.5),
    ("panel_temp", "thermal", "degC", 40.0, 4.0),
    ("wheel_speed", "adcs", "rpm", 2000.0, 60.0),
    ("gyro_rate", "adcs", "deg/s", 0.0, 0.02),
    ("tx_power", "comms", "W", 5.0, 0.2),
    ("payload_current", "payload", "A", 1.2, 0.05),
]


def config() -> dict:
    out = {}
    for name, subsystem, units, mean, scale in PARAMETERS:
        out[name] = {
            "type": "float",
            "subsystem": subsystem,
            "units": units,
            "warn_low": round(mean - 3 * scale, 4),
            "warn_high": round(mean + 3 * scale, 4),
            "crit_low": round(mean - 4.5 * scale, 4),
            "crit_high": round(mean + 4.5 * scale, 4),
            "suppress_in_modes": [],
        }
    return out


def simulate(hours: float, faulty: bool, rng: np.random.Generator):
    """{parameter: (times s, values)} and the faults [(parameter, shape, start s, end s, cross s)]."""
    t = np.arange(0, int(hours * 3600), STEP_S, dtype=float)
    span = t[-1] + STEP_S
    series, faults = {}, []
    shapes = list(rng.permutation(SHAPES)) if faulty else []
    slots = rng.permutation(len(shapes)) if faulty else []
    names = list(rng.permutation([p[0] for p in PARAMETERS]))
    slot_s = span / max(1, len(shapes))
    for index, (name, _, _, mean, scale) in enumerate(sorted(PARAMETERS, key=lambda p: names.index(p[0]))):
        phase = rng.uniform(0, 2 * math.pi)
        x = mean + 0.6 * scale * np.sin(2 * math.pi * t / ORBIT_S + phase) + rng.normal(0, 0.4 * scale, len(t))
        keep = np.ones(len(t), bool)
        if index < len(shapes):
            shape = shapes[index]
            duration = {
                "bias_step": rng.uniform(1800, 3600),
                "variance": rng.uniform(1800, 3600),
                "drift": rng.uniform(3 * 3600, 4 * 3600),
                "stuck": rng.uniform(1200, 3600),
                "spike_burst": 100.0,
                "dropout": rng.uniform(600, 1800),
            }[shape]
            room = slot_s - duration - 3600
            start = float(slots[index] * slot_s + 1800 + rng.uniform(0, max(room, 1)))
            start = math.floor(start / STEP_S) * STEP_S
            end = start + duration
            inside = (t >= start) & (t < end)
            cross = None
            if shape == "bias_step":
                x[inside] += 2.5 * scale
            elif shape == "variance":
                x[inside] += rng.normal(0, 2.0 * scale, inside.sum())
            elif shape == "drift":
                # Reaches the warning limit (3σ above the mean) at 70 % of the fault, from the mean.
                progress = (t[inside] - start) / (0.7 * duration)
                x[inside] = x[inside] + 3.0 * scale * progress
                above = np.flatnonzero(inside & (x > mean + 3.0 * scale))
                cross = float(t[above[0]]) if len(above) else None
            elif shape == "stuck":
                x[inside] = x[np.argmax(inside)]
            elif shape == "spike_burst":
                burst = np.flatnonzero(inside)[::2][:5]
                x[burst] += 6.0 * scale
            elif shape == "dropout":
                keep &= ~inside
            faults.append((name, shape, start, end, cross))
        series[name] = (t[keep], x[keep])
    return series, faults


class Api:
    def __init__(self, port: int, token: str):
        self.base, self.token = f"http://127.0.0.1:{port}", token

    def call(self, method: str, path: str, body=None, query=None):
        url = self.base + path + ("?" + urllib.parse.urlencode(query) if query else "")
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(url, data=data, method=method)
        request.add_header("Authorization", f"Token {self.token}")
        request.add_header("Content-Type", "application/json")
        with urllib.request.urlopen(request, timeout=600) as response:
            text = response.read()
        return json.loads(text) if text else None

    def alarms(self, designation: str) -> list[dict]:
        rows, page = [], 1
        while True:
            query = {"designation": designation, "ordering": "started_at", "page": page, "state": "open"}
            query = [*query.items(), *[("state", s) for s in ("acknowledged", "shelved", "resolved")]]
            data = self.call("GET", "/api/v1/anomalies/", query=query)
            rows += data["results"]
            if not data.get("next"):
                return rows
            page += 1


def post_series(api: Api, designation: str, series: dict, start: dt.datetime, lo: float, hi: float) -> int:
    """POST the samples with times in [lo, hi) as snapshots; returns how many samples."""
    by_time: dict[float, dict] = defaultdict(dict)
    for name, (t, x) in series.items():
        part = (t >= lo) & (t < hi)
        for second, value in zip(t[part].tolist(), x[part].tolist(), strict=True):
            by_time[second][name] = round(value, 6)
    snapshots = [
        {"spacecraft": designation, "timestamp": (start + dt.timedelta(seconds=s)).isoformat(), "parameters": p}
        for s, p in sorted(by_time.items())
    ]
    for i in range(0, len(snapshots), 1000):
        api.call("POST", "/api/v1/telemetry/", snapshots[i : i + 1000])
    return sum(len(p) for p in by_time.values())


def seconds(text: str | None, start: dt.datetime) -> float | None:
    return None if text is None else (dt.datetime.fromisoformat(text) - start).total_seconds()


def activations(alarm: dict, start: dt.datetime) -> list[tuple[float, float]]:
    out = []
    for first, last in alarm["activations"] or [[alarm["started_at"], alarm["cleared_at"]]]:
        a = seconds(first, start)
        b = seconds(last, start) if last else seconds(alarm["last_seen_at"], start)
        out.append((a, max(a, b)))
    return out


def score(truth: dict, found: dict, hours: float, clean: list[str]) -> dict:
    """truth: {designation: faults}; found: {designation: [(parameter, start s, end s, forecast s)]}."""
    per = {s: {"faults": 0, "found": 0, "tp": 0, "fp": 0, "delays": [], "matched": []} for s in SHAPES}
    leads, other_fp = [], 0
    for designation, events in found.items():
        faults = {f[0]: f for f in truth.get(designation, [])}
        for parameter, a, b, _ in events:
            fault = faults.get(parameter)
            if fault is None:
                other_fp += designation not in clean
                continue
            _, shape, fs, fe, _ = fault
            if a <= fe + GRACE_S and b >= fs:
                per[shape]["tp"] += 1
            else:
                per[shape]["fp"] += 1
    for designation, faults in truth.items():
        events = found.get(designation, [])
        for parameter, shape, fs, fe, cross in faults:
            mine = [e for e in events if e[0] == parameter and e[1] <= fe + GRACE_S and e[2] >= fs]
            per[shape]["faults"] += 1
            if mine:
                per[shape]["found"] += 1
                per[shape]["delays"].append(max(0.0, min(e[1] for e in mine) - fs))
                per[shape]["matched"].append(len(mine))
            if shape == "drift" and cross is not None:
                warned = [e[3] for e in events if e[0] == parameter and e[3] is not None and e[3] <= cross]
                if warned:
                    leads.append(cross - min(warned))
    clean_events = sum(len(found.get(d, [])) for d in clean)
    rows = {}
    for shape, p in per.items():
        recall = p["found"] / p["faults"] if p["faults"] else 0.0
        precision = p["tp"] / (p["tp"] + p["fp"]) if p["tp"] + p["fp"] else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        rows[shape] = {
            "faults": p["faults"],
            "recall": round(recall, 3),
            "precision": round(precision, 3),
            "f1": round(f1, 3),
            "median_delay_s": round(statistics.median(p["delays"]), 1) if p["delays"] else None,
            "alarms_per_fault": round(statistics.mean(p["matched"]), 2) if p["matched"] else None,
        }
    matched = [m for p in per.values() for m in p["matched"]]
    return {
        "shapes": rows,
        "false_alarms_per_sc_day": round(clean_events / (len(clean) * hours / 24), 2) if clean else None,
        "unattributed_false_alarms": other_fp,
        "alarms_per_fault": round(statistics.mean(matched), 2) if matched else None,
        "forecast_lead_s": round(statistics.median(leads), 1) if leads else None,
        "forecast_warned": f"{len(leads)}/{sum(1 for f in truth.values() for x in f if x[1] == 'drift')}",
    }


def print_table(title: str, result: dict, elapsed: float) -> None:
    print(f"\n{title} ({elapsed:.0f} s)")
    print(f"{'shape':<12} {'faults':>6} {'recall':>7} {'precision':>9} {'F1':>6} {'delay s':>8} {'alarms/fault':>12}")
    for shape, r in result["shapes"].items():
        delay = "-" if r["median_delay_s"] is None else f"{r['median_delay_s']:.0f}"
        per = "-" if r["alarms_per_fault"] is None else f"{r['alarms_per_fault']:.2f}"
        quality = f"{r['recall']:>7.2f} {r['precision']:>9.2f} {r['f1']:>6.2f}"
        print(f"{shape:<12} {r['faults']:>6} {quality} {delay:>8} {per:>12}")
    lead = result["forecast_lead_s"]
    print(
        f"false alarm episodes per spacecraft-day (fault-free): {result['false_alarms_per_sc_day']}; "
        f"other false alarms on faulty spacecraft: {result['unattributed_false_alarms']}; "
        f"alarms per fault: {result['alarms_per_fault']}; forecast lead on drifts: "
        f"{'-' if lead is None else f'{lead / 60:.0f} min'} (warned {result['forecast_warned']})"
    )


def start_server():
    """bench/server.py's daphne, waiting up to 3 minutes: on a loaded machine (other sessions'
    tests) Django's start takes longer than start_daphne's 20 s."""
    import subprocess

    from bench.server import ROOT, free_port

    port = free_port()
    env = {**os.environ, "THROTTLE_READ": "1000000/min", "THROTTLE_INGEST": "1000000/min", "LOG_LEVEL": "WARNING"}
    daphne = subprocess.Popen(
        [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port), "missionops.asgi:application"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/login/", timeout=2)
            return daphne, port
        except OSError:
            time.sleep(0.5)
    daphne.terminate()
    raise RuntimeError("daphne did not start within 3 minutes")


def setup(count: int):
    from django.contrib.auth import get_user_model
    from rest_framework.authtoken.models import Token

    from missionops.models import Organization, Role
    from missionops.services import create_organization, set_membership
    from spacecraft.services import create_spacecraft

    org = Organization.objects.filter(slug="bench-alarms").first()
    if org is None:
        org = create_organization(name="Bench alarms", slug="bench-alarms")
    teardown(org)
    user, _ = get_user_model().objects.get_or_create(username="bench-alarms-operator")
    set_membership(organization=org, user=user, role=Role.OPERATOR)
    token, _ = Token.objects.get_or_create(user=user)
    fleet = [
        create_spacecraft(organization=org, designation=f"BENCH-{n + 1}", name=f"Bench {n + 1}", parameters=config())
        for n in range(count)
    ]
    return org, token.key, fleet


def teardown(org) -> None:
    """The bench's spacecraft go, with their telemetry and alarms (the organization and its event
    log stay: events are immutable)."""
    from spacecraft.models import Spacecraft

    Spacecraft.objects.filter(organization=org).delete()


def drain(fleet) -> None:
    """The product's sweep, run until every arrived sample has been analysed."""
    from anomalies.models import Arrival
    from anomalies.services import sweeps

    for _ in range(100):
        sweeps.sweep(spacecraft=fleet[0].__class__.objects.filter(pk__in=[sc.pk for sc in fleet]))
        if not Arrival.objects.filter(parameter__spacecraft__in=fleet).exists():
            return


def collect(api: Api, fleet, start: dt.datetime) -> dict:
    found = {}
    for sc in fleet:
        events = []
        for alarm in api.alarms(sc.designation):
            forecast = [d["first_at"] for d in alarm["detectors"] if d["kind"] == "forecast"]
            first_forecast = seconds(min(forecast), start) if forecast else None
            for a, b in activations(alarm, start):
                events.append((alarm["parameter"], a, b, first_forecast))
        found[sc.designation] = events
    return found


def run(mode: str, args, truth_series, truth) -> tuple[dict, float]:
    org, token, fleet = setup(args.spacecraft)
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    span = args.hours * 3600
    if mode == "live":
        start = now - dt.timedelta(seconds=span + 60)
        age = span + 7200
        os.environ["ANOMALY_LATE_AFTER_S"] = str(age)
        settings.ANOMALY_LATE_AFTER_S = age
    else:
        start = (now - dt.timedelta(days=3)).replace(minute=0, second=0)
        os.environ.pop("ANOMALY_LATE_AFTER_S", None)
        settings.ANOMALY_LATE_AFTER_S = 300.0
    daphne, port = start_server()
    api = Api(port, token)
    began = time.perf_counter()
    try:
        designations = {sc.designation: i for i, sc in enumerate(fleet)}
        chunk = 7200.0
        if mode == "live":
            for lo in np.arange(0, span, chunk):
                for sc in fleet:
                    post_series(api, sc.designation, truth_series[designations[sc.designation]], start, lo, lo + chunk)
                drain(fleet)
        else:
            for sc in fleet:
                for lo in np.arange(0, span, chunk):
                    post_series(api, sc.designation, truth_series[designations[sc.designation]], start, lo, lo + chunk)
            drain(fleet)
        if mode == "peer":
            found = {}
            for sc in fleet:
                report = api.call(
                    "GET", "/api/v1/telemetry/analyze/", query={"spacecraft": sc.designation, "limit": 100000}
                )
                found[sc.designation] = [
                    (
                        f["parameter"],
                        seconds(f["started_at"], start),
                        seconds(f["cleared_at"] or f["last_seen_at"], start),
                        seconds(f["started_at"], start) if f["detector"] == "forecast" else None,
                    )
                    for f in report["findings"]
                ]
        else:
            found = collect(api, fleet, start)
        elapsed = time.perf_counter() - began
        named = {sc.designation: truth[designations[sc.designation]] for sc in fleet}
        clean = [sc.designation for sc in fleet if not named[sc.designation]]
        return score(named, found, args.hours, clean), elapsed
    finally:
        daphne.terminate()
        daphne.wait()
        teardown(org)


def demo(minutes: float) -> dict:
    """`make run`'s demo as it runs: seed_demo, then the Procfile's simulator (1 Hz, its default
    fault rate) for `minutes`, with the beat's sweep, escalation and unshelve every 15 s; then the
    alarms that reached the console per 10 minutes (the KPI selector's count)."""
    import subprocess

    from django.core.management import call_command

    from anomalies import services
    from anomalies.models import Anomaly
    from anomalies.services import sweeps
    from spacecraft.models import Spacecraft
    from telemetry.models import InjectedFault

    call_command("seed_demo", verbosity=0)
    began = dt.datetime.now(dt.UTC)
    simulator = subprocess.Popen(
        [
            sys.executable,
            "manage.py",
            "simulate",
            "--organization",
            "demo",
            "--rate",
            "1",
            "--duration",
            str(minutes * 60),
        ],
        cwd=Path(__file__).resolve().parent.parent,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    fleet = Spacecraft.objects.filter(organization__slug="demo")
    try:
        while simulator.poll() is None:
            sweeps.sweep(spacecraft=fleet)
            services.escalate_due()
            services.unshelve_due()
            time.sleep(15)
    finally:
        simulator.terminate()
        simulator.wait()
    sweeps.sweep(spacecraft=fleet)
    ended = dt.datetime.now(dt.UTC)
    new = Anomaly.objects.filter(
        spacecraft__organization__slug="demo", is_late=False, suppressed_by="", created_at__gte=began
    )
    buckets = [0] * max(1, math.ceil((ended - began).total_seconds() / 600))
    for created in new.values_list("created_at", flat=True):
        buckets[min(len(buckets) - 1, int((created - began).total_seconds() // 600))] += 1
    faults = InjectedFault.objects.filter(spacecraft__organization__slug="demo", started_at__gte=began).count()
    result = {
        "minutes": round((ended - began).total_seconds() / 60, 1),
        "faults_injected": faults,
        "new_alarms": new.count(),
        "per_10_min": buckets,
        "max_per_10_min": max(buckets),
    }
    print(
        f"\ndemo ({result['minutes']} min, 4 spacecraft at 1 Hz): {faults} faults injected, "
        f"{result['new_alarms']} new alarms; per 10 minutes: {buckets} (flood: more than 10)"
    )
    return result


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--hours", type=float, default=48.0)
    parser.add_argument("--spacecraft", type=int, default=5, help="the last one stays fault-free")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--modes", default="playback,live,peer")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--demo-minutes", type=float, default=0, help="run the make-run demo this long instead")
    args = parser.parse_args()
    if args.demo_minutes:
        result = demo(args.demo_minutes)
        if args.json:
            print(json.dumps({"bench": "anomaly_eval", "demo": result}))
        return
    rng = np.random.default_rng(args.seed)
    series, truth = [], []
    for n in range(args.spacecraft):
        s, f = simulate(args.hours, n < args.spacecraft - 1, rng)
        series.append(s)
        truth.append(f)
    print(
        f"{args.spacecraft} spacecraft x {args.hours:g} h at {STEP_S} s, {sum(len(f) for f in truth)} faults "
        f"(seed {args.seed}); one fault-free spacecraft"
    )
    results = {}
    titles = {
        "playback": "stored alarms, playback (timestamps 3 days old): POST telemetry, sweeps, GET anomalies",
        "live": "stored alarms, live (in time order, a sweep after each 2-hour batch)",
        "peer": "peer: GET /api/v1/telemetry/analyze/ findings on the same playback data (every detector alone)",
    }
    for mode in args.modes.split(","):
        results[mode], elapsed = run(mode, args, series, truth)
        print_table(titles[mode], results[mode], elapsed)
    if args.json:
        summary = {
            mode: {
                **{shape: {k: r[k] for k in ("recall", "precision", "f1")} for shape, r in res["shapes"].items()},
                "false_alarms_per_sc_day": res["false_alarms_per_sc_day"],
                "alarms_per_fault": res["alarms_per_fault"],
                "forecast_lead_s": res["forecast_lead_s"],
            }
            for mode, res in results.items()
        }
        print(json.dumps({"bench": "anomaly_eval", "seed": args.seed, "hours": args.hours, **summary}))


if __name__ == "__main__":
    main()
