"""Spacecraft profiles: the parameter set (with tolerances) each mission type starts from, and the
nominal behaviour the demo data and the telemetry simulator use."""


def _p(subsystem, units, warn=(None, None), crit=(None, None), ptype="float", **extra):
    spec = {"subsystem": subsystem, "units": units, "type": ptype}
    for key, value in zip(("warn_low", "warn_high", "crit_low", "crit_high"), (*warn, *crit), strict=True):
        if value is not None:
            spec[key] = value
    spec.update(extra)
    return spec


PROFILES = {
    "LEO_IMAGING": {
        "battery_soc": _p("power", "%", warn=(30, 100), crit=(20, 100)),
        "battery_temp": _p("thermal", "degC", warn=(0, 35), crit=(-5, 45)),
        "bus_voltage": _p("power", "V", warn=(27.0, 29.5), crit=(26.0, 30.5)),
        "solar_array_current": _p("power", "A", warn=(0, 9.0), crit=(0, 10.0)),
        "panel_temp": _p("thermal", "degC", warn=(-60, 80), crit=(-80, 100)),
        "payload_temp": _p("thermal", "degC", warn=(5, 30), crit=(0, 40)),
        "attitude_error_deg": _p("adcs", "deg", warn=(0, 0.5), crit=(0, 2.0)),
        "rw1_speed_rpm": _p("adcs", "rpm", warn=(-5000, 5000), crit=(-6000, 6000)),
        "rw2_speed_rpm": _p("adcs", "rpm", warn=(-5000, 5000), crit=(-6000, 6000)),
        "images_captured": _p("payload", "count", ptype="int"),
        "imaging_mode": _p("payload", "", ptype="enum", enum_values=["IDLE", "IMAGING", "DOWNLINK", "CALIBRATION"]),
    },
    "GNSS": {
        "battery_soc": _p("power", "%", warn=(35, 100), crit=(25, 100)),
        "bus_voltage": _p("power", "V", warn=(49.0, 51.5), crit=(48.0, 52.5)),
        "clock_drift_ppb": _p("payload", "ppb", warn=(-2.0, 2.0), crit=(-5.0, 5.0)),
        "clock_bias_ns": _p("payload", "ns", warn=(-50, 50), crit=(-100, 100)),
        "nav_signal_power_dbm": _p("comms", "dBm", warn=(-160, -150), crit=(-165, -145)),
        "nav_snr_db": _p("comms", "dB", warn=(40, 60), crit=(35, 65)),
    },
    "GEO_COMMS": {
        "battery_soc": _p("power", "%", warn=(40, 100), crit=(30, 100)),
        "bus_voltage": _p("power", "V", warn=(98.0, 102.0), crit=(96.0, 104.0)),
        "payload_power_w": _p("payload", "W", warn=(0, 9000), crit=(0, 10000)),
        "transponder_load_pct": _p("payload", "%", warn=(0, 90), crit=(0, 98)),
        "uplink_snr_db": _p("comms", "dB", warn=(10, 40), crit=(6, 45)),
        "downlink_snr_db": _p("comms", "dB", warn=(8, 40), crit=(5, 45)),
        "bus_temp": _p("thermal", "degC", warn=(5, 40), crit=(-5, 50)),
        "payload_temp": _p("thermal", "degC", warn=(10, 45), crit=(0, 55)),
    },
    "CUBESAT": {
        "battery_soc": _p("power", "%", warn=(30, 100), crit=(15, 100)),
        "bus_voltage": _p("power", "V", warn=(7.0, 8.4), crit=(6.6, 8.6)),
        "attitude_error_deg": _p("adcs", "deg", warn=(0, 5.0), crit=(0, 15.0)),
        "magnetorquer_current_ma": _p("adcs", "mA", warn=(0, 180), crit=(0, 250)),
        "beacon_rssi_dbm": _p("comms", "dBm", warn=(-120, -60), crit=(-130, -50)),
        "beacon_snr_db": _p("comms", "dB", warn=(6, 40), crit=(3, 50)),
        "mode": _p("obc", "", ptype="enum", enum_values=["BOOT", "DETUMBLE", "NOMINAL", "SAFE"]),
    },
}

# Nominal mean and noise (1 sigma) per numeric parameter, for demo state and simulated telemetry.
NOMINAL = {
    "battery_soc": (85.0, 3.0),
    "battery_temp": (18.0, 2.0),
    "bus_voltage": (28.2, 0.2),
    "solar_array_current": (6.5, 0.8),
    "panel_temp": (20.0, 15.0),
    "payload_temp": (18.0, 2.0),
    "attitude_error_deg": (0.08, 0.03),
    "rw1_speed_rpm": (1500.0, 200.0),
    "rw2_speed_rpm": (-1200.0, 200.0),
    "images_captured": (120, 0),
    "clock_drift_ppb": (0.1, 0.3),
    "clock_bias_ns": (2.0, 8.0),
    "nav_signal_power_dbm": (-155.0, 1.0),
    "nav_snr_db": (48.0, 1.5),
    "payload_power_w": (6200.0, 150.0),
    "transponder_load_pct": (62.0, 6.0),
    "uplink_snr_db": (22.0, 1.5),
    "downlink_snr_db": (18.0, 1.5),
    "bus_temp": (22.0, 1.5),
    "magnetorquer_current_ma": (60.0, 15.0),
    "beacon_rssi_dbm": (-95.0, 4.0),
    "beacon_snr_db": (14.0, 2.0),
}


def nominal_for(name: str, spec: dict) -> tuple[float, float]:
    """Mean and noise for one parameter of one spacecraft: NOMINAL, moved to the middle of the
    warning band where NOMINAL's mean lies outside it (a 28 V bus on a 100 V GEO platform)."""
    mean, sigma = NOMINAL.get(name, (0.0, 1.0))
    low, high = spec.get("warn_low"), spec.get("warn_high")
    if low is not None and high is not None and not low <= mean <= high:
        mean, sigma = (low + high) / 2, (high - low) / 20
    return mean, sigma
